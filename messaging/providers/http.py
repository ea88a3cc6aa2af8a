"""``http`` — a generic HTTP JSON / form provider for the many aggregator APIs.

Everything about the peer is configuration (``Gateway.settings``); the secrets are in the
encrypted ``Gateway.credentials``.

Settings::

    {"url": "https://api.example.com/send",        # may hold placeholders too
     "method": "POST",                              # GET | POST | PUT | PATCH (GET: the body goes in the query)
     "format": "json",                              # json | form
     "headers": {"X-Client": "herald"},             # optional, never secrets (use credentials)
     "body": {"to": "{{to}}", "from": "{{from}}", "text": "{{text}}", "ref": "{{id}}"},
     "batch": false,                                # or {"path": "messages", "response_path": "results", "size": 100}
     "response": {"id_path": "message_id", "error_path": "error", "ok_statuses": [200, 201, 202]},
     "callback": {"format": "json", "id_path": "id", "ref_path": "ref", "status_path": "status",
                  "error_path": "error", "error_code_path": "code", "time_path": "ts",
                  "map": {"DELIVERED": "delivered", "FAILED": "undelivered", "READ": "seen"},
                  "list_path": "events", "signature_header": "X-Signature",
                  "mo": {"when_path": "type", "when_value": "inbound",
                         "from_path": "from", "to_path": "to", "text_path": "text", "id_path": "id"}},
     "check_url": "https://api.example.com/balance",  # optional (else a HEAD of the url's origin)
     "lookup_url": "https://api.example.com/status?ref={{id}}",  # optional: reconcile by our id
     "lookup_id_path": "message_id",                # optional, default response.id_path
     "timeout": 10}

Credentials::

    {"auth": "bearer" | "basic" | "header" | "none", "token": …, "username": …, "password": …,
     "header_name": …, "header_value": …, "callback_secret": …, <any other secret>: …}

Template placeholders: ``{{to}}``, ``{{from}}``, ``{{text}}``, ``{{id}}`` (our message id),
``{{channel}}`` (the Omni API channel id), ``{{subject}}``, ``{{content.<key>}}`` (any key of
the rendered content) and ``{{secret.<key>}}`` (a credential, for APIs that want it in the
body or the URL; masked as ``***`` in the attempt's request summary). A value that is
exactly one placeholder keeps the value's type (a number, a list…); inside a longer string
it is interpolated (URL-encoded in the URL).

Dotted paths (``data.0.id``) read JSON objects and lists; a key holding a dot literally is
tried first, so flat form keys such as ``msg.status`` work too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import re
import select
import ssl
import threading
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from django.utils.translation import gettext as _

from messaging.models import MessageStatus
from messaging.providers.base import (
    CallbackRejected,
    CallbackResult,
    CheckResult,
    Inbound,
    OutboundMessage,
    Provider,
    Report,
    SendResult,
)
from portal.channel_types import Channel

logger = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")
SIMPLE_PLACEHOLDERS = ("to", "from", "text", "id", "channel", "subject")
METHODS = ("GET", "POST", "PUT", "PATCH")
AUTH_TYPES = ("none", "bearer", "basic", "header")
DEFAULT_BODY = {"to": "{{to}}", "from": "{{from}}", "text": "{{text}}", "id": "{{id}}"}
DEFAULT_OK_STATUSES = (200, 201, 202)
# Statuses a callback may map a provider's value to. ``submitted`` is for intermediate
# values (ENROUTE, ACCEPTED…): known, and changing nothing.
REPORT_STATUSES = (MessageStatus.SUBMITTED, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED,
                   MessageStatus.SEEN, MessageStatus.EXPIRED, MessageStatus.FAILED, MessageStatus.REJECTED)
MASK = "***"
SUMMARY_CHARS = 500
ERROR_EXCERPT_CHARS = 300
# After this many timeouts in a row the rest of a batch is not tried (each would wait the
# full timeout); those messages fail with "timeout" and a text saying they were not sent.
MAX_CONSECUTIVE_TIMEOUTS = 3

_MISSING = object()


class TransportError(Exception):
    """The request got no HTTP answer: ``code`` is ``timeout`` or ``connection_error``."""

    def __init__(self, code: str, text: str):
        super().__init__(text)
        self.code = code
        self.text = text


# ---------------------------------------------------------------------------------------
# Small helpers


def dig(data, path: str | None, default=None):
    """The value at a dotted path (``a.b.0.c``) of JSON data, or ``default``."""
    if not path:
        return default
    if isinstance(data, dict) and path in data:
        return data[path]
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            current = current[index] if -len(current) <= index < len(current) else _MISSING
        else:
            current = _MISSING
        if current is _MISSING:
            return default
    return current


def _placeholders(template) -> set[str]:
    if isinstance(template, str):
        return set(PLACEHOLDER.findall(template))
    if isinstance(template, dict):
        return set().union(*(_placeholders(v) for v in template.values())) if template else set()
    if isinstance(template, list):
        return set().union(*(_placeholders(v) for v in template)) if template else set()
    return set()


def _known(name: str) -> bool:
    return name in SIMPLE_PLACEHOLDERS or (name.startswith(("content.", "secret.")) and len(name.split(".", 1)[1]) > 0)


def render(template, lookup, quote_values: bool = False):
    """Render a template (a string, or dicts / lists of them) with ``lookup(name)``."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template.strip())
        if whole and not quote_values:
            return lookup(whole.group(1))

        def one(match):
            value = lookup(match.group(1))
            text = "" if value is None else (json.dumps(value) if isinstance(value, dict | list) else str(value))
            return quote(text, safe="") if quote_values else text

        return PLACEHOLDER.sub(one, template)
    if isinstance(template, dict):
        return {key: render(value, lookup, quote_values) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, lookup, quote_values) for value in template]
    return template


def _form_value(value) -> str | list[str]:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in value]
    return str(value)


def _form_encode(body: dict) -> str:
    return urlencode({key: _form_value(value) for key, value in body.items()}, doseq=True)


def _text(data: bytes, limit: int) -> str:
    return data[: limit * 4].decode("utf-8", errors="replace")[:limit]


def _json_or_none(data: bytes):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _id_text(value) -> str:
    if value is None or value == "" or isinstance(value, dict | list | bool):
        return ""
    return str(value)


def _parse_time(value) -> datetime | None:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000 if value > 100_000_000_000 else value, tz=UTC)
        if isinstance(value, str) and value:
            if value.replace(".", "", 1).isdigit():
                return _parse_time(float(value))
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def check_settings(settings: dict, credentials: dict) -> list[str]:
    """What is wrong with a gateway's settings / credentials, in plain words (empty: fine).
    The driver refuses to send with a broken configuration; the BackOffice form can show
    the same list."""
    problems: list[str] = []
    if not isinstance(settings, dict):
        return ["settings must be a JSON object"]
    credentials = credentials if isinstance(credentials, dict) else {}
    url = settings.get("url")
    if not url or not isinstance(url, str):
        problems.append("settings.url is required (the provider's send URL)")
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"settings.url must be an http:// or https:// URL, not {url!r}")
    method = str(settings.get("method", "POST")).upper()
    if method not in METHODS:
        problems.append(f"settings.method must be one of {', '.join(METHODS)}, not {settings.get('method')!r}")
    fmt = settings.get("format", "json")
    if fmt not in ("json", "form"):
        problems.append(f"settings.format must be 'json' or 'form', not {fmt!r}")
    body = settings.get("body", DEFAULT_BODY)
    if not isinstance(body, dict):
        problems.append("settings.body must be a JSON object (the request body template)")
    for name in sorted(_placeholders(body) | _placeholders(url or "")):
        if not _known(name):
            problems.append(f"unknown placeholder {{{{{name}}}}}; use {{{{to}}}}, {{{{from}}}}, {{{{text}}}}, "
                            "{{id}}, {{channel}}, {{subject}}, {{content.<key>}} or {{secret.<key>}}")
        elif name.startswith("secret.") and name.split(".", 1)[1] not in credentials:
            problems.append(f"placeholder {{{{{name}}}}}: the credentials have no {name.split('.', 1)[1]!r}")
    batch = settings.get("batch") or None
    if batch is not None:
        if not isinstance(batch, dict) or not isinstance(batch.get("path"), str) or not batch.get("path"):
            problems.append("settings.batch must be false or an object with a 'path' (the key of the list)")
        elif fmt != "json" or method == "GET":
            problems.append("batch mode needs format 'json' and a method with a body (POST, PUT or PATCH)")
        elif batch.get("size") is not None and (not isinstance(batch["size"], int) or batch["size"] < 1):
            problems.append("settings.batch.size must be a positive whole number")
    if not isinstance(settings.get("headers", {}), dict):
        problems.append("settings.headers must be a JSON object of header names and values")
    response = settings.get("response", {})
    if not isinstance(response, dict):
        problems.append("settings.response must be a JSON object")
    else:
        callback = settings.get("callback")
        if isinstance(callback, dict) and not response.get("id_path") and not callback.get("ref_path"):
            problems.append("settings.response.id_path is empty, so the callbacks can only find a message by our "
                            "id: set settings.callback.ref_path (and send {{id}} in the body)")
        ok_statuses = response.get("ok_statuses", DEFAULT_OK_STATUSES)
        if not isinstance(ok_statuses, list | tuple) or not all(isinstance(s, int) for s in ok_statuses):
            problems.append("settings.response.ok_statuses must be a list of HTTP status codes")
    timeout = settings.get("timeout", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(f"settings.timeout must be a positive number of seconds, not {timeout!r}")
    auth = credentials.get("auth", "none")
    if auth not in AUTH_TYPES:
        problems.append(f"credentials.auth must be one of {', '.join(AUTH_TYPES)}, not {auth!r}")
    required = {"bearer": ("token",), "basic": ("username", "password"), "header": ("header_name", "header_value")}
    for key in required.get(auth, ()):
        if not credentials.get(key):
            problems.append(f"credentials.{key} is required for auth {auth!r}")
    callback = settings.get("callback")
    if callback is not None:
        if not isinstance(callback, dict):
            problems.append("settings.callback must be a JSON object")
        else:
            if callback.get("format", "json") not in ("json", "form"):
                problems.append("settings.callback.format must be 'json' or 'form'")
            mapping = callback.get("map", {})
            if not isinstance(mapping, dict):
                problems.append("settings.callback.map must be an object: provider value → Herald status")
            else:
                for raw, status in mapping.items():
                    if status not in REPORT_STATUSES:
                        problems.append(f"settings.callback.map[{raw!r}] = {status!r} is not a status; use one of "
                                        + ", ".join(str(s) for s in REPORT_STATUSES))
    return problems


# ---------------------------------------------------------------------------------------
# The driver


class HttpProvider(Provider):
    key = "http"
    name = "HTTP (generic JSON / form API)"
    channels = frozenset(Channel)
    credential_fields = ("auth", "token", "username", "password", "header_name", "header_value", "callback_secret")
    setting_fields = ("url", "method", "format", "headers", "body", "batch", "response", "callback",
                      "check_url", "lookup_url", "lookup_id_path", "timeout")
    max_batch = 500

    def __init__(self, gateway):
        super().__init__(gateway)
        self.problems = check_settings(self.settings, self.credentials)
        self._connections: dict[tuple, http.client.HTTPConnection] = {}
        self._lock = threading.RLock()

    # -- configuration ------------------------------------------------------------------

    @property
    def method(self) -> str:
        return str(self.settings.get("method", "POST")).upper()

    @property
    def format(self) -> str:
        return self.settings.get("format", "json")

    @property
    def timeout(self) -> float:
        return float(self.settings.get("timeout", 10))

    @property
    def response_settings(self) -> dict:
        return self.settings.get("response") or {}

    @property
    def ok_statuses(self) -> tuple[int, ...]:
        return tuple(self.response_settings.get("ok_statuses", DEFAULT_OK_STATUSES))

    def _headers(self, content_type: str | None = None) -> dict:
        headers = {"User-Agent": "Herald", "Accept": "application/json"}
        headers.update({str(k): str(v) for k, v in (self.settings.get("headers") or {}).items()})
        if content_type:
            headers["Content-Type"] = content_type
        creds = self.credentials
        auth = creds.get("auth", "none")
        if auth == "bearer":
            headers["Authorization"] = f"Bearer {creds['token']}"
        elif auth == "basic":
            pair = f"{creds['username']}:{creds['password']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        elif auth == "header":
            headers[str(creds["header_name"])] = str(creds["header_value"])
        return headers

    def _lookup(self, message: OutboundMessage | None, masked: bool):
        content = message.content if message else {}

        def lookup(name: str):
            if name.startswith("secret."):
                return MASK if masked else self.credentials.get(name.split(".", 1)[1], "")
            if name.startswith("content."):
                return content.get(name.split(".", 1)[1], "")
            if message is None:
                return ""
            return {"to": message.address, "from": message.sender, "text": message.text, "id": str(message.id),
                    "channel": message.channel, "subject": content.get("subject", "")}[name]

        return lookup

    # -- transport ----------------------------------------------------------------------

    def _connection(self, parts) -> tuple[tuple, http.client.HTTPConnection]:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        conn = self._connections.get(key)
        if conn is not None and conn.sock is not None:
            # A kept-alive connection the server closed meanwhile reads as "readable" (EOF):
            # open a new one *before* sending, never re-send after a request went out.
            try:
                readable, _w, _x = select.select([conn.sock], [], [], 0)
            except (OSError, ValueError):
                readable = [True]
            if readable:
                conn.close()
                conn = None
        if conn is None:
            if parts.scheme == "https":
                context = ssl.create_default_context()
                conn = http.client.HTTPSConnection(parts.hostname, port, timeout=self.timeout, context=context)
            else:
                conn = http.client.HTTPConnection(parts.hostname, port, timeout=self.timeout)
            self._connections[key] = conn
        return key, conn

    def _request(self, method: str, url: str, body: bytes | None = None,
                 content_type: str | None = None) -> tuple[int, bytes]:
        parts = urlsplit(url)
        key, conn = self._connection(parts)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, target, body=body, headers=self._headers(content_type))
            response = conn.getresponse()
            data = response.read()
        except TimeoutError:
            self._drop(key)
            raise TransportError("timeout", f"no answer from {parts.hostname} within {self.timeout:g} s")
        except (OSError, http.client.HTTPException) as exc:
            self._drop(key)
            raise TransportError("connection_error",
                                 f"cannot reach {key[1]}:{key[2]}: {exc or type(exc).__name__}")
        if response.will_close:
            self._drop(key)
        return response.status, data

    def _drop(self, key) -> None:
        conn = self._connections.pop(key, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._lock:
            for key in list(self._connections):
                self._drop(key)

    # -- sending ------------------------------------------------------------------------

    def _build(self, message: OutboundMessage, masked: bool):
        lookup = self._lookup(message, masked)
        url = render(self.settings["url"], lookup, quote_values=True)
        body = render(self.settings.get("body", DEFAULT_BODY), lookup)
        return url, body

    def _encode(self, url: str, body) -> tuple[str, bytes | None, str | None]:
        if self.method == "GET":
            query = _form_encode(body) if body else ""
            return (url + ("&" if "?" in url else "?") + query if query else url), None, None
        if self.format == "form":
            return url, _form_encode(body).encode("utf-8"), "application/x-www-form-urlencoded"
        return url, json.dumps(body, ensure_ascii=False, default=str).encode("utf-8"), "application/json; charset=utf-8"

    def _summary(self, message: OutboundMessage) -> dict:
        url, body = self._build(message, masked=True)
        if self.method == "GET":
            url = self._encode(url, body)[0]
            return {"url": url, "method": "GET"}
        return {"url": url, "method": self.method, "format": self.format, "body": body}

    @staticmethod
    def _result(message, status, **fields) -> SendResult:
        return SendResult(message_id=message.id, status=status, **fields)

    def _http_failure(self, message, code: int, data: bytes, request: dict, response: dict) -> SendResult:
        excerpt = _text(data, ERROR_EXCERPT_CHARS)
        status = MessageStatus.REJECTED if 400 <= code < 500 else MessageStatus.FAILED
        return self._result(message, status, provider_status=str(code), error_code=f"http_{code}",
                            error_text=f"HTTP {code}: {excerpt}" if excerpt else f"HTTP {code}",
                            request=request, response=response)

    def _accepted(self, message, item, code: int, request: dict, response: dict) -> SendResult:
        """The result of one message the provider answered with an OK status: ``item`` is
        its part of the JSON response."""
        settings = self.response_settings
        error = dig(item, settings.get("error_path")) if item is not None else None
        if error:
            return self._result(message, MessageStatus.REJECTED, provider_status=str(code), error_code="provider_error",
                                error_text=str(error)[:ERROR_EXCERPT_CHARS], request=request, response=response)
        id_path = settings.get("id_path")
        if not id_path:
            # No id in the answer: the provider's callbacks must echo our id (callback.ref_path).
            return self._result(message, MessageStatus.SUBMITTED, provider_status=str(code),
                                request=request, response=response)
        if item is None:
            return self._result(message, MessageStatus.FAILED, provider_status=str(code), error_code="bad_response",
                                error_text=f"HTTP {code} but the response is not JSON; expected a message id at "
                                           f"{id_path!r}", request=request, response=response)
        provider_id = _id_text(dig(item, id_path))
        if not provider_id:
            return self._result(message, MessageStatus.FAILED, provider_status=str(code), error_code="no_provider_id",
                                error_text=f"HTTP {code} but the response has no message id at {id_path!r}",
                                request=request, response=response)
        return self._result(message, MessageStatus.SUBMITTED, provider_message_id=provider_id,
                            provider_status=str(code), request=request, response=response)

    def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        if self.problems:
            text = "The gateway is misconfigured: " + "; ".join(self.problems)
            return [self._result(m, MessageStatus.FAILED, error_code="bad_configuration", error_text=text)
                    for m in messages]
        with self._lock:
            batch = self.settings.get("batch") or None
            if batch:
                size = int(batch.get("size") or 100)
                results: list[SendResult] = []
                for start in range(0, len(messages), size):
                    results.extend(self._send_many(messages[start:start + size], batch))
                return results
            return self._send_each(messages)

    def _send_each(self, messages: list[OutboundMessage]) -> list[SendResult]:
        results = []
        timeouts = 0
        for message in messages:
            request = self._summary(message)
            if timeouts >= MAX_CONSECUTIVE_TIMEOUTS:
                results.append(self._result(
                    message, MessageStatus.FAILED, error_code="timeout", request=request,
                    error_text=f"not sent: the provider did not answer the {timeouts} previous requests of the batch"))
                continue
            url, body, content_type = self._encode(*self._build(message, masked=False))
            try:
                code, data = self._request(self.method, url, body, content_type)
            except TransportError as exc:
                timeouts = timeouts + 1 if exc.code == "timeout" else 0
                results.append(self._result(message, MessageStatus.FAILED, error_code=exc.code, error_text=exc.text,
                                            request=request, response={"error": exc.text}))
                continue
            timeouts = 0
            response = {"status": code, "body": _text(data, SUMMARY_CHARS)}
            if code not in self.ok_statuses:
                results.append(self._http_failure(message, code, data, request, response))
            else:
                results.append(self._accepted(message, _json_or_none(data), code, request, response))
        return results

    def _send_many(self, messages: list[OutboundMessage], batch: dict) -> list[SendResult]:
        """Several messages in one request: the rendered bodies as a list under
        ``batch.path``; the answer's list (the response itself, or ``batch.response_path``,
        default the same path) is aligned with it."""
        path = batch["path"]
        url = render(self.settings["url"], self._lookup(None, masked=False), quote_values=True)
        summary_url = render(self.settings["url"], self._lookup(None, masked=True), quote_values=True)
        items = [self._build(m, masked=False)[1] for m in messages]
        requests = [{"url": summary_url, "method": self.method, "format": "json", "body": self._build(m, True)[1],
                     "batch": {"index": i, "size": len(messages)}} for i, m in enumerate(messages)]
        body = json.dumps({path: items}, ensure_ascii=False, default=str).encode("utf-8")
        try:
            code, data = self._request(self.method, url, body, "application/json; charset=utf-8")
        except TransportError as exc:
            return [self._result(m, MessageStatus.FAILED, error_code=exc.code, error_text=exc.text, request=r,
                                 response={"error": exc.text}) for m, r in zip(messages, requests, strict=True)]
        response = {"status": code, "body": _text(data, SUMMARY_CHARS)}
        if code not in self.ok_statuses:
            return [self._http_failure(m, code, data, r, response) for m, r in zip(messages, requests, strict=True)]
        answer = _json_or_none(data)
        listed = answer if isinstance(answer, list) else dig(answer, batch.get("response_path") or path)
        if not isinstance(listed, list) or len(listed) != len(messages):
            found = f"{len(listed)} results" if isinstance(listed, list) else "no list"
            text = (f"HTTP {code} but the response has {found} at {batch.get('response_path') or path!r} "
                    f"for {len(messages)} messages")
            return [self._result(m, MessageStatus.FAILED, provider_status=str(code), error_code="bad_response",
                                 error_text=text, request=r, response=response)
                    for m, r in zip(messages, requests, strict=True)]
        return [self._accepted(m, item, code, r, {"status": code, "body": json.dumps(item, default=str)[:SUMMARY_CHARS]})
                for m, item, r in zip(messages, listed, requests, strict=True)]

    # -- connection check ---------------------------------------------------------------

    def check_connection(self) -> CheckResult:
        if self.problems:
            return CheckResult(False, _("The gateway is misconfigured: %(problems)s") %
                               {"problems": "; ".join(self.problems)})
        check_url = self.settings.get("check_url")
        if check_url:
            url, method = render(check_url, self._lookup(None, masked=False), quote_values=True), "GET"
        else:
            parts = urlsplit(self.settings["url"])
            url, method = f"{parts.scheme}://{parts.netloc}/", "HEAD"
        shown = render(check_url, self._lookup(None, masked=True), quote_values=True) if check_url else url
        with self._lock:
            try:
                code, _data = self._request(method, url)
            except TransportError as exc:
                return CheckResult(False, _("Cannot reach the provider: %(error)s") % {"error": exc.text})
        if code in (401, 403):
            return CheckResult(False, _("The provider refused the credentials (HTTP %(code)s from %(url)s).")
                               % {"code": code, "url": shown})
        if code >= 500:
            return CheckResult(False, _("The provider answered HTTP %(code)s (a server error) from %(url)s.")
                               % {"code": code, "url": shown})
        return CheckResult(True, _("The provider answered HTTP %(code)s from %(url)s.") % {"code": code, "url": shown})

    # -- reconcile ----------------------------------------------------------------------

    def reconcile(self, messages: list[OutboundMessage]) -> dict | None:
        """Ask ``settings.lookup_url`` (rendered with the message's values) about each
        message. Found (an OK status with an id) → ``submitted`` with the provider id; 404 or
        an answer without an id → not in the result (the provider never got it); any other
        answer or no answer → ``failed``/``outcome_unknown`` (we cannot tell, so the engine
        must not send it again). ``None`` without a lookup URL."""
        lookup_url = self.settings.get("lookup_url")
        if not lookup_url or self.problems:
            return None
        id_path = self.settings.get("lookup_id_path") or self.response_settings.get("id_path")
        found: dict = {}
        with self._lock:
            for message in messages:
                url = render(lookup_url, self._lookup(message, masked=False), quote_values=True)
                request = {"url": render(lookup_url, self._lookup(message, masked=True), quote_values=True),
                           "method": "GET", "lookup": True}
                try:
                    code, data = self._request("GET", url)
                except TransportError as exc:
                    found[message.id] = self._result(
                        message, MessageStatus.FAILED, error_code="outcome_unknown",
                        error_text=f"the status lookup failed ({exc.text}); the message may have been sent",
                        request=request, response={"error": exc.text})
                    continue
                response = {"status": code, "body": _text(data, SUMMARY_CHARS)}
                if code == 404:
                    continue
                if code not in self.ok_statuses:
                    found[message.id] = self._result(
                        message, MessageStatus.FAILED, provider_status=str(code), error_code="outcome_unknown",
                        error_text=f"the status lookup answered HTTP {code}; the message may have been sent",
                        request=request, response=response)
                    continue
                provider_id = _id_text(dig(_json_or_none(data), id_path)) if id_path else ""
                if provider_id or not id_path:
                    found[message.id] = self._result(message, MessageStatus.SUBMITTED, provider_message_id=provider_id,
                                                     provider_status=str(code), request=request, response=response)
        return found

    # -- callbacks ----------------------------------------------------------------------

    def _verify_signature(self, request, callback: dict) -> None:
        secret = self.credentials.get("callback_secret")
        if not secret:
            return
        header = callback.get("signature_header") or "X-Signature"
        given = (request.headers.get(header) or "").strip()
        if not given:
            raise CallbackRejected(f"invalid signature: the {header} header is missing", status=401)
        if given.lower().startswith("sha256="):
            given = given[len("sha256="):]
        expected = hmac.new(str(secret).encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given.lower()):
            raise CallbackRejected(f"invalid signature: {header} is not the HMAC-SHA256 of the body", status=401)

    @staticmethod
    def _payload(request, fmt: str):
        body = request.body
        if fmt == "form":
            text = body.decode("utf-8", errors="replace") if body else ""
            pairs = parse_qsl(text, keep_blank_values=True) if text else list(request.GET.items())
            return dict(pairs)
        if not body.strip():
            raise CallbackRejected("unreadable JSON: the body is empty", status=400)
        try:
            return json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise CallbackRejected("unreadable JSON: the body is not UTF-8", status=400)
        except ValueError as exc:
            raise CallbackRejected(f"unreadable JSON: {exc}", status=400)

    def parse_callback(self, request) -> CallbackResult:
        callback = self.settings.get("callback")
        if not isinstance(callback, dict):
            raise CallbackRejected("this gateway has no callback settings (settings.callback)", status=404)
        self._verify_signature(request, callback)
        payload = self._payload(request, callback.get("format", "json"))
        list_path = callback.get("list_path")
        if list_path:
            items = dig(payload, list_path)
            if not isinstance(items, list):
                raise CallbackRejected(f"expected a list of events at {list_path!r}", status=400)
        else:
            items = payload if isinstance(payload, list) else [payload]

        result = CallbackResult()
        skipped: list[dict] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                skipped.append({"index": index, "reason": "not an object"})
                continue
            inbound = self._inbound(item, callback)
            if inbound is not None:
                result.inbound.append(inbound)
                continue
            report, reason = self._report(item, callback)
            if report is None:
                skipped.append({"index": index, "reason": reason})
            else:
                result.reports.append(report)
        if skipped:
            logger.warning("gateway %s: callback items skipped: %s", self.gateway.pk, skipped)
        # Decision: an item we cannot use (an unmapped status value, no message id…) is
        # skipped, not the whole callback rejected. Rejecting would make most aggregators
        # retry the same payload for hours (it would never pass) and would throw away the
        # good events of a list. The raw value and the reason are in the answer (and the
        # log), so whoever configures the gateway sees what to add to callback.map.
        result.body = json.dumps({"accepted": len(result.reports) + len(result.inbound), "skipped": skipped})
        result.content_type = "application/json"
        return result

    @staticmethod
    def _inbound(item: dict, callback: dict) -> Inbound | None:
        mo = callback.get("mo")
        if not isinstance(mo, dict):
            return None
        when_path = mo.get("when_path")
        if when_path:
            if str(dig(item, when_path, "")) != str(mo.get("when_value", "")):
                return None
        elif dig(item, callback.get("status_path")) is not None:
            return None  # no discriminator: an item with a status is a report
        sender = dig(item, mo.get("from_path", "from"))
        if sender in (None, ""):
            return None
        text = dig(item, mo.get("text_path", "text"), "")
        text = "" if text is None else str(text)
        return Inbound(address=str(sender), to=str(dig(item, mo.get("to_path", "to"), "") or ""), text=text,
                       content={"text": text}, provider_message_id=_id_text(dig(item, mo.get("id_path"))),
                       at=_parse_time(dig(item, mo.get("time_path") or callback.get("time_path"))))

    @staticmethod
    def _report(item: dict, callback: dict) -> tuple[Report | None, str]:
        status_path = callback.get("status_path", "status")
        raw = dig(item, status_path)
        if raw is None or raw == "":
            return None, f"no status at {status_path!r}"
        raw_text = str(raw)
        mapping = callback.get("map") or {}
        status = mapping.get(raw_text)
        if status is None:
            folded = {str(k).casefold(): v for k, v in mapping.items()}
            status = folded.get(raw_text.casefold())
        if status is None:
            return None, f"unknown status {raw_text!r}; map it in the gateway's callback.map"
        if status not in REPORT_STATUSES:
            return None, f"callback.map sends {raw_text!r} to {status!r}, which is not a status"
        provider_id = _id_text(dig(item, callback.get("id_path")))
        ref = _id_text(dig(item, callback.get("ref_path")))
        message_id = None
        if ref:
            try:
                message_id = uuid.UUID(ref)
            except ValueError:
                if not provider_id:
                    return None, f"{ref!r} at {callback.get('ref_path')!r} is not a Herald message id"
        if not provider_id and message_id is None:
            paths = " or ".join(repr(p) for p in (callback.get("id_path"), callback.get("ref_path")) if p)
            return None, f"no message id at {paths or 'callback.id_path / callback.ref_path (not configured)'}"
        error = dig(item, callback.get("error_path"))
        error_code = dig(item, callback.get("error_code_path"))
        return Report(status=str(status), provider_message_id=provider_id, message_id=message_id,
                      provider_status=raw_text[:40], error_code="" if error_code is None else str(error_code)[:40],
                      error_text="" if error is None else str(error)[:ERROR_EXCERPT_CHARS],
                      at=_parse_time(dig(item, callback.get("time_path")))), ""

