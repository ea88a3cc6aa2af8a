from django.urls import path

from messaging.views import callbacks

app_name = "callbacks"
urlpatterns = [
    path("<uuid:token>", callbacks.provider_callback, name="provider"),
]
