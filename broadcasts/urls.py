"""Broadcasts pages: runs at /broadcasts/, templates (schedules) at /broadcasts/templates/, the
parent company's moderation of its child companies' broadcasts at /broadcasts/moderation/."""

from django.urls import include, path

app_name = "broadcasts"

urlpatterns = [
    path("templates/", include("broadcasts.urls_templates")),
    path("moderation/", include("broadcasts.urls_moderation")),
    path("", include("broadcasts.urls_runs")),
]
