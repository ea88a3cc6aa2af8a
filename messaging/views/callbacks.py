"""``POST /callbacks/<gateway callback token>``: delivery reports and inbound messages from
providers. The token (a UUID shown in the BackOffice to copy) names the gateway; the
driver checks the provider's signature where it has one. No session, no CSRF: providers
are not browsers."""

from __future__ import annotations

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from messaging.models import Gateway
from messaging.providers import driver_for
from messaging.providers.base import CallbackRejected
from messaging.services.intake import apply_reports, receive_inbound

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def provider_callback(request, token):
    gateway = Gateway.objects.filter(callback_token=token, is_active=True).first()
    if gateway is None:
        return JsonResponse({"error": "Unknown or inactive gateway callback URL."}, status=404)
    try:
        result = driver_for(gateway).parse_callback(request)
    except CallbackRejected as exc:
        logger.warning("gateway %s: callback rejected: %s", gateway.pk, exc.message)
        return JsonResponse({"error": exc.message}, status=exc.status)
    if result.reports:
        apply_reports(gateway, result.reports)
    if result.inbound:
        receive_inbound(gateway, result.inbound)
    return HttpResponse(result.body, status=result.status, content_type=result.content_type)
