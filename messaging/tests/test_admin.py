"""The BackOffice (Django admin) of sender IDs and gateways: credentials never shown back
and encrypted at rest, blank keeps / JSON replaces / bad JSON refused, the routing filters,
the callback URL, the *Check connection* action, and the sender ID status changes."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from PIL import Image

from messaging.models import Gateway, RouteField, SenderId, SenderIdStatus
from messaging.providers.base import CheckResult
from messaging.providers.simulator import SimulatorProvider
from portal.channel_types import Channel
from portal.models import AuditEvent

S = SenderIdStatus
SECRET = "s3cr3t-Pa55-do-not-show"
GATEWAYS = reverse("admin:messaging_gateway_changelist")
GATEWAY_ADD = reverse("admin:messaging_gateway_add")
SENDERS = reverse("admin:messaging_senderid_changelist")
SENDER_ADD = reverse("admin:messaging_senderid_add")


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_superuser("owner", "Owner!Passw0rd", email="owner@example.com")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def html_of(response) -> str:
    return response.content.decode()


def gateway_change(gateway):
    return reverse("admin:messaging_gateway_change", args=[gateway.pk])


def gateway_form(**overrides):
    data = {"name": "Main SMPP", "channel": Channel.SMS, "provider": "simulator", "company": "",
            "filter1_field": "", "filter1_values": "", "filter2_field": "", "filter2_values": "",
            "is_active": "on", "credentials": "", "settings": "{}", "tps": "50", "default_from": "Herald"}
    data.update(overrides)
    return data


def raw_credentials(gateway) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT credentials FROM {Gateway._meta.db_table} WHERE id = %s", [gateway.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def gateway(db):
    return Gateway.objects.create(name="Main", channel=Channel.SMS, provider="simulator",
                                  credentials={"username": "herald", "password": SECRET}, settings={"seed": 3})


# --- gateways: credentials -------------------------------------------------------------------------------------

def test_a_new_gateways_credentials_are_stored_encrypted(owner_client):
    response = owner_client.post(GATEWAY_ADD, gateway_form(
        credentials=json.dumps({"system_id": "herald", "password": SECRET}), settings='{"seed": 7}'))
    assert response.status_code == 302, html_of(response)
    gateway = Gateway.objects.get()
    assert gateway.credentials == {"system_id": "herald", "password": SECRET}
    assert gateway.settings == {"seed": 7} and gateway.tps == 50 and gateway.default_from == "Herald"
    stored = raw_credentials(gateway)
    assert stored.startswith("fernet:") and SECRET not in stored and "system_id" not in stored


def test_the_change_page_never_shows_the_secret(owner_client, gateway):
    html = html_of(owner_client.get(gateway_change(gateway)))
    assert SECRET not in html
    assert '"password": "••••••"' in html and '"username": "••••••"' in html  # the keys, masked
    assert "Leave blank to keep them" in html
    assert SECRET not in html_of(owner_client.get(GATEWAYS))
    history = html_of(owner_client.get(reverse("admin:messaging_gateway_history", args=[gateway.pk])))
    assert SECRET not in history


def test_a_blank_submission_keeps_the_credentials(owner_client, gateway):
    response = owner_client.post(gateway_change(gateway), gateway_form(name="Renamed", credentials=""))
    assert response.status_code == 302, html_of(response)
    gateway.refresh_from_db()
    assert gateway.name == "Renamed" and gateway.credentials == {"username": "herald", "password": SECRET}


def test_a_json_object_replaces_the_credentials(owner_client, gateway):
    owner_client.post(gateway_change(gateway), gateway_form(credentials='  {"api_key": "new-key-123"} '))
    gateway.refresh_from_db()
    assert gateway.credentials == {"api_key": "new-key-123"}
    assert "new-key-123" not in raw_credentials(gateway)


@pytest.mark.parametrize("typed, message", [
    ('{"password": "' + SECRET + '"', "The credentials are not valid JSON (line 1, column"),
    ("password=" + SECRET, "The credentials are not valid JSON"),
    ('["' + SECRET + '"]', "The credentials must be a JSON object"),
])
def test_bad_credentials_are_refused_and_not_echoed(owner_client, gateway, typed, message):
    response = owner_client.post(gateway_change(gateway), gateway_form(name="Renamed", credentials=typed))
    assert response.status_code == 200
    html = html_of(response).replace("&quot;", '"')
    assert message in html
    assert SECRET not in html  # not even what was just typed
    gateway.refresh_from_db()
    assert gateway.name == "Main" and gateway.credentials == {"username": "herald", "password": SECRET}


def test_settings_must_be_a_json_object(owner_client, gateway):
    response = owner_client.post(gateway_change(gateway), gateway_form(settings="[1, 2]"))
    assert "The extra parameters must be a JSON object" in html_of(response).replace("&quot;", '"')
    response = owner_client.post(gateway_change(gateway), gateway_form(settings="{nope"))
    assert "Enter a valid JSON." in html_of(response)


# --- gateways: the other fields -------------------------------------------------------------------------------------

def test_routing_filters_are_entered_comma_separated(owner_client, gateway, company):
    response = owner_client.post(gateway_change(gateway), gateway_form(
        company=company.pk, filter1_field=RouteField.COUNTRY, filter1_values="es, pt ,es,",
        filter2_field=RouteField.SENDER, filter2_values="HERALD, Shop"))
    assert response.status_code == 302, html_of(response)
    gateway.refresh_from_db()
    assert gateway.company == company
    assert (gateway.filter1_field, gateway.filter1_values) == ("country", ["ES", "PT"])
    assert (gateway.filter2_field, gateway.filter2_values) == ("sender", ["HERALD", "Shop"])
    assert 'value="ES, PT"' in html_of(owner_client.get(gateway_change(gateway)))
    assert "Destination country (ISO code): ES, PT" in html_of(owner_client.get(GATEWAYS))


@pytest.mark.parametrize("fields, message", [
    ({"filter1_field": "country", "filter1_values": ""}, "Enter the values filter 1 matches."),
    ({"filter2_field": "", "filter2_values": "Vodafone"}, "Choose what filter 2 looks at."),
    ({"filter1_field": "country", "filter1_values": "Spain"}, "Countries are two-letter ISO codes (ES, PT…); not: SPAIN"),
    ({"filter1_field": "mno", "filter1_values": "a", "filter2_field": "mno", "filter2_values": "b"},
     "Filter 2 looks at the same thing as filter 1"),
    ({"tps": "0"}, "Ensure this value is greater than or equal to 1."),
    ({"provider": "nosuch"}, "Select a valid choice. nosuch is not one of the available choices."),
])
def test_bad_gateway_fields_are_refused(owner_client, gateway, fields, message):
    response = owner_client.post(gateway_change(gateway), gateway_form(**fields))
    assert response.status_code == 200
    assert message in html_of(response)


def test_provider_choices_come_from_the_registry(owner_client):
    html = html_of(owner_client.get(GATEWAY_ADD))
    assert '<option value="simulator">Simulator (no network)</option>' in html
    assert "Shown once the gateway is saved." in html


def test_the_callback_url_is_shown_to_copy(owner_client, gateway):
    html = html_of(owner_client.get(gateway_change(gateway)))
    expected = f"{settings.HERALD_BASE_URL.rstrip('/')}/callbacks/{gateway.callback_token}"
    assert f"<code data-callback-url>{expected}</code>" in html
    assert 'name="callback_token"' not in html  # shown, never edited


# --- gateways: check connection ------------------------------------------------------------------------------------

def run_check(owner_client, *gateways):
    return owner_client.post(GATEWAYS, {"action": "check_connection", "_selected_action": [g.pk for g in gateways]},
                             follow=True)


def test_check_connection_with_the_simulator(owner_client, gateway):
    html = html_of(run_check(owner_client, gateway))
    assert "Main: The simulator needs no connection: it is always reachable." in html
    assert 'class="success"' in html


def test_check_connection_reports_a_failure_and_a_crash(owner_client, gateway, monkeypatch):
    other = Gateway.objects.create(name="Backup", channel=Channel.SMS, provider="simulator")

    def check(self):
        if self.gateway.name == "Main":
            return CheckResult(False, "bind refused: invalid password")
        raise ConnectionRefusedError("127.0.0.1:2775 refused the connection")

    monkeypatch.setattr(SimulatorProvider, "check_connection", check)
    html = html_of(run_check(owner_client, gateway, other))
    assert "Main: bind refused: invalid password" in html
    assert "Backup: the check failed: ConnectionRefusedError: 127.0.0.1:2775 refused the connection" in html
    assert 'class="error"' in html and 'class="success"' not in html


# --- sender IDs ----------------------------------------------------------------------------------------------------

def sender_form(company, **overrides):
    data = {"company": company.pk, "channel": Channel.VIBER, "name": "Herald", "sender_id": "", "status": S.DRAFT,
            "description": "", "agreement": "", "sample_message": "", "registration": "{}", "has_chatbot": ""}
    data.update(overrides)
    return data


def test_the_owner_registers_a_viber_sender_id(owner_client, owner, company):
    response = owner_client.post(SENDER_ADD, sender_form(company, status=S.ACTIVE, sender_id="herald-viber",
                                                         has_chatbot="on"))
    assert response.status_code == 302, html_of(response)
    sender = SenderId.objects.get()
    assert (sender.company, sender.channel, sender.status, sender.sender_id, sender.has_chatbot) == (
        company, Channel.VIBER, S.ACTIVE, "herald-viber", True)
    assert sender.created_by == owner
    event = AuditEvent.objects.get(action="Added new sender ID (BackOffice)")
    assert event.company == company and event.user == owner


def test_active_needs_the_operator_assigned_sender_id(owner_client, company):
    sender = SenderId.objects.create(company=company, channel=Channel.SMS, name="Herald", status=S.DONE)
    change = reverse("admin:messaging_senderid_change", args=[sender.pk])
    response = owner_client.post(change, sender_form(company, channel=Channel.SMS, status=S.ACTIVE))
    assert response.status_code == 200
    assert "An Active sender ID needs its sender ID" in html_of(response)
    sender.refresh_from_db()
    assert sender.status == S.DONE
    response = owner_client.post(change, sender_form(company, channel=Channel.SMS, status=S.ACTIVE,
                                                     sender_id="HERALD"))
    assert response.status_code == 302
    sender.refresh_from_db()
    assert (sender.status, sender.sender_id) == (S.ACTIVE, "HERALD")
    assert AuditEvent.objects.filter(action="Changed sender ID (BackOffice)", company=company).exists()


def test_the_status_actions(owner_client, company):
    ready = SenderId.objects.create(company=company, channel=Channel.SMS, name="Ready", sender_id="READY",
                                    status=S.TESTING)
    bare = SenderId.objects.create(company=company, channel=Channel.SMS, name="Bare", status=S.SUBMITTED)
    response = owner_client.post(SENDERS, {"action": "mark_active", "_selected_action": [ready.pk, bare.pk]},
                                 follow=True)
    html = html_of(response)
    assert "1 sender ID(s) moved to Active." in html
    assert "Bare: An Active sender ID needs its sender ID" in html
    ready.refresh_from_db()
    bare.refresh_from_db()
    assert ready.status == S.ACTIVE and bare.status == S.SUBMITTED
    owner_client.post(SENDERS, {"action": "mark_in_progress", "_selected_action": [bare.pk]})
    bare.refresh_from_db()
    assert bare.status == S.IN_PROGRESS
    actions = html_of(owner_client.get(SENDERS))
    for label in ("In progress", "Testing", "Done", "Active", "Rejected", "Blocked", "Canceled"):
        assert f"Move the selected sender IDs to “{label}”" in actions


def test_the_sender_id_list_filters_and_searches(owner_client, company, other_company):
    SenderId.objects.create(company=company, channel=Channel.SMS, name="Alpha", sender_id="ALPHA", status=S.ACTIVE)
    SenderId.objects.create(company=other_company, channel=Channel.WHATSAPP, name="Bravo", status=S.SUBMITTED)
    html = html_of(owner_client.get(SENDERS))
    assert "Alpha" in html and "Bravo" in html and "By channel" in html and "By status" in html
    assert "By company" in html
    html = html_of(owner_client.get(SENDERS + f"?channel__exact={Channel.WHATSAPP}"))
    assert "Bravo" in html and ">Alpha<" not in html
    html = html_of(owner_client.get(SENDERS + "?q=ALPHA"))
    assert ">Alpha<" in html and "Bravo" not in html
    html = html_of(owner_client.get(SENDERS + f"?company__id__exact={other_company.pk}&status__exact=submitted"))
    assert "Bravo" in html and ">Alpha<" not in html


def test_the_admin_checks_logo_images_like_the_portal(owner_client, company):
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buffer, "PNG")
    logo = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")
    response = owner_client.post(SENDER_ADD, {**sender_form(company, channel=Channel.RCS), "logo": logo})
    assert response.status_code == 200
    assert "Logo: the image is 100x100 pixels; it must be exactly 240x240." in html_of(response)
    assert not SenderId.objects.exists()


def test_portal_users_cannot_open_the_backoffice(client, admin_user, gateway):
    client.force_login(admin_user)  # a company's admin, not staff
    response = client.get(gateway_change(gateway))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
