"""Every API error as JSON ``{"status": "ERROR", "code": <http>, "message": ..., "errors": {...}}``
(API seed §1.5)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg = _first_message(value)
            return msg if key == "non_field_errors" else f"{key}: {msg}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    response = drf_handler(exc, context)
    if response is None:
        return None
    body = {"status": "ERROR", "code": response.status_code}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = status.HTTP_422_UNPROCESSABLE_ENTITY
        body["message"] = "Validation failed: " + _first_message(exc.detail)
        body["errors"] = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    else:
        detail = getattr(exc, "detail", None)
        body["message"] = _first_message(detail) if detail is not None else str(exc)
    response.data = body
    return Response(body, status=response.status_code, headers={k: v for k, v in response.items()})
