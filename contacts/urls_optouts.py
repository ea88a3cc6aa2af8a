"""Opt-out words (spec P§6.9) and the contact opt-outs block's actions (spec P§6.4),
mounted at /contacts/opt-out-words/ in the ``contacts`` namespace."""

from django.urls import path

from .views import optouts as views

urlpatterns = [
    path("", views.OptOutWordListView.as_view(), name="optout_words"),
    path("new/", views.OptOutWordCreateView.as_view(), name="optout_word_create"),
    path("<int:pk>/edit/", views.OptOutWordUpdateView.as_view(), name="optout_word_edit"),
    path("<int:pk>/delete/", views.OptOutWordDeleteView.as_view(), name="optout_word_delete"),
    path("contact/<int:contact_pk>/", views.ContactOptOutsView.as_view(), name="contact_optouts"),
    path("contact/<int:contact_pk>/add/", views.ContactOptOutAddView.as_view(), name="contact_optout_add"),
    path("contact/<int:contact_pk>/<int:pk>/remove/", views.ContactOptOutRemoveView.as_view(),
         name="contact_optout_remove"),
]
