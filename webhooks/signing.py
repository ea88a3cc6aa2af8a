"""Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme").

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature is
HMAC-SHA256 keyed with the secret's bytes (the base64 text after ``whsec_``), sent as
``v1,<base64 signature>``. Several signatures are separated by spaces (used while a
rotated secret is still honoured).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 24  # the spec's minimum; 192 bits


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret (the prefix is optional, padding tolerated)."""
    text = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    if not key:
        raise ValueError("empty webhook secret")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: str | bytes) -> str:
    """One ``v1,<base64>`` signature."""
    if isinstance(body, str):
        body = body.encode()
    content = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: str | bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_ if s)


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: str | bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


def mask(secret: str) -> str:
    """``whsec_`` and the last four characters; the rest hidden."""
    if not secret:
        return ""
    return PREFIX + "•" * 12 + secret[-4:]
