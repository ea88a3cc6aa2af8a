"""Two-factor authentication by SMS (spec §16.2 and §1): the code rules, turning it on and
off and changing the number on Privacy and Security, and the sign-in code step.

The codes travel through the messaging engine like any SMS: a test learns a code the way
a phone would, from the text of the message sent to the user's number."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import services, twofactor
from accounts.models import LoginCode, LoginCodePurpose, User
from accounts.views.auth import PENDING_LOGIN_KEY
from messaging.models import Gateway, Message, MessageStatus, Source
from portal.api.testing import key_client
from portal.audit import Actor
from portal.models import AuditEvent
from portal.testing import factories

PHONE = "+34612345678"
NEW_PHONE = "+34622334455"
MASKED = "+34••••••678"
SMS_TEXT = re.compile(r"^Your Herald verification code is (\d{6})\. It expires in 5 minutes\.$")


@pytest.fixture
def sms_route(db):
    return Gateway.objects.create(name="Sim", channel=1, provider="simulator", settings={"seed": 1})


@pytest.fixture
def member(company):
    return factories.user(company, roles=[factories.system_role("broadcast_manager")], login="mia",
                          first_name="Mia", last_name="Member")


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def tfa_user(company):
    """A user with two-factor authentication on."""
    user = factories.user(company, roles=[factories.system_role("broadcast_manager")], login="tom",
                          phone=PHONE, two_factor_enabled=True)
    assert user.two_factor_enabled
    return user


def last_sms(user) -> Message:
    row = user.login_codes.order_by("-created_at", "-id").first()
    assert row is not None and row.message_id is not None, "no code was sent"
    return Message.objects.get(pk=row.message_id)


def sms_code(user) -> str:
    """The code of the last SMS sent to ``user``, read from the message text (like a phone)."""
    match = SMS_TEXT.match(last_sms(user).content["text"])
    assert match, last_sms(user).content
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def page_of(response) -> str:
    return response.content.decode()


def toggle(page: str) -> set[str]:
    """The attributes of the 2FA switch as the browser reads them (``checked``, ``disabled``…)."""
    found = []

    class Finder(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "input" and ("data-testid", "twofa-toggle") in attrs:
                found.append({name for name, _value in attrs})

    Finder().feed(page)
    assert len(found) == 1
    return found[0]


# --- phone numbers ----------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("raw, region, e164", [
    ("+34 612 345 678", "ES", PHONE), ("612345678", "ES", PHONE), ("0034 612-345-678", "", PHONE),
    ("(612) 34 56 78", "ES", PHONE),
])
def test_phone_numbers_are_stored_in_e164(raw, region, e164):
    assert twofactor.normalize_phone(raw, region) == e164


@pytest.mark.django_db
@pytest.mark.parametrize("raw, reason", [
    ("call me", "is not a phone number"),
    ("+34 612", "is not a valid number for ES"),
    ("", "The phone number is empty."),
    ("+34 911 234 567", "is a landline: enter a mobile number that can receive SMS."),
    ("+34 900 123 456", "is a toll-free number"),
])
def test_numbers_that_cannot_receive_codes_are_refused_with_the_reason(raw, reason):
    with pytest.raises(ValidationError) as exc:
        twofactor.normalize_phone(raw, "ES")
    assert reason in " ".join(exc.value.messages)


def test_masked_number_shows_the_country_code_and_the_last_three_digits():
    assert twofactor.mask_phone(PHONE) == MASKED
    assert twofactor.mask_phone("+447911123456") == "+44•••••••456"


# --- the code rules -----------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_code_is_six_digits_sent_by_sms_and_never_stored_in_clear(member, sms_route):
    row = twofactor.request_enable(user=member, phone="612 345 678")

    message = last_sms(member)
    assert message.address == PHONE and message.channel == 1
    assert message.source == Source.SYSTEM and message.source_id == member.pk
    assert message.status != MessageStatus.SKIPPED
    code = sms_code(member)
    row.refresh_from_db()
    assert row.purpose == LoginCodePurpose.ENABLE and row.phone == PHONE
    stored = [str(getattr(row, f.attname)) for f in LoginCode._meta.concrete_fields]
    assert not any(code in value for value in stored)  # not in clear, in no column
    import hashlib

    assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()  # nor a bare hash of it
    assert row.expires_at == row.created_at + timedelta(minutes=5)


@pytest.mark.django_db
def test_the_right_code_works_once(member, sms_route):
    twofactor.request_enable(user=member, phone=PHONE)
    code = sms_code(member)
    assert twofactor.confirm_setup(actor=Actor(user=member), user=member, code=code) == "enable"
    member.refresh_from_db()
    assert member.two_factor_enabled and member.phone == PHONE

    with pytest.raises(ValidationError) as exc:
        twofactor.confirm_setup(actor=Actor(user=member), user=member, code=code)
    assert "No code is waiting" in " ".join(exc.value.messages)


@pytest.mark.django_db
def test_wrong_codes_are_counted_and_the_fifth_voids_the_code(member, sms_route):
    twofactor.request_enable(user=member, phone=PHONE)
    code = sms_code(member)
    actor = Actor(user=member)
    for left in (4, 3, 2):
        with pytest.raises(ValidationError) as exc:
            twofactor.confirm_setup(actor=actor, user=member, code=wrong(code))
        assert f"The code is not correct. {left} tries left." in exc.value.messages
    with pytest.raises(ValidationError) as exc:
        twofactor.confirm_setup(actor=actor, user=member, code=wrong(code))
    assert "The code is not correct. 1 try left." in exc.value.messages
    with pytest.raises(ValidationError) as exc:
        twofactor.confirm_setup(actor=actor, user=member, code=wrong(code))
    assert "entered wrong 5 times and no longer works" in " ".join(exc.value.messages)
    assert LoginCode.objects.get(user=member).attempts == 5

    # Even the right code no longer works: a new one must be requested.
    with pytest.raises(ValidationError) as exc:
        twofactor.confirm_setup(actor=actor, user=member, code=code)
    assert "no longer works: ask for a new code" in " ".join(exc.value.messages)
    member.refresh_from_db()
    assert not member.two_factor_enabled


@pytest.mark.django_db
def test_input_that_is_not_six_digits_is_not_counted_as_a_try(member, sms_route):
    twofactor.request_enable(user=member, phone=PHONE)
    with pytest.raises(ValidationError) as exc:
        twofactor.confirm_setup(actor=Actor(user=member), user=member, code="12ab")
    assert "Enter the 6-digit code from the SMS." in exc.value.messages
    assert LoginCode.objects.get(user=member).attempts == 0
    # Spaces and dashes, as people copy codes, are fine.
    code = sms_code(member)
    twofactor.confirm_setup(actor=Actor(user=member), user=member, code=f" {code[:3]}-{code[3:]} ")
    member.refresh_from_db()
    assert member.two_factor_enabled


@pytest.mark.django_db
@pytest.mark.parametrize("after, works", [(timedelta(minutes=4, seconds=59), True), (timedelta(minutes=5), False)])
def test_a_code_expires_after_five_minutes(member, sms_route, after, works):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        twofactor.request_enable(user=member, phone=PHONE)
        code = sms_code(member)
        traveller.shift(after)
        if works:
            twofactor.confirm_setup(actor=Actor(user=member), user=member, code=code)
        else:
            with pytest.raises(ValidationError) as exc:
                twofactor.confirm_setup(actor=Actor(user=member), user=member, code=code)
            assert "The code has expired" in " ".join(exc.value.messages)
    member.refresh_from_db()
    assert member.two_factor_enabled is works


@pytest.mark.django_db
def test_a_new_code_voids_the_previous_one(member, sms_route, monkeypatch):
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(twofactor, "_new_code", lambda: next(codes))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        twofactor.request_enable(user=member, phone=PHONE)
        traveller.shift(timedelta(seconds=31))
        twofactor.resend_setup(user=member)
        assert sms_code(member) == "222222"
        with pytest.raises(ValidationError):
            twofactor.confirm_setup(actor=Actor(user=member), user=member, code="111111")
        twofactor.confirm_setup(actor=Actor(user=member), user=member, code="222222")
    assert Message.objects.filter(address=PHONE, source=Source.SYSTEM).count() == 2


@pytest.mark.django_db
def test_one_code_every_30_seconds(member, sms_route):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        twofactor.request_enable(user=member, phone=PHONE)
        traveller.shift(timedelta(seconds=10))
        with pytest.raises(ValidationError) as exc:
            twofactor.resend_setup(user=member)
        assert exc.value.messages == ["A code was sent less than 30 seconds ago. You can ask for a new one in "
                                      "20 seconds."]
        traveller.shift(timedelta(seconds=20))
        twofactor.resend_setup(user=member)
    assert member.login_codes.count() == 2


@pytest.mark.django_db
def test_five_unused_codes_an_hour(member, sms_route):
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        twofactor.request_enable(user=member, phone=PHONE)
        for _ in range(4):
            traveller.shift(timedelta(seconds=31))
            twofactor.resend_setup(user=member)
        traveller.shift(timedelta(seconds=31))
        with pytest.raises(ValidationError) as exc:
            twofactor.resend_setup(user=member)
        assert exc.value.messages == ["You asked for 5 codes in the last hour. You can ask for a new one after "
                                      "11:00 (UTC)."]
        assert Message.objects.filter(address=PHONE).count() == 5
        traveller.move_to(start + timedelta(hours=1, seconds=1))  # the first code left the window
        twofactor.request_enable(user=member, phone=PHONE)
    assert Message.objects.filter(address=PHONE).count() == 6


@pytest.mark.django_db
def test_used_codes_do_not_count_towards_the_hourly_limit(tfa_user, sms_route, client):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(6):  # six sign-ins within the hour
            client.post(reverse("login"), {"login": tfa_user.login, "password": factories.PASSWORD})
            response = client.post(reverse("login_code"), {"code": sms_code(tfa_user)})
            assert response.status_code == 302 and response["Location"] == reverse("dashboard")
            client.post(reverse("logout"))
            traveller.shift(timedelta(seconds=5))


@pytest.mark.django_db
def test_a_code_of_one_user_does_not_work_for_another(company, sms_route, monkeypatch):
    alice = factories.user(company, login="alice")
    bob = factories.user(company, login="bob")
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(twofactor, "_new_code", lambda: next(codes))
    twofactor.request_enable(user=alice, phone=PHONE)
    twofactor.request_enable(user=bob, phone=NEW_PHONE)
    assert (sms_code(alice), sms_code(bob)) == ("111111", "222222")

    with pytest.raises(ValidationError) as exc:
        twofactor.confirm_setup(actor=Actor(user=bob), user=bob, code="111111")
    assert "The code is not correct." in " ".join(exc.value.messages)
    bob.refresh_from_db()
    assert not bob.two_factor_enabled
    twofactor.confirm_setup(actor=Actor(user=alice), user=alice, code="111111")


@pytest.mark.django_db
def test_the_same_code_value_only_matches_its_own_row(company, sms_route, monkeypatch):
    """Even when two users happen to get the same digits, a row's hash is bound to its
    user: a copied hash does not make the code valid for someone else."""
    alice = factories.user(company, login="alice")
    bob = factories.user(company, login="bob")
    monkeypatch.setattr(twofactor, "_new_code", lambda: "333333")
    a = twofactor.request_enable(user=alice, phone=PHONE)
    b = twofactor.request_enable(user=bob, phone=PHONE)
    assert a.code_hash != b.code_hash
    LoginCode.objects.filter(pk=b.pk).update(code_hash=a.code_hash, salt=a.salt)
    with pytest.raises(ValidationError):
        twofactor.confirm_setup(actor=Actor(user=bob), user=bob, code="333333")


# --- Privacy and Security: turning it on ---------------------------------------------------------

@pytest.mark.django_db
def test_security_page_offers_to_add_a_phone_number(member_client, member):
    page = page_of(member_client.get(reverse("account:security")))
    assert "Two-factor authentication" in page
    assert "checked" not in toggle(page) and "disabled" not in toggle(page)
    for text in ("Add phone number", "Phone number", "Get verification code", "Cancel"):
        assert text in page
    assert "Sign-in codes by SMS arrive with the messaging engine" not in page


@pytest.mark.django_db
def test_turning_on_two_factor_on_the_security_page(member_client, member, sms_route):
    response = member_client.post(reverse("account:two_factor_send"), {"phone": "612 345 678"})
    assert response.status_code == 302 and response["Location"] == reverse("account:security")

    page = page_of(member_client.get(reverse("account:security")))
    assert f"We sent a code to {MASKED}." in page
    assert f"Enter the code we sent to {MASKED}" in page
    assert "Resend code" in page and 'data-testid="twofa-code-step"' in page
    member.refresh_from_db()
    assert not member.two_factor_enabled  # not before the code

    response = member_client.post(reverse("account:two_factor_confirm"), {"code": wrong(sms_code(member))})
    assert response.status_code == 200
    assert "The code is not correct. 4 tries left." in page_of(response)

    response = member_client.post(reverse("account:two_factor_confirm"), {"code": sms_code(member)}, follow=True)
    page = page_of(response)
    assert f"Two-factor authentication is on: signing in now asks for a code sent to {PHONE}." in page
    assert f'data-testid="twofa-phone">{PHONE}<' in page
    assert "Edit phone number" in page
    member.refresh_from_db()
    assert member.two_factor_enabled and member.phone == PHONE

    event = AuditEvent.objects.get(action="Turned on two-factor authentication")
    assert event.user == member and event.company == member.company
    detail = event.details.get()
    assert detail.old_value["two_factor_enabled"] is False and detail.new_value["two_factor_enabled"] is True
    assert detail.new_value["phone"] == PHONE


@pytest.mark.django_db
def test_invalid_number_is_refused_with_the_reason(member_client, member, sms_route):
    response = member_client.post(reverse("account:two_factor_send"), {"phone": "+34 911 234 567"})
    assert response.status_code == 200
    page = page_of(response)
    assert "+34911234567 is a landline: enter a mobile number that can receive SMS." in page
    assert not Message.objects.exists()

    response = member_client.post(reverse("account:two_factor_send"), {"phone": ""})
    assert "This field is required." in page_of(response)


@pytest.mark.django_db
def test_no_sms_route_shows_why_and_two_factor_stays_off(member_client, member):
    assert not Gateway.objects.exists()
    response = member_client.post(reverse("account:two_factor_send"), {"phone": PHONE})

    assert response.status_code == 200
    page = page_of(response)
    assert "We could not send the code: No route" in page
    assert "Enter the code we sent" not in page
    member.refresh_from_db()
    assert not member.two_factor_enabled
    message = Message.objects.get(address=PHONE)  # the attempt stays visible in the EDRs
    assert message.status == MessageStatus.SKIPPED and message.error_code == "no_route"
    # No code is waiting: confirming anything is refused.
    response = member_client.post(reverse("account:two_factor_confirm"), {"code": "123456"}, follow=True)
    assert "No code is waiting to be entered" in page_of(response)

    # Once the platform has an SMS route, asking again works straight away.
    Gateway.objects.create(name="Sim", channel=1, provider="simulator", settings={"seed": 1})
    assert member_client.post(reverse("account:two_factor_send"), {"phone": PHONE}).status_code == 302
    member_client.post(reverse("account:two_factor_confirm"), {"code": sms_code(member)})
    member.refresh_from_db()
    assert member.two_factor_enabled


@pytest.mark.django_db
def test_cancel_forgets_the_code(member_client, member, sms_route):
    member_client.post(reverse("account:two_factor_send"), {"phone": PHONE})
    code = sms_code(member)
    assert member_client.post(reverse("account:two_factor_cancel")).status_code == 302
    page = page_of(member_client.get(reverse("account:security")))
    assert "Enter the code we sent" not in page and "Add phone number" in page
    response = member_client.post(reverse("account:two_factor_confirm"), {"code": code}, follow=True)
    assert "No code is waiting to be entered" in page_of(response)
    member.refresh_from_db()
    assert not member.two_factor_enabled


@pytest.mark.django_db
def test_resend_on_the_security_page(member_client, member, sms_route):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        member_client.post(reverse("account:two_factor_send"), {"phone": PHONE})
        page = page_of(member_client.post(reverse("account:two_factor_resend"), follow=True))
        assert "A code was sent less than 30 seconds ago. You can ask for a new one in 30 seconds." in page
        traveller.shift(timedelta(seconds=30))
        page = page_of(member_client.post(reverse("account:two_factor_resend"), follow=True))
        assert f"A new code was sent to {MASKED}." in page
    assert Message.objects.filter(address=PHONE).count() == 2


@pytest.mark.django_db
def test_security_actions_need_post_and_sign_in(client, member_client):
    for name in ("two_factor_send", "two_factor_confirm", "two_factor_resend", "two_factor_cancel",
                 "two_factor_disable"):
        assert member_client.get(reverse(f"account:{name}"))["Location"] == reverse("account:security")
        assert client.__class__().post(reverse(f"account:{name}"))["Location"].startswith(reverse("login"))


# --- Privacy and Security: changing the number and turning it off ----------------------------------

@pytest.fixture
def tfa_client(client, tfa_user):
    client.force_login(tfa_user)
    return client


@pytest.mark.django_db
def test_security_page_when_on_offers_edit_and_disable(tfa_client, tfa_user):
    page = page_of(tfa_client.get(reverse("account:security")))
    assert "checked" in toggle(page)
    for text in ("Edit phone number", "New phone number", "Current password", "Get verification code", "Disable",
                 "Disable two-factor authentication?"):
        assert text in page, text
    assert f'data-testid="twofa-phone">{PHONE}<' in page


@pytest.mark.django_db
def test_changing_the_number_sends_the_code_to_the_new_number(tfa_client, tfa_user, sms_route):
    response = tfa_client.post(reverse("account:two_factor_send"), {"phone": "622 33 44 55",
                                                                    "password": factories.PASSWORD})
    assert response.status_code == 302
    assert last_sms(tfa_user).address == NEW_PHONE
    page = page_of(tfa_client.get(reverse("account:security")))
    assert "Enter the code we sent to +34••••••455" in page
    tfa_user.refresh_from_db()
    assert tfa_user.phone == PHONE  # not before the code

    response = tfa_client.post(reverse("account:two_factor_confirm"), {"code": sms_code(tfa_user)}, follow=True)
    assert f"Your sign-in codes now go to {NEW_PHONE}." in page_of(response)
    tfa_user.refresh_from_db()
    assert tfa_user.phone == NEW_PHONE and tfa_user.two_factor_enabled
    detail = AuditEvent.objects.get(action="Changed two-factor phone number").details.get()
    assert (detail.old_value["phone"], detail.new_value["phone"]) == (PHONE, NEW_PHONE)


@pytest.mark.django_db
def test_changing_the_number_needs_the_password_and_a_new_number(tfa_client, tfa_user, sms_route):
    response = tfa_client.post(reverse("account:two_factor_send"), {"phone": NEW_PHONE, "password": "nope"})
    assert "The password is not correct." in page_of(response)
    response = tfa_client.post(reverse("account:two_factor_send"), {"phone": NEW_PHONE})
    assert "This field is required." in page_of(response)
    response = tfa_client.post(reverse("account:two_factor_send"), {"phone": "612 345 678",
                                                                    "password": factories.PASSWORD})
    assert "This is already the number your codes go to: enter a new one." in page_of(response)
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_code_sent_to_turn_on_cannot_change_the_number_later(tfa_client, tfa_user, sms_route):
    """A code only confirms what it was sent for (and to the number it was sent to)."""
    tfa_client.post(reverse("account:two_factor_send"), {"phone": NEW_PHONE, "password": factories.PASSWORD})
    row = tfa_user.login_codes.get()
    LoginCode.objects.filter(pk=row.pk).update(phone="+34698765432")  # tampered row
    response = tfa_client.post(reverse("account:two_factor_confirm"), {"code": sms_code(tfa_user)})
    assert "The code is not correct." in page_of(response)
    tfa_user.refresh_from_db()
    assert tfa_user.phone == PHONE


@pytest.mark.django_db
def test_disable_needs_the_current_password(tfa_client, tfa_user):
    response = tfa_client.post(reverse("account:two_factor_disable"), {"password": "Wrong!Passw0rd"})
    assert response.status_code == 200
    assert "The password is not correct." in page_of(response)
    tfa_user.refresh_from_db()
    assert tfa_user.two_factor_enabled

    response = tfa_client.post(reverse("account:two_factor_disable"), {"password": factories.PASSWORD}, follow=True)
    assert "Two-factor authentication is off" in page_of(response)
    tfa_user.refresh_from_db()
    assert not tfa_user.two_factor_enabled
    assert tfa_user.phone == PHONE  # kept as the contact phone
    detail = AuditEvent.objects.get(action="Turned off two-factor authentication").details.get()
    assert detail.old_value["two_factor_enabled"] is True and detail.new_value["two_factor_enabled"] is False


@pytest.mark.django_db
def test_profile_phone_cannot_bypass_the_confirmation(tfa_client, tfa_user):
    response = tfa_client.post(reverse("account:settings"), {"section": "contact", "phone": NEW_PHONE})
    assert "This number receives your sign-in codes." in page_of(response)
    tfa_user.refresh_from_db()
    assert tfa_user.phone == PHONE
    # The same number written differently is not a change.
    assert tfa_client.post(reverse("account:settings"), {"section": "contact", "phone": "612 345 678"}).status_code \
        == 302


@pytest.mark.django_db
def test_admin_can_turn_two_factor_on_only_with_a_usable_phone(admin_user, member):
    actor = Actor(user=admin_user)
    with pytest.raises(ValidationError) as exc:
        services.update_user(actor=actor, user=member, two_factor_enabled=True)
    assert "Enter the contact phone" in " ".join(exc.value.messages)
    with pytest.raises(ValidationError) as exc:
        services.update_user(actor=actor, user=member, two_factor_enabled=True, phone="+34 911 234 567")
    assert "is a landline" in " ".join(exc.value.messages)
    member.refresh_from_db()
    assert not member.two_factor_enabled
    services.update_user(actor=actor, user=member, two_factor_enabled=True, phone="+34 612 345 678")
    member.refresh_from_db()
    assert member.two_factor_enabled


# --- signing in ------------------------------------------------------------------------------------

def sign_in(client, login, password=factories.PASSWORD, **extra):
    data = {"login": login, "password": password}
    data.update({k: v for k, v in extra.items() if k in ("remember_me", "next")})
    return client.post(reverse("login"), data)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_password_alone_does_not_sign_in_a_user_with_two_factor(client, tfa_user, sms_route):
    response = sign_in(client, tfa_user.login)

    assert response.status_code == 302 and response["Location"] == reverse("login_code")
    assert not signed_in(client)
    pending = client.session[PENDING_LOGIN_KEY]
    assert pending["user_id"] == tfa_user.pk and pending["remember_me"] is False
    assert last_sms(tfa_user).address == PHONE
    page = page_of(client.get(reverse("login_code")))
    assert f"Enter the code we sent to {MASKED}" in page
    assert PHONE not in page
    for text in ("Resend code", "Back", "Verification code"):
        assert text in page
    # Protected pages are still closed.
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_the_right_code_signs_in(client, tfa_user, sms_route):
    sign_in(client, tfa_user.login)
    response = client.post(reverse("login_code"), {"code": sms_code(tfa_user)})

    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert signed_in(client) and int(client.session["_auth_user_id"]) == tfa_user.pk
    assert PENDING_LOGIN_KEY not in client.session
    assert client.session.get_expire_at_browser_close() is True
    assert client.get(reverse("dashboard")).status_code == 200
    assert tfa_user.login_codes.get().used_at is not None


@pytest.mark.django_db
def test_remember_me_and_next_survive_the_code_step(client, tfa_user, sms_route):
    target = reverse("account:security")
    sign_in(client, tfa_user.login, remember_me="on", next=target)
    response = client.post(reverse("login_code"), {"code": sms_code(tfa_user)})

    assert response["Location"] == target
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


@pytest.mark.django_db
def test_next_never_leaves_the_site_after_the_code_step(client, tfa_user, sms_route):
    sign_in(client, tfa_user.login, next="https://evil.example/")
    assert client.post(reverse("login_code"), {"code": sms_code(tfa_user)})["Location"] == reverse("dashboard")


@pytest.mark.django_db
def test_wrong_code_is_refused_and_counts_as_a_failed_sign_in(client, tfa_user, sms_route):
    sign_in(client, tfa_user.login)
    response = client.post(reverse("login_code"), {"code": wrong(sms_code(tfa_user))})

    assert response.status_code == 200
    assert "The code is not correct. 4 tries left." in page_of(response)
    assert not signed_in(client)
    tfa_user.refresh_from_db()
    assert tfa_user.failed_login_count == 1


@pytest.mark.django_db
def test_five_wrong_codes_lock_the_account(client, tfa_user, sms_route):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, tfa_user.login)
        code = sms_code(tfa_user)
        for _ in range(4):
            client.post(reverse("login_code"), {"code": wrong(code)})
        response = client.post(reverse("login_code"), {"code": wrong(code)}, follow=True)

        page = page_of(response)
        assert "The account is locked after repeated failed sign-in attempts" in page
        assert response.redirect_chain[-1][0] == reverse("login")
        assert not signed_in(client)
        tfa_user.refresh_from_db()
        assert tfa_user.locked_until == start + timedelta(minutes=15)
        assert AuditEvent.objects.filter(action=f"Locked account {tfa_user.login} after failed sign-ins").exists()
        # The code is void and the password step is closed too.
        assert "locked" in page_of(sign_in(client, tfa_user.login))
        assert not signed_in(client)

        traveller.shift(timedelta(minutes=15, seconds=1))
        assert sign_in(client, tfa_user.login)["Location"] == reverse("login_code")
        assert client.post(reverse("login_code"), {"code": sms_code(tfa_user)})["Location"] == reverse("dashboard")
    tfa_user.refresh_from_db()
    assert tfa_user.failed_login_count == 0 and tfa_user.locked_until is None


@pytest.mark.django_db
def test_right_password_does_not_reset_the_failures_before_the_code(client, tfa_user, sms_route):
    """Wrong codes keep counting across attempts: signing in with the password again does
    not give a fresh series of guesses."""
    sign_in(client, tfa_user.login)
    for _ in range(3):
        client.post(reverse("login_code"), {"code": wrong(sms_code(tfa_user))})
    client.post(reverse("login_code"), {"action": "back"})
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        sign_in(client, tfa_user.login)
        tfa_user.refresh_from_db()
        assert tfa_user.failed_login_count == 3
        client.post(reverse("login_code"), {"code": wrong(sms_code(tfa_user))})
        response = client.post(reverse("login_code"), {"code": wrong(sms_code(tfa_user))}, follow=True)
    assert "The account is locked" in page_of(response)


@pytest.mark.django_db
def test_the_pending_sign_in_expires_after_ten_minutes(client, tfa_user, sms_route):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, tfa_user.login)
        traveller.shift(timedelta(minutes=4))
        client.post(reverse("login_code"), {"action": "resend"})  # a fresh code…
        code = sms_code(tfa_user)
        traveller.shift(timedelta(minutes=6, seconds=1))  # …but the sign-in itself is too old
        response = client.post(reverse("login_code"), {"code": code}, follow=True)
    assert "Your sign-in took more than 10 minutes. Sign in again." in page_of(response)
    assert not signed_in(client) and PENDING_LOGIN_KEY not in client.session


@pytest.mark.django_db
def test_an_expired_code_is_refused_at_sign_in(client, tfa_user, sms_route):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, tfa_user.login)
        traveller.shift(timedelta(minutes=5, seconds=1))
        response = client.post(reverse("login_code"), {"code": sms_code(tfa_user)})
    assert "The code has expired" in page_of(response)
    assert not signed_in(client)


@pytest.mark.django_db
def test_resend_sends_a_new_code_and_voids_the_old_one(client, tfa_user, sms_route, monkeypatch):
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(twofactor, "_new_code", lambda: next(codes))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, tfa_user.login)
        response = client.post(reverse("login_code"), {"action": "resend"}, follow=True)
        assert "You can ask for a new one in 30 seconds." in page_of(response)
        traveller.shift(timedelta(seconds=30))
        response = client.post(reverse("login_code"), {"action": "resend"}, follow=True)
        assert f"A new code was sent to {MASKED}." in page_of(response)
        assert sms_code(tfa_user) == "222222"
        assert "The code is not correct." in page_of(client.post(reverse("login_code"), {"code": "111111"}))
        assert client.post(reverse("login_code"), {"code": "222222"})["Location"] == reverse("dashboard")


@pytest.mark.django_db
def test_back_returns_to_the_password_step(client, tfa_user, sms_route):
    sign_in(client, tfa_user.login)
    response = client.post(reverse("login_code"), {"action": "back"})
    assert response["Location"] == reverse("login")
    assert PENDING_LOGIN_KEY not in client.session
    assert client.get(reverse("login_code"))["Location"] == reverse("login")


@pytest.mark.django_db
def test_signing_in_again_within_30_seconds_reuses_the_code_sent(client, tfa_user, sms_route):
    sign_in(client, tfa_user.login)
    code = sms_code(tfa_user)
    client.post(reverse("login_code"), {"action": "back"})
    response = sign_in(client, tfa_user.login)
    assert response["Location"] == reverse("login_code")
    assert tfa_user.login_codes.count() == 1  # no second SMS
    assert "The code we sent you a moment ago is still valid: enter it." in page_of(client.get(reverse("login_code")))
    assert client.post(reverse("login_code"), {"code": code})["Location"] == reverse("dashboard")


@pytest.mark.django_db
def test_code_step_without_a_password_step_goes_to_sign_in(client):
    assert client.get(reverse("login_code"))["Location"] == reverse("login")
    assert client.post(reverse("login_code"), {"code": "123456"})["Location"] == reverse("login")


@pytest.mark.django_db
def test_a_code_for_one_user_cannot_sign_in_another(client, company, tfa_user, sms_route, monkeypatch):
    other = factories.user(company, login="olga", phone=NEW_PHONE, two_factor_enabled=True)
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(twofactor, "_new_code", lambda: next(codes))
    sign_in(client.__class__(), tfa_user.login)  # tom's code: 111111
    sign_in(client, other.login)                # olga's: 222222
    response = client.post(reverse("login_code"), {"code": "111111"})
    assert "The code is not correct." in page_of(response)
    assert not signed_in(client)
    assert client.post(reverse("login_code"), {"code": "222222"})["Location"] == reverse("dashboard")
    assert int(client.session["_auth_user_id"]) == other.pk


@pytest.mark.django_db
def test_the_pending_marker_cannot_be_pointed_at_another_user(client, company, tfa_user, sms_route):
    other = factories.user(company, login="olga", phone=NEW_PHONE, two_factor_enabled=True)
    sign_in(client, tfa_user.login)
    session = client.session
    pending = session[PENDING_LOGIN_KEY]
    pending["user_id"] = other.pk  # without olga's password the marker does not match her
    session[PENDING_LOGIN_KEY] = pending
    session.save()
    response = client.post(reverse("login_code"), {"code": "123456"}, follow=True)
    assert "Your sign-in is no longer valid. Sign in again." in page_of(response)
    assert not signed_in(client)


@pytest.mark.django_db
def test_no_sms_route_at_sign_in_shows_why_and_does_not_sign_in(client, tfa_user):
    response = sign_in(client, tfa_user.login)
    assert response.status_code == 200
    assert "We could not send the code: No route" in page_of(response)
    assert not signed_in(client) and PENDING_LOGIN_KEY not in client.session


@pytest.mark.django_db
def test_two_factor_without_a_usable_phone_refuses_sign_in_clearly(client, tfa_user, sms_route):
    User.objects.filter(pk=tfa_user.pk).update(phone="")
    page = page_of(sign_in(client, tfa_user.login))
    assert "Two-factor authentication is on for your account, but its phone number cannot receive codes" in page
    assert "Contact your administrator." in page
    assert not signed_in(client)


@pytest.mark.django_db
def test_wrong_password_sends_no_code(client, tfa_user, sms_route):
    response = sign_in(client, tfa_user.login, "Wrong!Passw0rd")
    assert "Wrong login or password." in page_of(response)
    assert not Message.objects.exists() and PENDING_LOGIN_KEY not in client.session


@pytest.mark.django_db
def test_account_disabled_during_the_code_step_cannot_finish(client, tfa_user, sms_route):
    sign_in(client, tfa_user.login)
    User.objects.filter(pk=tfa_user.pk).update(is_active=False)
    response = client.post(reverse("login_code"), {"code": sms_code(tfa_user)}, follow=True)
    assert "This account is disabled." in page_of(response)
    assert not signed_in(client)


@pytest.mark.django_db
def test_password_changed_during_the_code_step_ends_the_pending_sign_in(client, tfa_user, sms_route):
    sign_in(client, tfa_user.login)
    tfa_user.set_password("An0ther!Passw0rd")
    tfa_user.save()
    response = client.post(reverse("login_code"), {"code": sms_code(tfa_user)}, follow=True)
    assert "Your sign-in is no longer valid. Sign in again." in page_of(response)
    assert not signed_in(client)


@pytest.mark.django_db
def test_a_setup_code_does_not_sign_in(client, tfa_user, sms_route, monkeypatch):
    """Codes only work for their purpose: a code sent to change the number is not a sign-in code."""
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(twofactor, "_new_code", lambda: next(codes))
    sign_in(client, tfa_user.login)
    twofactor.request_phone_change(user=tfa_user, phone=NEW_PHONE, password=factories.PASSWORD)
    assert sms_code(tfa_user) == "222222"
    assert "The code is not correct." in page_of(client.post(reverse("login_code"), {"code": "222222"}))
    assert client.post(reverse("login_code"), {"code": "111111"})["Location"] == reverse("dashboard")


@pytest.mark.django_db
def test_a_user_without_two_factor_signs_in_with_the_password_only(client, member, sms_route):
    response = sign_in(client, member.login)
    assert response["Location"] == reverse("dashboard")
    assert signed_in(client)
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_the_api_does_not_ask_for_codes(company, sms_route):
    factories.admin(company, login="boss", phone=PHONE, two_factor_enabled=True)
    _access, key = factories.api_access(company)
    assert key_client(key).get("/api/v1/me").status_code == 200
    assert not Message.objects.exists()
