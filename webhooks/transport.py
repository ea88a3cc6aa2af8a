"""One HTTP POST to a client's URL, guarded against server-side request forgery.

* Only ``http`` and ``https`` URLs.
* The host is resolved once; when any of its addresses is private, loopback, link-local,
  multicast, reserved, unspecified or otherwise not globally routable, the request is
  refused (unless ``HERALD_WEBHOOKS_ALLOW_PRIVATE``). The connection then goes to the
  address that was checked, never to a second lookup (no DNS rebinding between check and
  connect); TLS still verifies the certificate against the host name.
* Redirects are not followed (a 3xx is a failed attempt).
* The response body is read up to 1 KB.

No database access here: ``post`` runs in worker threads.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings

EXCERPT_BYTES = 1024
USER_AGENT = "Herald-Webhooks/1.0"


class Refused(Exception):
    """The URL may not be called; retrying will not help."""


@dataclass
class Outcome:
    status_code: int | None = None
    excerpt: str = ""
    duration_ms: int = 0
    error: str = ""
    retry_after: float | None = None  # seconds, from a Retry-After header
    permanent: bool = False  # refused before sending: no retry

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def allow_private() -> bool:
    return bool(getattr(settings, "HERALD_WEBHOOKS_ALLOW_PRIVATE", False))


def timeout_seconds() -> float:
    return float(getattr(settings, "HERALD_WEBHOOK_TIMEOUT", 15))


def forbidden_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address may not receive webhooks, or None."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path+query) of a webhook URL; :class:`Refused` when it is not
    an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"The URL is not valid: {exc}.")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused(f"Only http and https URLs are called, not “{parts.scheme or url}”.")
    host = parts.hostname
    if not host:
        raise Refused("The URL has no host.")
    if parts.username or parts.password:
        raise Refused("URLs with a user name or password are not called.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    path = quote(path, safe="/?&=%:@!$'()*+,;~[]")  # non-ASCII and spaces percent-encoded
    return scheme, host, port or (443 if scheme == "https" else 80), path


def check_literal_host(host: str) -> None:
    """Refuse a host written as a forbidden IP address (no DNS lookup)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return
    reason = forbidden_reason(ip)
    if reason and not allow_private():
        raise Refused(f"{ip} is a {reason} address: webhooks are not sent to private or internal addresses.")


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, each checked; :class:`Refused` when any is forbidden."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"Cannot resolve {host}: {exc}")
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private():
        for address in addresses:
            reason = forbidden_reason(ipaddress.ip_address(address.split("%", 1)[0]))
            if reason:
                shown = host if host == address else f"{host} resolves to {address}, which"
                raise Refused(f"{shown} is a {reason} address: webhooks are not sent to private or internal "
                              "addresses.")
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to already-checked addresses; the Host header keeps the URL's host."""

    def __init__(self, host, port, addresses, timeout):
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def _open_socket(self):
        last = None
        deadline = time.monotonic() + self.timeout
        for address in self._addresses:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                sock = socket.create_connection((address, self.port), remaining)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as exc:
                last = exc
        raise last or OSError("no address to connect to")

    def connect(self):
        self.sock = self._open_socket()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def __init__(self, host, port, addresses, timeout, context):
        super().__init__(host, port, addresses, timeout)
        self._context = context

    def connect(self):
        self.sock = self._context.wrap_socket(self._open_socket(), server_hostname=self.host)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def post(url: str, body: bytes, headers: dict[str, str], timeout: float | None = None) -> Outcome:
    """POST ``body`` to ``url``. Never raises: the outcome says what happened."""
    timeout = timeout_seconds() if timeout is None else timeout
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        scheme, host, port, path = split_url(url)
        check_literal_host(host)
        addresses = resolve(host, port)
    except Refused as exc:
        return Outcome(error=f"Refused: {exc}", duration_ms=elapsed(), permanent=True)
    except OSError as exc:
        return Outcome(error=str(exc), duration_ms=elapsed())

    if scheme == "https":
        conn = _PinnedHTTPSConnection(host, port, addresses, timeout, ssl.create_default_context())
    else:
        conn = _PinnedHTTPConnection(host, port, addresses, timeout)
    request_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    try:
        conn.request("POST", path, body=body, headers=request_headers)
        response = conn.getresponse()
        raw = response.read(EXCERPT_BYTES)
        outcome = Outcome(status_code=response.status, excerpt=raw.decode("utf-8", errors="replace"),
                          duration_ms=elapsed())
        if 300 <= response.status < 400:
            location = response.getheader("Location") or ""
            outcome.error = (f"HTTP {response.status}: redirects are not followed; set the webhook to the final "
                             f"URL{f' ({location[:200]})' if location else ''}.")
        elif response.status in (429, 502, 503, 504):
            outcome.retry_after = _retry_after(response.getheader("Retry-After"))
        return outcome
    except TimeoutError:
        return Outcome(error=f"No answer within {timeout:g} seconds (timeout).", duration_ms=elapsed())
    except ssl.SSLError as exc:
        return Outcome(error=f"TLS error: {exc.reason or exc}", duration_ms=elapsed())
    except ConnectionRefusedError:
        return Outcome(error=f"Connection refused by {host}:{port}.", duration_ms=elapsed())
    except Exception as exc:  # noqa: BLE001 - an attempt always ends with an outcome to record
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:500], duration_ms=elapsed())
    finally:
        conn.close()
