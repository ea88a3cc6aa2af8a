"""The SSRF guard: private, loopback, link-local and other internal addresses are refused
(with the reason on the delivery row and nothing sent), whether written literally or
reached through a host name, unless HERALD_WEBHOOKS_ALLOW_PRIVATE is set."""

import socket

import pytest

from webhooks import services, transport
from webhooks.models import EventState


def attempt(company, url):
    event = services.emit(company=company, event_type="message.status", data={"status": "delivered"}, url=url)
    delivery = services.deliver(event)
    event.refresh_from_db()
    return event, delivery


@pytest.mark.parametrize("host,reason", [
    ("127.0.0.1", "loopback"),
    ("10.20.30.40", "private"),
    ("192.168.1.10", "private"),
    ("169.254.169.254", "link-local"),
    ("[::1]", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("100.64.0.1", "non-public"),
    ("[::ffff:127.0.0.1]", "loopback"),
])
def test_internal_addresses_are_refused(company, receiver, host, reason):
    event, delivery = attempt(company, f"http://{host}:{receiver.port}/hook")
    assert delivery.status_code is None
    assert delivery.error.startswith("Refused:") and f"a {reason} address" in delivery.error
    assert event.state == EventState.FAILED and event.next_attempt_at is None  # retrying cannot help
    assert receiver.received == []


def test_a_host_name_resolving_to_loopback_is_refused(company, receiver):
    event, delivery = attempt(company, f"http://localhost:{receiver.port}/hook")
    assert "localhost resolves to" in delivery.error and "loopback" in delivery.error
    assert receiver.received == [] and event.state == EventState.FAILED


def test_one_internal_address_among_public_ones_is_enough_to_refuse(company, monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        assert host == "hooks.example.com"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    event, delivery = attempt(company, "https://hooks.example.com/wh")
    assert "hooks.example.com resolves to 10.0.0.7" in delivery.error and "private" in delivery.error
    assert event.state == EventState.FAILED


def test_the_setting_allows_loopback(company, receiver, settings):
    settings.HERALD_WEBHOOKS_ALLOW_PRIVATE = True
    event, delivery = attempt(company, f"http://localhost:{receiver.port}/hook")
    assert delivery.status_code == 200 and event.state == EventState.DELIVERED
    assert len(receiver.received) == 1


def test_only_http_and_https_are_called():
    outcome = transport.post("ftp://files.example.com/x", b"{}", {})
    assert outcome.permanent and "Only http and https" in outcome.error
    outcome = transport.post("http://user:pw@example.com/x", b"{}", {})
    assert outcome.permanent and "user name or password" in outcome.error


def test_the_connection_goes_to_the_checked_address(monkeypatch, receiver, settings):
    """No second DNS lookup between the check and the connection (DNS rebinding)."""
    settings.HERALD_WEBHOOKS_ALLOW_PRIVATE = True
    calls = []
    real = socket.getaddrinfo

    def counting(host, *args, **kwargs):
        calls.append(host)
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    outcome = transport.post(f"http://rebind.example.com:{receiver.port}/hook", b"{}", {})
    assert outcome.status_code == 200
    # create_connection passes the checked IP literal through getaddrinfo (no DNS for a literal)
    assert calls == ["rebind.example.com", "127.0.0.1"]
    assert receiver.received[0].headers["host"] == f"rebind.example.com:{receiver.port}"
