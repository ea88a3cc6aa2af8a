"""``/api/``: the OpenAPI schema, the Swagger UI, version 1 of the REST API, and a JSON 404 for
every other path under ``/api/``.

Each app adds one line to ``V1`` (its ``api/urls.py``, built with ``portal.api.routers.ApiRouter``).
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.api.errors import not_found

V1 = [
    path("", include("messaging.api.urls")),  # first: sending carries the most requests (tried in order)
    path("", include("accounts.api.urls")),
    path("", include("contacts.api.urls")),
    path("", include("broadcasts.api.urls")),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/", include(V1)),
    re_path(r"", not_found, name="api-not-found"),  # keep last
]
