"""Spec §1 and §19: the sign-in page, login throttling, *Remember me*, disabled accounts
and the ``next`` redirect."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from portal.models import AuditEvent
from portal.testing import factories

WRONG = "Wrong login or password."
LOCKED = "The account is locked after repeated failed sign-in attempts"
IP_LIMIT = "Too many failed sign-in attempts from your address"


def sign_in(client, login, password=factories.PASSWORD, **extra):
    data = {"login": login, "password": password}
    data.update({k: v for k, v in extra.items() if k in ("remember_me", "next")})
    headers = {k: v for k, v in extra.items() if k == "REMOTE_ADDR"}
    return client.post(reverse("login"), data, **headers)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_login_page_shows_the_fields_of_the_guide(client):
    page = client.get(reverse("login")).content.decode()
    for text in ("Login", "Password", "Remember me", "Forgot password?", "Sign in", "Select language"):
        assert text in page
    assert reverse("password_reset") in page


@pytest.mark.django_db
def test_right_credentials_land_on_the_dashboard(client, admin_user):
    response = sign_in(client, admin_user.login)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200
    admin_user.refresh_from_db()
    assert admin_user.last_login is not None


@pytest.mark.django_db
def test_login_is_case_insensitive(client, admin_user):
    assert sign_in(client, admin_user.login.upper()).status_code == 302


@pytest.mark.django_db
def test_sign_in_sets_the_language_of_the_user(client, company):
    user = factories.admin(company, language="es")
    response = sign_in(client, user.login)
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert 'lang="es"' in client.get(reverse("account:settings")).content.decode()


# --- wrong credentials ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_wrong_password_shows_a_generic_message(client, admin_user):
    response = sign_in(client, admin_user.login, "Wrong!Passw0rd")

    assert response.status_code == 200
    assert WRONG in response.content.decode()
    assert not signed_in(client)


@pytest.mark.django_db
def test_unknown_login_gets_the_same_answer_as_a_wrong_password(client, admin_user):
    known = sign_in(client, admin_user.login, "Wrong!Passw0rd")
    unknown = sign_in(client, "nobody-here", "Wrong!Passw0rd")

    assert known.status_code == unknown.status_code == 200
    assert WRONG in unknown.content.decode()
    # Nothing else on the page differs: the form errors are the same.
    assert known.context["form"].errors == unknown.context["form"].errors
    assert "nobody-here" not in unknown.context["form"].errors.as_text()


@pytest.mark.django_db
def test_empty_fields_are_required(client):
    response = sign_in(client, "", "")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not signed_in(client)


@pytest.mark.django_db
def test_disabled_user_cannot_sign_in(client, company):
    user = factories.user(company, roles=[factories.system_role("broadcast_manager")])
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = sign_in(client, user.login)

    assert response.status_code == 200
    assert "This account is disabled." in response.content.decode()
    assert not signed_in(client)


@pytest.mark.django_db
def test_disabled_user_with_wrong_password_gets_the_generic_message(client, company):
    user = factories.user(company, roles=[factories.system_role("broadcast_manager")])
    User.objects.filter(pk=user.pk).update(is_active=False)

    page = sign_in(client, user.login, "Wrong!Passw0rd").content.decode()

    assert WRONG in page
    assert "disabled" not in page


@pytest.mark.django_db
def test_user_of_a_disabled_company_cannot_sign_in(client, company, admin_user):
    company.is_active = False
    company.save()
    assert "This account is disabled." in sign_in(client, admin_user.login).content.decode()
    assert not signed_in(client)


@pytest.mark.django_db
def test_disabled_user_is_signed_out_of_an_open_session(client, admin_user, company):
    user = factories.user(company, roles=[factories.system_role("broadcast_manager")])
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = client.get(reverse("account:settings"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))


# --- throttling ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_for_15_minutes(client, admin_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(4):
            assert WRONG in sign_in(client, admin_user.login, "Wrong!Passw0rd").content.decode()
        fifth = sign_in(client, admin_user.login, "Wrong!Passw0rd")
        assert WRONG in fifth.content.decode()
        admin_user.refresh_from_db()
        assert admin_user.locked_until == start + timedelta(minutes=15)
        assert AuditEvent.objects.filter(action__startswith=f"Locked account {admin_user.login}").exists()

        # Even the right password is refused, with a clear message.
        locked = sign_in(client, admin_user.login)
        assert locked.status_code == 200
        assert LOCKED in locked.content.decode()
        assert not signed_in(client)

        traveller.shift(timedelta(minutes=14, seconds=59))
        assert LOCKED in sign_in(client, admin_user.login).content.decode()

        traveller.shift(timedelta(seconds=2))
        response = sign_in(client, admin_user.login)
        assert response.status_code == 302
        assert signed_in(client)
    admin_user.refresh_from_db()
    assert admin_user.locked_until is None
    assert admin_user.failed_login_count == 0


@pytest.mark.django_db
def test_four_wrong_passwords_then_the_right_one_resets_the_counter(client, admin_user):
    for _ in range(4):
        sign_in(client, admin_user.login, "Wrong!Passw0rd")
    assert sign_in(client, admin_user.login).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, admin_user.login, "Wrong!Passw0rd")
    assert sign_in(client, admin_user.login).status_code == 302


@pytest.mark.django_db
def test_twenty_failures_from_one_ip_block_that_ip(client, admin_user):
    for n in range(settings.HERALD_LOGIN_IP_LIMIT):
        sign_in(client, f"someone-{n}", "Wrong!Passw0rd", REMOTE_ADDR="203.0.113.9")

    blocked = sign_in(client, admin_user.login, REMOTE_ADDR="203.0.113.9")
    assert blocked.status_code == 200
    assert IP_LIMIT in blocked.content.decode()
    assert not signed_in(client)

    # Another address is not affected, and the account itself is not locked.
    assert sign_in(client, admin_user.login, REMOTE_ADDR="198.51.100.4").status_code == 302


@pytest.mark.django_db
def test_nineteen_failures_from_one_ip_are_still_allowed(client, admin_user):
    for n in range(settings.HERALD_LOGIN_IP_LIMIT - 1):
        sign_in(client, f"someone-{n}", "Wrong!Passw0rd", REMOTE_ADDR="203.0.113.9")
    assert sign_in(client, admin_user.login, REMOTE_ADDR="203.0.113.9").status_code == 302


@pytest.mark.django_db
def test_ip_block_ends_when_its_window_ends(client, admin_user, settings):
    # The window is 5 minutes in production; the cache (LocMem or Redis) expires it on the
    # real clock, so the test shortens it instead of travelling in time.
    assert settings.HERALD_LOGIN_IP_WINDOW == 300
    settings.HERALD_LOGIN_IP_WINDOW = 1
    for n in range(settings.HERALD_LOGIN_IP_LIMIT):
        sign_in(client, f"someone-{n}", "Wrong!Passw0rd", REMOTE_ADDR="203.0.113.9")
    assert IP_LIMIT in sign_in(client, admin_user.login, REMOTE_ADDR="203.0.113.9").content.decode()
    time.sleep(1.2)
    assert sign_in(client, admin_user.login, REMOTE_ADDR="203.0.113.9").status_code == 302


# --- Remember me ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_remember_me_keeps_the_session_after_the_browser_closes(client, admin_user):
    response = sign_in(client, admin_user.login, remember_me="on")

    assert response.status_code == 302
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert response.cookies[settings.SESSION_COOKIE_NAME]["expires"]  # a persistent cookie


@pytest.mark.django_db
def test_without_remember_me_the_session_ends_with_the_browser(client, admin_user):
    response = sign_in(client, admin_user.login)

    assert response.status_code == 302
    assert client.session.get_expire_at_browser_close() is True
    assert not response.cookies[settings.SESSION_COOKIE_NAME]["expires"]  # a browser-session cookie


# --- next ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_next_redirects_to_a_page_of_the_same_site(client, admin_user):
    target = reverse("account:security")
    page = client.get(f"{reverse('login')}?next={target}")
    assert f'value="{target}"' in page.content.decode()

    response = sign_in(client, admin_user.login, next=target)

    assert response.status_code == 302
    assert response["Location"] == target


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/path", "http://evil.example",
                                    "javascript:alert(1)"])
def test_next_never_leaves_the_site(client, admin_user, target):
    response = sign_in(client, admin_user.login, next=target)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


@pytest.mark.django_db
def test_protected_page_sends_anonymous_users_to_sign_in_and_back(client, admin_user):
    response = client.get(reverse("account:settings"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('account:settings')}"

    back = sign_in(client, admin_user.login, next=reverse("account:settings"))
    assert back["Location"] == reverse("account:settings")


@pytest.mark.django_db
def test_signed_in_user_opening_the_login_page_goes_to_the_dashboard(admin_client):
    response = admin_client.get(reverse("login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


@pytest.mark.django_db
def test_logout_ends_the_session(admin_client):
    response = admin_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert admin_client.get(reverse("account:settings")).status_code == 302
