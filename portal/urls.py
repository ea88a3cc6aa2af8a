from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from portal import views

admin.site.site_header = "Herald BackOffice"
admin.site.site_title = "Herald BackOffice"
admin.site.index_title = "System owner"

def media_file(request, path):
    """Uploaded files (the embedded default; behind a web server in production). The
    folder is read per request, so a changed MEDIA_ROOT (tests) is honoured."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    # First: the REST API carries the most requests, and URLs are tried in order.
    path("api/", include("portal.api.urls")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("broadcasts/", include("broadcasts.urls")),
    path("contacts/", include("contacts.urls")),
    path("conversations/", views.coming_soon("conversations"), name="conversations"),
    path("finance/", views.coming_soon("finance"), name="finance"),
    path("statistics/", views.coming_soon("statistics"), name="statistics"),
    path("assets/sender-ids/", include("messaging.urls_sender_ids")),
    path("assets/media/", include("assets.urls_media")),
    path("assets/content-templates/", include("assets.urls_content_templates")),
    path("assets/", views.AssetsHomeView.as_view(), name="assets"),
    path("webhooks/", include("webhooks.urls")),
    path("callbacks/", include("messaging.urls_callbacks")),
    path("t/", include("messaging.urls_tracking")),
    path("2fa-service/", views.coming_soon("twofa"), name="twofa"),
    path("help/", views.HelpView.as_view(), name="help"),
    path("tables/<slug:table>/columns/", views.save_columns, name="table_columns"),
    path("", include("accounts.urls")),
    path("audit/", include("portal.audit_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("media/<path:path>", media_file),
]
