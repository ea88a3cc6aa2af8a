"""The *Broadcasts* tab: runs at ``/broadcasts/`` (namespace ``broadcasts``; see
broadcasts/views_runs.py)."""

from django.urls import path

from . import views_runs as views

urlpatterns = [
    path("", views.BroadcastListView.as_view(), name="list"),
    path("new/", views.BroadcastCreateView.as_view(), name="create"),
    path("new/step/", views.StepFormView.as_view(), name="step_form"),
    path("new/recipients-count/", views.RecipientCountView.as_view(), name="recipients_count"),
    path("new/targets/<int:pk>/count/", views.TargetCountView.as_view(), name="target_count"),
    path("new/preflight/", views.PreflightView.as_view(), name="preflight"),
    path("<int:pk>/", views.BroadcastDetailView.as_view(), name="detail"),
    path("<int:pk>/live/", views.BroadcastLiveView.as_view(), name="live"),
    path("<int:pk>/edit/", views.BroadcastEditView.as_view(), name="edit"),
    path("<int:pk>/copy/", views.CopyView.as_view(), name="copy"),
    path("<int:pk>/pause/", views.PauseView.as_view(), name="pause"),
    path("<int:pk>/resume/", views.ResumeView.as_view(), name="resume"),
    path("<int:pk>/stop/", views.StopView.as_view(), name="stop"),
    path("<int:pk>/relaunch/", views.RelaunchView.as_view(), name="relaunch"),
    path("<int:pk>/delete/", views.DeleteView.as_view(), name="delete"),
]
