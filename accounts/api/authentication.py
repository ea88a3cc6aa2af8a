"""API key authentication: ``X-API-Key``, ``Authorization: Bearer`` or ``?access_token=``
(spec §14, API seed §1.3, gap G12). The IP allow-list is checked here too."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts import services
from portal.net import client_ip


class ApiClient:
    """The principal behind an API key: its company and the access itself."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, access):
        self.access = access
        self.company = access.company
        self.pk = None

    def __str__(self):
        return f"API access {self.access.name}"


def key_from_request(request) -> str | None:
    header = request.META.get("HTTP_X_API_KEY")
    if header:
        return header.strip()
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    token = request.GET.get("access_token")
    return token.strip() if token else None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = key_from_request(request)
        if not raw:
            return None
        access = services.find_api_access(raw)
        if access is None or not access.company.is_active:
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        if not services.ip_allowed(access, client_ip(request)):
            raise exceptions.PermissionDenied(
                f"Requests from {client_ip(request)} are not allowed for this API key (IP allow-list).")
        services.touch_api_access(access)
        return ApiClient(access), access

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerAuth", "AccessTokenQuery"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "http", "scheme": "bearer"},
            {"type": "apiKey", "in": "query", "name": "access_token"},
        ]
