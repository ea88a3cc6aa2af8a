"""Forms of the webhook pages."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReplaySinceForm(forms.Form):
    since = forms.DateTimeField(
        label=_("Replay all since"), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M:%S",
                                                    "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}),
        error_messages={"required": _("Enter the date and time to replay from."),
                        "invalid": _("Enter a date and time such as 31.12.2025 18:30:00.")})
    endpoint = forms.ModelChoiceField(label=_("Endpoint"), queryset=None, required=False,
                                      empty_label=_("All endpoints"),
                                      error_messages={"invalid_choice": _("Choose one of your endpoints.")})

    def __init__(self, *args, endpoints, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["endpoint"].queryset = endpoints
        self.fields["since"].help_text = _("Time zone: %(tz)s. Every event created from then on is sent again, "
                                           "with its original webhook ID.") % {
            "tz": timezone.get_current_timezone_name()}
