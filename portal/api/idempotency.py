"""``Idempotency-Key`` for every ``POST`` of the API (docs/api.md §3, "Idempotency").

A client that is not sure its POST arrived (a timeout, a dropped connection) sends it again
with the same ``Idempotency-Key`` header and gets the first answer instead of a second
message, contact or import:

* Keys are scoped per API access (two keys may use the same value), 1–255 printable ASCII
  characters; a malformed key answers 400.
* The request's **fingerprint** is the SHA-256 of its method, path (and query, minus
  ``access_token``) and body. The body is compared by value: JSON key order and whitespace do
  not matter; form and multipart fields are compared with each uploaded file's SHA-256.
* First use: a row is inserted in state ``in_progress`` *before* the view runs. The
  ``(api_access, key)`` unique constraint decides which of two concurrent first requests
  runs; the other one answers 409 (``Retry-After: 1``).
* When the view answers, the status, body and ``Content-Type`` / ``Location`` are stored and
  the row is ``done``; the same key with the same request then gets that response again,
  byte for byte, with ``Idempotent-Replayed: true``. 2xx, 3xx and 4xx answers are stored
  (a 422 stays a 422: fix the request and use a new key); a 5xx or an exception releases the
  key so the request can be retried with it.
* The same key with another request answers 422.
* A key lives ``HERALD_IDEMPOTENCY_TTL_HOURS`` (24 h); ``purge_expired`` deletes old rows
  (beat). An ``in_progress`` row older than ``HERALD_IDEMPOTENCY_STALE_SECONDS`` (the worker
  that ran it died) may be taken over by a retry.

Only POST is covered: GET, PUT and DELETE are idempotent by nature, and the header is
ignored on them. Authentication, scope, IP and throttling checks run first, so a 401, 403
or 429 never uses up a key.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status

from portal.models import IdempotencyKey

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_LENGTH = 255
STORED_HEADERS = ("Content-Type", "Location")
_PRINTABLE = re.compile(r"[\x20-\x7e]+")

INVALID_MESSAGE = (f"The {HEADER} header must be 1 to {MAX_LENGTH} printable ASCII characters "
                   "(for example a UUID).")


def ttl() -> timedelta:
    return timedelta(hours=getattr(settings, "HERALD_IDEMPOTENCY_TTL_HOURS", 24))


def stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "HERALD_IDEMPOTENCY_STALE_SECONDS", 300))


class InvalidKey(exceptions.ParseError):
    default_detail = INVALID_MESSAGE


class KeyReused(exceptions.APIException):
    """The key was first used with another request."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


class KeyInProgress(exceptions.APIException):
    """The first request with this key has not answered yet."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_progress"
    default_detail = (f"A request with this {HEADER} is still being processed. Retry in a moment to get its "
                      "response.")
    wait = 1  # DRF's exception handler turns this into ``Retry-After: 1``


class Replay(Exception):
    """Not an error: carries the stored response to answer instead of running the view."""

    def __init__(self, response: HttpResponse):
        super().__init__("idempotent replay")
        self.response = response


def key_of(request) -> str | None:
    """The request's key (validated), or None when there is none or the method is not POST."""
    if request.method != "POST":
        return None
    raw = request.META.get(META_KEY)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_LENGTH or not _PRINTABLE.fullmatch(key):
        raise InvalidKey()
    return key


def _file_digest(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _canonical_body(request) -> bytes:
    data = request.data  # parsed once; the view reads the same parsed data
    if isinstance(data, QueryDict):
        items = []
        for name in sorted(data.keys()):
            for value in data.getlist(name):
                if isinstance(value, UploadedFile):
                    items.append([name, "file", value.name, _file_digest(value)])
                else:
                    items.append([name, value])
        return json.dumps(items, ensure_ascii=False).encode()
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def fingerprint(request) -> str:
    """SHA-256 of the method, the path with its query (``access_token`` left out: it is a
    credential, and the same key sent another way is the same request) and the body."""
    query = sorted((name, value) for name, values in request.query_params.lists() if name != "access_token"
                   for value in values)
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(json.dumps(query, ensure_ascii=False).encode() + b"\n")
    digest.update(hashlib.sha256(_canonical_body(request)).digest())
    return digest.hexdigest()


def replay_response(row: IdempotencyKey) -> HttpResponse:
    headers = dict(row.response_headers or {})
    response = HttpResponse(bytes(row.response_body), status=row.status_code,
                            content_type=headers.pop("Content-Type", "application/json"))
    for name, value in headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def begin(request) -> IdempotencyKey | None:
    """Called after authentication, permissions and throttling, before the view. Returns the
    ``in_progress`` row this request now owns (None: no key, nothing to do), or raises
    :class:`Replay`, :class:`KeyInProgress`, :class:`KeyReused` or :class:`InvalidKey`."""
    key = key_of(request)
    if key is None:
        return None
    access = request.auth
    request_print = fingerprint(request)
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    api_access=access, key=key, fingerprint=request_print, method=request.method,
                    path=request.path[:500], created_at=now, locked_at=now)
        except IntegrityError:
            pass  # the key exists: decide from the row
        existing = IdempotencyKey.objects.filter(api_access=access, key=key).first()
        if existing is None:
            continue  # released (a 5xx) or purged in between: try to take it
        if existing.created_at <= now - ttl():
            # expired but not purged yet: a new request may use the key again
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != request_print:
            raise KeyReused(
                f"This {HEADER} was already used for another request ({existing.method} {existing.path} with a "
                f"different body). Send a new key for a new request.")
        if existing.state == IdempotencyKey.State.IN_PROGRESS:
            if existing.locked_at <= now - stale_after():
                took = IdempotencyKey.objects.filter(
                    pk=existing.pk, state=IdempotencyKey.State.IN_PROGRESS, locked_at=existing.locked_at,
                ).update(locked_at=now)
                if took:  # the worker that ran it died: this request runs it again
                    existing.locked_at = now
                    return existing
            raise KeyInProgress()
        raise Replay(replay_response(existing))
    raise KeyInProgress()


def _owned(row: IdempotencyKey):
    return IdempotencyKey.objects.filter(pk=row.pk, state=IdempotencyKey.State.IN_PROGRESS, locked_at=row.locked_at)


def release(row: IdempotencyKey) -> None:
    """Forget the key (the request failed on our side): a retry with it runs again."""
    _owned(row).delete()


def finish(row: IdempotencyKey, response) -> None:
    """Store the view's response for replays, or release the key after a 5xx."""
    if response.status_code >= 500 or getattr(response, "streaming", False):
        release(row)
        return
    if callable(getattr(response, "render", None)) and not getattr(response, "is_rendered", True):
        response.render()
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    _owned(row).update(state=IdempotencyKey.State.DONE, status_code=response.status_code,
                       response_body=response.content, response_headers=headers, finished_at=timezone.now())


def purge_expired(now=None) -> int:
    """Delete keys older than the TTL (beat, hourly). Returns how many were deleted."""
    cutoff = (now or timezone.now()) - ttl()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description=(
        "Optional, 1–255 printable ASCII characters (a UUID is a good choice), unique per request you mean to "
        "make once. Sending the same request again with the same key returns the first response (same status "
        "and body) with the header `Idempotent-Replayed: true`, without doing anything twice. The same key with "
        "a different body or path answers 422; while the first request is still running, 409 with "
        "`Retry-After: 1`. Responses with a 5xx status are not kept (retry with the same key). Keys are kept "
        "24 hours, per API access."),
)


class IdempotencyAutoSchema(AutoSchema):
    """Documents the ``Idempotency-Key`` header on every POST."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method == "POST":
            parameters = [*parameters, IDEMPOTENCY_PARAMETER]
        return parameters
