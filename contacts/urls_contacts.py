"""URL patterns: being written."""
from django.urls import path

from portal import views as portal_views

urlpatterns = [path("", portal_views.coming_soon("contacts"), name="list")]
