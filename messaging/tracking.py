"""E-mail open tracking: a 1×1 GIF whose URL carries a signed token of the message id.

``/t/o/<token>.gif`` answers the same transparent GIF whatever happens (a bad token, an
unknown message, an intake error), never cached, and with a valid token reports the
message *seen* through the normal intake (so the rank rules apply: an open never moves a
status backwards, and repeated opens change nothing).

The token is ``<message id, 22 url-safe base64 chars>.<HMAC-SHA256 signature>`` made by
``django.core.signing`` with its own salt: it cannot be guessed or forged without
``SECRET_KEY`` (and still verifies with ``SECRET_KEY_FALLBACKS`` after a key rotation).
"""

from __future__ import annotations

import base64
import logging
import uuid

from django.conf import settings
from django.core import signing
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from messaging.models import Message, MessageStatus
from messaging.providers.base import Report
from messaging.services.intake import apply_reports

logger = logging.getLogger(__name__)

SALT = "herald.open-pixel"
# The smallest transparent GIF (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, sep=".")


def make_token(message_id: uuid.UUID | str) -> str:
    raw = base64.urlsafe_b64encode(uuid.UUID(str(message_id)).bytes).rstrip(b"=").decode("ascii")
    return _signer().sign(raw)


def read_token(token: str) -> uuid.UUID | None:
    """The message id of a genuine token, else ``None``."""
    try:
        raw = _signer().unsign(token)
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        return uuid.UUID(bytes=data)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def pixel_url(message_id: uuid.UUID | str) -> str:
    path = reverse("tracking:open_pixel", args=[make_token(message_id)])
    return settings.HERALD_BASE_URL.rstrip("/") + path


def add_pixel(html: str, message_id: uuid.UUID | str) -> str:
    """The HTML with the tracking image just before ``</body>`` (or at the end)."""
    tag = f'<img src="{pixel_url(message_id)}" width="1" height="1" alt="" style="display:block;border:0">'
    at = html.lower().rfind("</body>")
    return html + tag if at < 0 else html[:at] + tag + html[at:]


def record_open(token: str) -> bool:
    """Report the message of a valid token *seen*. True when the token was genuine."""
    message_id = read_token(token)
    if message_id is None:
        return False
    # A cross-tenant lookup on purpose: the token is unforgeable and names exactly one
    # message, and the report goes to that message's own gateway.
    message = Message.objects.filter(pk=message_id).select_related("gateway").first()
    if message is None or message.gateway is None:
        return True
    try:
        apply_reports(message.gateway, [Report(status=MessageStatus.SEEN, message_id=message_id,
                                               provider_status="opened", at=timezone.now())])
    except Exception:  # the image must load whatever happens; the error is logged
        logger.exception("open pixel: could not record the open of message %s", message_id)
    return True


@require_http_methods(["GET", "HEAD"])
def open_pixel(request, token: str):
    # No login: mail clients fetch it anonymously. HEAD (link checkers) records nothing.
    if request.method == "GET":
        record_open(token)
    response = HttpResponse(PIXEL, content_type="image/gif")
    add_never_cache_headers(response)
    response["Pragma"] = "no-cache"
    return response
