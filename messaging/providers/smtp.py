"""``smtp`` — e-mail through an SMTP server, with an open-tracking pixel.

Credentials ``{"username", "password"}`` (both empty: no AUTH). Settings::

    {"host": "smtp.example.com", "port": 587, "security": "starttls",   # none | starttls | ssl
     "timeout": 20, "from_name": "Acme", "reply_to": "help@acme.example",
     "track_opens": true, "tls_verify": true, "helo": "mail.acme.example"}

Content: ``{"subject", "html", "text", "from_name"?}``. Each message goes out as a MIME
``multipart/alternative`` (text + HTML; a text part is made from the HTML when there is
none) with ``Message-ID: <our id@herald>`` (also the provider message id). With
``track_opens`` (the default) the HTML part gets a 1×1 image ``/t/o/<signed token>.gif``
that reports the message *seen* (``messaging.tracking``).

One SMTP connection serves a batch (and is kept for the next one, checked with NOOP);
a connection that dropped is reopened. Per message: 5xx → ``rejected``, 4xx or a network
error → ``failed``, with ``error_code`` ``smtp_<code>`` / ``connection_error`` /
``timeout``. A connection lost before DATA is retried once on a new connection (nothing
was transferred); lost during DATA the message is ``failed`` (the server may have it — it
is not sent twice).
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from html import unescape
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from messaging import tracking
from messaging.models import MessageStatus
from messaging.providers.base import CheckResult, OutboundMessage, Provider, SendResult
from portal.channel_types import Channel

SECURITY = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
# Bodies are sent 7-bit clean (quoted-printable / base64, RFC 2047 headers): any server
# takes them, with or without 8BITMIME / SMTPUTF8.
POLICY = email.policy.SMTP.clone(cte_type="7bit")


class SetupError(Exception):
    """The connection could not be opened or authenticated: every message of the batch fails."""

    def __init__(self, code: str, text: str):
        super().__init__(text)
        self.code = code
        self.text = text


def ascii_address(address: str) -> str | None:
    """A valid e-mail address with its domain in IDNA (xn--) form, or ``None``."""
    address = (address or "").strip()
    if not address or "@" not in address:
        return None
    local, _at, domain = address.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    candidate = f"{local}@{domain}"
    try:
        validate_email(candidate)
    except ValidationError:
        return None
    return candidate


def check_settings(settings: dict) -> list[str]:
    problems = []
    if not isinstance(settings, dict):
        return ["settings must be a JSON object"]
    if not settings.get("host"):
        problems.append("settings.host is required (the SMTP server)")
    security = settings.get("security", "starttls")
    if security not in SECURITY:
        problems.append(f"settings.security must be one of {', '.join(SECURITY)}, not {security!r}")
    port = settings.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        problems.append(f"settings.port must be a port number (1-65535), not {port!r}")
    timeout = settings.get("timeout", 20)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(f"settings.timeout must be a positive number of seconds, not {timeout!r}")
    if settings.get("reply_to") and not ascii_address(settings["reply_to"]):
        problems.append(f"settings.reply_to is not an e-mail address: {settings['reply_to']!r}")
    return problems


def _reply_text(reply) -> str:
    return reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else str(reply)


class SmtpProvider(Provider):
    key = "smtp"
    name = "SMTP (e-mail)"
    channels = frozenset({Channel.EMAIL})
    credential_fields = ("username", "password")
    setting_fields = ("host", "port", "security", "timeout", "from_name", "reply_to", "track_opens", "tls_verify",
                      "helo")
    max_batch = 100

    def __init__(self, gateway):
        super().__init__(gateway)
        self.problems = check_settings(self.settings)
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.RLock()

    # -- configuration ------------------------------------------------------------------

    @property
    def security(self) -> str:
        return self.settings.get("security", "starttls")

    @property
    def host(self) -> str:
        return self.settings.get("host", "")

    @property
    def port(self) -> int:
        return int(self.settings.get("port") or DEFAULT_PORTS.get(self.security, 25))

    @property
    def track_opens(self) -> bool:
        return bool(self.settings.get("track_opens", True))

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.get("tls_verify", True) is False:
            # Only for a server with a private certificate that the operator chose to trust.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    # -- connection ---------------------------------------------------------------------

    def _open(self) -> smtplib.SMTP:
        timeout = float(self.settings.get("timeout", 20))
        helo = self.settings.get("helo") or urlsplit(django_settings.HERALD_BASE_URL).hostname or "localhost"
        where = f"{self.host}:{self.port}"
        smtp = None
        try:
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, local_hostname=helo, timeout=timeout,
                                        context=self._tls_context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=helo, timeout=timeout)
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SetupError("tls_unavailable", f"{where} does not offer STARTTLS (settings.security)")
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            username = self.credentials.get("username")
            if username:
                smtp.login(username, self.credentials.get("password", ""))
            return smtp
        except SetupError:
            self._quietly_close(smtp)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self._quietly_close(smtp)
            raise SetupError(f"smtp_{exc.smtp_code}",
                             f"{where} refused the credentials: {exc.smtp_code} {_reply_text(exc.smtp_error)}")
        except smtplib.SMTPNotSupportedError:
            self._quietly_close(smtp)
            raise SetupError("auth_unavailable", f"{where} does not offer AUTH; remove the username or use TLS")
        except smtplib.SMTPResponseException as exc:
            self._quietly_close(smtp)
            raise SetupError(f"smtp_{exc.smtp_code}", f"{where}: {exc.smtp_code} {_reply_text(exc.smtp_error)}")
        except ssl.SSLError as exc:
            self._quietly_close(smtp)
            raise SetupError("tls_error", f"TLS with {where} failed: {exc}")
        except TimeoutError:
            self._quietly_close(smtp)
            raise SetupError("timeout", f"no answer from {where} within {timeout:g} s")
        except (OSError, smtplib.SMTPException) as exc:
            self._quietly_close(smtp)
            raise SetupError("connection_error", f"cannot connect to {where}: {exc or type(exc).__name__}")

    @staticmethod
    def _quietly_close(smtp) -> None:
        if smtp is None:
            return
        try:
            smtp.close()
        except Exception:  # closing a broken socket: nothing to do
            pass

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._open()
        return self._smtp

    def _discard(self) -> None:
        self._quietly_close(self._smtp)
        self._smtp = None

    def _alive(self) -> bool:
        if self._smtp is None:
            return False
        try:
            return self._smtp.noop()[0] == 250
        except (OSError, smtplib.SMTPException):
            return False

    def close(self) -> None:
        with self._lock:
            if self._smtp is not None:
                try:
                    self._smtp.quit()
                except (OSError, smtplib.SMTPException):
                    pass
            self._discard()

    # -- building -----------------------------------------------------------------------

    def _build(self, message: OutboundMessage) -> tuple[EmailMessage, str, str] | SendResult:
        content = message.content or {}
        to = ascii_address(message.address)
        if to is None:
            return self._result(message, MessageStatus.REJECTED, error_code="bad_address",
                                error_text=f"{message.address!r} is not an e-mail address")
        sender = ascii_address(message.sender)
        sender_name = ""
        if sender is None:
            # A sender that is not an address (e.g. "Acme") is shown as the name.
            sender_name = (message.sender or "").strip()
            sender = ascii_address(self.gateway.default_from)
        if sender is None:
            return self._result(message, MessageStatus.REJECTED, error_code="bad_sender",
                                error_text=f"the sender {message.sender!r} is not an e-mail address and the gateway "
                                           f"has no default From address")
        name = content.get("from_name") or sender_name or self.settings.get("from_name") or ""
        html = str(content.get("html") or "")
        text = str(content.get("text") or "")
        subject = " ".join(str(content.get("subject") or "").split())
        if not html.strip() and not text.strip():
            return self._result(message, MessageStatus.REJECTED, error_code="empty_content",
                                error_text="the e-mail has neither a text nor an HTML body")
        if html and not text:
            text = unescape(strip_tags(html)).strip()

        mime = EmailMessage(policy=POLICY)
        mime["Subject"] = subject
        mime["From"] = formataddr((" ".join(str(name).split()), sender))
        mime["To"] = to
        if self.settings.get("reply_to"):
            mime["Reply-To"] = ascii_address(self.settings["reply_to"])
        mime["Date"] = format_datetime(timezone.now())
        mime["Message-ID"] = self.message_id_header(message)
        mime.set_content(text)
        if html:
            if self.track_opens:
                html = tracking.add_pixel(html, message.id)
            mime.add_alternative(html, subtype="html")
        return mime, sender, to

    @staticmethod
    def message_id_header(message: OutboundMessage) -> str:
        return f"<{message.id}@herald>"

    @staticmethod
    def _result(message: OutboundMessage, status: str, **fields) -> SendResult:
        return SendResult(message_id=message.id, status=status, **fields)

    def _reply_result(self, message, code: int, reply, request: dict) -> SendResult:
        text = _reply_text(reply)
        status = MessageStatus.REJECTED if 500 <= code < 600 else MessageStatus.FAILED
        return self._result(message, status, provider_status=str(code), error_code=f"smtp_{code}",
                            error_text=f"{code} {text}", request=request, response={"code": code, "text": text})

    # -- sending ------------------------------------------------------------------------

    def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        if self.problems:
            text = "The gateway is misconfigured: " + "; ".join(self.problems)
            return [self._result(m, MessageStatus.FAILED, error_code="bad_configuration", error_text=text)
                    for m in messages]
        results = []
        with self._lock:
            if self._smtp is not None and not self._alive():
                self._discard()
            setup_error: SetupError | None = None
            for message in messages:
                try:
                    built = self._build(message)
                except (ValueError, TypeError, UnicodeError) as exc:
                    built = self._result(message, MessageStatus.REJECTED, error_code="bad_content",
                                         error_text=f"the e-mail cannot be built: {exc}")
                if isinstance(built, SendResult):
                    results.append(built)
                    continue
                mime, sender, to = built
                request = {"host": self.host, "port": self.port, "from": sender, "to": to,
                           "subject": str(mime["Subject"]), "message_id": mime["Message-ID"]}
                if setup_error is None:
                    try:
                        results.append(self._deliver(message, mime, sender, to, request))
                        continue
                    except SetupError as exc:
                        setup_error = exc  # the server is unreachable: do not try again for this batch
                results.append(self._result(message, MessageStatus.FAILED, error_code=setup_error.code,
                                            error_text=setup_error.text, request=request,
                                            response={"error": setup_error.text}))
        return results

    def _deliver(self, message, mime: EmailMessage, sender: str, to: str, request: dict) -> SendResult:
        data = mime.as_bytes(policy=POLICY)
        request = {**request, "size": len(data)}
        for attempt in (1, 2):
            smtp = self._connection()
            phase = "mail"
            try:
                options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
                code, reply = smtp.mail(sender, options)
                if code != 250:
                    return self._refused(message, smtp, code, reply, request)
                phase = "rcpt"
                code, reply = smtp.rcpt(to)
                if code not in (250, 251):
                    return self._refused(message, smtp, code, reply, request)
                phase = "data"
                code, reply = smtp.data(data)
                if code != 250:
                    return self._refused(message, smtp, code, reply, request)
            except smtplib.SMTPServerDisconnected as exc:
                error = ("connection_error", f"the connection to {self.host}:{self.port} dropped: {exc}")
            except TimeoutError:
                error = ("timeout", f"{self.host}:{self.port} stopped answering")
            except smtplib.SMTPResponseException as exc:  # DATA refused before the content (354 expected)
                return self._refused(message, smtp, exc.smtp_code, exc.smtp_error, request)
            except (OSError, smtplib.SMTPException) as exc:
                error = ("connection_error", f"the connection to {self.host}:{self.port} failed: {exc}")
            else:
                return self._result(message, MessageStatus.SUBMITTED,
                                    provider_message_id=self.message_id_header(message), provider_status=str(code),
                                    request=request, response={"code": code, "text": _reply_text(reply)})
            self._discard()
            if phase != "data" and attempt == 1:
                continue  # nothing was transferred yet: try once more on a new connection
            text = error[1]
            if phase == "data":
                text += "; the message was being transferred, the server may have accepted it (not re-sent)"
            return self._result(message, MessageStatus.FAILED, error_code=error[0], error_text=text,
                                request=request, response={"error": text})
        raise AssertionError("unreachable")

    def _refused(self, message, smtp, code: int, reply, request: dict) -> SendResult:
        if code == 421:  # the server is closing the connection
            self._discard()
        else:
            try:
                smtp.rset()
            except (OSError, smtplib.SMTPException):
                self._discard()
        return self._reply_result(message, code, reply, request)

    # -- connection check ---------------------------------------------------------------

    def check_connection(self) -> CheckResult:
        if self.problems:
            return CheckResult(False, _("The gateway is misconfigured: %(problems)s") %
                               {"problems": "; ".join(self.problems)})
        try:
            smtp = self._open()
        except SetupError as exc:
            return CheckResult(False, _("Cannot use the SMTP server: %(error)s") % {"error": exc.text})
        try:
            code, reply = smtp.noop()
            smtp.quit()
        except (OSError, smtplib.SMTPException) as exc:
            self._quietly_close(smtp)
            return CheckResult(False, _("The connection to %(server)s failed: %(error)s")
                               % {"server": f"{self.host}:{self.port}", "error": exc})
        if code != 250:
            return CheckResult(False, _("%(server)s answered NOOP with %(code)s %(reply)s")
                               % {"server": f"{self.host}:{self.port}", "code": code, "reply": _reply_text(reply)})
        username = self.credentials.get("username")
        if username:
            detail = _("Connected to %(server)s (%(security)s) and signed in as %(username)s.")
        else:
            detail = _("Connected to %(server)s (%(security)s).")
        return CheckResult(True, detail % {"server": f"{self.host}:{self.port}", "security": self.security,
                                           "username": username})

