"""``/api/v1/`` routes of the Omni API (scope ``omni-api``)."""

from messaging.api import views
from portal.api.routers import ApiRouter

app_name = "messaging-api"

router = ApiRouter()
router.register("messages", views.MessageViewSet, basename="message")
router.register("omnimessages", views.OmniMessageViewSet, basename="omnimessage")
router.register("plans", views.PlanViewSet, basename="plan")

urlpatterns = [*router.urls]
