"""OpenAPI helpers shared by every app's API: the error body and its documented responses.

Usage in a viewset::

    @extend_schema(responses={200: UserOutput, **error_responses(404)}, examples=[...])

``error_responses()`` always adds 401, 403 and 429 (every endpoint needs a key, may need a
scope, and is throttled); pass the extra codes an endpoint can answer (404, 405, 422).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='Always "ERROR" for an error.')
    code = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    message = serializers.CharField(help_text="A human-readable description of the error.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Validation errors only (422): field name → messages; `non_field_errors` for the rest.")

    class Meta:
        ref_name = "Error"


_ERRORS = {
    401: ("Missing or invalid API key. The response carries `WWW-Authenticate: Bearer realm=\"api\"`.",
          "The API key is not valid."),
    403: ("The key lacks the scope this endpoint needs, or the caller's IP is not on the key's allow-list.",
          "This API key lacks the 'crm' scope."),
    404: ("No such object in the key's company (another company's id also answers 404).", "Not found."),
    405: ("The endpoint does not support this HTTP method.", 'Method "DELETE" not allowed.'),
    422: ("Validation failed; field errors are under `errors`.", "Validation failed: name: This field is required."),
    429: ("Too many requests for this key; retry after the `Retry-After` header's seconds.",
          "Request was throttled. Expected available in 42 seconds."),
}


def error_response(code: int) -> OpenApiResponse:
    description, message = _ERRORS[code]
    value = {"status": "ERROR", "code": code, "message": message}
    if code == 422:
        value["errors"] = {"name": ["This field is required."]}
    return OpenApiResponse(ErrorSerializer, description=description,
                           examples=[OpenApiExample(f"Error {code}", value=value, response_only=True,
                                                    status_codes=[str(code)])])


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: error_response(code) for code in sorted({401, 403, 429, *codes})}
