"""The SMTP provider against a real SMTP server on loopback (aiosmtpd, started by the tests)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import re
import socket
import ssl
import uuid

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from messaging import tracking
from messaging.models import Gateway
from messaging.providers.base import OutboundMessage
from messaging.providers.smtp import SmtpProvider, ascii_address, check_settings
from portal.channel_types import Channel


class Recorder:
    """Records what the server accepted; refuses the recipients listed in ``refuse``."""

    def __init__(self):
        self.envelopes = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                               "data": envelope.original_content, "peer": session.peer,
                               "login": session.auth_data.login if session.authenticated else None})
        return "250 2.0.0 Ok: queued as Q1"

    def parsed(self, index=-1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.envelopes[index]["data"], policy=email.policy.default)


class LoopbackController(Controller):
    """An aiosmtpd controller on 127.0.0.1 and a free port (port 0 resolved on start)."""

    def _trigger_server(self):
        if not self.port:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start(handler, port=0, **kwargs) -> LoopbackController:
    controller = LoopbackController(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login, auth_data.password) == (b"mailer", b"right-password")
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def smtpd(recorder):
    controller = start(recorder)
    yield controller
    controller.stop()


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.HERALD_BASE_URL = "https://herald.example"


def gateway(port, credentials=None, default_from="noreply@acme.example", **settings) -> Gateway:
    config = {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5}
    config.update(settings)
    return Gateway(name="Mail", channel=Channel.EMAIL, provider="smtp", credentials=credentials or {},
                   settings=config, default_from=default_from, callback_token=uuid.uuid4())


def mail(to="ana@example.com", sender="news@acme.example", **content) -> OutboundMessage:
    content = {"subject": "Spring offer", "text": "Hello Ana, 20% off.",
               "html": "<html><body><p>Hello <b>Ana</b>, 20% off.</p></body></html>", **content}
    return OutboundMessage(id=uuid.uuid4(), company_id=1, channel=Channel.EMAIL, address=to, sender=sender,
                           content={k: v for k, v in content.items() if v is not None})


def pixel_tokens(html: str) -> list[str]:
    return re.findall(r'<img src="https://herald\.example/t/o/([^"/]+)\.gif" width="1" height="1" alt=""', html)


def test_a_multipart_email_with_the_open_pixel_in_the_html_only(smtpd, recorder):
    driver = SmtpProvider(gateway(smtpd.port, reply_to="help@acme.example"))
    m = mail(subject="¡Oferta de primavera! ñandú", text="Hola Ana — 20 % de descuento.")

    [result] = driver.send_batch([m])
    driver.close()

    assert result.status == "submitted", result.error_text
    assert result.provider_message_id == f"<{m.id}@herald>"
    assert result.response == {"code": 250, "text": "2.0.0 Ok: queued as Q1"}
    assert result.request["to"] == "ana@example.com" and result.request["message_id"] == f"<{m.id}@herald>"
    [envelope] = recorder.envelopes
    assert envelope["from"] == "news@acme.example" and envelope["to"] == ["ana@example.com"]
    parsed = recorder.parsed()
    assert parsed["Subject"] == "¡Oferta de primavera! ñandú"
    assert parsed["Message-ID"] == f"<{m.id}@herald>"
    assert parsed["From"] == "news@acme.example" and parsed["To"] == "ana@example.com"
    assert parsed["Reply-To"] == "help@acme.example"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert text.strip() == "Hola Ana — 20 % de descuento."
    assert "herald.example/t/o/" not in text
    [token] = pixel_tokens(html)
    assert tracking.read_token(token) == m.id
    assert html.index("<img src=") < html.index("</body>")
    assert "<p>Hello <b>Ana</b>, 20% off.</p>" in html
    assert all(byte < 128 for byte in envelope["data"])  # 7-bit clean: any server takes it


def test_no_pixel_when_open_tracking_is_off(smtpd, recorder):
    driver = SmtpProvider(gateway(smtpd.port, track_opens=False))
    driver.send_batch([mail()])
    assert "/t/o/" not in recorder.parsed().get_body(("html",)).get_content()


def test_html_only_gets_a_text_part_and_the_pixel_at_the_end(smtpd, recorder):
    driver = SmtpProvider(gateway(smtpd.port))
    m = mail(text=None, html="<p>Caf&eacute; <i>Ana</i></p>")
    [result] = driver.send_batch([m])
    assert result.status == "submitted"
    parsed = recorder.parsed()
    assert parsed.get_body(("plain",)).get_content().strip() == "Café Ana"
    html = parsed.get_body(("html",)).get_content()
    assert html.startswith("<p>Caf&eacute; <i>Ana</i></p><img src=")
    assert len(pixel_tokens(html)) == 1


def test_text_only_is_a_plain_email(smtpd, recorder):
    [result] = SmtpProvider(gateway(smtpd.port)).send_batch([mail(html=None)])
    assert result.status == "submitted"
    parsed = recorder.parsed()
    assert parsed.get_content_type() == "text/plain"
    assert "/t/o/" not in parsed.get_content()


def test_a_sender_that_is_not_an_address_falls_back_to_the_default_from(smtpd, recorder):
    driver = SmtpProvider(gateway(smtpd.port, from_name="Gateway Name"))
    driver.send_batch([mail(sender="Acme Shop"), mail(sender="", from_name="Ana's Café")])
    assert [e["from"] for e in recorder.envelopes] == ["noreply@acme.example"] * 2
    assert recorder.parsed(0)["From"] == "Acme Shop <noreply@acme.example>"
    assert recorder.parsed(1)["From"].addresses[0].display_name == "Ana's Café"


def test_no_usable_from_address_is_rejected(smtpd, recorder):
    [result] = SmtpProvider(gateway(smtpd.port, default_from="")).send_batch([mail(sender="Acme")])
    assert result.status == "rejected" and result.error_code == "bad_sender"
    assert "'Acme' is not an e-mail address" in result.error_text
    assert recorder.envelopes == []


def test_bad_recipient_address_and_empty_content_are_rejected_without_the_server(smtpd, recorder):
    results = SmtpProvider(gateway(smtpd.port)).send_batch([mail(to="not-an-address"),
                                                            mail(text="", html=None)])
    assert [(r.status, r.error_code) for r in results] == [("rejected", "bad_address"), ("rejected", "empty_content")]
    assert recorder.envelopes == []


def test_one_connection_serves_the_batch_and_a_refused_recipient_does_not_stop_it(smtpd, recorder):
    recorder.refuse = {"gone@example.com": "550 5.1.1 <gone@example.com>: user unknown",
                       "full@example.com": "452 4.2.2 mailbox full, try later"}
    driver = SmtpProvider(gateway(smtpd.port))
    messages = [mail(to="a@example.com"), mail(to="gone@example.com"), mail(to="full@example.com"),
                mail(to="b@example.com")]

    results = driver.send_batch(messages)

    assert [r.status for r in results] == ["submitted", "rejected", "failed", "submitted"]
    assert results[1].error_code == "smtp_550"
    assert results[1].error_text == "550 5.1.1 <gone@example.com>: user unknown"
    assert results[2].error_code == "smtp_452" and "mailbox full" in results[2].error_text
    assert [e["to"] for e in recorder.envelopes] == [["a@example.com"], ["b@example.com"]]
    assert len({e["peer"] for e in recorder.envelopes}) == 1
    driver.close()


def test_the_connection_is_reopened_after_the_server_restarted(recorder):
    controller = start(recorder)
    driver = SmtpProvider(gateway(controller.port))
    assert driver.send_batch([mail()])[0].status == "submitted"
    port = controller.port
    controller.stop()
    controller = start(recorder, port=port)
    try:
        [result] = driver.send_batch([mail(to="again@example.com")])
    finally:
        controller.stop()
    assert result.status == "submitted", result.error_text
    assert recorder.envelopes[-1]["to"] == ["again@example.com"]


def test_a_server_that_is_down_fails_every_message(closed_port):
    results = SmtpProvider(gateway(closed_port)).send_batch([mail(), mail(to="x@example.com")])
    assert [(r.status, r.error_code) for r in results] == [("failed", "connection_error")] * 2
    assert f"cannot connect to 127.0.0.1:{closed_port}" in results[0].error_text


# The test server takes AUTH without TLS on purpose (aiosmtpd warns about it).
auth_without_tls = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def auth_smtpd(recorder):
    controller = start(recorder, authenticator=authenticator, auth_required=True, auth_require_tls=False)
    yield controller
    controller.stop()


@auth_without_tls
def test_auth_with_the_gateway_credentials(auth_smtpd, recorder):
    driver = SmtpProvider(gateway(auth_smtpd.port, credentials={"username": "mailer", "password": "right-password"}))
    [result] = driver.send_batch([mail()])
    assert result.status == "submitted", result.error_text
    assert recorder.envelopes[0]["login"] == b"mailer"
    check = driver.check_connection()
    assert check.ok and "signed in as mailer" in check.detail


@auth_without_tls
def test_refused_credentials_fail_the_batch_and_the_check(auth_smtpd, recorder):
    driver = SmtpProvider(gateway(auth_smtpd.port, credentials={"username": "mailer", "password": "wrong"}))
    results = driver.send_batch([mail(), mail()])
    assert [(r.status, r.error_code) for r in results] == [("failed", "smtp_535")] * 2
    assert "refused the credentials" in results[0].error_text
    check = driver.check_connection()
    assert not check.ok and "refused the credentials" in check.detail
    assert recorder.envelopes == []


@auth_without_tls
def test_without_credentials_a_server_requiring_auth_refuses_the_sender(auth_smtpd, recorder):
    [result] = SmtpProvider(gateway(auth_smtpd.port)).send_batch([mail()])
    assert result.status == "rejected" and result.error_code == "smtp_530"


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture
def starttls_smtpd(recorder, tls_context):
    controller = start(recorder, tls_context=tls_context, require_starttls=True, authenticator=authenticator,
                       auth_required=True)
    yield controller
    controller.stop()


def test_starttls_then_auth(starttls_smtpd, recorder):
    credentials = {"username": "mailer", "password": "right-password"}
    driver = SmtpProvider(gateway(starttls_smtpd.port, credentials=credentials, security="starttls", tls_verify=False))
    [result] = driver.send_batch([mail()])
    assert result.status == "submitted", result.error_text
    assert recorder.envelopes[0]["login"] == b"mailer"


def test_starttls_verifies_the_certificate_by_default(starttls_smtpd, recorder):
    driver = SmtpProvider(gateway(starttls_smtpd.port, security="starttls"))
    [result] = driver.send_batch([mail()])
    assert result.status == "failed" and result.error_code == "tls_error"
    assert "CERTIFICATE_VERIFY_FAILED" in result.error_text
    assert recorder.envelopes == []


def test_starttls_required_but_not_offered(smtpd):
    [result] = SmtpProvider(gateway(smtpd.port, security="starttls")).send_batch([mail()])
    assert result.status == "failed" and result.error_code == "tls_unavailable"


def test_check_connection(smtpd, closed_port):
    ok = SmtpProvider(gateway(smtpd.port)).check_connection()
    assert ok.ok and f"127.0.0.1:{smtpd.port}" in ok.detail
    down = SmtpProvider(gateway(closed_port)).check_connection()
    assert not down.ok and "cannot connect" in down.detail


def test_a_misconfigured_gateway_says_what_is_wrong(smtpd, recorder):
    driver = SmtpProvider(gateway(smtpd.port, security="tls", host=""))
    [result] = driver.send_batch([mail()])
    assert result.status == "failed" and result.error_code == "bad_configuration"
    assert "settings.host is required" in result.error_text and "settings.security must be one of" in result.error_text
    assert not driver.check_connection().ok
    assert "settings.port must be a port number" in " ".join(check_settings({"host": "h", "port": 70000}))


def test_ascii_address():
    assert ascii_address("ana@ejemplo.españa") == "ana@ejemplo.xn--espaa-rta"
    assert ascii_address(" ana@example.com ") == "ana@example.com"
    assert ascii_address("ana") is None
    assert ascii_address("ana@example.com\nBcc: x@y.z") is None
