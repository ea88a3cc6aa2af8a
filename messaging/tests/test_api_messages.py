"""POST /api/v1/messages (spec §21.1): one message by payload or content template, the
202 body, every validation error with its field, skipped recipients, createRecipient,
webhook, Idempotency-Key, and the OpenAPI examples (scope omni-api)."""

import pytest

from assets.tests.factories import content_template
from contacts import services as contact_services
from contacts.models import Contact
from messaging.api import examples as ex
from messaging.api.serializers import (
    MessageDetailOutput,
    MessageInput,
    MessageOutput,
    OmniAcceptedOutput,
    OmniMessageInput,
    PlanOutput,
)
from messaging.api.testing import KEY_NAME, active_sender, omni_client
from messaging.models import DeliveryPlan, Message, MessageStatus, PlanState, Source
from portal.api.testing import assert_api_error
from portal.audit import Actor
from portal.channel_types import Channel
from portal.models import AuditEvent

URL = "/api/v1/messages"
MESSAGE_FIELDS = set(ex.MESSAGE)
NUMBER = "+34612345678"


@pytest.fixture
def keyed(company):
    return omni_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


@pytest.fixture
def access(keyed):
    return keyed[0]


def send(client, **body):
    body.setdefault("contact", NUMBER)
    body.setdefault("channel", 1)
    if "template" not in body:
        body.setdefault("payload", {"text": "Hello"})
    return client.post(URL, body, format="json")


def nothing_written(company):
    return not Message.objects.for_company(company).exists() and not DeliveryPlan.objects.for_company(company).exists()


def contact(company, number=NUMBER, **attributes):
    return contact_services.create_contact(actor=Actor.system(company), company=company, phone=number,
                                           attributes=attributes or None)


@pytest.mark.django_db
class TestSend:
    def test_sms_is_accepted_queued_then_delivered(self, client, company, access, sim_gateway, run_commits):
        with run_commits():
            response = send(client, contact="0034 612 34 56 78", payload={"text": "Your code is 4711"})
            assert response.status_code == 202, response.content
            body = response.json()
            assert set(body) == MESSAGE_FIELDS
            assert body["status"] == "queued" and body["error"] is None
            assert (body["channel"], body["contact"], body["direction"], body["step"]) == (1, NUMBER, "mt", 1)
            assert (body["encoding"], body["segments"]) == ("gsm7", 1)
            assert (body["source"], body["sourceId"], body["contactId"]) == ("api", access.pk, None)
            assert body["content"] == {"text": "Your code is 4711"}
            assert response["Location"] == f"http://testserver{URL}/{body['id']}"
        message = Message.objects.get(pk=body["id"])
        assert message.company == company and message.status == MessageStatus.DELIVERED
        plan = DeliveryPlan.objects.get(pk=body["planId"])
        assert (plan.source, plan.source_id, plan.api_access) == (Source.API, access.pk, access)
        assert plan.steps[0]["wait_for"] == "delivery" and plan.state == PlanState.SUCCESSFUL
        detail = client.get(response["Location"]).json()
        assert detail["status"] == "delivered" and detail["providerStatus"] == "DELIVRD"
        assert [e["status"] for e in detail["events"]] == ["submitted", "delivered"]
        assert detail["attempts"][0]["ok"] is True

    def test_unicode_text_is_ucs2_with_its_segments(self, client, sim_gateway):
        body = send(client, payload={"text": "Привет! " * 10}).json()
        assert (body["encoding"], body["segments"]) == ("ucs2", 2)

    def test_payload_placeholders_use_the_contact(self, client, company, sim_gateway):
        ann = contact(company, name="Ann")
        body = send(client, payload={"text": "Hi {{attribute.name}}!"}).json()
        assert body["content"]["text"] == "Hi Ann!"
        assert body["contactId"] == ann.pk

    def test_content_template_with_params(self, client, company, sim_gateway):
        contact(company, name="Ann")
        template = content_template(company, content={"text": "Code {{1}} for {{attribute.name}} ({{city}})"})
        response = send(client, template={"id": template.pk, "params": {"1": "4711", "city": "Madrid"}})
        assert response.status_code == 202, response.content
        assert response.json()["content"]["text"] == "Code 4711 for Ann (Madrid)"
        plan = DeliveryPlan.objects.get(pk=response.json()["planId"])
        assert plan.steps[0]["template_id"] == template.pk
        assert plan.steps[0]["params"] == {"1": "4711", "city": "Madrid"}

    def test_template_params_win_over_the_contact_and_default_to_empty(self, client, company, sim_gateway):
        contact(company, name="Ann")
        template = content_template(company, content={"text": "Hi {{attribute.name}}"})
        assert send(client, template={"id": template.pk}).json()["content"]["text"] == "Hi Ann"
        body = send(client, template={"id": template.pk, "params": {"attribute.name": "Bea"}}).json()
        assert body["content"]["text"] == "Hi Bea"

    def test_active_sender_id_is_used(self, client, company, sim_gateway):
        active_sender(company, 1, "ACME")
        body = send(client, senderId="ACME").json()
        assert body["senderId"] == "ACME"
        assert Message.objects.get(pk=body["id"]).sender_id.sender_id == "ACME"

    def test_email_to_an_address(self, client, company):
        response = send(client, contact="Ana@Example.com", channel=6,
                        payload={"subject": "Invoice", "html": "<p>Hi</p>", "text": "Hi"})
        assert response.status_code == 202, response.content
        body = response.json()
        assert body["contact"] == "ana@example.com" and body["channel"] == 6
        assert (body["encoding"], body["segments"]) == (None, None)
        # no e-mail gateway in this test: made, but skipped with the reason
        assert body["status"] == "skipped" and body["error"]["code"] == "no_route"

    def test_push_waits_for_submit(self, client, company):
        response = send(client, channel=8, payload={"text": "Your parcel is here", "title": "Parcel"})
        assert response.status_code == 202, response.content
        plan = DeliveryPlan.objects.get(pk=response.json()["planId"])
        assert plan.steps[0]["wait_for"] == "submit"

    def test_webhook_is_kept_on_the_plan(self, client):
        body = send(client, webhook="https://crm.example.com/hook?x=1").json()
        assert DeliveryPlan.objects.get(pk=body["planId"]).webhook_url == "https://crm.example.com/hook?x=1"


@pytest.mark.django_db
class TestSkipped:
    def test_opted_out_contact_is_skipped_with_the_reason(self, client, company, sim_gateway):
        ann = contact(company)
        contact_services.opt_out(Actor.system(company), ann, 1)
        response = send(client)
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "skipped"
        assert body["error"] == {"code": "opted_out", "text": "The contact opted out of this channel or sender."}
        assert body["finishedAt"] is not None
        plan = DeliveryPlan.objects.get(pk=body["planId"])
        assert plan.state == PlanState.UNSUCCESSFUL

    def test_no_route_is_skipped(self, client, company):
        body = send(client).json()
        assert body["status"] == "skipped" and body["error"]["code"] == "no_route"
        assert "No route" in body["error"]["text"]

    def test_no_address_on_the_channel_is_skipped(self, client, company):
        contact(company)
        body = send(client, channel=5, payload={"text": "Hi"}).json()  # WeChat: the contact has no WeChat id
        assert body["status"] == "skipped" and body["error"]["code"] == "no_address"


@pytest.mark.django_db
class TestRecipient:
    def test_create_recipient_adds_the_contact_audited_with_the_key(self, client, company, access, sim_gateway):
        body = send(client, contact="+34 699 000 111", createRecipient=True).json()
        created = Contact.objects.for_company(company).get(phone="+34699000111")
        assert body["contactId"] == created.pk
        event = AuditEvent.objects.filter(company=company, action="Added new contact").get()
        assert event.api_access == access and event.api_access_name == KEY_NAME

    def test_without_create_recipient_no_contact_is_made(self, client, company, sim_gateway):
        body = send(client, contact="+34699000111").json()
        assert body["contactId"] is None and body["contact"] == "+34699000111"
        assert not Contact.objects.for_company(company).exists()

    def test_another_company_contact_with_the_number_is_not_used(self, client, company, other_company, sim_gateway):
        theirs = contact(other_company, name="Theirs")
        body = send(client, payload={"text": "Hi {{attribute.name}}"}).json()
        assert body["contactId"] is None and body["content"]["text"] == "Hi "
        assert theirs.messages.count() == 0


@pytest.mark.django_db
class TestValidation:
    def test_missing_fields(self, client, company):
        body = assert_api_error(client.post(URL, {}, format="json"), 422)
        assert body["errors"]["contact"] == ["This field is required."]
        assert body["errors"]["channel"] == ["This field is required."]
        assert nothing_written(company)

    @pytest.mark.parametrize("channel", [0, 11, -1])
    def test_unknown_channel(self, client, company, channel):
        body = assert_api_error(send(client, channel=channel), 422)
        assert body["errors"]["channel"][0].startswith("Unknown channel: use 1 (SMS), 2 (RCS)")
        assert nothing_written(company)

    def test_channel_must_be_a_number(self, client):
        body = assert_api_error(send(client, channel="sms"), 422)
        assert body["errors"]["channel"][0].startswith("The channel is a number: use 1 (SMS)")

    @pytest.mark.parametrize("extra", [{}, {"template": {"id": 1}}])
    def test_exactly_one_of_payload_and_template(self, client, company, extra):
        body = {"contact": NUMBER, "channel": 1, **extra}
        if extra:
            body["payload"] = {"text": "Hi"}
        response = assert_api_error(client.post(URL, body, format="json"), 422)
        assert response["errors"] == {"payload": ["Give either a payload or a template, not both and not neither."]}
        assert nothing_written(company)

    def test_unknown_fields_are_refused(self, client, company):
        body = assert_api_error(send(client, text="Hi", template={"id": 1, "name": "x"}, payload=None), 422)
        assert body["errors"]["text"] == ["Unknown field."]
        assert body["errors"]["template.name"] == ["Unknown field."]

    def test_null_means_left_out(self, client, company, sim_gateway):
        template = content_template(company, content={"text": "From a template"})
        response = send(client, template={"id": template.pk}, payload=None, senderId=None, webhook=None)
        assert response.status_code == 202, response.content
        assert response.json()["content"] == {"text": "From a template"}
        body = assert_api_error(send(client, template=None, payload=None), 422)
        assert body["errors"] == {"payload": ["Give either a payload or a template, not both and not neither."]}

    @pytest.mark.parametrize("payload", ["Hello", ["Hello"], {}])
    def test_payload_must_be_a_non_empty_object(self, client, company, payload):
        body = assert_api_error(send(client, payload=payload), 422)
        assert list(body["errors"]) == ["payload"]
        assert nothing_written(company)

    def test_sms_payload_needs_a_text(self, client, company):
        body = assert_api_error(send(client, payload={"title": "x"}), 422)
        assert body["errors"] == {"payload.text": ["This channel needs a text."]}
        assert nothing_written(company)

    def test_email_payload_needs_subject_and_body(self, client, company):
        body = assert_api_error(send(client, contact="a@example.com", channel=6, payload={"html": " "}), 422)
        assert body["errors"] == {"payload.subject": ["An e-mail needs a subject."],
                                  "payload.html": ["An e-mail needs an HTML or a text body."]}

    def test_template_of_another_company_is_not_found(self, client, company, other_company):
        theirs = content_template(other_company)
        body = assert_api_error(send(client, template={"id": theirs.pk, "params": {}}), 422)
        assert body["errors"] == {"template.id": [f"There is no content template {theirs.pk} in your company."]}
        assert nothing_written(company)

    def test_template_of_another_channel(self, client, company):
        email = content_template(company, channel=Channel.EMAIL, content={"subject": "s", "text": "t"})
        body = assert_api_error(send(client, template={"id": email.pk}), 422)
        assert body["errors"] == {"template.id": [f"Content template {email.pk} is for Email, not SMS."]}

    def test_template_shape(self, client):
        body = assert_api_error(send(client, template={"id": "x", "params": ["a"]}), 422)
        assert set(body["errors"]) == {"template.id", "template.params"}
        body = assert_api_error(send(client, template={"params": {"a": {"nested": 1}}}), 422)
        assert set(body["errors"]) == {"template.id", "template.params.a"}

    def test_inactive_sender_id(self, client, company):
        from messaging.models import SenderIdStatus

        active_sender(company, 1, "ACME").__class__.objects.filter(sender_id="ACME").update(
            status=SenderIdStatus.BLOCKED)
        body = assert_api_error(send(client, senderId="ACME"), 422)
        assert body["errors"] == {"senderId": ["“ACME” is not an active SMS sender ID of your company "
                                               "(Assets → Sender IDs)."]}
        assert body["message"].startswith("Validation failed: senderId: “ACME”")
        assert nothing_written(company)

    def test_another_company_sender_id_is_not_ours(self, client, company, other_company):
        active_sender(other_company, 1, "GLOBEX")
        body = assert_api_error(send(client, senderId="GLOBEX"), 422)
        assert "not an active SMS sender ID" in body["errors"]["senderId"][0]

    def test_sender_outside_the_keys_allowed_senders(self, company, sim_gateway):
        active_sender(company, 1, "ACME")
        active_sender(company, 1, "PROMO")
        _access, restricted = omni_client(company, name="Limited", allowed_senders=["ACME"])
        body = assert_api_error(send(restricted, senderId="PROMO"), 422)
        assert body["errors"] == {"senderId": ["This API key may not send from “PROMO”."]}
        assert send(restricted, senderId="ACME").status_code == 202

    @pytest.mark.parametrize("number", ["12ab", "+34 12", ""])
    def test_bad_phone_number(self, client, company, number):
        body = assert_api_error(send(client, contact=number), 422)
        assert list(body["errors"]) == ["contact"]
        assert nothing_written(company)

    def test_an_email_address_only_for_email(self, client, company):
        body = assert_api_error(send(client, contact="ana@example.com"), 422)
        assert body["errors"] == {"contact": ["An e-mail address can only receive e-mail; give a phone number."]}

    @pytest.mark.parametrize("url", ["ftp://example.com/x", "not a url", "http://127.0.0.1:8000/hook",
                                     "https://10.0.0.5/hook"])
    def test_bad_webhook(self, client, company, url):
        body = assert_api_error(send(client, webhook=url), 422)
        assert list(body["errors"]) == ["webhook"]
        assert nothing_written(company)

    def test_create_recipient_must_be_a_boolean(self, client):
        body = assert_api_error(send(client, createRecipient="perhaps"), 422)
        assert list(body["errors"]) == ["createRecipient"]


@pytest.mark.django_db
class TestAccess:
    def test_key_without_the_omni_api_scope_is_403(self, company):
        _access, crm = omni_client(company, scopes=("recipients", "crm"))
        body = assert_api_error(send(crm), 403)
        assert body["message"] == "This API key lacks the 'omni-api' scope."
        assert nothing_written(company)

    def test_without_a_key_is_401(self, company):
        from rest_framework.test import APIClient

        assert_api_error(send(APIClient()), 401)

    def test_bearer_header_works_too(self, company, sim_gateway):
        from rest_framework.test import APIClient

        from portal.testing import factories

        _access, raw = factories.api_access(company, scopes=["omni-api"])
        bearer = APIClient()
        bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert send(bearer).status_code == 202


@pytest.mark.django_db
class TestIdempotency:
    def test_a_retried_send_is_answered_from_the_first_and_sends_once(self, client, company, sim_gateway,
                                                                       run_commits):
        with run_commits():
            first = client.post(URL, ex.SEND_SMS | {"senderId": ""}, format="json", HTTP_IDEMPOTENCY_KEY="o-1042")
        assert first.status_code == 202, first.content
        again = client.post(URL, ex.SEND_SMS | {"senderId": ""}, format="json", HTTP_IDEMPOTENCY_KEY="o-1042")
        assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
        assert again.content == first.content and again["Location"] == first["Location"]
        assert Message.objects.for_company(company).count() == 1
        other = client.post(URL, {**ex.SEND_SMS, "senderId": "", "contact": "+34699000111"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="o-1042")
        assert_api_error(other, 422)
        assert Message.objects.for_company(company).count() == 1

    def test_a_refused_send_is_replayed_as_refused(self, client, company, sim_gateway):
        body = {"contact": NUMBER, "channel": 1, "payload": {"text": "Hello"}, "senderId": "NOPE"}
        first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="x")
        assert_api_error(first, 422)
        active_sender(company, 1, "NOPE")  # fixed meanwhile: the key still answers what it answered
        replay = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="x")
        assert replay.status_code == 422 and replay["Idempotent-Replayed"] == "true"
        assert replay.content == first.content
        assert nothing_written(company)
        fresh = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="y")
        assert fresh.status_code == 202 and "Idempotent-Replayed" not in fresh


# --- the OpenAPI schema ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _examples(operation, code):
    return operation["responses"][code]["content"]["application/json"]["examples"]


class TestSchema:
    def test_response_examples_have_exactly_the_serializer_fields(self):
        assert set(ex.MESSAGE) == set(MessageOutput().fields)
        assert set(ex.MESSAGE_DETAIL) == set(MessageDetailOutput().fields)
        assert set(ex.PLAN) == set(PlanOutput().fields)
        assert all(set(m) == set(MessageOutput().fields) for m in ex.PLAN["messages"])
        assert set(ex.OMNI_ACCEPTED) == set(OmniAcceptedOutput().fields)
        step_fields = set(OmniAcceptedOutput().fields["messages"].child.fields)
        assert all(set(m) == step_fields for m in ex.OMNI_FIRST_SKIPPED["messages"])

    @pytest.mark.parametrize("serializer_class, example", [
        (MessageInput, ex.SEND_SMS), (MessageInput, ex.SEND_TEMPLATE), (MessageInput, ex.SEND_EMAIL),
        (MessageInput, ex.SEND_WHATSAPP_TEMPLATE), (OmniMessageInput, ex.OMNI_REQUEST)])
    def test_request_examples_are_valid_input(self, serializer_class, example):
        serializer = serializer_class(data=example)
        assert serializer.is_valid(), serializer.errors

    def test_post_messages_documents_202_with_examples_idempotency_and_errors(self, schema):
        operation = schema["paths"]["/api/v1/messages"]["post"]
        assert set(operation["responses"]) >= {"202", "401", "403", "422", "429"}
        summaries = {example.get("summary", key) for key, example in _examples(operation, "202").items()}
        assert {"Queued", "Skipped: the contact opted out"} <= summaries
        assert len(_examples(operation, "422")) >= 2
        request_examples = operation["requestBody"]["content"]["application/json"]["examples"]
        assert len(request_examples) == 4
        assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]

    def test_reads_have_examples(self, schema):
        for path in ("/api/v1/messages", "/api/v1/messages/{id}", "/api/v1/plans/{id}"):
            operation = schema["paths"][path]["get"]
            assert _examples(operation, "200"), path
            assert {"401", "403"} <= set(operation["responses"]), path
        assert "404" in schema["paths"]["/api/v1/messages/{id}"]["get"]["responses"]
        list_params = {p["name"] for p in schema["paths"]["/api/v1/messages"]["get"]["parameters"]}
        assert {"channel", "status", "direction", "source", "contact", "planId", "since", "until", "cursor",
                "page_size"} <= list_params
