"""E-mail open tracking: the signed pixel token and the ``/t/o/<token>.gif`` view."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import signing
from django.urls import reverse

from messaging import tracking
from messaging.models import STATUS_RANK, Gateway, Message, MessageStatus, StatusEvent
from portal.channel_types import Channel
from portal.testing import factories

# --- the token -------------------------------------------------------------------------


def test_a_token_names_its_message_and_is_compact_and_url_safe():
    message_id = uuid.uuid4()
    token = tracking.make_token(message_id)
    assert tracking.read_token(token) == message_id
    assert re.fullmatch(r"[A-Za-z0-9_.-]{20,70}", token)
    assert str(message_id) not in token and message_id.hex not in token
    assert tracking.make_token(uuid.uuid4()) != token


def _flip(char: str) -> str:
    return "A" if char != "A" else "B"


def test_forged_and_tampered_tokens_are_refused(settings):
    message_id = uuid.uuid4()
    token = tracking.make_token(message_id)
    payload, signature = token.split(".")
    other_payload = tracking.make_token(uuid.uuid4()).split(".")[0]

    assert tracking.read_token(f"{other_payload}.{signature}") is None        # another message, this signature
    assert tracking.read_token(f"{_flip(payload[0])}{payload[1:]}.{signature}") is None
    assert tracking.read_token(f"{payload}.{signature[:-1]}{_flip(signature[-1])}") is None
    assert tracking.read_token(payload) is None
    assert tracking.read_token("") is None
    assert tracking.read_token("not-a-token.gif") is None
    # Signed with another salt (another feature's signature cannot be reused here).
    assert tracking.read_token(signing.Signer(salt="herald.other", sep=".").sign(payload)) is None
    # Genuine signature, but not a message id.
    assert tracking.read_token(signing.Signer(salt=tracking.SALT, sep=".").sign("abc")) is None
    # Made with another secret key.
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert tracking.read_token(token) is None


def test_the_pixel_goes_before_the_end_of_the_body_or_at_the_end(settings):
    settings.HERALD_BASE_URL = "https://herald.example/"
    message_id = uuid.uuid4()
    html = tracking.add_pixel("<HTML><BODY><p>Hi</p></BODY></HTML>", message_id)
    token = tracking.make_token(message_id)
    assert html == (f'<HTML><BODY><p>Hi</p><img src="https://herald.example/t/o/{token}.gif" width="1" height="1" '
                    'alt="" style="display:block;border:0"></BODY></HTML>')
    assert tracking.add_pixel("<p>Hi</p>", message_id).startswith('<p>Hi</p><img src="https://herald.example/t/o/')


# --- the view --------------------------------------------------------------------------


@pytest.fixture
def mail_gateway(db):
    return Gateway.objects.create(name="Mail", channel=Channel.EMAIL, provider="smtp",
                                  credentials={}, settings={"host": "127.0.0.1"})


def email_message(company, gateway, status=MessageStatus.SUBMITTED) -> Message:
    return Message.objects.create(company=company, gateway=gateway, channel=Channel.EMAIL, address="ana@example.com",
                                  source="api", content={"subject": "Hi", "html": "<p>Hi</p>"}, status=status,
                                  status_rank=STATUS_RANK[status], provider_message_id="<x@herald>")


def pixel(message_id) -> str:
    return reverse("tracking:open_pixel", args=[tracking.make_token(message_id)])


def assert_is_the_pixel(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content == tracking.PIXEL and response.content.startswith(b"GIF89a")
    cache = response["Cache-Control"]
    assert "no-store" in cache and "no-cache" in cache and "max-age=0" in cache
    assert response["Pragma"] == "no-cache"


@pytest.fixture
def calls(monkeypatch):
    """The intake replaced by a recorder (unit tests of the view only)."""
    recorded = []
    monkeypatch.setattr(tracking, "apply_reports", lambda gateway, reports: recorded.append((gateway, reports)))
    return recorded


def test_a_valid_open_reports_the_message_seen_to_its_gateway(client, company, mail_gateway, calls):
    message = email_message(company, mail_gateway)

    response = client.get(pixel(message.pk))

    assert_is_the_pixel(response)
    [(gateway, reports)] = calls
    assert gateway == mail_gateway
    [report] = reports
    assert (report.status, report.message_id, report.provider_status) == ("seen", message.pk, "opened")
    assert report.provider_message_id == "" and report.at is not None


def test_a_bad_token_still_gets_the_pixel_and_reports_nothing(client, company, mail_gateway, calls):
    message = email_message(company, mail_gateway)
    forged = tracking.make_token(uuid.uuid4()).split(".")[0] + "." + tracking.make_token(message.pk).split(".")[1]
    for url in (f"/t/o/{forged}.gif", "/t/o/garbage.gif", f"/t/o/{message.pk}.gif"):
        assert_is_the_pixel(client.get(url))
    assert calls == []


def test_an_unknown_or_deleted_message_gets_the_pixel(client, db, calls):
    assert_is_the_pixel(client.get(pixel(uuid.uuid4())))
    assert calls == []


def test_head_answers_the_pixel_without_reporting_and_post_is_refused(client, company, mail_gateway, calls):
    message = email_message(company, mail_gateway)
    head = client.head(pixel(message.pk))
    assert head.status_code == 200 and head["Content-Type"] == "image/gif"
    assert client.post(pixel(message.pk)).status_code == 405
    assert calls == []


def test_an_intake_error_still_answers_the_pixel(client, company, mail_gateway, monkeypatch, caplog):
    def broken(gateway, reports):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(tracking, "apply_reports", broken)
    message = email_message(company, mail_gateway)
    assert_is_the_pixel(client.get(pixel(message.pk)))
    assert "could not record the open" in caplog.text


def test_no_login_is_needed_even_when_signed_in_as_someone_else(client, company, other_company, mail_gateway, calls):
    client.force_login(factories.admin(other_company, login="someone"))
    message = email_message(company, mail_gateway)
    assert_is_the_pixel(client.get(pixel(message.pk)))
    assert [r.message_id for _g, reports in calls for r in reports] == [message.pk]


# --- with the real intake --------------------------------------------------------------


def test_opening_the_email_marks_the_real_message_seen(client, company, other_company, mail_gateway):
    opened = email_message(company, mail_gateway)
    delivered = email_message(company, mail_gateway, status=MessageStatus.DELIVERED)
    untouched = email_message(other_company, mail_gateway)

    assert_is_the_pixel(client.get(pixel(opened.pk)))
    assert_is_the_pixel(client.get(pixel(delivered.pk)))
    assert_is_the_pixel(client.get(pixel(opened.pk)))          # opened twice: nothing more changes

    opened.refresh_from_db()
    delivered.refresh_from_db()
    untouched.refresh_from_db()
    assert (opened.status, opened.provider_status) == ("seen", "opened")
    assert opened.seen_at is not None
    assert delivered.status == "seen"
    assert untouched.status == "submitted" and untouched.seen_at is None
    assert list(StatusEvent.objects.filter(message=opened).values_list("status", flat=True)) == ["seen"]
