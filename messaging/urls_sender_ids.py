"""The Sender IDs pages (spec P§11.2), mounted at /assets/sender-ids/ in the
``sender_ids`` namespace."""

from django.urls import path

from .views import sender_ids as views

app_name = "sender_ids"
urlpatterns = [
    path("", views.SenderIdListView.as_view(), name="list"),
    path("new/<slug:channel>/", views.SenderIdCreateView.as_view(), name="create"),
    path("<int:pk>/", views.SenderIdDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.SenderIdEditView.as_view(), name="edit"),
    path("<int:pk>/submit/", views.SenderIdSubmitView.as_view(), name="submit"),
    path("<int:pk>/cancel/", views.SenderIdCancelView.as_view(), name="cancel"),
    path("<int:pk>/delete/", views.SenderIdDeleteView.as_view(), name="delete"),
]
