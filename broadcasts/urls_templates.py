"""The *Templates* tab: broadcast templates and their schedules at ``/broadcasts/templates/``
(namespace ``broadcasts``; see broadcasts/views_templates.py)."""

from django.urls import path

from . import views_templates as views

urlpatterns = [
    path("", views.TemplateListView.as_view(), name="templates"),
    path("new/", views.TemplateCreateView.as_view(), name="template_create"),
    path("schedule-preview/", views.SchedulePreviewView.as_view(), name="template_schedule_preview"),
    path("<int:pk>/edit/", views.TemplateEditView.as_view(), name="template_edit"),
    path("<int:pk>/launch/", views.TemplateLaunchView.as_view(), name="template_launch"),
    path("<int:pk>/pause/", views.TemplatePauseView.as_view(), name="template_pause"),
    path("<int:pk>/resume/", views.TemplateResumeView.as_view(), name="template_resume"),
    path("<int:pk>/copy/", views.TemplateCopyView.as_view(), name="template_copy"),
    path("<int:pk>/delete/", views.TemplateDeleteView.as_view(), name="template_delete"),
]
