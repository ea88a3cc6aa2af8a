"""The *New template* / edit form (spec P§4.5, gap G1).

It is the broadcast form (``broadcasts.forms.BroadcastForm``: name, description,
recipients ``targets`` / ``tags`` / ``phones``, type, the fallback chain posted as
``step`` + ``step-<uid>-…``) plus the schedule editor:

``is_scheduled`` (checkbox), ``frequency`` (once / hourly / daily / weekly / monthly),
``weekdays`` (checkboxes 0 = Monday … 6 = Sunday), ``month_day`` (1–31), ``time_of_day``
(``HH:MM``), ``effective_from`` / ``effective_till`` (``YYYY-MM-DDTHH:MM``, the company's
time zone). For *once* the launch is ``effective_from``.

The form reads what was posted; the rules and their messages are in
``broadcasts.services.templates`` (``clean_template``).
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .forms import BroadcastForm, StepRow
from .models import Frequency

SCHEDULE_KEYS = ("is_scheduled", "frequency", "weekdays", "month_day", "time_of_day", "effective_from",
                 "effective_till", "schedule_status", "moderation")
WEEKDAYS = (gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"), gettext_lazy("Thursday"),
            gettext_lazy("Friday"), gettext_lazy("Saturday"), gettext_lazy("Sunday"))
WEEKDAYS_SHORT = (gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"),
                  gettext_lazy("Fri"), gettext_lazy("Sat"), gettext_lazy("Sun"))
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def _local_input(value, zone) -> str:
    if value is None:
        return ""
    return timezone.localtime(value, zone).strftime(LOCAL_INPUT)


class TemplateForm(BroadcastForm):
    """``TemplateForm(company, data=request.POST)`` or ``TemplateForm(company, template=t)``."""

    def __init__(self, company, *, data=None, template=None):
        self.template = template
        self.is_scheduled = False
        self.frequency = Frequency.WEEKLY
        self.weekdays: list[int] = []
        self.month_day = ""
        self.time_of_day = ""
        self.effective_from = ""
        self.effective_till = ""
        self._schedule: dict = {}
        super().__init__(company, data=data)
        if data is None and template is not None:
            self._read_template(template)

    # -- reading ---------------------------------------------------------------------------------
    def _read_schedule(self) -> None:
        """The broadcast form's launch time: a template has a schedule instead (read below)."""

    def _read_post(self, post) -> None:
        super()._read_post(post)
        self.instantly = False
        self.is_scheduled = post.get("is_scheduled") in ("on", "true", "1")
        self.frequency = str(post.get("frequency") or Frequency.WEEKLY)
        self.weekdays = []
        for value in post.getlist("weekdays"):
            try:
                self.weekdays.append(int(value))
            except (TypeError, ValueError):
                continue
        self.month_day = str(post.get("month_day") or "").strip()
        self.time_of_day = str(post.get("time_of_day") or "").strip()
        self.effective_from = str(post.get("effective_from") or "").strip()
        self.effective_till = str(post.get("effective_till") or "").strip()
        self._schedule = self._parse_schedule()

    def _parse_schedule(self) -> dict:
        out = {"is_scheduled": self.is_scheduled, "frequency": self.frequency, "weekdays": self.weekdays,
               "month_day": self.month_day or None, "time_of_day": None, "effective_from": None,
               "effective_till": None}
        if self.time_of_day:
            try:
                out["time_of_day"] = datetime.time.fromisoformat(self.time_of_day)
            except ValueError:
                self.add_error("time_of_day", _("Give the time as HH:MM."))
        for key in ("effective_from", "effective_till"):
            text = getattr(self, key)
            if not text:
                continue
            try:
                # naive: the service reads it in the company's time zone (DST-safe)
                out[key] = datetime.datetime.fromisoformat(text).replace(tzinfo=None)
            except ValueError:
                self.add_error(key, _("Give a date and a time."))
        return out

    def _read_template(self, t) -> None:
        self.name, self.description, self.type, self.rcs_check = t.name, t.description, t.type, t.rcs_check
        recipients = t.recipients or {}
        self.targets = list(recipients.get("targets") or [])
        self.tags = list(recipients.get("tags") or [])
        self.phones = ", ".join(recipients.get("phones") or [])
        self.phone_list = list(recipients.get("phones") or [])
        self.steps = [StepRow.from_stored(f"s{i}", s) for i, s in enumerate(t.steps or []) if isinstance(s, dict)]
        self.instantly = False
        self.is_scheduled = t.is_scheduled
        self.frequency = t.frequency
        self.weekdays = list(t.weekdays or [])
        self.month_day = str(t.month_day or "")
        self.time_of_day = t.time_of_day.strftime("%H:%M") if t.time_of_day else ""
        self.effective_from = _local_input(t.effective_from, self.zone)
        self.effective_till = _local_input(t.effective_till, self.zone)
        self._schedule = {"is_scheduled": t.is_scheduled, "frequency": t.frequency, "weekdays": self.weekdays,
                          "month_day": t.month_day, "time_of_day": t.time_of_day,
                          "effective_from": t.effective_from, "effective_till": t.effective_till}

    # -- what the services get -------------------------------------------------------------------
    def schedule_data(self) -> dict:
        return dict(self._schedule)

    def data(self) -> dict:
        return {**super().data(), **self.schedule_data()}

    def add_errors(self, errors: dict[str, str]) -> None:
        rest = {}
        for key, message in errors.items():
            if key in SCHEDULE_KEYS:
                self.add_error(key, message)
            else:
                rest[key] = message
        super().add_errors(rest)

    # -- for the page ----------------------------------------------------------------------------
    def weekday_options(self) -> list[dict]:
        chosen = set(self.weekdays)
        return [{"value": i, "label": WEEKDAYS[i], "short": WEEKDAYS_SHORT[i], "checked": i in chosen}
                for i in range(7)]

    @property
    def frequency_choices(self):
        return Frequency.choices
