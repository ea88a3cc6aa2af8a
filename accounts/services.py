"""Every write and business rule about companies, people and access.

Views, forms, API views and tasks call these functions; none of them holds a rule of
its own. Each write records the audit log (spec §13).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import Actor
from portal.permissions import SYSTEM_ROLES, validate_codes

from .models import ApiAccess, ApiScope, Company, Department, PasswordHistory, Role, TablePreference, User

PASSWORD_HISTORY_KEEP = 7
DELETE_ACCOUNT_CONFIRMATION = "delete-account"


# --- companies, departments, roles -------------------------------------------------------

def ensure_system_roles() -> None:
    """Create the four read-only system roles if they are missing (idempotent)."""
    for code, (name, description, _perms) in SYSTEM_ROLES.items():
        Role.objects.update_or_create(
            company=None, system_code=code,
            defaults={"name": str(name), "description": str(description), "permissions": []},
        )


@transaction.atomic
def create_company(*, name: str, actor: Actor | None = None, **fields) -> Company:
    company = Company(name=name, **fields)
    company.full_clean()
    company.save()
    departments = [Department.objects.create(company=company, name=n) for n in Department.DEFAULTS]
    from contacts.services import create_default_attributes

    create_default_attributes(company)
    audit.record(actor or Actor.system(), "Added new company",
                 [audit.created(company), *[audit.created(d) for d in departments]], company=company)
    return company


def _require_admin(actor: Actor, what: str) -> None:
    if actor.user is None or not actor.user.is_company_admin:
        raise PermissionDenied(_("Only an Admin user can %(what)s.") % {"what": what})


@transaction.atomic
def create_department(*, actor: Actor, company: Company, name: str) -> Department:
    """New departments are created by Admin users only (spec rule 33), or through the API by a
    key of the same company holding the ``crm`` scope (keys are created by company admins)."""
    if actor.api_access is not None:
        if actor.api_access.company_id != company.pk or ApiScope.CRM not in actor.api_access.scopes:
            raise PermissionDenied(_("This API key may not create departments."))
    else:
        _require_admin(actor, _("create departments"))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a department name.")})
    if Department.objects.for_company(company).filter(name__iexact=name).exists():
        raise ValidationError({"name": _("A department named “%(name)s” already exists.") % {"name": name}})
    department = Department.objects.create(company=company, name=name)
    audit.record(actor, "Added new department", [audit.created(department)], company=company)
    return department


def _check_role_fields(company: Company, name: str, permissions, instance: Role | None = None) -> list[str]:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Enter a role name.")
    elif len(name) > 40:
        errors["name"] = _("The name can have at most 40 characters (it has %(n)d).") % {"n": len(name)}
    else:
        clash = Role.objects.available_to(company).filter(name__iexact=name)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["name"] = _("A role named “%(name)s” already exists.") % {"name": name}
    try:
        codes = validate_codes(permissions or [])
    except ValueError as exc:
        errors["permissions"] = str(exc)
        codes = []
    if not codes and "permissions" not in errors:
        errors["permissions"] = _("Select at least one permission.")
    if errors:
        raise ValidationError(errors)
    return codes


@transaction.atomic
def create_role(*, actor: Actor, company: Company, name: str, description: str = "", permissions=()) -> Role:
    codes = _check_role_fields(company, name, permissions)
    role = Role.objects.create(company=company, name=name.strip(), description=description or "",
                               permissions=codes)
    audit.record(actor, "Added new role", [audit.created(role)], company=company)
    return role


def _editable_role(role: Role) -> None:
    if role.is_system:
        raise PermissionDenied(_("System roles are not editable."))


@transaction.atomic
def update_role(*, actor: Actor, role: Role, name: str, description: str = "", permissions=()) -> Role:
    _editable_role(role)
    codes = _check_role_fields(role.company, name, permissions, instance=role)
    before = audit.snapshot(role)
    role.name, role.description, role.permissions = name.strip(), description or "", codes
    role.save()
    audit.record(actor, "Changed role", [audit.updated(role, before)], company=role.company)
    return role


@transaction.atomic
def delete_role(*, actor: Actor, role: Role) -> None:
    _editable_role(role)
    change = audit.deleted(role)
    company = role.company
    role.delete()
    audit.record(actor, "Deleted role", [change], company=company)


# --- passwords -----------------------------------------------------------------------------

def _store_password(user: User, raw_password: str, *, must_change: bool) -> None:
    user.set_password(raw_password)
    user.password_changed_at = timezone.now()
    user.must_change_password = must_change
    user.save(update_fields=["password", "password_changed_at", "must_change_password", "updated_at"])
    PasswordHistory.objects.create(user=user, password=user.password)
    stale = user.password_history.values_list("pk", flat=True)[PASSWORD_HISTORY_KEEP:]
    PasswordHistory.objects.filter(pk__in=list(stale)).delete()


def _password_audit_state(user: User) -> dict:
    """What the audit log shows of a password change: never the hash, only that it changed
    (the audit log drops an update whose old and new values are equal)."""
    return {"password": "***", "password_changed_at": user.password_changed_at.isoformat()
            if user.password_changed_at else None, "must_change_password": user.must_change_password}


def validate_new_password(user: User | None, raw_password: str) -> None:
    password_validation.validate_password(raw_password, user)


def next_password_change_at(user: User, now=None):
    """When a user who may not change their own password yet (the 24-hour rule) may do so
    again; ``None`` when they may change it now. Admins and a forced change (first login
    or expiry) are exempt."""
    if user.must_change_password or user.password_expired(now) or user.is_company_admin:
        return None
    if user.password_changed_at is None:
        return None
    next_allowed = user.password_changed_at + settings.HERALD_PASSWORD_MIN_AGE
    return next_allowed if (now or timezone.now()) < next_allowed else None


@transaction.atomic
def change_own_password(*, actor: Actor, user: User, current_password: str, new_password: str) -> None:
    """A user changes their own password: the current password must be right, the policy
    applies, and a non-admin may not change it again within 24 hours (unless the change
    is forced: first login or expiry)."""
    if not user.check_password(current_password):
        raise ValidationError({"current_password": _("The current password is not correct.")})
    next_allowed = next_password_change_at(user)
    if next_allowed is not None:
        raise ValidationError({"new_password": _(
            "You changed your password less than 24 hours ago. You can change it again after "
            "%(when)s (UTC).") % {"when": next_allowed.strftime("%d.%m.%Y %H:%M")}})
    if new_password == current_password:
        raise ValidationError({"new_password": _("The new password must differ from the current one.")})
    try:
        validate_new_password(user, new_password)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    before = _password_audit_state(user)
    _store_password(user, new_password, must_change=False)
    audit.record(actor, "Changed own password",
                 [audit.Change(user._meta.db_table, "Update", str(user.pk), before, _password_audit_state(user))],
                 company=user.company)


@transaction.atomic
def reset_password(*, user: User, new_password: str, ip: str | None = None) -> None:
    """The *Forgot password?* link: the e-mailed token proves the user; the policy applies."""
    try:
        validate_new_password(user, new_password)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    before = _password_audit_state(user)
    _store_password(user, new_password, must_change=False)
    user.failed_login_count = 0
    user.locked_until = None
    user.save(update_fields=["failed_login_count", "locked_until"])
    audit.record(Actor(user=user, ip=ip, company=user.company), "Reset password by e-mail link",
                 [audit.Change(user._meta.db_table, "Update", str(user.pk), before, _password_audit_state(user))],
                 company=user.company)


def count_in_window(key: str, seconds: int) -> int:
    """Count an event in a fixed window that starts with its first occurrence (cache TTL)."""
    if cache.add(key, 1, seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, seconds)
        return 1


def password_reset_allowed(email: str) -> bool:
    """At most three reset requests per address in five minutes (API seed §1.4)."""
    key = "pwreset:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
    count = count_in_window(key, settings.HERALD_PASSWORD_RESET_WINDOW)
    return count <= settings.HERALD_PASSWORD_RESET_LIMIT


# --- users ---------------------------------------------------------------------------------

USER_FIELDS = ("first_name", "middle_name", "last_name", "department", "language", "login", "email",
               "phone", "two_factor_enabled", "is_active", "unrestricted")


def _check_two_factor_phone(company: Company | None, user: User) -> None:
    """A user with *Two Factor Authentication* gets sign-in codes on the contact phone: it
    must be a number that can receive them."""
    if not user.two_factor_enabled:
        return
    from accounts.twofactor import normalize_phone

    if not (user.phone or "").strip():
        raise ValidationError({"phone": _("Enter the contact phone: with Two Factor Authentication on, "
                                          "sign-in codes are sent to it by SMS.")})
    try:
        normalize_phone(user.phone, company.default_region if company else "")
    except ValidationError as exc:
        raise ValidationError({"phone": _("Sign-in codes are sent to this number by SMS: %(why)s") % {
            "why": " ".join(exc.messages)}}) from exc


def _check_user_access(company: Company, department, roles) -> None:
    if department is not None and department.company_id != company.pk:
        raise ValidationError({"department": _("Choose a department of your company.")})
    for role in roles:
        if role.company_id not in (None, company.pk):
            raise ValidationError({"roles": _("Choose roles of your company.")})


@transaction.atomic
def create_user(*, actor: Actor, company: Company, password: str, roles=(), **fields) -> User:
    """Create a user of ``company``. The password is a default password: the user must
    change it at first login (spec §19.5)."""
    roles = list(roles)
    _check_user_access(company, fields.get("department"), roles)
    if not fields.get("unrestricted") and not roles:
        raise ValidationError({"roles": _("Choose at least one role, or give the user No restrictions.")})
    user = User(company=company, **{k: v for k, v in fields.items() if k in USER_FIELDS})
    user.full_clean(exclude=["password"])
    _check_two_factor_phone(company, user)
    try:
        validate_new_password(None, password)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    user.roles.set(roles)
    PasswordHistory.objects.create(user=user, password=user.password)
    user.password_changed_at = timezone.now()
    user.must_change_password = True
    user.save(update_fields=["password_changed_at", "must_change_password"])
    audit.record(actor, "Added new user", [audit.created(user)], company=company)
    return user


@transaction.atomic
def update_user(*, actor: Actor, user: User, password: str | None = None, roles=None, **fields) -> User:
    """Edit a user from the Users page. A password typed here is set by an admin, so the
    user must change it at next login; blank keeps the current one."""
    before = audit.snapshot(user)
    for key, value in fields.items():
        if key in USER_FIELDS:
            setattr(user, key, value)
    roles = list(roles) if roles is not None else list(user.roles.all())
    _check_user_access(user.company, user.department, roles)
    if not user.unrestricted and not roles:
        raise ValidationError({"roles": _("Choose at least one role, or give the user No restrictions.")})
    if actor.user is not None and actor.user.pk == user.pk and (not user.is_active):
        raise ValidationError({"is_active": _("You cannot disable your own account.")})
    user.full_clean(exclude=["password"])
    _check_two_factor_phone(user.company, user)
    user.save()
    user.roles.set(roles)
    if password:
        try:
            validate_new_password(user, password)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        _store_password(user, password, must_change=actor.user is None or actor.user.pk != user.pk)
    if user.is_active and user.blocked_for_inactivity and fields.get("is_active"):
        user.blocked_for_inactivity = False
        user.save(update_fields=["blocked_for_inactivity"])
    user._permission_codes = None
    audit.record(actor, "Changed user", [audit.updated(user, before)], company=user.company)
    return user


@transaction.atomic
def delete_user(*, actor: Actor, user: User) -> None:
    if actor.user is not None and actor.user.pk == user.pk:
        raise PermissionDenied(_("Use Account settings → Delete account to delete your own account."))
    change = audit.deleted(user)
    company = user.company
    user.delete()
    audit.record(actor, "Deleted user", [change], company=company)


PROFILE_FIELDS = ("first_name", "middle_name", "last_name", "email", "phone")


@transaction.atomic
def update_profile(*, actor: Actor, user: User, **fields) -> User:
    """Account settings: a user edits their own name, e-mail and phone (login, role,
    company and department stay read-only)."""
    before = audit.snapshot(user)
    if user.two_factor_enabled and "phone" in fields and not _same_phone(user, fields["phone"]):
        raise ValidationError({"phone": _("This number receives your sign-in codes. Change it in Privacy and "
                                          "Security → Two-factor authentication, where the new number is "
                                          "confirmed with a code.")})
    for key, value in fields.items():
        if key in PROFILE_FIELDS:
            setattr(user, key, value)
    user.full_clean(exclude=["password"])
    user.save()
    audit.record(actor, "Changed own profile", [audit.updated(user, before)], company=user.company)
    return user


def _same_phone(user: User, raw) -> bool:
    """Whether ``raw`` is the user's phone number, however it is written."""
    from contacts.phones import try_normalize

    region = user.company.default_region if user.company_id else ""
    current, _err = try_normalize(user.phone, region)
    new, _err = try_normalize(raw, region)
    if current is None or new is None:
        return (raw or "").strip() == (user.phone or "").strip()
    return current.e164 == new.e164


def set_avatar(*, actor: Actor, user: User, upload) -> User:
    before = audit.snapshot(user)
    if upload is None:
        user.avatar.delete(save=False)
        user.avatar = ""
    else:
        if user.avatar:
            user.avatar.delete(save=False)  # do not leave the replaced picture behind
        user.avatar.save(f"{user.pk}-{secrets.token_hex(4)}.png", upload, save=False)
    user.save(update_fields=["avatar", "updated_at"])
    audit.record(actor, "Changed own avatar", [audit.updated(user, before)], company=user.company)
    return user


def set_preferences(*, user: User, theme: str | None = None, language: str | None = None) -> User:
    changed = []
    if theme is not None:
        user.theme = theme
        changed.append("theme")
    if language is not None:
        user.language = language
        changed.append("language")
    user.full_clean(exclude=["password"])
    user.save(update_fields=[*changed, "updated_at"])
    return user


@transaction.atomic
def delete_own_account(*, actor: Actor, user: User, password: str, confirmation: str) -> None:
    """*Delete account*: the current password and the typed word ``delete-account``."""
    if not user.check_password(password):
        raise ValidationError({"password": _("The password is not correct.")})
    if confirmation.strip() != DELETE_ACCOUNT_CONFIRMATION:
        raise ValidationError({"confirmation": _("Type delete-account to confirm.")})
    if user.company and user.is_company_admin:
        others = User.objects.filter(company=user.company, is_active=True).exclude(pk=user.pk)
        if not any(u.is_company_admin for u in others.prefetch_related("roles")):
            raise ValidationError({"password": _(
                "You are the last active Admin of your company: give another user No restrictions first.")})
    change = audit.deleted(user)
    company = user.company
    user.delete()
    audit.record(Actor(ip=actor.ip, company=company), f"Deleted own account ({user.login})", [change],
                 company=company)


def save_table_columns(*, user: User, table: str, columns: list[str]) -> None:
    TablePreference.objects.update_or_create(user=user, table=table, defaults={"columns": list(columns)})


# --- login security (spec §19.6, lockouts) ------------------------------------------------

@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


def _ip_key(ip):
    return f"loginfail:ip:{ip}"


def ip_blocked(ip: str | None) -> bool:
    """Too many failed sign-in attempts (passwords or 2FA codes) from this address."""
    return bool(ip) and (cache.get(_ip_key(ip)) or 0) >= settings.HERALD_LOGIN_IP_LIMIT


def ip_blocked_message() -> str:
    return _("Too many failed sign-in attempts from your address. Try again in a few minutes.")


def locked_message(user: User) -> str:
    return _("The account is locked after repeated failed sign-in attempts. Try again after %(when)s (UTC).") % {
        "when": user.locked_until.strftime("%H:%M")}


def access_refused(user: User, now=None) -> str | None:
    """Why a user whose credentials are right may still not sign in: a disabled account or
    company, or the 30-day inactivity block (admins exempt). ``None`` when nothing stops it."""
    if not user.is_active or (user.company is not None and not user.company.is_active):
        return _("This account is disabled. Contact your administrator.")
    if block_if_inactive(user, now):
        return _("This account was blocked after 30 days without access. "
                 "Contact your platform administrator to unblock it.")
    return None


def register_failed_login(user: User | None, ip: str | None, now=None) -> None:
    """A wrong password or a wrong sign-in code: count it for the address and the account;
    the fifth failure in a row locks the account for 15 minutes (audited)."""
    now = now or timezone.now()
    if ip:
        count_in_window(_ip_key(ip), settings.HERALD_LOGIN_IP_WINDOW)
    if user is None:
        return
    user.failed_login_count += 1
    fields = ["failed_login_count"]
    if user.failed_login_count >= settings.HERALD_LOGIN_MAX_FAILURES:
        user.locked_until = now + timezone.timedelta(minutes=settings.HERALD_LOGIN_LOCK_MINUTES)
        user.failed_login_count = 0
        fields.append("locked_until")
        audit.record(Actor(ip=ip, company=user.company), f"Locked account {user.login} after failed sign-ins",
                     [audit.Change(user._meta.db_table, "Update", str(user.pk), None,
                                   {"locked_until": user.locked_until.isoformat()})], company=user.company)
    user.save(update_fields=fields)


def clear_failed_logins(user: User) -> None:
    user.failed_login_count = 0
    user.locked_until = None
    user.save(update_fields=["failed_login_count", "locked_until"])


def authenticate_login(*, login: str, password: str, ip: str | None) -> LoginResult:
    """Check a login attempt against credentials and every lock: too many failures from
    this IP, a temporarily locked account, a disabled account, or one blocked after 30
    days without access (admins exempt).

    For a user with two-factor authentication the password is only the first step: the
    failure counter is cleared when the sign-in code is right too (``accounts.twofactor``),
    so wrong codes after a right password keep counting towards the lockout."""
    generic = _("Wrong login or password.")
    if ip_blocked(ip):
        return LoginResult(None, ip_blocked_message())
    user = User.objects.select_related("company").filter(login__iexact=login.strip()).first()
    now = timezone.now()
    if user is None:
        user_password_ok = False
        User().set_password(password)  # spend the same time as a real check
    else:
        if user.is_temporarily_locked(now):
            return LoginResult(None, locked_message(user))
        user_password_ok = user.check_password(password)
    if not user_password_ok:
        register_failed_login(user, ip, now)
        return LoginResult(None, generic)
    refused = access_refused(user, now)
    if refused:
        return LoginResult(None, refused)
    if not user.two_factor_enabled:
        clear_failed_logins(user)
    return LoginResult(user)


def block_if_inactive(user: User, now=None) -> bool:
    """Blocks (and returns True for) a non-admin user with no access for 30 days."""
    if user.blocked_for_inactivity:
        return True
    if user.is_company_admin or user.is_staff:
        return False
    now = now or timezone.now()
    last = user.last_login or user.created_at
    if last and now - last >= settings.HERALD_INACTIVITY_LOCK:
        user.blocked_for_inactivity = True
        user.save(update_fields=["blocked_for_inactivity"])
        audit.record(Actor.system(user.company), f"Blocked {user.login} after 30 days without access",
                     [audit.Change(user._meta.db_table, "Update", str(user.pk), {"blocked_for_inactivity": False},
                                   {"blocked_for_inactivity": True})], company=user.company)
        return True
    return False


def lock_inactive_accounts(now=None) -> int:
    """Periodic sweep: block every non-admin user idle for 30 days. Returns how many."""
    now = now or timezone.now()
    cutoff = now - settings.HERALD_INACTIVITY_LOCK
    candidates = (User.objects.filter(is_active=True, blocked_for_inactivity=False, is_staff=False,
                                      unrestricted=False, company__isnull=False)
                  .filter(last_login__lt=cutoff) | User.objects.filter(
                      is_active=True, blocked_for_inactivity=False, is_staff=False, unrestricted=False,
                      company__isnull=False, last_login__isnull=True, created_at__lt=cutoff))
    count = 0
    for user in candidates.prefetch_related("roles").select_related("company"):
        if block_if_inactive(user, now):
            count += 1
    return count


@transaction.atomic
def unblock_user(*, actor: Actor, user: User) -> None:
    """The system owner unblocks a user (BackOffice)."""
    before = audit.snapshot(user)
    user.blocked_for_inactivity = False
    user.locked_until = None
    user.failed_login_count = 0
    user.last_login = timezone.now()
    user.save(update_fields=["blocked_for_inactivity", "locked_until", "failed_login_count", "last_login"])
    audit.record(actor, "Unblocked user", [audit.updated(user, before)], company=user.company)


# --- API accesses (spec §14) -----------------------------------------------------------------

def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _new_key() -> tuple[str, str, str]:
    raw = secrets.token_hex(32)
    return raw, raw[:8], hash_api_key(raw)


def _clean_api_fields(company, name, scopes, allowed_senders, ip_allowlist, webhook_url):
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("Enter a name.")
    scopes = list(dict.fromkeys(s.strip().lower() for s in (scopes or []) if s.strip()))
    unknown = [s for s in scopes if s not in ApiScope.values]
    if unknown:
        errors["scopes"] = _("Unknown scope(s): %(s)s. Choose from %(all)s.") % {
            "s": ", ".join(unknown), "all": ", ".join(ApiScope.values)}
    elif not scopes:
        errors["scopes"] = _("Choose at least one scope.")
    nets = []
    for entry in ip_allowlist or []:
        entry = entry.strip()
        if not entry:
            continue
        try:
            nets.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            errors["ip_allowlist"] = _("“%(v)s” is not an IP address or network (e.g. 203.0.113.7 or "
                                       "203.0.113.0/24).") % {"v": entry}
    senders = list(dict.fromkeys(s.strip() for s in (allowed_senders or []) if s.strip()))
    if webhook_url:
        from webhooks.services import validate_url

        try:
            validate_url(webhook_url)
        except ValidationError as exc:
            errors["webhook_url"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)
    return name.strip(), scopes, senders, nets


@transaction.atomic
def create_api_access(*, actor: Actor, company: Company, name: str, scopes, webhook_url: str = "",
                      allowed_senders=(), ip_allowlist=()) -> tuple[ApiAccess, str]:
    """Returns the new access and its key, which is never stored and never shown again."""
    name, scopes, senders, nets = _clean_api_fields(company, name, scopes, allowed_senders, ip_allowlist,
                                                    webhook_url)
    raw, prefix, digest = _new_key()
    access = ApiAccess.objects.create(company=company, name=name, webhook_url=webhook_url or "", scopes=scopes,
                                      allowed_senders=senders, ip_allowlist=nets, key_prefix=prefix,
                                      key_hash=digest, created_by=actor.user)
    audit.record(actor, "Added new API access", [audit.created(access)], company=company)
    return access, raw


@transaction.atomic
def update_api_access(*, actor: Actor, access: ApiAccess, name: str, scopes, webhook_url: str = "",
                      allowed_senders=(), ip_allowlist=()) -> ApiAccess:
    name, scopes, senders, nets = _clean_api_fields(access.company, name, scopes, allowed_senders, ip_allowlist,
                                                    webhook_url)
    before = audit.snapshot(access)
    access.name, access.scopes, access.allowed_senders, access.ip_allowlist = name, scopes, senders, nets
    access.webhook_url = webhook_url or ""
    access.save()
    audit.record(actor, "Changed API access", [audit.updated(access, before)], company=access.company)
    return access


@transaction.atomic
def regenerate_api_key(*, actor: Actor, access: ApiAccess) -> str:
    before = audit.snapshot(access)
    raw, access.key_prefix, access.key_hash = _new_key()
    access.save(update_fields=["key_prefix", "key_hash", "updated_at"])
    audit.record(actor, "Regenerated API key", [audit.updated(access, before)], company=access.company)
    return raw


@transaction.atomic
def delete_api_access(*, actor: Actor, access: ApiAccess) -> None:
    change = audit.deleted(access)
    company = access.company
    access.delete()
    audit.record(actor, "Deleted API access", [change], company=company)


def find_api_access(raw_key: str) -> ApiAccess | None:
    if not raw_key or len(raw_key) > 200:
        return None
    return (ApiAccess.objects.select_related("company").filter(key_hash=hash_api_key(raw_key.strip()))
            .first())


def ip_allowed(access: ApiAccess, ip: str | None) -> bool:
    if not access.ip_allowlist:
        return True
    if not ip:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(net, strict=False) for net in access.ip_allowlist)


def touch_api_access(access: ApiAccess) -> None:
    """Record use at most once a minute (no write per request)."""
    now = timezone.now()
    if access.last_used_at is None or (now - access.last_used_at).total_seconds() > 60:
        ApiAccess.objects.filter(pk=access.pk).update(last_used_at=now)
        access.last_used_at = now
