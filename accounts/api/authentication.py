"""API key authentication: ``X-API-Key``, ``Authorization: Bearer`` or ``?access_token=``
(spec §14, API seed §1.3). The IP allow-list is checked here too.

After authentication ``request.user`` is an :class:`ApiClient` and ``request.auth`` the
:class:`~accounts.models.ApiAccess`; ``portal.audit.Actor.from_request`` turns that into the
key as actor.

**Key cache.** A valid key's access (with its company) is kept per process for
``HERALD_API_KEY_CACHE_SECONDS`` (5 s), keyed by the key's SHA-256, so a busy client costs
no database query per request. Bound: a key that is regenerated or deleted, an access whose
scopes, senders or IP allow-list change, and a company that is disabled take effect at once
in the process that made the change (its ``post_save`` / ``post_delete`` empty the cache, again
after the commit) and within those 5 seconds in every other process. Unknown keys are never
cached (a new key works at once). Each request gets its own copy of the cached objects.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts import services
from accounts.models import ApiAccess, Company
from portal.net import client_ip

INVALID_KEY_MESSAGE = "The API key is not valid."
CACHE_SECONDS = 5.0
CACHE_SIZE = 1000  # accesses kept per process (least recently used out first)

_cache: OrderedDict[str, tuple[float, ApiAccess]] = OrderedDict()
_lock = threading.Lock()


def cache_seconds() -> float:
    return float(getattr(settings, "HERALD_API_KEY_CACHE_SECONDS", CACHE_SECONDS))


def clear_cache(**_signal) -> None:
    """Forget every cached access (this process). Connected to the saves and deletes of
    accesses and companies, and run again after their commit: a request that read the old
    row meanwhile cannot keep it."""
    with _lock:
        _cache.clear()
    if _signal:
        transaction.on_commit(_clear_now, robust=True)


def _clear_now() -> None:
    with _lock:
        _cache.clear()


for _model in (ApiAccess, Company):
    post_save.connect(clear_cache, sender=_model, dispatch_uid=f"api-key-cache-save-{_model.__name__}")
    post_delete.connect(clear_cache, sender=_model, dispatch_uid=f"api-key-cache-delete-{_model.__name__}")


def _copy(access: ApiAccess) -> ApiAccess:
    """A request's own copy of the cached access and its company."""
    clone = copy.copy(access)
    clone._state.fields_cache = {"company": copy.copy(access.company)}
    return clone


def find_access(raw_key: str) -> ApiAccess | None:
    """The access of ``raw_key`` (with its company), from the process cache when it was read
    less than ``cache_seconds()`` ago, else from the database; None for an unknown key."""
    raw_key = (raw_key or "").strip()
    if not raw_key or len(raw_key) > 200:
        return None
    digest = services.hash_api_key(raw_key)
    now = time.monotonic()
    with _lock:
        entry = _cache.get(digest)
        if entry is not None and entry[0] > now:
            _cache.move_to_end(digest)
            return entry[1]
    access = services.find_api_access(raw_key)
    if access is None:
        return None
    with _lock:
        _cache[digest] = (now + cache_seconds(), access)
        _cache.move_to_end(digest)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return access


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
        cached = find_access(raw)
        if cached is None or not cached.company.is_active:
            raise exceptions.AuthenticationFailed(INVALID_KEY_MESSAGE)
        ip = client_ip(request)
        if not services.ip_allowed(cached, ip):
            raise exceptions.PermissionDenied(
                f"Requests from {ip or 'an unknown address'} are not allowed for this API key (IP allow-list).")
        services.touch_api_access(cached)  # sets cached.last_used_at when it writes
        access = _copy(cached)
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
