"""Two-factor authentication by SMS for portal users (spec §16.2, §1).

Every rule about sign-in codes lives here; views and forms only parse input and show the
errors (``ValidationError`` with the field the message belongs to).

* **Codes**: 6 digits, sent by SMS through the messaging engine (``source=system``), valid
  for 5 minutes, void after 5 wrong tries, only the newest code of a kind is valid. The
  code is never stored: ``LoginCode.code_hash`` is an HMAC of it.
* **Sending limits** per user: one code of a kind every 30 seconds, five codes an hour.
  Codes that were used do not count (a user who signs in several times an hour is not
  limited; someone who asks for codes and never uses them is).
* **Turning on**: a phone number (checked and stored in E.164) → code to it → the right
  code turns 2FA on with that number as ``User.phone``.
* **Changing the number**: the current password and the new number → code to the new
  number → the right code replaces it. **Turning off**: the current password.
* **Signing in**: after the right password the user is not signed in yet; the view keeps a
  pending marker in the session (10 minutes) and a code goes to the user's phone. Wrong
  codes count towards the account lockout (5 failures in a row → locked 15 minutes), and
  towards the failures of the address, like wrong passwords.
* Each change of the 2FA state is written to the audit log. API keys never use 2FA.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from accounts import services
from accounts.models import LoginCode, LoginCodePurpose, LoginCodeVoid, User
from portal import audit
from portal.audit import Actor

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_INTERVAL = timedelta(seconds=30)
HOURLY_LIMIT = 5
PENDING_LOGIN_TTL = timedelta(minutes=10)
# How long the Privacy and Security page keeps offering to enter a code it sent.
SETUP_PENDING_TTL = timedelta(minutes=15)
# Old code rows are deleted when the same user asks for a new one.
KEEP_CODES = timedelta(days=1)
SMS_CHANNEL = 1

SETUP_PURPOSES = (LoginCodePurpose.ENABLE, LoginCodePurpose.CHANGE_PHONE)
# Number types that cannot receive an SMS.
_NO_SMS_TYPES = {
    phonenumbers.PhoneNumberType.FIXED_LINE: "landline",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll-free",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium-rate",
    phonenumbers.PhoneNumberType.SHARED_COST: "shared-cost",
}


# --- phone numbers ----------------------------------------------------------------------------

def normalize_phone(raw: str, region: str = "") -> str:
    """The number in E.164, or ``ValidationError`` saying why it cannot receive codes."""
    from contacts.phones import InvalidPhone, normalize

    try:
        phone = normalize(raw, region or "")
    except InvalidPhone as exc:
        raise ValidationError(str(exc)) from exc
    kind = phonenumbers.number_type(phonenumbers.parse(phone.e164))
    if kind in _NO_SMS_TYPES:
        labels = {"landline": _("a landline"), "toll-free": _("a toll-free number"),
                  "premium-rate": _("a premium-rate number"), "shared-cost": _("a shared-cost number")}
        raise ValidationError(_("%(number)s is %(kind)s: enter a mobile number that can receive SMS.") % {
            "number": phone.e164, "kind": labels[_NO_SMS_TYPES[kind]]})
    return phone.e164


def user_region(user: User) -> str:
    return user.company.default_region if user.company_id else ""


def validate_user_phone(user: User) -> str:
    """The E.164 form of ``user.phone`` for sending codes, or ``ValidationError``."""
    if not (user.phone or "").strip():
        raise ValidationError(_("No phone number is set."))
    return normalize_phone(user.phone, user_region(user))


def mask_phone(e164: str) -> str:
    """``+34612345678`` → ``+34••••••678``: the country code and the last three digits."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "•" * max(len(e164) - 3, 0) + e164[-3:]
    national = str(number.national_number)
    hidden = max(len(national) - 3, 1)
    return f"+{number.country_code}{'•' * hidden}{national[-3:]}"


# --- codes ------------------------------------------------------------------------------------

def _digest(salt: str, user_id: int, purpose: str, phone: str, code: str) -> str:
    return salted_hmac("herald.accounts.twofactor", f"{salt}|{user_id}|{purpose}|{phone}|{code}",
                       algorithm="sha256").hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def clean_code(raw: str) -> str:
    """The digits the user typed (spaces and dashes allowed), or ``ValidationError``."""
    code = re.sub(r"[\s-]", "", raw or "")
    if not re.fullmatch(rf"\d{{{CODE_DIGITS}}}", code):
        raise ValidationError({"code": _("Enter the 6-digit code from the SMS.")})
    return code


def _void(queryset, reason: str, now) -> None:
    queryset.filter(used_at__isnull=True, voided_at__isnull=True).update(voided_at=now, void_reason=reason)


def check_send_limits(user: User, purpose: str, now=None) -> None:
    """One code of a kind every 30 seconds and five an hour per user (codes that were used
    do not count; one that could not be sent counts for the hour only). ``ValidationError``
    with the time to wait."""
    now = now or timezone.now()
    unused = LoginCode.objects.filter(user=user, used_at__isnull=True)
    last = (unused.filter(purpose=purpose, created_at__gt=now - RESEND_INTERVAL)
            .exclude(void_reason=LoginCodeVoid.NOT_SENT).order_by("-created_at").first())
    if last is not None:
        wait = max(1, int((last.created_at + RESEND_INTERVAL - now).total_seconds() + 0.999))
        raise ValidationError(_("A code was sent less than 30 seconds ago. You can ask for a new one in "
                                "%(n)d seconds.") % {"n": wait}, code="too_soon")
    hour = list(unused.filter(created_at__gt=now - timedelta(hours=1)).order_by("created_at")
                .values_list("created_at", flat=True)[:HOURLY_LIMIT])
    if len(hour) >= HOURLY_LIMIT:
        again = hour[0] + timedelta(hours=1)
        raise ValidationError(_("You asked for %(n)d codes in the last hour. You can ask for a new one after "
                                "%(when)s (UTC).") % {"n": HOURLY_LIMIT, "when": again.strftime("%H:%M")},
                              code="hourly_limit")


def _send_sms(user: User, phone: str, code: str):
    """Hand the SMS to the messaging engine. Returns the message, or raises
    ``ValidationError`` when it cannot be sent (no SMS route, no address…)."""
    from messaging.models import FAILURE_STATUSES, Source
    from messaging.services import SendError, StepSpec, send

    with translation.override(user.language):
        text = _("Your Herald verification code is {{code}}. It expires in 5 minutes.")
    try:
        with transaction.atomic():
            plan = send(company=user.company, to=phone, source=Source.SYSTEM, source_id=user.pk,
                        step=StepSpec(channel=SMS_CHANNEL, content={"text": text}, params={"code": code}))
    except SendError as exc:
        return None, "; ".join(str(v) for v in exc.errors.values()) or str(exc)
    message = plan.messages.order_by("step").first()
    if message is None:
        return None, _("the messaging engine did not create a message.")
    if message.status in FAILURE_STATUSES:
        return message, message.error_text or message.get_status_display()
    return message, None


def issue_code(user: User, purpose: str, phone: str, *, now=None) -> LoginCode:
    """Create a code of ``purpose`` for ``user``, send it to ``phone`` (E.164) and void the
    user's older codes of the same kind. Raises ``ValidationError`` when a limit applies or
    the SMS cannot be sent (the attempt is kept: it counts towards the limits and the
    message stays in the EDRs with its reason)."""
    now = now or timezone.now()
    if user.company_id is None:
        raise ValidationError(_("We could not send the code: sign-in codes are sent through a company's "
                                "messaging, and this account belongs to no company."))
    check_send_limits(user, purpose, now)
    code = _new_code()
    salt = secrets.token_hex(16)
    kinds = SETUP_PURPOSES if purpose in SETUP_PURPOSES else (purpose,)
    with transaction.atomic():
        LoginCode.objects.filter(user=user, created_at__lt=now - KEEP_CODES).delete()
        row = LoginCode.objects.create(user=user, purpose=purpose, phone=phone, salt=salt,
                                       code_hash=_digest(salt, user.pk, purpose, phone, code),
                                       expires_at=now + CODE_TTL, created_at=now)
        message, error = _send_sms(user, phone, code)
        row.message_id = message.pk if message is not None else None
        if error:  # an older code that was sent stays valid
            row.voided_at, row.void_reason = now, LoginCodeVoid.NOT_SENT
        else:
            _void(LoginCode.objects.filter(user=user, purpose__in=kinds).exclude(pk=row.pk),
                  LoginCodeVoid.SUPERSEDED, now)
        row.save(update_fields=["message_id", "voided_at", "void_reason"])
    if error:
        raise ValidationError(_("We could not send the code: %(why)s") % {"why": error}, code="not_sent")
    return row


@dataclass
class CodeCheck:
    row: LoginCode | None
    error: str | None = None
    counted: bool = False      # a wrong guess (counts towards limits)


def _check_code(user: User, purposes, code: str, now) -> CodeCheck:
    """Compare ``code`` with the user's newest code of ``purposes``; a wrong guess is
    counted (and the fifth one voids the code). Runs inside a transaction that is not
    rolled back on a wrong code."""
    row = (LoginCode.objects.select_for_update().filter(user=user, purpose__in=purposes)
           .order_by("-created_at", "-id").first())
    if row is None or row.used_at is not None or row.void_reason in (LoginCodeVoid.CANCELED,
                                                                     LoginCodeVoid.DISABLED,
                                                                     LoginCodeVoid.NOT_SENT):
        return CodeCheck(None, _("No code is waiting to be entered: ask for a new code."))
    if row.void_reason == LoginCodeVoid.ATTEMPTS or row.attempts >= MAX_ATTEMPTS:
        return CodeCheck(row, _("This code was entered wrong 5 times and no longer works: ask for a new code."))
    if now >= row.expires_at:
        return CodeCheck(row, _("The code has expired (codes are valid for 5 minutes): ask for a new code."))
    if constant_time_compare(row.code_hash, _digest(row.salt, user.pk, row.purpose, row.phone, code)):
        row.used_at = now
        row.save(update_fields=["used_at"])
        return CodeCheck(row)
    row.attempts += 1
    fields = ["attempts"]
    left = MAX_ATTEMPTS - row.attempts
    if left <= 0:
        row.voided_at, row.void_reason = now, LoginCodeVoid.ATTEMPTS
        fields += ["voided_at", "void_reason"]
        error = _("The code is not correct. It was entered wrong 5 times and no longer works: ask for a new code.")
    else:
        error = (_("The code is not correct. %(n)d tries left.") if left > 1
                 else _("The code is not correct. 1 try left.")) % {"n": left}
    row.save(update_fields=fields)
    return CodeCheck(row, error, counted=True)


# --- Privacy and Security: turning on, changing the number, turning off -----------------------

def pending_setup(user: User, now=None) -> LoginCode | None:
    """The code the Privacy and Security page is waiting for (turn on / new number), if any."""
    now = now or timezone.now()
    row = (LoginCode.objects.filter(user=user, purpose__in=SETUP_PURPOSES).order_by("-created_at", "-id").first())
    if row is None or row.used_at is not None or row.void_reason in (LoginCodeVoid.CANCELED,
                                                                     LoginCodeVoid.DISABLED,
                                                                     LoginCodeVoid.NOT_SENT):
        return None
    if row.purpose == LoginCodePurpose.ENABLE and user.two_factor_enabled:
        return None
    if row.purpose == LoginCodePurpose.CHANGE_PHONE and not user.two_factor_enabled:
        return None
    if now - row.created_at > SETUP_PENDING_TTL:
        return None
    return row


def request_enable(*, user: User, phone: str) -> LoginCode:
    """*Add phone number* → *Get verification code*."""
    if user.two_factor_enabled:
        raise ValidationError(_("Two-factor authentication is already on."))
    try:
        e164 = normalize_phone(phone, user_region(user))
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc
    return issue_code(user, LoginCodePurpose.ENABLE, e164)


def request_phone_change(*, user: User, phone: str, password: str) -> LoginCode:
    """*Edit phone number* → a new number → *Get verification code* (to the new number).
    The current password is asked too: whoever holds an open session must not move the
    codes to their own phone."""
    if not user.two_factor_enabled:
        raise ValidationError(_("Two-factor authentication is off: turn it on first."))
    errors = {}
    e164 = None
    try:
        e164 = normalize_phone(phone, user_region(user))
    except ValidationError as exc:
        errors["phone"] = exc.messages
    if not user.check_password(password or ""):
        errors["password"] = _("The password is not correct.")
    if e164 is not None and "password" not in errors:
        try:
            current = validate_user_phone(user)
        except ValidationError:
            current = None
        if current == e164:
            errors["phone"] = _("This is already the number your codes go to: enter a new one.")
    if errors:
        raise ValidationError(errors)
    return issue_code(user, LoginCodePurpose.CHANGE_PHONE, e164)


def resend_setup(*, user: User) -> LoginCode:
    """*Resend code* on the Privacy and Security page: a new code to the same number."""
    row = pending_setup(user)
    if row is None:
        raise ValidationError(_("No code is waiting to be entered: enter the phone number again."))
    return issue_code(user, row.purpose, row.phone)


def cancel_setup(*, user: User) -> None:
    _void(LoginCode.objects.filter(user=user, purpose__in=SETUP_PURPOSES), LoginCodeVoid.CANCELED, timezone.now())


def confirm_setup(*, actor: Actor, user: User, code: str) -> str:
    """The right code turns 2FA on with the number it was sent to, or moves 2FA to the new
    number. Returns the purpose done. ``ValidationError`` on the ``code`` field otherwise."""
    code = clean_code(code)
    now = timezone.now()
    if pending_setup(user, now) is None:
        raise ValidationError({"code": _("No code is waiting to be entered: enter the phone number again.")})
    with transaction.atomic():
        check = _check_code(user, SETUP_PURPOSES, code, now)
        if check.error is None:
            before = audit.snapshot(user)
            user.phone = check.row.phone
            user.two_factor_enabled = True
            user.save(update_fields=["phone", "two_factor_enabled", "updated_at"])
            action = ("Turned on two-factor authentication" if check.row.purpose == LoginCodePurpose.ENABLE
                      else "Changed two-factor phone number")
            audit.record(actor, action, [audit.updated(user, before)], company=user.company)
    if check.error:
        raise ValidationError({"code": check.error})
    return check.row.purpose


def disable(*, actor: Actor, user: User, password: str) -> None:
    """*Disable* (confirmed with the current password). The phone number stays as the
    user's contact phone."""
    if not user.two_factor_enabled:
        raise ValidationError(_("Two-factor authentication is already off."))
    if not user.check_password(password or ""):
        raise ValidationError({"password": _("The password is not correct.")})
    with transaction.atomic():
        before = audit.snapshot(user)
        user.two_factor_enabled = False
        user.save(update_fields=["two_factor_enabled", "updated_at"])
        _void(LoginCode.objects.filter(user=user), LoginCodeVoid.DISABLED, timezone.now())
        audit.record(actor, "Turned off two-factor authentication", [audit.updated(user, before)],
                     company=user.company)


# --- signing in ---------------------------------------------------------------------------------

def login_phone(user: User) -> str:
    """The number sign-in codes go to, or ``ValidationError`` with a message for the login page."""
    try:
        return validate_user_phone(user)
    except ValidationError as exc:
        raise ValidationError(_("Two-factor authentication is on for your account, but its phone number "
                                "cannot receive codes (%(why)s). Contact your administrator.")
                              % {"why": " ".join(exc.messages).rstrip(".")}) from exc


def live_login_code(user: User, now=None) -> LoginCode | None:
    now = now or timezone.now()
    row = LoginCode.objects.filter(user=user, purpose=LoginCodePurpose.LOGIN).order_by("-created_at", "-id").first()
    return row if row is not None and row.is_live(now) else None


@dataclass
class Challenge:
    phone: str          # E.164
    sent: bool          # False: a code sent moments ago is still valid (no new SMS)

    @property
    def masked(self) -> str:
        return mask_phone(self.phone)


def start_login(*, user: User) -> Challenge:
    """After the right password of a user with 2FA: send a sign-in code. When a code was
    sent less than 30 seconds ago and is still valid, that code is used again (the user
    pressed *Back* and signed in again). ``ValidationError`` when no code can be sent."""
    phone = login_phone(user)
    try:
        issue_code(user, LoginCodePurpose.LOGIN, phone)
    except ValidationError as exc:
        current = live_login_code(user)
        if getattr(exc, "code", None) in ("too_soon", "hourly_limit") and current is not None \
                and current.phone == phone:
            return Challenge(phone, sent=False)
        raise
    return Challenge(phone, sent=True)


def resend_login(*, user: User) -> Challenge:
    """*Resend code* on the sign-in code step."""
    phone = login_phone(user)
    issue_code(user, LoginCodePurpose.LOGIN, phone)
    return Challenge(phone, sent=True)


@dataclass
class LoginCodeResult:
    user: User | None
    error: str | None = None
    restart: bool = False   # the sign-in must start again from the password


def pending_login_user(user_id, auth_hash: str) -> User | None:
    """The user a pending sign-in belongs to; ``None`` when the account is gone or its
    password changed since the password step."""
    user = User.objects.select_related("company").filter(pk=user_id).first()
    if user is None or not constant_time_compare(user.get_session_auth_hash(), auth_hash or ""):
        return None
    return user


def verify_login(*, user: User, code: str, ip: str | None) -> LoginCodeResult:
    """The second step of signing in. Every lock of the password step applies again (the
    address, the account lockout, a disabled or inactive account); a wrong code counts as a
    failed sign-in (``services.register_failed_login``)."""
    now = timezone.now()
    if services.ip_blocked(ip):
        return LoginCodeResult(None, services.ip_blocked_message())
    if user.is_temporarily_locked(now):
        return LoginCodeResult(None, services.locked_message(user), restart=True)
    refused = services.access_refused(user, now)
    if refused:
        return LoginCodeResult(None, refused, restart=True)
    if not user.two_factor_enabled:  # turned off meanwhile (by an admin): the password was enough
        services.clear_failed_logins(user)
        return LoginCodeResult(user)
    try:
        code = clean_code(code)
    except ValidationError as exc:
        return LoginCodeResult(None, " ".join(exc.messages))
    with transaction.atomic():
        check = _check_code(user, (LoginCodePurpose.LOGIN,), code, now)
        if check.counted:
            user.refresh_from_db(fields=["failed_login_count", "locked_until"])
            services.register_failed_login(user, ip, now)
    if check.error is None:
        services.clear_failed_logins(user)
        return LoginCodeResult(user)
    if user.is_temporarily_locked(now):
        return LoginCodeResult(None, services.locked_message(user), restart=True)
    return LoginCodeResult(None, check.error)


def pending_expired(started_at: float, now: float) -> bool:
    return now - started_at > PENDING_LOGIN_TTL.total_seconds()

