"""Broadcasts pages: runs at /broadcasts/, templates (schedules) at /broadcasts/templates/."""

from django.urls import include, path

app_name = "broadcasts"

urlpatterns = [
    path("templates/", include("broadcasts.urls_templates")),
    path("", include("broadcasts.urls_runs")),
]
