"""Forms of the Sender IDs pages (spec P§11.2, gap G22). They parse input; every rule
(limits, phone numbers, images, statuses) lives in ``messaging.services.senders``.

Phone numbers, websites and e-mails of an RCS bot are repeated inputs: ``phones`` /
``phones_label`` (one pair per row; the page adds a second row on demand), read by
:class:`EntryListField` as a list of ``{"value", "label"}``."""

from __future__ import annotations

from itertools import zip_longest

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.channel_types import Channel

from .services import senders as rules


class EntryListWidget(forms.Widget):
    """Reads ``<name>`` and ``<name>_label`` lists from the POST data; rendered by the page
    template itself (rows that can be added and removed)."""

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", None)
        values = getlist(name) if getlist else list(data.get(name) or [])
        labels = getlist(f"{name}_label") if getlist else list(data.get(f"{name}_label") or [])
        rows = []
        for value, label in zip_longest(values, labels, fillvalue=""):
            value, label = str(value or "").strip(), str(label or "").strip()
            if value or label:
                rows.append({"value": value, "label": label})
        return rows

    def value_omitted_from_data(self, data, files, name):
        return False


class EntryListField(forms.Field):
    widget = EntryListWidget

    def __init__(self, *, noun, add_label, input_type="text", placeholder="", **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.noun, self.add_label, self.input_type, self.placeholder = noun, add_label, input_type, placeholder

    def to_python(self, value):
        return list(value or [])

    def prepare_value(self, value):
        return list(value or [])


class ColorInput(forms.TextInput):
    input_type = "color"


IMAGE_ACCEPT = "image/png,image/jpeg"


def _counted(limit: int, **attrs):
    """A text input whose page shows a live ``n / limit`` counter."""
    return forms.TextInput(attrs={"data-counter": str(limit), **attrs})


class SenderIdForm(forms.Form):
    """The fields both channels share."""

    channel: int = 0

    name = forms.CharField(label=_("Sender ID Name"), max_length=rules.NAME_MAX, widget=_counted(rules.NAME_MAX))
    description = forms.CharField(label=_("Description"), required=False, max_length=rules.DESCRIPTION_MAX,
                                  widget=forms.Textarea(attrs={"rows": 2, "data-counter": str(rules.DESCRIPTION_MAX)}))
    agreement = forms.CharField(label=_("Agreement"), required=False, max_length=rules.AGREEMENT_MAX,
                                help_text=_("The agreement the sender ID's traffic is billed to."))

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


class SmsSenderIdForm(SenderIdForm):
    channel = Channel.SMS

    sample_message = forms.CharField(label=_("Sample message"), required=False, max_length=rules.SAMPLE_MESSAGE_MAX,
                                     widget=forms.Textarea(attrs={"rows": 4}),
                                     help_text=_("A typical message you will send from this sender ID; operators "
                                                 "review it with the request."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget = forms.TextInput(attrs={"placeholder": "Herald", "maxlength": rules.NAME_MAX})
        self.fields["name"].help_text = _(
            "Up to %(alpha)d letters, digits and spaces (an alphanumeric sender, e.g. your brand), or a number of "
            "up to %(digits)d digits. The operator assigns the final sender ID.") % {
            "alpha": rules.SMS_ALPHANUMERIC_MAX, "digits": rules.SMS_NUMERIC_MAX}


class RcsSenderIdForm(SenderIdForm):
    """The RCS "Bot information" form. ``webhook_editable`` is False until the sender ID
    is approved (*Done* or *Active*): the field is then shown but not editable."""

    channel = Channel.RCS

    logo = forms.FileField(label=_("Logo"), required=False,
                           widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}))
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    contact_name = forms.CharField(label=_("Contact name"), required=False, max_length=rules.CONTACT_NAME_MAX)
    phones = EntryListField(label=_("Phone numbers"), noun=_("Phone number"), add_label=_("Add extra phone number"),
                            input_type="tel", placeholder="+34 612 345 678")
    websites = EntryListField(label=_("Websites"), noun=_("Website"), add_label=_("Add extra website"),
                              input_type="url", placeholder="https://")
    emails = EntryListField(label=_("E-mails"), noun=_("E-mail"), add_label=_("Add extra e-mail"),
                            input_type="email", placeholder="support@example.com")
    background = forms.FileField(label=_("Background image (wallpaper)"), required=False,
                                 widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}))
    remove_background = forms.BooleanField(label=_("Remove the background image"), required=False)
    color = forms.CharField(label=_("Color"), required=False, initial=rules.DEFAULT_COLOR, widget=ColorInput(),
                            help_text=_("The color of the bot's buttons and name (#RRGGBB)."))
    privacy_url = forms.CharField(label=_("Privacy policy URL"), required=False,
                                  widget=forms.URLInput(attrs={"placeholder": "https://"}))
    terms_url = forms.CharField(label=_("Terms of service URL"), required=False,
                                widget=forms.URLInput(attrs={"placeholder": "https://"}))
    webhook_url = forms.CharField(label=_("Webhook URL"), required=False,
                                  widget=forms.URLInput(attrs={"placeholder": "https://"}),
                                  help_text=_("Where the replies of your users are forwarded."))

    def __init__(self, *args, webhook_editable: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for rule in (rules.LOGO, rules.BACKGROUND):
            self.fields[rule.field].help_text = _("JPG or PNG, exactly %(w)dx%(h)d pixels, at most %(kb)d KB.") % {
                "w": rule.width, "h": rule.height, "kb": rule.max_kb}
        if not webhook_editable:
            field = self.fields["webhook_url"]
            field.disabled = True
            field.help_text = _("Editable once the sender ID is approved (status Done or Active).")

    def rows(self, name: str) -> list[dict]:
        """The entry rows to render: what was typed (or stored), at least one empty row."""
        value = self[name].value() or []
        return list(value) or [{"value": "", "label": ""}]

    @property
    def phone_rows(self):
        return self.rows("phones")

    @property
    def website_rows(self):
        return self.rows("websites")

    @property
    def email_rows(self):
        return self.rows("emails")

    def entry_lists(self):
        """``[(bound field, rows)]`` of the three repeated lists, for the template."""
        return [(self["phones"], self.phone_rows), (self["websites"], self.website_rows),
                (self["emails"], self.email_rows)]


def form_class_for(channel) -> type[SenderIdForm]:
    return SmsSenderIdForm if int(channel) == Channel.SMS else RcsSenderIdForm


def initial_for(sender) -> dict:
    """A stored sender ID as the form's initial values."""
    registration = sender.registration or {}
    return {
        "name": sender.name, "description": sender.description, "agreement": sender.agreement,
        "sample_message": sender.sample_message,
        "contact_name": registration.get("contact_name", ""),
        "phones": registration.get("phones") or [], "websites": registration.get("websites") or [],
        "emails": registration.get("emails") or [],
        "color": registration.get("color") or rules.DEFAULT_COLOR,
        "privacy_url": registration.get("privacy_url", ""), "terms_url": registration.get("terms_url", ""),
        "webhook_url": registration.get("webhook_url", ""),
    }
