"""Forms of the opt-out pages. They parse input; the rules live in
``contacts.services.optouts``.

Date-times are typed in the company's time zone: the views validate and render these
forms with that zone active (``timezone.override``), so Django's ``DateTimeField`` reads a
typed value in it and shows a stored value in it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.channel_types import Channel

from .services.optouts import SENDER_MAX_LENGTH, WORD_MAX_LENGTH

DATETIME_LOCAL = "%Y-%m-%dT%H:%M:%S"


class DateTimeLocalInput(forms.DateTimeInput):
    """``<input type="datetime-local">`` with seconds."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs={"step": "1", **(attrs or {})}, format=DATETIME_LOCAL)


class OptOutWordForm(forms.Form):
    word = forms.CharField(label=_("Opt-out word"), max_length=WORD_MAX_LENGTH)
    channel = forms.TypedChoiceField(label=_("Channel"), choices=Channel.choices, coerce=int)
    sender = forms.CharField(label=_("Sender ID"), required=False, max_length=SENDER_MAX_LENGTH,
                             help_text=_("A specific sender ID, or empty for the whole channel."),
                             widget=forms.TextInput(attrs={"placeholder": _("Whole channel")}))
    effective_from = forms.DateTimeField(label=_("Effective from"), required=False, widget=DateTimeLocalInput())
    effective_till = forms.DateTimeField(label=_("Effective till"), required=False, widget=DateTimeLocalInput())

    def __init__(self, *args, time_zone_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if time_zone_name:
            for name in ("effective_from", "effective_till"):
                self.fields[name].help_text = _("In the company's time zone (%(tz)s). Empty = no limit.") % {
                    "tz": time_zone_name}

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"word": data["word"], "channel": data["channel"], "sender": data["sender"],
                "effective_from": data["effective_from"], "effective_till": data["effective_till"]}


class ContactOptOutForm(forms.Form):
    """Opt a contact out of a channel, from one sender or the whole channel. The fields
    are prefixed (``optout-channel``, ``optout-sender``) so that the block can sit inside
    the contact's own form without clashing with its fields."""

    prefix = "optout"

    channel = forms.TypedChoiceField(label=_("Opt-out channel"), choices=Channel.choices, coerce=int)
    sender = forms.CharField(label=_("Sender ID"), required=False, max_length=SENDER_MAX_LENGTH,
                             help_text=_("A specific sender ID, or empty for the whole channel."),
                             widget=forms.TextInput(attrs={"placeholder": _("Whole channel")}))
