"""A real HTTP receiver on loopback for the delivery tests, and an independent
Standard Webhooks verifier (written from the spec, not from Herald's code)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.audit import Actor
from portal.testing import factories


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """Records every POST; answers with the next queued :class:`Reply` (default 200)."""

    def __init__(self):
        self.received: list[Received] = []
        self.replies: list[Reply] = []
        self.default = Reply()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body))
                    reply = receiver.replies.pop(0) if receiver.replies else receiver.default
                if reply.delay:
                    receiver.release.wait(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path="/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, *replies: Reply):
        self.replies.extend(replies)

    def wait_for(self, n: int, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.received

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def allow_loopback(settings):
    settings.HERALD_WEBHOOKS_ALLOW_PRIVATE = True
    return settings


class VerificationError(Exception):
    pass


def verify(secret: str, headers: dict, body: bytes, tolerance: int = 300, now: float | None = None) -> None:
    """The receiver's side of Standard Webhooks: required headers, timestamp within the
    tolerance, and at least one ``v1`` signature equal (constant time) to HMAC-SHA256 of
    ``id.timestamp.body`` keyed with the base64-decoded secret."""
    headers = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, sigs = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not (msg_id and stamp and sigs):
        raise VerificationError("missing headers")
    if abs((now or time.time()) - int(stamp)) > tolerance:
        raise VerificationError("timestamp out of tolerance")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, msg_id.encode() + b"." + stamp.encode() + b"." + body, hashlib.sha256).digest()
    for item in sigs.split(" "):
        version, _, value = item.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(value), expected):
            return
    raise VerificationError("no matching signature")


@pytest.fixture
def actor(admin_user, company):
    return Actor(user=admin_user, company=company)


@pytest.fixture
def finance_client(client, company):
    client.force_login(factories.user(company, roles=[factories.system_role("finance_manager")]))
    return client
