"""Encryption at rest for secrets stored in the database (provider credentials, webhook
signing secrets).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``. The keys come from
``HERALD_ENCRYPTION_KEYS`` (comma separated, newest first: a new key is added in front and
old rows still decrypt, so keys rotate without downtime); without it a key is derived from
``SECRET_KEY`` (itself never in the repository). Values are stored as ``fernet:<token>``
so that a plain value written by mistake is recognisable.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(("herald-field-encryption:" + secret_key).encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "HERALD_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64 bytes), e.g. from "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(getattr(settings, "HERALD_ENCRYPTION_KEYS", ()) or ()), settings.SECRET_KEY)


def encrypt(text: str) -> str:
    return PREFIX + fernet().encrypt(text.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: the encryption key has changed (HERALD_ENCRYPTION_KEYS)") from exc


class EncryptedJSONField(models.TextField):
    """A JSON value (a dict of credentials) kept encrypted in a text column. It is never
    searchable and never shown back in full by the admin."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return {}
        return json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        if value in (None, ""):
            return {}
        if isinstance(value, str) and value.startswith(PREFIX):
            return json.loads(decrypt(value))
        return json.loads(value)

    def get_prep_value(self, value):
        if value in (None, "", {}):
            return ""
        return encrypt(json.dumps(value, sort_keys=True))


class EncryptedTextField(models.TextField):
    """A single secret string kept encrypted (e.g. a webhook signing secret)."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else ""

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return value or ""

    def get_prep_value(self, value):
        return encrypt(value) if value else ""
