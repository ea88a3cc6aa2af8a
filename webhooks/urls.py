from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.EventLogView.as_view(), name="log"),
    path("events/<str:pk>/", views.EventDetailView.as_view(), name="event"),
    path("events/<str:pk>/replay/", views.EventReplayView.as_view(), name="replay"),
    path("replay/", views.ReplaySinceView.as_view(), name="replay_since"),
    path("endpoints/", views.EndpointListView.as_view(), name="endpoints"),
    path("endpoints/<int:pk>/enable/", views.EndpointEnableView.as_view(), name="endpoint_enable"),
    path("endpoints/<int:pk>/disable/", views.EndpointDisableView.as_view(), name="endpoint_disable"),
    path("secret/", views.SecretView.as_view(), name="secret"),
    path("secret/reveal/", views.SecretRevealView.as_view(), name="secret_reveal"),
    path("secret/rotate/", views.SecretRotateView.as_view(), name="secret_rotate"),
]
