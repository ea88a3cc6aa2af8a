"""Every API error as JSON ``{"status": "ERROR", "code": <http>, "message": ..., "errors": {...}}``
(API seed §1.5).

* 401 missing or invalid key (with ``WWW-Authenticate``), 403 missing scope or IP not on the
  allow-list, 404, 405, 422 validation (field errors under ``errors``), 429 with ``Retry-After``.
* A Django ``ValidationError`` or ``PermissionDenied`` raised by a service becomes 422 / 403,
  so viewsets never translate service errors themselves.
* An unexpected exception becomes a JSON 500 (outside ``DEBUG``); it is still logged to
  ``django.request`` and signalled like any Django 500.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler
from rest_framework.views import set_rollback

logger = logging.getLogger("django.request")

NON_FIELD_KEY = "non_field_errors"
SERVER_ERROR_MESSAGE = "Something went wrong on our end. Please try again."


def flatten_errors(detail, prefix: str = "", *, brackets: bool = False) -> dict[str, list[str]]:
    """DRF's nested errors as flat ``field → messages``, the shape of every API error body.
    Paths are dotted (``attributes.age``, ``filters.0.mode``), or with ``brackets`` list
    positions are bracketed (``messages[0].senderId``, the Omni API's names)."""
    def position(index) -> str:
        if brackets:
            return f"{prefix}[{index}]"
        return f"{prefix}.{index}" if prefix else str(index)

    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            if brackets and (isinstance(key, int) or (str(key).isdigit() and prefix)):
                name = position(key)
            elif key == NON_FIELD_KEY and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name, brackets=brackets))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or NON_FIELD_KEY: [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(flatten_errors(item, position(index), brackets=brackets))
        return flat
    return {prefix or NON_FIELD_KEY: [str(detail)]}


def error_body(code: int, message: str, errors: dict | None = None) -> dict:
    body = {"status": "ERROR", "code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return body


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg = _first_message(value)
            return msg if key == NON_FIELD_KEY else f"{key}: {msg}"
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def _from_django_validation(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        errors = {(NON_FIELD_KEY if key == NON_FIELD_ERRORS else key): value
                  for key, value in exc.message_dict.items()}
    else:
        errors = {NON_FIELD_KEY: exc.messages}
    return exceptions.ValidationError(errors)


def _server_error(exc, context) -> Response | None:
    if settings.DEBUG:
        return None  # let Django show its debug page
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    logger.error("Internal Server Error: %s", getattr(django_request, "path", "?"), exc_info=sys.exc_info(),
                 extra={"status_code": 500, "request": django_request})
    got_request_exception.send(sender=None, request=django_request)
    set_rollback()
    return Response(error_body(500, SERVER_ERROR_MESSAGE), status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _from_django_validation(exc)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    response = drf_handler(exc, context)  # keeps WWW-Authenticate and Retry-After
    if response is None:
        return _server_error(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {NON_FIELD_KEY: exc.detail}
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
        response.data = error_body(response.status_code, "Validation failed: " + _first_message(errors), errors)
    else:
        response.data = error_body(response.status_code, _first_message(exc.detail))
    return response


@csrf_exempt
def not_found(request, *args, **kwargs):
    """JSON 404 for any unknown path under ``/api/`` (instead of the HTML 404 page)."""
    from django.urls import Resolver404, resolve

    message = f"No API endpoint at {request.path}."
    if request.path.endswith("/") and len(request.path) > 1:
        try:
            match = resolve(request.path.rstrip("/"))
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            message += f" Did you mean {request.path.rstrip('/')} (no trailing slash)?"
    return JsonResponse(error_body(404, message), status=404,
                        json_dumps_params={"separators": (",", ":"), "ensure_ascii": False})
