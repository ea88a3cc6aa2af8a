"""The content template form (spec P§11.3): name, channel and the constructor's content JSON.
The business rules (limits of the name, the content of each channel) are the service's."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from assets.services.content_templates import NAME_MAX, channel_choices


class ContentTemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX, strip=True,
                           error_messages={"required": _("Give the template a name.")})
    channel = forms.TypedChoiceField(label=_("Channel"), coerce=int, choices=channel_choices)
    content = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update({"maxlength": NAME_MAX, "autocomplete": "off",
                                                "x-on:input": "n = Array.from($event.target.value).length"})

    def clean_content(self):
        raw = self.cleaned_data.get("content") or ""
        try:
            value = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise forms.ValidationError(_("The content is not valid JSON."))
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The content must be a JSON object."))
        return value
