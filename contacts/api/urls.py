"""``/api/v1/`` routes of the contacts app (scope ``recipients``)."""

from contacts.api import views
from portal.api.routers import ApiRouter

app_name = "contacts-api"

router = ApiRouter()
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("tags", views.TagViewSet, basename="tag")
router.register("attributes", views.AttributeViewSet, basename="attribute")
router.register("targets", views.TargetViewSet, basename="target")
router.register("imports", views.ImportViewSet, basename="import")

urlpatterns = [*router.urls]
