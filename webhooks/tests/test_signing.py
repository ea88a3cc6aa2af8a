"""Signatures follow Standard Webhooks: the spec's reference vector, an independent
verifier, secret format, and the extra signature during a rotation's grace period."""

import base64
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks import services, signing
from webhooks.tests.conftest import VerificationError, verify


def test_known_vector_from_the_reference_library():
    # standard-webhooks/libraries/python/tests/test_webhooks.py::test_sign_function
    signature = signing.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                             '{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_prefix_is_optional_for_the_key():
    assert signing.sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                        '{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_headers_pass_an_independent_verifier_and_tampering_fails():
    secret = signing.new_secret()
    body = '{"type":"message.status","timestamp":"2025-01-01T00:00:00Z","data":{"status":"délivré"}}'.encode()
    now = int(time.time())
    headers = signing.headers([secret], "msg_0123abc", now, body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    verify(secret, headers, body)
    with pytest.raises(VerificationError):
        verify(secret, headers, body.replace(b"status", b"statuz"))
    with pytest.raises(VerificationError):
        verify(signing.new_secret(), headers, body)
    with pytest.raises(VerificationError):
        verify(secret, {**headers, "webhook-id": "msg_other"}, body)
    stale = signing.headers([secret], "msg_0123abc", now - 600, body)
    with pytest.raises(VerificationError, match="tolerance"):
        verify(secret, stale, body)


def test_new_secrets_are_whsec_and_24_random_bytes():
    a, b = signing.new_secret(), signing.new_secret()
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a[len("whsec_"):])) == 24
    assert signing.mask(a).startswith("whsec_") and a[6:-4] not in signing.mask(a)


def test_two_signatures_during_the_rotation_grace_period(db, company, actor):
    old = services.company_secret(company).secret
    ws = services.rotate_secret(actor=actor, company=company)
    assert ws.secret != old and ws.previous_secret == old
    secrets_ = services.signing_secrets(ws)
    assert secrets_ == [ws.secret, old]
    body = b'{"a":1}'
    header = signing.headers(secrets_, "msg_1", int(time.time()), body)
    assert len(header["webhook-signature"].split(" ")) == 2
    verify(old, header, body)  # a receiver not yet updated still verifies
    verify(ws.secret, header, body)
    later = timezone.now() + services.rotation_grace() + timedelta(seconds=1)
    assert services.signing_secrets(ws, later) == [ws.secret]


def test_the_secret_is_encrypted_at_rest(db, company):
    from django.db import connection

    ws = services.company_secret(company)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhooksecret WHERE id = %s", [ws.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("fernet:") and ws.secret not in stored
