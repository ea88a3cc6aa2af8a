"""``/api/v1/`` routes of the Broadcasts API (scope ``broadcast``)."""

from broadcasts.api import views
from portal.api.routers import ApiRouter

app_name = "broadcasts-api"

router = ApiRouter()
router.register("broadcasts", views.BroadcastViewSet, basename="broadcast")
router.register("broadcast-templates", views.BroadcastTemplateViewSet, basename="broadcast-template")

urlpatterns = [*router.urls]
