from django.urls import path

from portal import audit_views

app_name = "audit"
urlpatterns = [
    path("", audit_views.AuditListView.as_view(), name="list"),
    path("<int:pk>/details/", audit_views.AuditDetailsView.as_view(), name="details"),
    path("<int:pk>/details.csv", audit_views.AuditDetailsCsvView.as_view(), name="details_csv"),
]
