"""``/api/v1/`` routes of the accounts app."""

from django.urls import path

from accounts.api import views
from portal.api.routers import ApiRouter

app_name = "accounts-api"

router = ApiRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("departments", views.DepartmentViewSet, basename="department")

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    *router.urls,
]
