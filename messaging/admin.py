"""The BackOffice (Django admin) of the messaging engine: sender IDs and gateways.

* **Sender IDs** of every company and channel: the system owner registers the channels the
  portal does not take requests for (Viber, WhatsApp, …), moves requests through their
  statuses and sets the identifier the operator assigned. Writes go through
  ``messaging.services.senders`` (rules and audit log).
* **Gateways** (seed note 002): conditions (name, channel, provider, company or any, two
  routing filters), authentication & configuration (credentials, extra parameters, TPS, the
  callback URL to give the provider) and the default "From". Credentials are encrypted at
  rest and are **never shown back**: the form lists the stored keys with masked values; a
  blank field keeps them, a JSON object replaces them. The *Check connection* action asks
  each selected gateway's driver to reach its provider.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from messaging import providers
from messaging.models import Gateway, RouteField, SenderId, SenderIdStatus
from messaging.services import senders as sender_services
from portal import audit
from portal.audit import Actor

MASK = "••••••"


# --- sender IDs -------------------------------------------------------------------------------------

class SenderIdAdminForm(forms.ModelForm):
    class Meta:
        model = SenderId
        fields = ("company", "channel", "name", "sender_id", "status", "description", "agreement", "sample_message",
                  "registration", "logo", "background", "has_chatbot")

    def _image(self, rule):
        upload = self.cleaned_data.get(rule.field)
        if isinstance(upload, UploadedFile):  # a new file: the same rules as the portal's form
            sender_services.check_image(upload, rule)
        return upload

    def clean_logo(self):
        return self._image(sender_services.LOGO)

    def clean_background(self):
        return self._image(sender_services.BACKGROUND)

    def clean_registration(self):
        value = self.cleaned_data.get("registration")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValidationError(_("The registration details must be a JSON object."))
        return value

    def clean(self):
        data = super().clean()
        if "status" in data:
            try:
                sender_services.check_active_identifier(data["status"], (data.get("sender_id") or "").strip())
            except ValidationError as exc:
                self.add_error("sender_id", exc.message_dict["sender_id"])
        return data


def _status_action(status: SenderIdStatus):
    def action(modeladmin, request, queryset):
        actor = Actor.from_request(request)
        done, refused = 0, []
        for sender in queryset:
            try:
                sender_services.set_status(actor=actor, sender=sender, status=status)
            except ValidationError as exc:
                refused.append(f"{sender.name}: {' '.join(exc.messages)}")
            else:
                done += 1
        if done:
            modeladmin.message_user(request, gettext("%(n)d sender ID(s) moved to %(status)s.")
                                    % {"n": done, "status": status.label}, messages.SUCCESS)
        for line in refused:
            modeladmin.message_user(request, line, messages.ERROR)

    action.__name__ = f"mark_{status.value}"
    action.short_description = _("Move the selected sender IDs to “%(status)s”") % {"status": status.label}
    return action


@admin.register(SenderId)
class SenderIdAdmin(admin.ModelAdmin):
    form = SenderIdAdminForm
    list_display = ("name", "sender_id", "company", "channel", "status", "agreement", "created_at")
    list_filter = ("channel", "status", "company")
    search_fields = ("name", "sender_id", "agreement", "company__name")
    list_select_related = ("company",)
    readonly_fields = ("created_by", "created_at", "updated_at")
    actions = [_status_action(s) for s in sender_services.BACKOFFICE_STATUSES]
    fieldsets = (
        (None, {"fields": ("company", "channel", "name", "sender_id", "status")}),
        (_("Request"), {"fields": ("description", "agreement", "sample_message", "has_chatbot")}),
        (_("RCS bot information"), {"fields": ("registration", "logo", "background")}),
        (_("History"), {"fields": ("created_by", "created_at", "updated_at")}),
    )

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(SenderId.objects.get(pk=obj.pk)) if change else None
        if not change:
            obj.created_by = request.user
        sender_services.backoffice_save(actor=Actor.from_request(request), sender=obj, before=before)


# --- gateways ----------------------------------------------------------------------------------------

class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders a value (the stored secret, or one typed into a form
    that came back with errors)."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, "", attrs)


def provider_choice_list() -> list[tuple[str, str]]:
    """``messaging.providers.provider_choices()``; a driver that cannot be imported is still
    listed by its key (the form then says why it cannot be used)."""
    try:
        return providers.provider_choices()
    except Exception:  # noqa: BLE001 - a broken driver must not take the BackOffice down
        choices = []
        for key in providers.REGISTRY:
            try:
                choices.append((key, providers.provider_class(key).name or key))
            except Exception:  # noqa: BLE001
                choices.append((key, key))
        return choices


def _split_values(raw: str) -> list[str]:
    values = []
    for part in str(raw or "").split(","):
        part = part.strip()
        if part and part not in values:
            values.append(part)
    return values


def masked(credentials: dict) -> str:
    """The stored credentials' keys with their values hidden."""
    return json.dumps({key: MASK for key in sorted(credentials or {})}, ensure_ascii=False)


class GatewayAdminForm(forms.ModelForm):
    provider = forms.ChoiceField(label=_("Provider"), choices=())
    credentials = forms.CharField(
        label=_("Credentials"), required=False,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false",
                                        "placeholder": '{"username": "…", "password": "…"}'}))
    filter1_values = forms.CharField(label=_("Filter 1 values"), required=False,
                                     help_text=_("Comma-separated, e.g. ES, PT (countries: ISO codes)."))
    filter2_values = forms.CharField(label=_("Filter 2 values"), required=False,
                                     help_text=_("Comma-separated."))

    class Meta:
        model = Gateway
        fields = ("name", "channel", "provider", "company", "filter1_field", "filter1_values", "filter2_field",
                  "filter2_values", "is_active", "credentials", "settings", "tps", "default_from")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = provider_choice_list()
        stored = self.instance.credentials if self.instance.pk else {}
        self.initial["credentials"] = ""  # never the stored value
        for n in (1, 2):
            self.initial[f"filter{n}_values"] = ", ".join(str(v) for v in getattr(self.instance, f"filter{n}_values")
                                                          or [])
        help_parts = []
        if stored:
            help_parts.append(gettext("Stored (values hidden): %(keys)s. Leave blank to keep them; a JSON object "
                                      "replaces them all.") % {"keys": masked(stored)})
        else:
            help_parts.append(gettext("None stored. A JSON object, e.g. {\"api_key\": \"…\"}."))
        help_parts.append(gettext("Encrypted at rest, never shown again."))
        keys = self._provider_keys()
        if keys:
            help_parts.append(gettext("Keys this provider reads: %(keys)s.") % {"keys": ", ".join(keys)})
        self.fields["credentials"].help_text = " ".join(help_parts)

    def _provider_keys(self) -> tuple[str, ...]:
        key = self.instance.provider if self.instance.pk else ""
        try:
            return providers.provider_class(key).credential_fields if key else ()
        except Exception:  # noqa: BLE001
            return ()

    def clean_credentials(self):
        raw = (self.cleaned_data.get("credentials") or "").strip()
        if not raw:  # blank keeps what is stored
            return self.instance.credentials if self.instance.pk else {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            # The position only: the text itself may hold a secret.
            raise ValidationError(_("The credentials are not valid JSON (line %(line)d, column %(col)d: %(msg)s). "
                                    "Paste them again.") % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg})
        if not isinstance(value, dict):
            raise ValidationError(_("The credentials must be a JSON object, e.g. {\"api_key\": \"…\"}."))
        return value

    def clean_settings(self):
        value = self.cleaned_data.get("settings")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValidationError(_("The extra parameters must be a JSON object, e.g. {\"system_type\": \"\"}."))
        return value

    def clean_filter1_values(self):
        return _split_values(self.cleaned_data.get("filter1_values"))

    def clean_filter2_values(self):
        return _split_values(self.cleaned_data.get("filter2_values"))

    def clean(self):
        data = super().clean()
        for n in (1, 2):
            field, values = data.get(f"filter{n}_field"), data.get(f"filter{n}_values") or []
            if field and not values:
                self.add_error(f"filter{n}_values", gettext("Enter the values filter %(n)d matches.") % {"n": n})
            elif values and not field:
                self.add_error(f"filter{n}_field", gettext("Choose what filter %(n)d looks at.") % {"n": n})
            elif field == RouteField.COUNTRY:
                codes = [v.upper() for v in values]
                wrong = [v for v in codes if len(v) != 2 or not v.isalpha()]
                if wrong:
                    self.add_error(f"filter{n}_values", gettext(
                        "Countries are two-letter ISO codes (ES, PT…); not: %(wrong)s") % {"wrong": ", ".join(wrong)})
                else:
                    data[f"filter{n}_values"] = codes
        if data.get("filter1_field") and data.get("filter1_field") == data.get("filter2_field"):
            self.add_error("filter2_field", gettext("Filter 2 looks at the same thing as filter 1; put all the values "
                                                    "in filter 1."))
        provider, channel = data.get("provider"), data.get("channel")
        if provider:
            try:
                driver = providers.provider_class(provider)
            except Exception as exc:  # noqa: BLE001
                self.add_error("provider", gettext("The %(key)s driver cannot be loaded: %(error)s")
                               % {"key": provider, "error": exc})
            else:
                if channel and driver.channels and int(channel) not in driver.channels:
                    self.add_error("provider", gettext("%(provider)s does not serve the %(channel)s channel.") % {
                        "provider": driver.name or provider, "channel": Gateway(channel=channel).get_channel_display()})
        return data


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    form = GatewayAdminForm
    list_display = ("name", "channel", "provider", "company_or_any", "routing", "default_from", "tps", "is_active")
    list_filter = ("channel", "provider", "is_active", "company")
    search_fields = ("name", "default_from", "company__name")
    list_select_related = ("company",)
    readonly_fields = ("callback_url", "created_at", "updated_at")
    actions = ["check_connection"]
    fieldsets = (
        (_("Conditions"), {"fields": ("name", "channel", "provider", "company", ("filter1_field", "filter1_values"),
                                      ("filter2_field", "filter2_values"), "is_active"),
                           "description": _("A gateway serves one company or any company; a company's own gateway "
                                            "wins over a generic one, then the lowest id. Up to two filters narrow "
                                            "the traffic it takes.")}),
        (_("Authentication & configuration"), {"fields": ("credentials", "settings", "tps", "callback_url")}),
        (_("“From”"), {"fields": ("default_from",),
                       "description": _("The sender shown to recipients when a message names no sender ID.")}),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("company"))
    def company_or_any(self, obj):
        return obj.company or gettext("Any company")

    @admin.display(description=_("routing"))
    def routing(self, obj):
        parts = []
        for n in (1, 2):
            if getattr(obj, f"filter{n}_field"):
                values = ", ".join(str(v) for v in getattr(obj, f"filter{n}_values") or [])
                parts.append(f"{getattr(obj, f'get_filter{n}_field_display')()}: {values}")
        return "; ".join(parts) or "—"

    @admin.display(description=_("callback URL"))
    def callback_url(self, obj):
        if not obj or not obj.pk:
            return gettext("Shown once the gateway is saved.")
        url = f"{settings.HERALD_BASE_URL.rstrip('/')}/callbacks/{obj.callback_token}"
        return format_html('<code data-callback-url>{}</code><br><span class="help">{}</span>', url,
                           gettext("Give this address to the provider for delivery reports and inbound messages."))

    @admin.action(description=_("Check connection"))
    def check_connection(self, request, queryset):
        for gateway in queryset:
            try:
                result = providers.driver_for(gateway).check_connection()
            except Exception as exc:  # noqa: BLE001 - a failing driver is a result to show
                self.message_user(request, gettext("%(gateway)s: the check failed: %(error)s") % {
                    "gateway": gateway.name, "error": f"{type(exc).__name__}: {exc}"}, messages.ERROR)
                continue
            self.message_user(request, f"{gateway.name}: {result.detail}",
                              messages.SUCCESS if result.ok else messages.ERROR)
