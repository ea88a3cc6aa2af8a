"""Spec §19 (rule 34 of §25): the password policy, one rule per test, checked where a user
meets it: the *Change password* form of Privacy and Security and the forced change page."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import User
from accounts.passwords import generate_password
from portal.audit import Actor
from portal.models import AuditEvent
from portal.testing import factories

TOO_SHORT = "This password is too short. It must contain at least 8 characters."
TOO_SIMPLE = "The password must contain at least 3 of these 4 groups"
REUSED = "The password must differ from your last 7 passwords."
TOO_SOON = "You changed your password less than 24 hours ago."


def regular_user(company, **kwargs):
    return factories.user(company, roles=[factories.system_role("broadcast_manager")], **kwargs)


def change_password(client, new, current=factories.PASSWORD, confirm=None):
    return client.post(reverse("account:security"), {
        "current_password": current, "new_password": new,
        "confirm_password": new if confirm is None else confirm})


def password_is(user, raw) -> bool:
    return User.objects.get(pk=user.pk).check_password(raw)


def assert_refused(response, user, message, field="new_password"):
    assert response.status_code == 200
    assert message in response.content.decode()
    assert any(message in e for e in response.context["password_form"].errors[field])
    assert password_is(user, factories.PASSWORD)


def assert_accepted(response, user, new):
    assert response.status_code == 302, response.context["password_form"].errors
    assert response["Location"] == reverse("account:security")
    assert password_is(user, new)


# --- 1. minimum length 8 --------------------------------------------------------------------------

@pytest.mark.django_db
def test_seven_characters_are_refused(admin_client, admin_user):
    assert_refused(change_password(admin_client, "Ab1!xyz"), admin_user, TOO_SHORT)


@pytest.mark.django_db
def test_eight_characters_are_accepted(admin_client, admin_user):
    assert_accepted(change_password(admin_client, "Ab1!xyzw"), admin_user, "Ab1!xyzw")


# --- 2. three of four character groups ---------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("weak", ["abcdefgh", "abcdefg12", "ABCDEFG!!", "12345678!", "abcdEFGHij"])
def test_fewer_than_three_groups_are_refused(admin_client, admin_user, weak):
    assert_refused(change_password(admin_client, weak), admin_user, TOO_SIMPLE)


@pytest.mark.django_db
@pytest.mark.parametrize("good", ["Abcdefg12", "abcdefg1!", "ABCDEFG1!", "Abcdefgh!", "Ab1!cdefgh"])
def test_three_or_four_groups_are_accepted(admin_client, admin_user, good):
    assert_accepted(change_password(admin_client, good), admin_user, good)


# --- 3. history: not one of the last 7 --------------------------------------------------------------

def _change_seven_times(user):
    """PASSWORD, then History1! … History7!: the current password and the 6 before it
    plus PASSWORD make 8 passwords, of which PASSWORD is the 8th-newest."""
    current = factories.PASSWORD
    for n in range(1, 8):
        new = f"History{n}!"
        services.change_own_password(actor=Actor(user=user), user=user, current_password=current,
                                     new_password=new)
        current = new
    return current


@pytest.mark.django_db
def test_the_current_password_cannot_be_reused(admin_client, admin_user):
    response = change_password(admin_client, factories.PASSWORD)
    assert_refused(response, admin_user, "The new password must differ from the current one.")


@pytest.mark.django_db
def test_the_last_seven_passwords_cannot_be_reused(admin_client, admin_user):
    current = _change_seven_times(admin_user)
    admin_client.force_login(admin_user)

    for old in ("History1!", "History4!", "History6!"):
        response = change_password(admin_client, old, current=current)
        assert response.status_code == 200
        assert REUSED in response.content.decode()
        assert password_is(admin_user, current)


@pytest.mark.django_db
def test_the_eighth_newest_password_is_allowed_again(admin_client, admin_user):
    current = _change_seven_times(admin_user)
    admin_client.force_login(admin_user)

    response = change_password(admin_client, factories.PASSWORD, current=current)

    assert response.status_code == 302
    assert password_is(admin_user, factories.PASSWORD)
    assert admin_user.password_history.count() == 7


# --- 4. expiry after the company's validity (default 60 days) -----------------------------------------

@pytest.mark.django_db
def test_default_validity_is_60_days(company):
    assert company.password_max_age_days == 60


@pytest.mark.django_db
def test_expired_password_forces_the_change_page_before_any_other_page(client, admin_user):
    with time_machine.travel(timezone.now() + timedelta(days=60, minutes=1), tick=False):
        response = client.post(reverse("login"), {"login": admin_user.login, "password": factories.PASSWORD})
        assert response.status_code == 302
        for name in ("dashboard", "account:settings", "account:security", "help"):
            page = client.get(reverse(name))
            assert page.status_code == 302, name
            assert page["Location"] == reverse("password_change_required")
        form = client.get(reverse("password_change_required"))
        assert "Your password has expired" in form.content.decode()

        changed = client.post(reverse("password_change_required"), {
            "current_password": factories.PASSWORD, "new_password": "Renewed!2025",
            "confirm_password": "Renewed!2025"})
        assert changed["Location"] == reverse("dashboard")
        assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.django_db
def test_password_is_still_valid_on_day_59(client, admin_user):
    with time_machine.travel(timezone.now() + timedelta(days=59), tick=False):
        client.force_login(admin_user)
        assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.django_db
def test_a_company_with_30_days_expires_sooner(client):
    strict = factories.company("Strict", password_max_age_days=30)
    relaxed = factories.company("Relaxed")
    strict_admin = factories.admin(strict)
    relaxed_admin = factories.admin(relaxed)

    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        client.force_login(strict_admin)
        assert client.get(reverse("dashboard"))["Location"] == reverse("password_change_required")
        client.force_login(relaxed_admin)
        assert client.get(reverse("dashboard")).status_code == 200


# --- 4a. no change of one's own password within 24 hours ---------------------------------------------

@pytest.mark.django_db
def test_regular_user_cannot_change_again_within_24_hours(client, company):
    user = regular_user(company)  # password set just now
    client.force_login(user)

    page = client.get(reverse("account:security")).content.decode()
    assert TOO_SOON in page  # told before trying

    assert_refused(change_password(client, "Another!Pass1"), user, TOO_SOON)


@pytest.mark.django_db
def test_regular_user_can_change_after_24_hours(client, company):
    user = regular_user(company)
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=False):
        client.force_login(user)
        assert TOO_SOON not in client.get(reverse("account:security")).content.decode()
        assert_accepted(change_password(client, "Another!Pass1"), user, "Another!Pass1")
        # …and then not again on the same day.
        response = change_password(client, "YetAnother!Pass2", current="Another!Pass1")
        assert TOO_SOON in response.content.decode()
        assert password_is(user, "Another!Pass1")


@pytest.mark.django_db
def test_admin_can_change_own_password_at_any_time(admin_client, admin_user):
    assert_accepted(change_password(admin_client, "First!Change1"), admin_user, "First!Change1")
    response = change_password(admin_client, "Second!Change2", current="First!Change1")
    assert response.status_code == 302
    assert password_is(admin_user, "Second!Change2")


@pytest.mark.django_db
def test_forced_first_login_change_is_exempt_from_the_24_hour_rule(client, company):
    user = factories.user(company, roles=[factories.system_role("broadcast_manager")], ready=False)
    client.force_login(user)  # the default password was set seconds ago

    response = client.post(reverse("password_change_required"), {
        "current_password": factories.PASSWORD, "new_password": "MyOwn!Pass1", "confirm_password": "MyOwn!Pass1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert password_is(user, "MyOwn!Pass1")


@pytest.mark.django_db
def test_forced_change_after_expiry_is_exempt_from_the_24_hour_rule(client):
    """The only way a password can expire within 24 hours of being set: the System owner
    sets a validity of 0 days. The forced change must still be possible."""
    company = factories.company("Zero", password_max_age_days=0)
    user = regular_user(company)  # password set just now
    client.force_login(user)
    assert client.get(reverse("dashboard"))["Location"] == reverse("password_change_required")

    response = client.post(reverse("password_change_required"), {
        "current_password": factories.PASSWORD, "new_password": "Fresh!Pass1", "confirm_password": "Fresh!Pass1"})

    assert response.status_code == 302
    assert password_is(user, "Fresh!Pass1")


# --- 5. forced change at first login ------------------------------------------------------------------

@pytest.mark.django_db
def test_new_user_must_change_the_default_password_at_first_login(client, company, admin_user):
    user = services.create_user(
        actor=Actor(user=admin_user, company=company), company=company, password="Default!Pass1",
        roles=[factories.system_role("broadcast_manager")], login="newbie", first_name="New", last_name="Bie",
        email="newbie@example.com")

    response = client.post(reverse("login"), {"login": "newbie", "password": "Default!Pass1"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("password_change_required")
    assert "choose your own password" in response.content.decode()
    assert client.get(reverse("dashboard"))["Location"] == reverse("password_change_required")
    assert client.get(reverse("account:settings"))["Location"] == reverse("password_change_required")

    weak = client.post(reverse("password_change_required"), {
        "current_password": "Default!Pass1", "new_password": "short", "confirm_password": "short"})
    assert TOO_SHORT in weak.content.decode()

    done = client.post(reverse("password_change_required"), {
        "current_password": "Default!Pass1", "new_password": "Chosen!Pass1", "confirm_password": "Chosen!Pass1"})
    assert done["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200
    user.refresh_from_db()
    assert not user.must_change_password


@pytest.mark.django_db
def test_forced_change_page_can_sign_out(client, company):
    user = factories.user(company, ready=False)
    client.force_login(user)
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")


# --- the Change password form itself ------------------------------------------------------------------

@pytest.mark.django_db
def test_wrong_current_password_is_refused_on_its_field(admin_client, admin_user):
    response = change_password(admin_client, "Brand!New1", current="Not!MyPassword1")
    assert_refused(response, admin_user, "The current password is not correct.", field="current_password")


@pytest.mark.django_db
def test_confirmation_must_match(admin_client, admin_user):
    response = change_password(admin_client, "Brand!New1", confirm="Brand!New2")
    assert_refused(response, admin_user, "The two passwords do not match.", field="confirm_password")


@pytest.mark.django_db
def test_changing_the_password_keeps_the_user_signed_in_and_is_audited(admin_client, admin_user):
    response = change_password(admin_client, "Brand!New1")
    follow = admin_client.get(response["Location"])
    assert follow.status_code == 200
    assert "Your password has been changed." in follow.content.decode()
    assert AuditEvent.objects.filter(action="Changed own password", user=admin_user).exists()
    assert "Brand!New1" not in str(list(AuditEvent.objects.values()))


@pytest.mark.django_db
def test_generated_passwords_satisfy_the_policy(admin_client, admin_user):
    response = admin_client.get(reverse("account:generate_password"))
    assert response.status_code == 200
    generated = response.json()["password"]
    assert len(generated) >= 16
    services.validate_new_password(admin_user, generated)  # raises if the policy refuses it
    assert admin_client.get(reverse("account:generate_password")).json()["password"] != generated
    for _ in range(50):
        services.validate_new_password(admin_user, generate_password())
    assert_accepted(change_password(admin_client, generated), admin_user, generated)


@pytest.mark.django_db
def test_generate_needs_a_signed_in_user(client):
    response = client.get(reverse("account:generate_password"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
