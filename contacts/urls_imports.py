"""Import contacts (spec P§6.8), mounted at /contacts/import/ in the ``contacts`` namespace."""

from django.urls import path

from .views import imports

urlpatterns = [
    path("", imports.ImportStartView.as_view(), name="import"),
    path("<int:pk>/first-row/", imports.ImportRowsView.as_view(), name="import_rows"),
    path("<int:pk>/mapping/", imports.ImportMappingView.as_view(), name="import_mapping"),
    path("<int:pk>/duplicates/", imports.ImportDuplicatesView.as_view(), name="import_duplicates"),
    path("<int:pk>/preview/", imports.ImportPreviewView.as_view(), name="import_preview"),
    path("<int:pk>/check/", imports.ImportCheckStatusView.as_view(), name="import_check_status"),
    path("<int:pk>/", imports.ImportResultView.as_view(), name="import_result"),
    path("<int:pk>/status/", imports.ImportStatusView.as_view(), name="import_status"),
    path("<int:pk>/rejected-rows.xlsx", imports.ImportErrorsView.as_view(), name="import_errors"),
    path("quick/", imports.QuickImportView.as_view(), name="quick_import"),
    path("quick/<int:pk>/", imports.QuickImportConfirmView.as_view(), name="quick_import_confirm"),
]
