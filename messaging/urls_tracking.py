from django.urls import path

from messaging import tracking

app_name = "tracking"
urlpatterns = [
    path("o/<str:token>.gif", tracking.open_pixel, name="open_pixel"),
]
