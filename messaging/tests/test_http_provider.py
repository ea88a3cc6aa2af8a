"""The generic HTTP provider against a real HTTP server on loopback (a stdlib
ThreadingHTTPServer started by the tests, recording every request)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from messaging.models import Gateway
from messaging.providers.base import CallbackRejected, OutboundMessage
from messaging.providers.http import HttpProvider, check_settings, dig
from portal.channel_types import Channel


class Peer:
    """A loopback HTTP server. ``answer(request) -> (status, body, headers)`` decides the
    response; every request is recorded as a dict."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answer = lambda req: (202, {"message_id": f"p-{len(self.requests)}"}, {})
        self.release = threading.Event()   # a handler told to "hang" waits for it
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = {"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                       "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                       "client_port": self.client_address[1]}
                peer.requests.append(req)
                status, payload, headers = peer.answer(req)
                if status == "hang":
                    peer.release.wait(5)
                    return
                data = payload if isinstance(payload, bytes) else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                if headers.get("Connection") == "close":
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def json(self, index=-1):
        return json.loads(self.requests[index]["body"])

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer():
    server = Peer()
    yield server
    server.stop()


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def gateway(settings: dict, credentials: dict | None = None, channel=Channel.SMS) -> Gateway:
    # Unsaved: the driver only reads the fields.
    return Gateway(name="Aggregator", channel=channel, provider="http", credentials=credentials or {"auth": "none"},
                   settings=settings, default_from="Herald", callback_token=uuid.uuid4())


def message(text="Hello Ana", to="+34600111222", sender="ACME", **content) -> OutboundMessage:
    return OutboundMessage(id=uuid.uuid4(), company_id=1, channel=Channel.SMS, address=to, sender=sender,
                           content={"text": text, **content})


def driver(peer_or_url, **settings) -> HttpProvider:
    credentials = settings.pop("credentials", None)
    base = peer_or_url.url if isinstance(peer_or_url, Peer) else peer_or_url
    config = {"url": f"{base}/send", "body": {"to": "{{to}}", "from": "{{from}}", "text": "{{text}}", "ref": "{{id}}"},
              "response": {"id_path": "message_id"}, "timeout": 2}
    config.update(settings)
    return HttpProvider(gateway(config, credentials))


# --- sending ---------------------------------------------------------------------------


def test_json_body_is_rendered_from_the_template_with_bearer_auth(peer):
    peer.answer = lambda req: (202, {"data": {"id": 98765}}, {})
    d = driver(peer, credentials={"auth": "bearer", "token": "s3cret-token"},
               body={"to": "{{to}}", "from": "{{from}}", "ref": "{{id}}",
                     "message": {"text": "{{text}}", "channel": "{{channel}}", "title": "Re: {{subject}}"},
                     "tags": ["herald", "{{to}}"], "priority": 5},
               response={"id_path": "data.id"})
    m = message(text="Hola ñandú €", subject="Offer")

    [result] = d.send_batch([m])

    sent = peer.requests[0]
    assert sent["method"] == "POST" and sent["path"] == "/send"
    assert sent["headers"]["authorization"] == "Bearer s3cret-token"
    assert sent["headers"]["content-type"].startswith("application/json")
    assert peer.json() == {"to": "+34600111222", "from": "ACME", "ref": str(m.id),
                           "message": {"text": "Hola ñandú €", "channel": 1, "title": "Re: Offer"},
                           "tags": ["herald", "+34600111222"], "priority": 5}
    assert result.status == "submitted"
    assert result.provider_message_id == "98765"
    assert result.message_id == m.id
    assert result.request["body"]["message"]["text"] == "Hola ñandú €"
    assert result.request["url"] == f"{peer.url}/send"
    assert "s3cret-token" not in json.dumps(result.request)
    assert result.response == {"status": 202, "body": '{"data": {"id": 98765}}'}


def test_form_body_with_basic_auth(peer):
    d = driver(peer, format="form", credentials={"auth": "basic", "username": "acme", "password": "pa:ss"},
               body={"To": "{{to}}", "From": "{{from}}", "Body": "{{text}}", "StatusCallback": "https://h/x?id={{id}}"})
    m = message(text="Tu código es 1234 & más")

    [result] = d.send_batch([m])

    sent = peer.requests[0]
    assert sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert sent["headers"]["authorization"] == "Basic " + base64.b64encode(b"acme:pa:ss").decode()
    assert parse_qs(sent["body"].decode()) == {"To": ["+34600111222"], "From": ["ACME"],
                                              "Body": ["Tu código es 1234 & más"],
                                              "StatusCallback": [f"https://h/x?id={m.id}"]}
    assert result.status == "submitted" and result.provider_message_id == "p-1"


def test_header_auth_and_secrets_in_the_body_are_masked_in_the_summary(peer):
    d = driver(peer, url=f"{peer.url}/accounts/{{{{secret.account}}}}/send",
               credentials={"auth": "header", "header_name": "X-Api-Key", "header_value": "k-123",
                            "account": "AC 77", "pin": "9911"},
               body={"to": "{{to}}", "pin": "{{secret.pin}}", "text": "{{text}}"})

    [result] = d.send_batch([message()])

    sent = peer.requests[0]
    assert sent["headers"]["x-api-key"] == "k-123"
    assert sent["path"] == "/accounts/AC%2077/send"
    assert peer.json()["pin"] == "9911"
    assert result.status == "submitted"
    assert result.request["body"]["pin"] == "***"
    assert result.request["url"] == f"{peer.url}/accounts/%2A%2A%2A/send"
    summary = json.dumps(result.request)
    assert "9911" not in summary and "k-123" not in summary and "AC 77" not in summary


def test_get_method_sends_the_template_as_the_query_string(peer):
    d = driver(peer, method="GET", url=f"{peer.url}/send?user=acme")
    [result] = d.send_batch([message(text="a b&c")])
    sent = peer.requests[0]
    assert sent["method"] == "GET" and sent["body"] == b""
    assert sent["query"]["user"] == ["acme"]
    assert sent["query"]["text"] == ["a b&c"] and sent["query"]["to"] == ["+34600111222"]
    assert result.status == "submitted"


def test_400_is_rejected_with_an_excerpt_of_the_body(peer):
    peer.answer = lambda req: (400, "invalid destination number: " + "x" * 1000, {})
    [result] = driver(peer).send_batch([message()])
    assert result.status == "rejected"
    assert result.error_code == "http_400"
    assert result.provider_status == "400"
    assert result.error_text.startswith("HTTP 400: invalid destination number: xxx")
    assert len(result.error_text) <= len("HTTP 400: ") + 300
    assert result.response["status"] == 400 and len(result.response["body"]) == 500


def test_503_is_failed(peer):
    peer.answer = lambda req: (503, {"error": "maintenance"}, {})
    [result] = driver(peer).send_batch([message()])
    assert result.status == "failed"
    assert result.error_code == "http_503"
    assert "maintenance" in result.error_text


def test_a_timeout_is_failed(peer):
    peer.answer = lambda req: ("hang", None, {})
    [result] = driver(peer, timeout=0.2).send_batch([message()])
    assert result.status == "failed"
    assert result.error_code == "timeout"
    assert "0.2 s" in result.error_text


def test_timeouts_in_a_row_stop_the_rest_of_the_batch(peer):
    peer.answer = lambda req: ("hang", None, {})
    results = driver(peer, timeout=0.1).send_batch([message() for _ in range(5)])
    assert [r.error_code for r in results] == ["timeout"] * 5
    assert len(peer.requests) == 3
    assert results[3].error_text.startswith("not sent:")


def test_connection_refused_is_failed(closed_port):
    results = driver(f"http://127.0.0.1:{closed_port}").send_batch([message(), message()])
    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].error_code == "connection_error"
    assert f"127.0.0.1:{closed_port}" in results[0].error_text


def test_an_ok_answer_without_the_id_is_failed(peer):
    peer.answer = lambda req: (200, {"result": "queued"}, {})
    [result] = driver(peer).send_batch([message()])
    assert result.status == "failed"
    assert result.error_code == "no_provider_id"
    assert "no message id at 'message_id'" in result.error_text


def test_an_ok_answer_that_is_not_json_is_failed(peer):
    peer.answer = lambda req: (200, "OK queued", {})
    [result] = driver(peer).send_batch([message()])
    assert result.status == "failed" and result.error_code == "bad_response"
    assert "not JSON" in result.error_text


def test_an_ok_answer_carrying_an_error_is_rejected(peer):
    peer.answer = lambda req: (200, {"status": "error", "error": "insufficient balance"}, {})
    [result] = driver(peer, response={"id_path": "message_id", "error_path": "error"}).send_batch([message()])
    assert result.status == "rejected"
    assert result.error_code == "provider_error" and result.error_text == "insufficient balance"


def test_without_an_id_path_the_message_is_submitted_without_a_provider_id(peer):
    peer.answer = lambda req: (200, "", {})
    [result] = driver(peer, response={}).send_batch([message()])
    assert result.status == "submitted" and result.provider_message_id == ""


def test_custom_ok_statuses(peer):
    peer.answer = lambda req: (202, {"message_id": "x"}, {})
    [result] = driver(peer, response={"id_path": "message_id", "ok_statuses": [200]}).send_batch([message()])
    assert result.status == "failed" and result.error_code == "http_202"


def test_one_connection_is_kept_for_the_batch_and_reopened_when_the_server_closes_it(peer):
    d = driver(peer)
    results = d.send_batch([message() for _ in range(3)])
    assert [r.provider_message_id for r in results] == ["p-1", "p-2", "p-3"]
    assert len({r["client_port"] for r in peer.requests}) == 1

    peer.answer = lambda req: (202, {"message_id": "closing"}, {"Connection": "close"})
    d.send_batch([message()])
    peer.answer = lambda req: (202, {"message_id": "fresh"}, {})
    [result] = d.send_batch([message()])
    assert result.provider_message_id == "fresh"
    assert peer.requests[-1]["client_port"] != peer.requests[-2]["client_port"]
    d.close()


def test_batch_mode_sends_several_messages_per_request(peer):
    def answer(req):
        items = json.loads(req["body"])["messages"]
        return 200, {"results": [{"id": f"b-{item['ref'][-4:]}"} for item in items]}, {}

    peer.answer = answer
    d = driver(peer, batch={"path": "messages", "response_path": "results", "size": 2},
               response={"id_path": "id"})
    ms = [message(to=f"+3460000000{i}") for i in range(3)]

    results = d.send_batch(ms)

    assert len(peer.requests) == 2
    assert [item["to"] for item in peer.json(0)["messages"]] == ["+34600000000", "+34600000001"]
    assert [item["ref"] for item in peer.json(1)["messages"]] == [str(ms[2].id)]
    assert [r.message_id for r in results] == [m.id for m in ms]
    assert [r.provider_message_id for r in results] == [f"b-{str(m.id)[-4:]}" for m in ms]
    assert all(r.status == "submitted" for r in results)
    assert results[1].request["body"]["to"] == "+34600000001"
    assert results[1].request["batch"] == {"index": 1, "size": 2}


def test_batch_mode_with_a_top_level_list_and_a_per_item_error(peer):
    peer.answer = lambda req: (200, [{"id": "a"}, {"error": "bad number"}], {})
    d = driver(peer, batch={"path": "messages"}, response={"id_path": "id", "error_path": "error"})
    results = d.send_batch([message(), message(to="+1")])
    assert [r.status for r in results] == ["submitted", "rejected"]
    assert results[1].error_text == "bad number"


def test_batch_mode_answer_of_the_wrong_length_fails_every_message(peer):
    peer.answer = lambda req: (200, {"messages": [{"id": "a"}]}, {})
    results = driver(peer, batch={"path": "messages"}, response={"id_path": "id"}).send_batch([message(), message()])
    assert [r.status for r in results] == ["failed", "failed"]
    assert "1 results at 'messages' for 2 messages" in results[0].error_text


def test_batch_mode_http_error_applies_to_every_message(peer):
    peer.answer = lambda req: (401, {"error": "bad key"}, {})
    results = driver(peer, batch={"path": "messages"}).send_batch([message(), message()])
    assert [(r.status, r.error_code) for r in results] == [("rejected", "http_401")] * 2


def test_a_misconfigured_gateway_fails_every_message_with_the_reason(peer):
    d = driver(peer, body={"to": "{{phone}}"})
    [result] = d.send_batch([message()])
    assert result.status == "failed" and result.error_code == "bad_configuration"
    assert "unknown placeholder {{phone}}" in result.error_text
    assert peer.requests == []
    check = d.check_connection()
    assert not check.ok and "unknown placeholder {{phone}}" in check.detail


@pytest.mark.parametrize(("config", "credentials", "problem"), [
    ({}, {}, "settings.url is required"),
    ({"url": "ftp://x/send"}, {}, "must be an http:// or https:// URL"),
    ({"url": "http://x", "method": "DELETE"}, {}, "settings.method must be one of"),
    ({"url": "http://x", "format": "xml"}, {}, "settings.format must be 'json' or 'form'"),
    ({"url": "http://x", "batch": {"path": "m"}, "format": "form"}, {}, "batch mode needs format 'json'"),
    ({"url": "http://x", "timeout": 0}, {}, "settings.timeout must be a positive number"),
    ({"url": "http://x"}, {"auth": "bearer"}, "credentials.token is required for auth 'bearer'"),
    ({"url": "http://x"}, {"auth": "oauth"}, "credentials.auth must be one of"),
    ({"url": "http://x", "body": {"k": "{{secret.key}}"}}, {}, "the credentials have no 'key'"),
    ({"url": "http://x", "callback": {"map": {"OK": "done"}}}, {}, "settings.callback.map['OK'] = 'done' is not"),
    ({"url": "http://x", "callback": {"id_path": "id"}}, {}, "set settings.callback.ref_path"),
    ({"url": "http://x", "headers": ["X-A: 1"]}, {}, "settings.headers must be a JSON object"),
])
def test_check_settings_explains_what_is_wrong(config, credentials, problem):
    assert any(problem in p for p in check_settings(config, credentials)), check_settings(config, credentials)


def test_check_settings_accepts_a_complete_configuration():
    assert check_settings({"url": "https://api.example.com/v1/sms", "body": {"to": "{{to}}", "x": "{{content.k}}"},
                           "response": {"id_path": "id"}, "callback": {"map": {"DELIVRD": "delivered"}}},
                          {"auth": "basic", "username": "u", "password": "p"}) == []


def test_dig_reads_dotted_paths_and_list_indexes():
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}, "x.y": "flat"}
    assert dig(data, "a.b.1.c") == 2
    assert dig(data, "x.y") == "flat"
    assert dig(data, "a.z", "none") == "none"
    assert dig(data, "a.b.5.c") is None


# --- connection check ------------------------------------------------------------------


def test_check_connection_ok_with_a_head_of_the_origin(peer):
    peer.answer = lambda req: (405, "", {})
    result = driver(peer, credentials={"auth": "bearer", "token": "t"}).check_connection()
    assert result.ok, result.detail
    assert peer.requests[0]["method"] == "HEAD" and peer.requests[0]["path"] == "/"
    assert peer.requests[0]["headers"]["authorization"] == "Bearer t"


def test_check_connection_uses_the_check_url(peer):
    peer.answer = lambda req: (200, {"balance": 10}, {})
    result = driver(peer, check_url=f"{peer.url}/balance").check_connection()
    assert result.ok and "HTTP 200" in result.detail
    assert (peer.requests[0]["method"], peer.requests[0]["path"]) == ("GET", "/balance")


@pytest.mark.parametrize("code", [401, 403])
def test_check_connection_reports_refused_credentials(peer, code):
    peer.answer = lambda req: (code, {"error": "unauthorized"}, {})
    result = driver(peer, check_url=f"{peer.url}/me").check_connection()
    assert not result.ok
    assert "refused the credentials" in result.detail and str(code) in result.detail


def test_check_connection_reports_a_server_error(peer):
    peer.answer = lambda req: (502, "", {})
    result = driver(peer).check_connection()
    assert not result.ok and "502" in result.detail


def test_check_connection_reports_an_unreachable_server(closed_port):
    result = driver(f"http://127.0.0.1:{closed_port}").check_connection()
    assert not result.ok and "Cannot reach" in result.detail


# --- reconcile -------------------------------------------------------------------------


def test_reconcile_without_a_lookup_url_cannot_tell(peer):
    assert driver(peer).reconcile([message()]) is None


def test_reconcile_asks_the_lookup_url_by_our_id(peer):
    found, missing, broken = message(), message(), message()

    def answer(req):
        ref = req["query"]["ref"][0]
        if ref == str(found.id):
            return 200, {"message_id": "p-found"}, {}
        if ref == str(missing.id):
            return 404, {"error": "not found"}, {}
        return 500, "oops", {}

    peer.answer = answer
    result = driver(peer, lookup_url=f"{peer.url}/status?ref={{{{id}}}}").reconcile([found, missing, broken])

    assert set(result) == {found.id, broken.id}
    assert result[found.id].status == "submitted" and result[found.id].provider_message_id == "p-found"
    assert result[broken.id].status == "failed" and result[broken.id].error_code == "outcome_unknown"
    assert [r["path"] for r in peer.requests] == ["/status"] * 3


# --- callbacks -------------------------------------------------------------------------

CALLBACK = {"format": "json", "id_path": "id", "status_path": "status", "error_path": "error",
            "map": {"DELIVERED": "delivered", "FAILED": "undelivered", "READ": "seen", "ENROUTE": "submitted"}}


def callback_driver(callback=None, credentials=None) -> HttpProvider:
    d = HttpProvider(gateway({"url": "http://127.0.0.1:9/send", "response": {"id_path": "message_id"},
                              "callback": callback or CALLBACK}, credentials or {"auth": "none"}))
    assert d.problems == []
    return d


def post_json(rf, payload, **headers):
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    return rf.post("/callbacks/x", data=body, content_type="application/json", headers=headers)


def test_json_callback_becomes_a_report(rf):
    d = callback_driver({**CALLBACK, "time_path": "ts", "error_code_path": "code"})
    result = d.parse_callback(post_json(rf, {"id": "p-1", "status": "FAILED", "error": "absent subscriber",
                                             "code": 27, "ts": "2026-03-01T10:00:00Z"}))
    [report] = result.reports
    assert report.status == "undelivered"
    assert report.provider_message_id == "p-1" and report.message_id is None
    assert report.provider_status == "FAILED"
    assert report.error_text == "absent subscriber" and report.error_code == "27"
    assert report.at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert result.inbound == []
    assert result.status == 200 and json.loads(result.body) == {"accepted": 1, "skipped": []}


def test_mapped_statuses_ignore_case(rf):
    [report] = callback_driver().parse_callback(post_json(rf, {"id": 7, "status": "read"})).reports
    assert (report.status, report.provider_message_id, report.provider_status) == ("seen", "7", "read")


def test_callback_identified_by_our_id(rf):
    our_id = uuid.uuid4()
    d = callback_driver({"ref_path": "ref", "status_path": "state", "map": {"2": "delivered"}})
    [report] = d.parse_callback(post_json(rf, {"ref": str(our_id), "state": 2})).reports
    assert report.message_id == our_id and report.status == "delivered"


def test_form_callback(rf):
    d = callback_driver({**CALLBACK, "format": "form", "id_path": "MessageSid", "status_path": "MessageStatus"})
    request = rf.post("/callbacks/x", data="MessageSid=SM1&MessageStatus=DELIVERED&To=%2B3460",
                      content_type="application/x-www-form-urlencoded")
    [report] = d.parse_callback(request).reports
    assert (report.provider_message_id, report.status) == ("SM1", "delivered")


def test_form_callback_in_the_query_string_of_a_get(rf):
    d = callback_driver({**CALLBACK, "format": "form"})
    [report] = d.parse_callback(rf.get("/callbacks/x", {"id": "g1", "status": "DELIVERED"})).reports
    assert (report.provider_message_id, report.status) == ("g1", "delivered")


def test_a_list_of_events_skips_unmapped_statuses_and_says_so(rf):
    d = callback_driver({**CALLBACK, "list_path": "events"})
    payload = {"events": [{"id": "a", "status": "DELIVERED"}, {"id": "b", "status": "WEIRD"},
                          {"id": "c", "status": "ENROUTE"}, {"status": "DELIVERED"}]}
    result = d.parse_callback(post_json(rf, payload))
    assert [(r.provider_message_id, r.status) for r in result.reports] == [("a", "delivered"), ("c", "submitted")]
    body = json.loads(result.body)
    assert body["accepted"] == 2
    assert body["skipped"] == [
        {"index": 1, "reason": "unknown status 'WEIRD'; map it in the gateway's callback.map"},
        {"index": 3, "reason": "no message id at 'id'"},
    ]
    assert result.status == 200


def test_a_top_level_list_is_a_list_of_events(rf):
    result = callback_driver().parse_callback(post_json(rf, [{"id": "a", "status": "DELIVERED"},
                                                             {"id": "b", "status": "READ"}]))
    assert [r.status for r in result.reports] == ["delivered", "seen"]


def test_list_path_that_is_not_a_list_is_rejected(rf):
    with pytest.raises(CallbackRejected) as exc:
        callback_driver({**CALLBACK, "list_path": "events"}).parse_callback(post_json(rf, {"events": {}}))
    assert exc.value.status == 400 and "expected a list of events at 'events'" in exc.value.message


def test_mo_callback_becomes_an_inbound_message(rf):
    mo = {"when_path": "type", "when_value": "inbound", "from_path": "from", "to_path": "to", "text_path": "text",
          "id_path": "id"}
    d = callback_driver({**CALLBACK, "list_path": "events", "mo": mo})
    payload = {"events": [{"type": "inbound", "id": "mo-1", "from": "+34600111222", "to": "ACME", "text": "STOP"},
                          {"type": "dlr", "id": "p-1", "status": "DELIVERED"}]}
    result = d.parse_callback(post_json(rf, payload))
    [inbound] = result.inbound
    assert (inbound.address, inbound.to, inbound.text, inbound.provider_message_id) == ("+34600111222", "ACME",
                                                                                        "STOP", "mo-1")
    assert inbound.content == {"text": "STOP"}
    assert [r.provider_message_id for r in result.reports] == ["p-1"]


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signed_callbacks_need_a_valid_signature(rf):
    d = callback_driver(credentials={"auth": "none", "callback_secret": "whsec"})
    body = json.dumps({"id": "p-1", "status": "DELIVERED"}).encode()

    with pytest.raises(CallbackRejected) as missing:
        d.parse_callback(post_json(rf, body))
    assert missing.value.status == 401 and missing.value.message.startswith("invalid signature")
    assert "X-Signature header is missing" in missing.value.message

    with pytest.raises(CallbackRejected) as forged:
        d.parse_callback(post_json(rf, body, **{"X-Signature": sign("other", body)}))
    assert forged.value.status == 401 and forged.value.message.startswith("invalid signature")

    with pytest.raises(CallbackRejected):  # signature of another body
        d.parse_callback(post_json(rf, body.replace(b"DELIVERED", b"FAILED"), **{"X-Signature": sign("whsec", body)}))

    [report] = d.parse_callback(post_json(rf, body, **{"X-Signature": sign("whsec", body)})).reports
    assert report.status == "delivered"


def test_signature_header_name_and_prefix_are_configurable(rf):
    d = callback_driver({**CALLBACK, "signature_header": "X-Hub-Signature-256"},
                        credentials={"auth": "none", "callback_secret": "k"})
    body = b'{"id": "p", "status": "DELIVERED"}'
    result = d.parse_callback(post_json(rf, body, **{"X-Hub-Signature-256": "sha256=" + sign("k", body)}))
    assert len(result.reports) == 1


@pytest.mark.parametrize("body", [b"{not json", b"", "\u00e9".encode("latin-1")])
def test_unreadable_json_is_rejected_with_400(rf, body):
    with pytest.raises(CallbackRejected) as exc:
        callback_driver().parse_callback(post_json(rf, body))
    assert exc.value.status == 400 and exc.value.message.startswith("unreadable JSON")


def test_a_gateway_without_callback_settings_refuses_callbacks(rf):
    d = HttpProvider(gateway({"url": "http://127.0.0.1:9/send"}))
    with pytest.raises(CallbackRejected) as exc:
        d.parse_callback(post_json(rf, {"id": "x"}))
    assert exc.value.status == 404
