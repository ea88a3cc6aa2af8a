"""*Forgot password?*: the e-mailed link, the policy on the new password, one use per
link, no account enumeration, and the request limit."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from portal.models import AuditEvent
from portal.testing import factories

SENT_PAGE = "If an account uses that address, a link to reset the password is on its way."
TOO_MANY = "Too many reset requests for this address. Try again in 5 minutes."


def request_reset(client, email):
    return client.post(reverse("password_reset"), {"email": email})


def reset_link(message) -> str:
    match = re.search(r"https?://\S+/password/reset/\S+/\S+/", message.body)
    assert match, message.body
    return match.group(0)


def choose(client, link, password, confirm=None):
    return client.post(link, {"new_password": password, "confirm_password": confirm or password})


@pytest.fixture
def member(company):
    return factories.user(company, roles=[factories.system_role("broadcast_manager")], email="member@example.com",
                          first_name="Mia")


@pytest.mark.django_db
def test_reset_sends_an_email_with_a_link(client, member):
    response = request_reset(client, "Member@Example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert SENT_PAGE in client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["member@example.com"]
    assert message.subject == "Reset your Herald password"
    assert "Hello Mia," in message.body
    assert reset_link(message).startswith("http://testserver/password/reset/")


@pytest.mark.django_db
def test_the_link_sets_a_new_password_and_the_user_can_sign_in(client, member):
    request_reset(client, member.email)
    link = reset_link(mail.outbox[0])

    page = client.get(link)
    assert page.status_code == 200
    assert "Choose a new password" in page.content.decode()
    response = choose(client, link, "Recovered!Pass1")

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "Your password has been reset." in client.get(reverse("login")).content.decode()
    assert User.objects.get(pk=member.pk).check_password("Recovered!Pass1")
    assert client.post(reverse("login"), {"login": member.login, "password": "Recovered!Pass1"}).status_code == 302
    assert AuditEvent.objects.filter(action="Reset password by e-mail link").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("weak", "reason"), [
    ("Ab1!xyz", "This password is too short. It must contain at least 8 characters."),
    ("abcdefgh1", "The password must contain at least 3 of these 4 groups"),
    (factories.PASSWORD, "The password must differ from your last 7 passwords."),
])
def test_the_link_refuses_a_password_that_breaks_the_policy(client, member, weak, reason):
    request_reset(client, member.email)
    link = reset_link(mail.outbox[0])

    response = choose(client, link, weak)

    assert response.status_code == 200
    assert reason in response.content.decode()
    assert User.objects.get(pk=member.pk).check_password(factories.PASSWORD)
    # The link still works for a good password after a refusal.
    assert choose(client, link, "Recovered!Pass1").status_code == 302


@pytest.mark.django_db
def test_mismatched_confirmation_is_refused(client, member):
    request_reset(client, member.email)
    response = choose(client, reset_link(mail.outbox[0]), "Recovered!Pass1", confirm="Recovered!Pass2")
    assert "The two passwords do not match." in response.content.decode()
    assert User.objects.get(pk=member.pk).check_password(factories.PASSWORD)


@pytest.mark.django_db
def test_the_link_works_only_once(client, member):
    request_reset(client, member.email)
    link = reset_link(mail.outbox[0])
    assert choose(client, link, "Recovered!Pass1").status_code == 302

    again = client.get(link)
    assert "This reset link is invalid or has expired." in again.content.decode()
    reused = choose(client, link, "Another!Pass2")
    assert "This reset link is invalid or has expired." in reused.content.decode()
    assert User.objects.get(pk=member.pk).check_password("Recovered!Pass1")


@pytest.mark.django_db
def test_a_tampered_link_is_refused(client, member):
    request_reset(client, member.email)
    link = reset_link(mail.outbox[0])
    page = client.get(link[:-3] + "xx/")
    assert "This reset link is invalid or has expired." in page.content.decode()


@pytest.mark.django_db
def test_reset_unlocks_an_account_locked_by_failed_sign_ins(client, member):
    for _ in range(5):
        client.post(reverse("login"), {"login": member.login, "password": "Wrong!Pass1"})
    member.refresh_from_db()
    assert member.locked_until is not None

    request_reset(client, member.email)
    choose(client, reset_link(mail.outbox[0]), "Recovered!Pass1")

    assert client.post(reverse("login"), {"login": member.login, "password": "Recovered!Pass1"}).status_code == 302


@pytest.mark.django_db
def test_unknown_address_gets_the_same_answer(client, member):
    known = request_reset(client, member.email)
    unknown = request_reset(client, "nobody@example.com")

    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"]
    assert len(mail.outbox) == 1  # only the real account got a mail


@pytest.mark.django_db
def test_disabled_user_gets_no_reset_mail(client, member):
    User.objects.filter(pk=member.pk).update(is_active=False)
    response = request_reset(client, member.email)
    assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.django_db
def test_fourth_request_within_five_minutes_is_refused(client, member):
    for _ in range(3):
        assert request_reset(client, member.email).status_code == 302

    fourth = request_reset(client, member.email)

    assert fourth.status_code == 429
    assert TOO_MANY in fourth.content.decode()
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_request_limit_applies_to_unknown_addresses_too(client):
    for _ in range(3):
        request_reset(client, "nobody@example.com")
    assert request_reset(client, "NOBODY@example.com").status_code == 429


@pytest.mark.django_db
def test_invalid_email_is_refused_by_the_form(client):
    response = request_reset(client, "not-an-email")
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
