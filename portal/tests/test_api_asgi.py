"""``portal.api.asgi``: the one-thread-hop ASGI path of the REST API answers exactly as
Django's own ASGI handler does (status, headers, body), and leaves other paths alone."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from messaging.models import Gateway, Message
from portal.api.asgi import SyncApiHandler, api_aware
from portal.testing import factories


def run(coroutine):
    """``asyncio.run`` in a thread of its own: a browser test earlier in the session may have
    left an event loop running in this one (Playwright's sync API)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def call(app, method: str, path: str, *, body: bytes = b"", headers=(), query: bytes = b""):
    """(status, headers, body) of one HTTP request through an ASGI app."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), *headers]}
    if body:
        scope["headers"].append((b"content-length", str(len(body)).encode()))
    out = {"status": None, "headers": [], "body": b""}

    async def request():
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(60)
            return {"type": "http.disconnect"}

        async def send(event):
            if event["type"] == "http.response.start":
                out["status"], out["headers"] = event["status"], event["headers"]
            elif event["type"] == "http.response.body":
                out["body"] += event.get("body", b"")

        await app(scope, receive, send)

    run(request())
    return out["status"], out["headers"], out["body"]


@pytest.fixture
def apps():
    """Django's own handler, and the project's application (which routes /api/ through
    ``SyncApiHandler``): they must answer alike."""
    from portal.asgi import application, django_asgi_app

    return django_asgi_app, application


def test_the_project_serves_the_api_through_the_one_hop_handler():
    from portal.asgi import application

    seen = []
    original = SyncApiHandler.handle

    async def spy(self, scope, receive, send):
        seen.append(scope["path"])

    SyncApiHandler.handle = spy
    try:
        run(application({"type": "http", "path": "/api/v1/me"}, None, None))
    finally:
        SyncApiHandler.handle = original
    assert seen == ["/api/v1/me"]


@pytest.fixture
def key(transactional_db):
    company = factories.company("Acme ASGI")
    Gateway.objects.create(name="Simulator SMS", channel=1, provider="simulator", tps=10_000)
    return factories.api_access(company, scopes=["omni-api"])[1].encode()


def names(headers):
    return sorted(name for name, _value in headers)


@pytest.mark.django_db(transaction=True)
class TestSameAnswers:
    @pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/messages?channel=1", "/api/v1/nothing-here",
                                      "/api/v1/me/"])
    def test_reads(self, apps, key, path):
        stock, ours = apps
        path, _, query = path.partition("?")
        call(stock, "GET", path, headers=[(b"x-api-key", key)], query=query.encode())  # records the key's use
        assert call(ours, "GET", path, headers=[(b"x-api-key", key)], query=query.encode()) == \
            call(stock, "GET", path, headers=[(b"x-api-key", key)], query=query.encode())

    def test_errors(self, apps, key):
        stock, ours = apps
        for headers in ([], [(b"x-api-key", b"nope")]):
            status, hdrs, body = call(ours, "GET", "/api/v1/me", headers=headers)
            assert status == 401 and (b"WWW-Authenticate", b'Bearer realm="api"') in hdrs
            assert (status, hdrs, body) == call(stock, "GET", "/api/v1/me", headers=headers)

    def test_send(self, apps, key):
        stock, ours = apps
        payload = json.dumps({"contact": "+34612345678", "channel": 1, "payload": {"text": "Hi"}}).encode()
        headers = [(b"x-api-key", key), (b"content-type", b"application/json")]
        answers = [call(app, "POST", "/api/v1/messages", body=payload, headers=headers) for app in (stock, ours)]
        (s1, h1, b1), (s2, h2, b2) = answers
        assert s1 == s2 == 202
        assert names(h1) == names(h2)
        one, two = json.loads(b1), json.loads(b2)
        assert {k: v for k, v in one.items() if k not in ("id", "planId", "createdAt")} == \
            {k: v for k, v in two.items() if k not in ("id", "planId", "createdAt")}
        assert Message.objects.filter(pk__in=[one["id"], two["id"]]).count() == 2  # both stored

    def test_bad_json(self, apps, key):
        stock, ours = apps
        headers = [(b"x-api-key", key), (b"content-type", b"application/json")]
        answer = call(ours, "POST", "/api/v1/messages", body=b"{nope", headers=headers)
        assert answer[0] == 400
        assert answer == call(stock, "POST", "/api/v1/messages", body=b"{nope", headers=headers)


def test_other_paths_go_to_the_wrapped_app():
    seen = []

    async def other(scope, receive, send):
        seen.append(scope["path"])

    class Api:
        async def __call__(self, scope, receive, send):
            seen.append("api:" + scope["path"])

    app = api_aware(other, Api())
    for path in ("/healthz", "/contacts/", "/apix", "/api/v1/me"):
        run(app({"type": "http", "path": path}, None, None))
    run(app({"type": "websocket", "path": "/api/v1/me"}, None, None))
    assert seen == ["/healthz", "/contacts/", "/apix", "api:/api/v1/me", "/api/v1/me"]


def test_the_number_of_api_threads_can_be_set(monkeypatch):
    monkeypatch.setenv("HERALD_API_THREADS", "3")
    assert SyncApiHandler().executor._max_workers == 3
    monkeypatch.delenv("HERALD_API_THREADS")
    assert SyncApiHandler().executor._max_workers >= 5  # cores + 4
