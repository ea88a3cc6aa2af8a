from django.urls import path

from portal import views

urlpatterns = [
    path("", views.coming_soon("broadcasts"), name="templates"),
]
