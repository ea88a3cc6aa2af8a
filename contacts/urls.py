"""Contacts pages. Each concern keeps its own URL module."""

from django.urls import include, path

app_name = "contacts"

urlpatterns = [
    path("import/", include("contacts.urls_imports")),
    path("opt-out-words/", include("contacts.urls_optouts")),
    path("", include("contacts.urls_contacts")),
]
