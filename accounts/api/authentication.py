"""API key authentication: ``X-API-Key``, ``Authorization: Bearer`` or ``?access_token=``
(spec §14, API seed §1.3). The IP allow-list is checked here too.

After authentication ``request.user`` is an :class:`ApiClient` and ``request.auth`` the
:class:`~accounts.models.ApiAccess`; ``portal.audit.Actor.from_request`` turns that into the
key as actor.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts import services
from portal.net import client_ip

INVALID_KEY_MESSAGE = "The API key is not valid."


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
    """The key from, in this order, ``X-API-Key``, ``Authorization: Bearer`` or ``?access_token=``."""
    header = request.META.get("HTTP_X_API_KEY", "").strip()
    if header:
        return header
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = auth.strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    token = request.GET.get("access_token", "").strip()
    return token or None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = key_from_request(request)
        if not raw:
            return None  # HasApiKey answers 401 with a hint on how to send a key
        access = services.find_api_access(raw)
        if access is None or not access.company.is_active:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        ip = client_ip(request)
        if not services.ip_allowed(access, ip):
            raise exceptions.PermissionDenied(
                f"Requests from {ip or 'an unknown address'} are not allowed for this API key (IP allow-list).")
        services.touch_api_access(access)
        return ApiClient(access), access

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Three equivalent ways to send the key: any one of them (OR), not all three (AND)."""

    target_class = "accounts.api.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerAuth", "AccessTokenQuery"]

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key",
             "description": "The API access key in the `X-API-Key` header (preferred)."},
            {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <key>`."},
            {"type": "apiKey", "in": "query", "name": "access_token",
             "description": "`?access_token=<key>` for clients that cannot send headers."},
        ]
