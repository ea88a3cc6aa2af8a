"""``manage.py seed_demo``: the demo company of the embedded default, seeded once."""

from __future__ import annotations

import stat

import pytest
from django.core.management import call_command

from accounts import services
from accounts.management.commands.seed_demo import CUSTOM_ROLE, DEMO_COMPANY, read_credentials
from accounts.models import Company, Role, User
from portal.models import AuditEvent


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def seed(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def logins(var_dir) -> dict[str, str]:
    return {c.login: c.password for c in read_credentials(var_dir / "demo-credentials.txt")}


@pytest.mark.django_db
def test_first_run_creates_the_demo_company_and_prints_the_login(var_dir):
    output = seed()

    company = Company.objects.get(name=DEMO_COMPANY)
    passwords = logins(var_dir)
    assert set(passwords) == {"demo", "broadcasts", "finance"}
    assert f"Demo login: demo / {passwords['demo']}" in output

    demo = User.objects.get(login="demo")
    assert demo.company == company
    assert demo.is_company_admin
    assert demo.must_change_password is False
    assert demo.check_password(passwords["demo"])
    assert services.authenticate_login(login="demo", password=passwords["demo"], ip="127.0.0.1").user == demo

    roles = {u.login: {r.system_code for r in u.roles.all()} for u in User.objects.filter(company=company)}
    assert roles["broadcasts"] == {"broadcast_manager"}
    assert roles["finance"] == {"finance_manager"}
    for login in ("broadcasts", "finance"):
        user = User.objects.get(login=login)
        assert user.check_password(passwords[login])
        assert user.must_change_password is True  # a default password, changed at first sign-in

    custom = Role.objects.for_company(company).get()
    assert custom.name == CUSTOM_ROLE and not custom.is_system and custom.permissions

    # Written through the services, so the audit log tells the story.
    actions = set(AuditEvent.objects.filter(company=company).values_list("action", flat=True))
    assert {"Added new company", "Added new role", "Added new user", "Changed own password"} <= actions


@pytest.mark.django_db
def test_the_credentials_file_is_private(var_dir):
    seed()
    path = var_dir / "demo-credentials.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(logins(var_dir)["demo"]) >= 16


@pytest.mark.django_db
def test_seed_demo_is_idempotent(var_dir):
    seed()
    before = (var_dir / "demo-credentials.txt").read_text()
    counts = (Company.objects.count(), User.objects.count(), Role.objects.count(), AuditEvent.objects.count())

    output = seed()

    assert (Company.objects.count(), User.objects.count(), Role.objects.count(),
            AuditEvent.objects.count()) == counts
    assert (var_dir / "demo-credentials.txt").read_text() == before
    assert f"Demo login: demo / {logins(var_dir)['demo']}" in output
    assert "Created" not in output


@pytest.mark.django_db
def test_the_demo_admin_signs_in_straight_to_the_dashboard(var_dir, client):
    seed()
    response = client.post("/login/", {"login": "demo", "password": logins(var_dir)["demo"]}, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_lost_credentials_file_is_reported_and_reset_password_recovers(var_dir):
    seed()
    (var_dir / "demo-credentials.txt").unlink()

    output = seed()
    assert "--reset-password" in output

    output = seed("--reset-password")
    new = logins(var_dir)["demo"]
    assert f"Demo login: demo / {new}" in output
    demo = User.objects.get(login="demo")
    assert demo.check_password(new)
    assert demo.must_change_password is False
    assert User.objects.filter(login="demo").count() == 1


@pytest.mark.django_db
def test_the_demo_can_send_at_once_through_simulator_gateways(var_dir, django_capture_on_commit_callbacks):
    """The embedded default has no provider account: every channel gets a simulator
    gateway and the demo company an active SMS sender ID, so a message sent from the demo
    is delivered (the simulator's report comes after its delay)."""
    from messaging.models import Gateway, Message, MessageStatus, SenderId, Source
    from messaging.services import StepSpec, send

    seed()
    assert Gateway.objects.filter(provider="simulator").count() == 10
    company = Company.objects.get(name=DEMO_COMPANY)
    # an active sender ID on every broadcast channel, and demo contacts to send to
    assert SenderId.objects.get(company=company, channel=1, sender_id="HERALD").is_active
    assert set(SenderId.objects.filter(company=company).values_list("channel", flat=True)) == {1, 2, 3, 4, 6, 8, 9, 10}
    from contacts.models import Contact
    assert Contact.objects.filter(company=company, tags__name="Demo customers").count() == 12
    with django_capture_on_commit_callbacks(execute=True):
        plan = send(company=company, to="+34612345678", source=Source.API,
                    step=StepSpec(channel=1, sender="HERALD", content={"text": "Hello from the demo"}))
    message = Message.objects.get(plan=plan)
    assert message.status in {MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.SEEN}
    assert message.sender == "HERALD"
    seed()
    assert Gateway.objects.count() == 10 and SenderId.objects.count() == 8  # seeded once
    assert Contact.objects.filter(company=company).count() == 12  # seeded once
