"""Spec §19.6–7: an account is blocked after 30 days without access (not admins), the
System owner unblocks it; the session ends after 60 minutes of inactivity."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts import services, tasks
from accounts.models import User
from portal.audit import Actor
from portal.models import AuditEvent
from portal.testing import factories

BLOCKED = "This account was blocked after 30 days without access"


def regular_user(company, **kwargs):
    return factories.user(company, roles=[factories.system_role("broadcast_manager")], **kwargs)


def last_seen(user, days_ago):
    User.objects.filter(pk=user.pk).update(last_login=timezone.now() - timedelta(days=days_ago))
    user.refresh_from_db()


def sign_in(client, user, password=factories.PASSWORD):
    return client.post(reverse("login"), {"login": user.login, "password": password})


# --- 30 days without access ---------------------------------------------------------------------

@pytest.mark.django_db
def test_regular_user_idle_for_30_days_is_blocked_at_sign_in(client, company):
    user = regular_user(company)
    last_seen(user, 30)

    response = sign_in(client, user)

    assert response.status_code == 200
    assert BLOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.blocked_for_inactivity
    assert AuditEvent.objects.filter(action__startswith=f"Blocked {user.login}").exists()


@pytest.mark.django_db
def test_regular_user_seen_29_days_ago_signs_in(client, company):
    user = regular_user(company)
    last_seen(user, 29)

    response = sign_in(client, user)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    user.refresh_from_db()
    assert not user.blocked_for_inactivity


@pytest.mark.django_db
def test_admin_is_never_blocked_for_inactivity(client, admin_user):
    last_seen(admin_user, 90)

    response = sign_in(client, admin_user)

    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert not admin_user.blocked_for_inactivity


@pytest.mark.django_db
def test_user_with_admin_role_is_not_blocked(client, company):
    user = factories.user(company, roles=[factories.system_role("admin")])
    last_seen(user, 45)

    assert sign_in(client, user).status_code == 302


@pytest.mark.django_db
def test_blocked_user_stays_blocked_even_after_signing_in_attempts(client, company):
    user = regular_user(company)
    last_seen(user, 31)
    sign_in(client, user)
    # A fresh last_login does not unblock: only the System owner does.
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())

    response = sign_in(client, user)

    assert BLOCKED in response.content.decode()


@pytest.mark.django_db
def test_periodic_task_blocks_idle_regular_users_only(company, admin_user):
    idle = regular_user(company)
    last_seen(idle, 31)
    never_signed_in = regular_user(company)
    User.objects.filter(pk=never_signed_in.pk).update(last_login=None,
                                                      created_at=timezone.now() - timedelta(days=40))
    active = regular_user(company)
    last_seen(active, 3)
    idle_admin = factories.user(company, roles=[factories.system_role("admin")])
    last_seen(idle_admin, 100)
    last_seen(admin_user, 100)

    blocked = tasks.lock_inactive_accounts.apply().get()

    assert blocked == 2
    assert set(User.objects.filter(blocked_for_inactivity=True).values_list("pk", flat=True)) == {
        idle.pk, never_signed_in.pk}
    # A second run finds nothing new.
    assert tasks.lock_inactive_accounts.apply().get() == 0


@pytest.mark.django_db
def test_blocked_user_is_signed_out_of_an_open_session(client, company):
    user = regular_user(company)
    client.force_login(user)
    assert client.get(reverse("account:settings")).status_code == 200
    User.objects.filter(pk=user.pk).update(blocked_for_inactivity=True)

    response = client.get(reverse("account:settings"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_unblock_user_lets_the_user_sign_in_again(client, company):
    user = regular_user(company)
    last_seen(user, 31)
    assert BLOCKED in sign_in(client, user).content.decode()

    services.unblock_user(actor=Actor.system(company), user=user)

    response = sign_in(client, user)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    user.refresh_from_db()
    assert not user.blocked_for_inactivity
    assert AuditEvent.objects.filter(action="Unblocked user").exists()


@pytest.mark.django_db
def test_working_in_an_open_session_counts_as_access(client, company):
    """A user who keeps working in one long session (e.g. an inbox left open) is not
    "without access" even when the sign-in itself was long ago."""
    user = regular_user(company)
    sign_in(client, user)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now() - timedelta(days=29, hours=13))
    session = client.session
    session["herald_last_activity"] -= 45 * 60  # the last request was 45 minutes ago
    session.save()

    assert client.get(reverse("account:settings")).status_code == 200

    user.refresh_from_db()
    assert timezone.now() - user.last_login < timedelta(minutes=1)
    services.lock_inactive_accounts(now=timezone.now() + timedelta(days=1))
    user.refresh_from_db()
    assert not user.blocked_for_inactivity


# --- idle logout after 60 minutes ------------------------------------------------------------------

@pytest.mark.django_db
def test_idle_logout_after_60_minutes(client, admin_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, admin_user)
        traveller.shift(timedelta(minutes=60, seconds=1))

        response = client.get(reverse("account:settings"))

        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={reverse('account:settings')}"
        assert "_auth_user_id" not in client.session
        page = client.get(response["Location"])
        assert "You were signed out after 60 minutes of inactivity." in page.content.decode()
        assert client.get(reverse("dashboard")).status_code == 302


@pytest.mark.django_db
def test_no_idle_logout_before_60_minutes(client, admin_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, admin_user)
        traveller.shift(timedelta(minutes=59))

        assert client.get(reverse("account:settings")).status_code == 200


@pytest.mark.django_db
def test_activity_keeps_the_session_alive(client, admin_user):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, admin_user)
        for _ in range(4):  # 4 × 45 minutes = 3 hours, never 60 minutes idle
            traveller.shift(timedelta(minutes=45))
            assert client.get(reverse("account:settings")).status_code == 200


@pytest.mark.django_db
def test_idle_logout_with_monkeypatched_clock(client, admin_user, monkeypatch):
    """The middleware reads ``time.time()``; moving only its clock is enough."""
    import time as real_time
    from types import SimpleNamespace

    import accounts.middleware

    sign_in(client, admin_user)
    now = real_time.time()
    monkeypatch.setattr(accounts.middleware, "time", SimpleNamespace(time=lambda: now + 59 * 60))
    assert client.get(reverse("account:settings")).status_code == 200
    monkeypatch.setattr(accounts.middleware, "time", SimpleNamespace(time=lambda: now + 59 * 60 + 3601))
    response = client.get(reverse("account:settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"])
    assert "You were signed out after 60 minutes of inactivity." in page.content.decode()
