"""The Contacts and Targets tabs, the attribute manager and mass edit (spec P§6.2–§6.7),
mounted at /contacts/ in the ``contacts`` namespace."""

from django.urls import path

from .views import attributes, contacts, targets

urlpatterns = [
    path("", contacts.ContactListView.as_view(), name="list"),
    path("new/", contacts.ContactCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", contacts.ContactUpdateView.as_view(), name="edit"),
    path("<int:pk>/delete/", contacts.ContactDeleteView.as_view(), name="delete"),
    path("mass-edit/", contacts.MassEditView.as_view(), name="mass_edit"),
    path("mass-edit/jobs/<int:pk>/", contacts.MassEditJobView.as_view(), name="mass_edit_job"),
    path("mass-edit/jobs/<int:pk>/status/", contacts.MassEditJobStatusView.as_view(), name="mass_edit_job_status"),
    path("tags/search/", contacts.TagSearchView.as_view(), name="tag_search"),
    path("attributes/", attributes.AttributeListView.as_view(), name="attributes"),
    path("attributes/new/", attributes.AttributeCreateView.as_view(), name="attribute_create"),
    path("attributes/<int:pk>/edit/", attributes.AttributeUpdateView.as_view(), name="attribute_edit"),
    path("attributes/<int:pk>/delete/", attributes.AttributeDeleteView.as_view(), name="attribute_delete"),
    path("targets/", targets.TargetListView.as_view(), name="targets"),
    path("targets/new/", targets.TargetCreateView.as_view(), name="target_create"),
    path("targets/count/", targets.TargetCountView.as_view(), name="target_count"),
    path("targets/<int:pk>/edit/", targets.TargetUpdateView.as_view(), name="target_edit"),
    path("targets/<int:pk>/duplicate/", targets.TargetDuplicateView.as_view(), name="target_duplicate"),
    path("targets/<int:pk>/delete/", targets.TargetDeleteView.as_view(), name="target_delete"),
    path("targets/<int:pk>/count/", targets.SavedTargetCountView.as_view(), name="saved_target_count"),
]
