"""People and access: companies (tenants), users, departments, roles, password history
and API accesses. Writes go through ``accounts.services``; reads through
``accounts.selectors``."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.permissions import ALL_CODES, SYSTEM_ROLES
from portal.tenancy import TenantManager, TenantModel, TenantQuerySet

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Español"


class Theme(models.TextChoices):
    LIGHT = "light", _("Light theme")
    DARK = "dark", _("Dark theme")
    SYSTEM = "system", _("System settings")


class Company(models.Model):
    """A client of the platform (a tenant). ``parent`` is its upper-level reseller."""

    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="children", verbose_name=_("parent company"))
    time_zone = models.CharField(_("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    currency = models.CharField(_("default currency"), max_length=3, default="EUR",
                                validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as EUR."))])
    moderation = models.BooleanField(_("moderation"), default=False,
                                     help_text=_("Broadcasts are sent to moderation before launch."))
    default_region = models.CharField(_("default phone region"), max_length=2, default="ES",
                                      help_text=_("ISO country code for numbers written without +."))
    password_max_age_days = models.PositiveIntegerField(_("password validity (days)"), default=60)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Department(TenantModel):
    """Departments restrict which conversations a user sees (spec §12.2)."""

    ADMIN = "Admin"
    FIRST_LINE = "First line support"
    DEFAULTS = (ADMIN, FIRST_LINE)

    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("company", models.functions.Lower("name"),
                                               name="department_name_unique_per_company")]

    def __str__(self):
        return self.name


class RoleQuerySet(TenantQuerySet):
    def available_to(self, company):
        """The system roles plus the company's own custom roles."""
        if company is None:
            raise ValueError("Role: a company is required")
        return self.filter(models.Q(company__isnull=True) | models.Q(company=company))


class Role(models.Model):
    """A named set of permission codes. System roles have no company and cannot be
    edited or deleted; custom roles belong to one company."""

    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="roles")
    system_code = models.CharField(max_length=40, blank=True, default="", db_index=True)
    name = models.CharField(_("name"), max_length=40, validators=[MaxLengthValidator(40)])
    description = models.TextField(_("description"), blank=True, default="")
    permissions = models.JSONField(_("permissions"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = models.Manager.from_queryset(RoleQuerySet)()

    class Meta:
        ordering = ["company_id", "name"]
        constraints = [
            models.UniqueConstraint("company", models.functions.Lower("name"), name="role_name_unique_per_company"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_system(self) -> bool:
        return self.company_id is None

    @property
    def permission_set(self) -> frozenset[str]:
        if self.system_code:
            # System roles always follow the current catalogue.
            return frozenset(SYSTEM_ROLES[self.system_code][2]) & ALL_CODES
        return frozenset(self.permissions) & ALL_CODES


    @property
    def permission_labels(self) -> list[str]:
        from portal.permissions import BY_CODE

        return [str(BY_CODE[c].label) for c in sorted(self.permission_set)]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, login, password=None, **extra):
        user = self.model(login=login, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, login, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("unrestricted", True)
        extra.setdefault("first_name", "System")
        extra.setdefault("last_name", "Owner")
        # The system owner chose this password at the command line: no forced change.
        extra.setdefault("must_change_password", False)
        extra.setdefault("password_changed_at", timezone.now())
        return self.create_user(login, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A portal user. ``company`` is empty only for the system owner's BackOffice staff."""

    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="users")
    login = models.CharField(_("login"), max_length=150, unique=True,
                             validators=[RegexValidator(r"^[\w.@+-]+$", _("Letters, digits and @/./+/-/_ only."))])
    first_name = models.CharField(_("first name"), max_length=150)
    middle_name = models.CharField(_("middle name"), max_length=150, blank=True, default="")
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("contact phone"), max_length=32, blank=True, default="")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="users", verbose_name=_("department"))
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.ENGLISH)
    theme = models.CharField(_("theme"), max_length=10, choices=Theme.choices, default=Theme.SYSTEM)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True)
    two_factor_enabled = models.BooleanField(_("two factor authentication"), default=False)
    is_active = models.BooleanField(_("enabled"), default=True)
    is_staff = models.BooleanField(_("BackOffice access"), default=False)
    unrestricted = models.BooleanField(_("no restrictions"), default=False,
                                       help_text=_("Unrestricted access to all objects and actions (Admin)."))
    roles = models.ManyToManyField(Role, blank=True, related_name="users", verbose_name=_("roles"))

    # Password policy state (spec §19)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    must_change_password = models.BooleanField(default=True)
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    blocked_for_inactivity = models.BooleanField(_("blocked for inactivity"), default=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "login"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["company", "last_name"])]

    def __str__(self):
        return self.login

    # -- names ---------------------------------------------------------------------------
    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.first_name

    @property
    def initials(self) -> str:
        return ((self.first_name[:1] + self.last_name[:1]) or self.login[:2]).upper()

    # -- access --------------------------------------------------------------------------
    @property
    def is_company_admin(self) -> bool:
        """Admins: *No restrictions* or the system *Admin* role. They are exempt from the
        24-hour rule and from the inactivity lock (spec §19)."""
        if self.is_superuser or self.unrestricted:
            return True
        return any(r.system_code == "admin" for r in self.roles.all())

    def permission_codes(self) -> frozenset[str]:
        cached = getattr(self, "_permission_codes", None)
        if cached is not None:
            return cached
        if not self.is_active:
            codes = frozenset()
        elif self.is_superuser or self.unrestricted:
            codes = ALL_CODES
        else:
            codes = frozenset().union(*(r.permission_set for r in self.roles.all()))
        self._permission_codes = codes
        return codes

    def has_permission(self, code: str) -> bool:
        return code in self.permission_codes()

    def password_expires_at(self):
        if self.password_changed_at is None or self.company is None:
            return None
        return self.password_changed_at + timedelta(days=self.company.password_max_age_days)

    def password_expired(self, now=None) -> bool:
        expires = self.password_expires_at()
        return expires is not None and (now or timezone.now()) >= expires

    def is_temporarily_locked(self, now=None) -> bool:
        return self.locked_until is not None and (now or timezone.now()) < self.locked_until


class PasswordHistory(models.Model):
    """The hashes of a user's previous passwords (no reuse of the last 7)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=256)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]


class TablePreference(models.Model):
    """The columns a user chose to show in one data table."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="table_preferences")
    table = models.CharField(max_length=100)
    columns = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "table"], name="table_preference_unique")]


class ApiScope(models.TextChoices):
    RECIPIENTS = "recipients", "recipients"
    BROADCAST = "broadcast", "broadcast"
    CRM = "crm", "crm"
    OMNI_API = "omni-api", "omni-api"
    DIDS = "dids", "dids"


class ApiAccess(TenantModel):
    """An API key of a company (spec §14). Only a SHA-256 hash of the key is stored; the
    key itself is shown once, when it is created or regenerated."""

    name = models.CharField(_("name"), max_length=100)
    webhook_url = models.URLField(_("webhook"), blank=True, default="", max_length=500)
    scopes = models.JSONField(_("scopes"), default=list)
    allowed_senders = models.JSONField(_("senders"), default=list, blank=True,
                                       help_text=_("Sender IDs this key may send from; empty = all."))
    ip_allowlist = models.JSONField(_("IP allow-list"), default=list, blank=True)
    key_prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("API access")
        verbose_name_plural = _("API accesses")

    def __str__(self):
        return self.name

    @property
    def masked_key(self) -> str:
        return f"{self.key_prefix}…"


class LoginCodePurpose(models.TextChoices):
    LOGIN = "login", _("Sign-in")
    ENABLE = "enable", _("Turn on two-factor authentication")
    CHANGE_PHONE = "change_phone", _("Change the two-factor phone number")


class LoginCodeVoid(models.TextChoices):
    """Why a code can no longer be used (besides being used or expired)."""
    SUPERSEDED = "superseded", _("A newer code was sent")
    ATTEMPTS = "attempts", _("Too many wrong tries")
    NOT_SENT = "not_sent", _("The SMS could not be sent")
    CANCELED = "canceled", _("Canceled by the user")
    DISABLED = "disabled", _("Two-factor authentication was turned off")


class LoginCode(models.Model):
    """A one-time code sent by SMS for two-factor authentication (spec §16.2): to sign in,
    to turn 2FA on, or to move it to a new phone number. The rules are in
    ``accounts.twofactor``.

    The code itself is never stored: ``code_hash`` is an HMAC of it (keyed with the
    project secret, a per-code salt, the user, the purpose and the phone), so a copy of the
    table does not reveal live codes."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_codes")
    purpose = models.CharField(max_length=12, choices=LoginCodePurpose.choices)
    phone = models.CharField(max_length=32, help_text=_("The E.164 number the code was sent to."))
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    message_id = models.UUIDField(null=True, blank=True, help_text=_("The SMS (messaging.Message) that carried it."))
    attempts = models.PositiveSmallIntegerField(default=0, help_text=_("Wrong codes entered."))
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=12, choices=LoginCodeVoid.choices, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose", "-created_at"], name="login_code_user_recent")]

    def __str__(self):
        return f"{self.get_purpose_display()} code for {self.user_id} ({self.created_at:%Y-%m-%d %H:%M})"

    def is_live(self, now=None) -> bool:
        return self.used_at is None and self.voided_at is None and (now or timezone.now()) < self.expires_at
