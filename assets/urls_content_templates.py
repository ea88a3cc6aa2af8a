"""Assets → Content templates (spec P§11.3) and the message constructor's endpoints, mounted
at /assets/content-templates/ in the ``content_templates`` namespace."""

from django.urls import path

from . import views_content_templates as views

app_name = "content_templates"

urlpatterns = [
    path("", views.ContentTemplateListView.as_view(), name="list"),
    path("new/", views.ContentTemplateCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", views.ContentTemplateEditView.as_view(), name="edit"),
    path("<int:pk>/delete/", views.ContentTemplateDeleteView.as_view(), name="delete"),
    path("constructor/", views.ConstructorFragmentView.as_view(), name="constructor"),
    path("for-channel/", views.ForChannelView.as_view(), name="for_channel"),
    path("save-from-constructor/", views.SaveFromConstructorView.as_view(), name="save_from_constructor"),
]
