from django.urls import path

from portal import views

app_name = "content_templates"

urlpatterns = [
    path("", views.coming_soon("assets"), name="list"),
]
