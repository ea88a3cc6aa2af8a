"""The Media pages (spec P§11.1), mounted at /assets/media/ in the ``media`` namespace;
``picker`` and ``upload`` are the message constructor's JSON endpoints."""

from django.urls import path

from . import views_media as views

app_name = "media"

urlpatterns = [
    path("", views.MediaListView.as_view(), name="list"),
    path("add/", views.MediaAddView.as_view(), name="add"),
    path("picker/", views.MediaPickerView.as_view(), name="picker"),
    path("upload/", views.MediaUploadView.as_view(), name="upload"),
    path("<int:pk>/", views.MediaDetailView.as_view(), name="detail"),
    path("<int:pk>/download/", views.MediaDownloadView.as_view(), name="download"),
    path("<int:pk>/delete/", views.MediaDeleteView.as_view(), name="delete"),
]
