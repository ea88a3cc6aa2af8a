"""The whole path of issue 4, with real peers on loopback: an Omni API call → the HTTP
provider driver → a provider (an HTTP server started here) → its delivery report posted to
Herald's callback URL → the client's webhook receiver (another HTTP server), which checks
the Standard Webhooks signature. And the same through SMPP: a real bind to Herald's own
SMSC simulator, whose receipts come back over the bind."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from messaging.models import DeliveryPlan, Gateway, Message, MessageStatus, PlanState, Source
from messaging.services import StepSpec, send
from messaging.smsc import SmscSimulator
from webhooks.services import company_secret


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((self.path, dict(self.headers), body))
        reply = self.server.reply(self.path, body)
        data = json.dumps(reply).encode()
        self.send_response(202 if reply else 204)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    started = []

    def start(reply=lambda path, body: {}):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        httpd.received, httpd.reply = [], reply
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return httpd

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def _verify(secret: str, headers: dict, body: bytes) -> bool:
    """An independent Standard Webhooks verifier (what a client writes)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig.split(",", 1)[1] == expected for sig in headers["webhook-signature"].split())


def _webhooks(receiver):
    return [(dict((k.lower(), v) for k, v in headers.items()), body) for _path, headers, body in receiver.received]


def test_api_call_to_provider_to_delivery_report_to_signed_client_webhook(
        company, api_client, server, settings, client, django_capture_on_commit_callbacks):
    settings.HERALD_WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on loopback
    provider = server(lambda path, body: {"message_id": f"p-{json.loads(body)['ref'][:8]}"})
    receiver = server()
    gateway = Gateway.objects.create(
        name="Aggregator", channel=1, provider="http", credentials={"auth": "bearer", "token": "s3cret"},
        settings={"url": f"http://127.0.0.1:{provider.server_port}/send", "format": "json",
                  "body": {"to": "{{to}}", "text": "{{text}}", "ref": "{{id}}"},
                  "response": {"id_path": "message_id"},
                  "callback": {"format": "json", "id_path": "id", "status_path": "status",
                               "map": {"DELIVERED": "delivered", "FAILED": "undelivered"}}})
    hook = f"http://127.0.0.1:{receiver.server_port}/hooks"

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/messages", {"contact": "+34612345678", "channel": 1,
                                                        "payload": {"text": "Your order shipped"}, "webhook": hook},
                                   format="json")
    assert response.status_code == 202, response.content
    message = Message.objects.get(pk=response.json()["id"])
    # The provider got the message, with our credentials and our reference.
    (path, headers, body), = provider.received
    assert json.loads(body) == {"to": "+34612345678", "text": "Your order shipped", "ref": str(message.pk)}
    assert headers["Authorization"] == "Bearer s3cret"
    assert message.status == MessageStatus.SUBMITTED and message.provider_message_id == f"p-{str(message.pk)[:8]}"

    # The provider reports delivery to the gateway's callback URL.
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/callbacks/{gateway.callback_token}",
                             data=json.dumps({"id": message.provider_message_id, "status": "DELIVERED"}),
                             content_type="application/json")
    assert answer.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.provider_status == "DELIVERED"
    assert DeliveryPlan.objects.get(pk=message.plan_id).state == PlanState.SUCCESSFUL

    # The client received both status changes, signed with the company's secret.
    secret = company_secret(company).secret
    hooks = _webhooks(receiver)
    assert [json.loads(body)["data"]["status"] for _h, body in hooks] == ["submitted", "delivered"]
    for headers, body in hooks:
        assert _verify(secret, headers, body)
        assert json.loads(body)["data"]["messageId"] == str(message.pk)
    assert not _verify("whsec_" + base64.b64encode(b"x" * 24).decode(), *hooks[0])

    # The same report again changes nothing and sends no webhook.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/callbacks/{gateway.callback_token}",
                    data=json.dumps({"id": message.provider_message_id, "status": "DELIVERED"}),
                    content_type="application/json")
    assert len(receiver.received) == 2
    assert list(message.events.values_list("status", flat=True)) == ["submitted", "delivered"]


@pytest.mark.django_db(transaction=True)
def test_an_sms_over_a_real_smpp_bind_gets_its_receipt_through_the_intake(company, run_commits):
    """SMPP end to end: submit_sm to Herald's SMSC simulator, the deliver_sm receipt back on
    the bind, applied by the real intake from the driver's receipt thread."""
    with SmscSimulator.threaded(port=0, accounts={"herald": "secret"}, delivery_delay=0.05,
                                deliver_rate=1.0, expire_rate=0.0) as smsc:
        Gateway.objects.create(name="SMSC", channel=1, provider="smpp", tps=1000,
                               credentials={"system_id": "herald", "password": "secret"},
                               settings={"host": "127.0.0.1", "port": smsc.port})
        with run_commits():
            plan = send(company=company, to="+34612345678", source=Source.API,
                        step=StepSpec(channel=1, content={"text": "Hello over SMPP"}))
        message = plan.messages.get()
        assert [(r.destination, r.text) for r in smsc.received] == [("34612345678", "Hello over SMPP")]
        end = time.monotonic() + 10
        while time.monotonic() < end and message.status != MessageStatus.DELIVERED:
            time.sleep(0.05)
            message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
        assert message.provider_status == "DELIVRD"
        assert message.provider_message_id == smsc.received[0].message_id
        plan.refresh_from_db()
        assert plan.state == PlanState.SUCCESSFUL
