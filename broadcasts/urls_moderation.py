"""*Moderation* by the parent company at ``/broadcasts/moderation/`` (namespace
``broadcasts``; see broadcasts/views_moderation.py)."""

from django.urls import path

from . import views_moderation as views

urlpatterns = [
    path("", views.BroadcastQueueView.as_view(), name="moderation"),
    path("<int:pk>/", views.BroadcastReviewView.as_view(), name="moderation_detail"),
    path("<int:pk>/approve/", views.BroadcastApproveView.as_view(), name="moderation_approve"),
    path("<int:pk>/reject/", views.BroadcastRejectView.as_view(), name="moderation_reject"),
    path("templates/", views.TemplateQueueView.as_view(), name="moderation_templates"),
    path("templates/<int:pk>/", views.TemplateReviewView.as_view(), name="moderation_template_detail"),
    path("templates/<int:pk>/approve/", views.TemplateApproveView.as_view(), name="moderation_template_approve"),
    path("templates/<int:pk>/reject/", views.TemplateRejectView.as_view(), name="moderation_template_reject"),
]
