from django.urls import path

from portal import views

app_name = "media"

urlpatterns = [
    path("", views.coming_soon("assets"), name="list"),
]
