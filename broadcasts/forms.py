"""The *New broadcast* / *Edit broadcast* form (spec P§4.2, P§4.3; gap G6).

The form only reads what was posted and turns it into the ``data`` dict the services
clean (``broadcasts.services.definition.clean_definition``): every business rule and its
message lives there, one set for the portal, the API and the template pages. What the
form itself checks is what only the page has: the waiting time as a number of minutes or
hours, and the launch date and time, read in the company's time zone.

The fallback chain is posted as an ordered list of step ids (``step`` = ``s0``, ``a1b2``…,
in the page's order) and, per step ``<uid>``, the fields ``step-<uid>-channel``,
``-sender``, ``-wait_for``, ``-wait_value``, ``-wait_unit``, ``-content`` (the message
constructor's hidden input: the content JSON, or plain text), ``-template_id`` and
``-params`` (kept from steps made through the API). Reordering or deleting a step in the
browser never renames a field.

Service errors are keyed like the API's (``name``, ``recipients.phones``,
``steps[1].senderId``…); :meth:`BroadcastForm.add_errors` files each next to its field
(``steps[i].…`` on the i-th step in the posted order).
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
import zoneinfo
from dataclasses import dataclass, field

from django import forms as django_forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.models import WaitFor
from messaging.services.sending import MAX_TIMEOUT, MIN_TIMEOUT
from portal.channel_types import Channel

from .models import BroadcastStatus, BroadcastType

UNITS = {"minutes": 60, "hours": 3600}
UNIT_CHOICES = (("minutes", gettext_lazy("minutes")), ("hours", gettext_lazy("hours")))
DEFAULT_TIMEOUT = 600  # 10 minutes (spec P§4.3: "e.g. 10 min")
MAX_POSTED_STEPS = 50  # beyond this the post is not a form a person filled in
UID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
STEP_ERROR = re.compile(r"^steps\[(\d+)\]\.(.+)$")
# Service error keys → the form's places for them.
FIELD_OF = {"name": "name", "description": "description", "type": "type", "recipients": "recipients",
            "recipients.targets": "targets", "recipients.tags": "tags", "recipients.phones": "phones",
            "steps": "steps", "rcs_check": "rcs_check", "scheduled_for": "schedule"}
STEP_FIELD_OF = {"senderId": "sender", "waitFor": "wait_for", "timeout": "timeout", "channel": "channel"}


def new_uid() -> str:
    return secrets.token_hex(4)


def wait_for_choices(channel: int) -> list[tuple[str, str]]:
    """*Wait for* of a channel (spec P§0.5): Push has no delivery report, so only *Submit*."""
    if channel == Channel.PUSH:
        return [(WaitFor.SUBMIT, WaitFor.SUBMIT.label)]
    return [(WaitFor.DELIVERY, WaitFor.DELIVERY.label), (WaitFor.SUBMIT, WaitFor.SUBMIT.label),
            (WaitFor.DISPLAY, WaitFor.DISPLAY.label)]


def split_timeout(seconds) -> tuple[str, str]:
    """Seconds → (value, unit) for the form: whole hours in hours, else minutes."""
    try:
        seconds = int(seconds)
    except (TypeError, ValueError):
        seconds = DEFAULT_TIMEOUT
    if seconds and seconds % 3600 == 0:
        return str(seconds // 3600), "hours"
    return f"{seconds / 60:g}", "minutes"


def format_duration(seconds: int | None) -> str:
    """An ETA in words: "less than a minute", "about 3 min", "about 2 h 5 min"."""
    if seconds is None:
        return ""
    if seconds < 60:
        return _("less than a minute")
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("about %(n)d min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if minutes:
        return _("about %(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("about %(h)d h") % {"h": hours}


def _content_of(raw: str):
    """The constructor's hidden input: a JSON object, or plain text (the text of the step).
    An editor left empty (``{"text": ""}``, ``{"type": "text", "text": ""}``) is no content."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return {"text": raw}
    if not isinstance(value, dict):
        return {"text": raw}
    return value if _has_content(value) else None


def _has_content(content) -> bool:
    return isinstance(content, dict) and any(v not in (None, "", [], {}) for k, v in content.items() if k != "type")


@dataclass
class StepRow:
    """One step of the chain as the form shows it."""

    uid: str
    channel: int
    sender: str = ""
    wait_for: str = WaitFor.DELIVERY
    wait_value: str = "10"
    wait_unit: str = "minutes"
    content: dict | None = None
    template_id: int | None = None
    params: dict = field(default_factory=dict)
    timeout: int | None = DEFAULT_TIMEOUT  # None: the waiting time could not be read
    errors: dict = field(default_factory=dict)  # sender, wait_for, timeout, channel, content
    content_field_errors: dict = field(default_factory=dict)  # path inside the content → message

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label if self.channel in Channel.values else "?"

    @property
    def content_json(self) -> str:
        return json.dumps(self.content, ensure_ascii=False) if self.content is not None else ""

    @property
    def params_json(self) -> str:
        return json.dumps(self.params, ensure_ascii=False) if self.params else ""

    @property
    def wait_for_choices(self):
        return wait_for_choices(self.channel)

    @property
    def content_errors(self) -> list[str]:
        return self.errors.get("content", [])

    def prepared_content(self):
        """The content as a send needs it: an e-mail built with the constructor's blocks gets
        its HTML and text (``messaging.content.prepare_content``), when it is valid."""
        from messaging.content import prepare_content, validate_content

        content = self.content
        if isinstance(content, dict) and self.channel in Channel.values and not validate_content(self.channel,
                                                                                                 content):
            return prepare_content(self.channel, content)
        return content

    def as_data(self) -> dict:
        return {"channel": self.channel, "sender": self.sender,
                "content": self.prepared_content() if (self.content is not None or self.template_id is None)
                else None,
                "template_id": self.template_id, "params": self.params, "wait_for": self.wait_for,
                "timeout": self.timeout if self.timeout is not None else DEFAULT_TIMEOUT}

    @classmethod
    def blank(cls, channel: int, uid: str | None = None) -> StepRow:
        wait_for = WaitFor.SUBMIT if channel == Channel.PUSH else WaitFor.DELIVERY
        return cls(uid=uid or new_uid(), channel=channel, wait_for=wait_for)

    @classmethod
    def from_stored(cls, uid: str, step: dict) -> StepRow:
        value, unit = split_timeout(step.get("timeout", DEFAULT_TIMEOUT))
        try:
            channel = int(step.get("channel") or 0)
        except (TypeError, ValueError):
            channel = 0
        return cls(uid=uid, channel=channel, sender=str(step.get("sender") or ""),
                   wait_for=step.get("wait_for") or WaitFor.DELIVERY, wait_value=value, wait_unit=unit,
                   content=step.get("content"), template_id=step.get("template_id"),
                   params=step.get("params") or {}, timeout=step.get("timeout", DEFAULT_TIMEOUT))

    @classmethod
    def from_post(cls, uid: str, post) -> StepRow:
        def get(name):
            return str(post.get(f"step-{uid}-{name}") or "").strip()

        try:
            channel = int(get("channel"))
        except ValueError:
            channel = 0
        row = cls(uid=uid, channel=channel, sender=get("sender"), wait_for=get("wait_for") or WaitFor.DELIVERY,
                  wait_value=get("wait_value"), wait_unit=get("wait_unit") or "minutes",
                  content=_content_of(post.get(f"step-{uid}-content")))
        template_id = get("template_id")
        if template_id:
            try:
                row.template_id = int(template_id)
            except ValueError:
                row.template_id = -1  # the service says "no content template -1"
        try:
            params = json.loads(get("params") or "{}")
            row.params = params if isinstance(params, dict) else {}
        except ValueError:
            row.params = {}
        if row.template_id is not None and not _has_content(row.content):
            row.content = None  # a step that sends a content template
        row.timeout = row._read_timeout()
        return row

    def _read_timeout(self) -> int | None:
        unit = UNITS.get(self.wait_unit)
        try:
            value = float(self.wait_value.replace(",", "."))
        except ValueError:
            value = None
        if unit is None or value is None or value != value or value <= 0:
            self.errors["timeout"] = [_("Give the waiting time as a number of minutes or hours.")]
            return None
        seconds = round(value * unit)
        if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
            self.errors["timeout"] = [_timeout_message()]
            return None
        return seconds


def _timeout_message() -> str:
    return _("The waiting time is %(min)d seconds to %(hours)d hours.") % {"min": MIN_TIMEOUT,
                                                                          "hours": MAX_TIMEOUT // 3600}


def _ids(values) -> list[int]:
    out = []
    for value in values:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(out))


class BroadcastForm:
    """``BroadcastForm(company, data=request.POST)`` (posted), ``BroadcastForm(company,
    broadcast=b)`` (edit) or ``BroadcastForm(company, initial={"targets": […], "tags": […]})``
    (new, recipients pre-selected by ``?target=&tag=``)."""

    def __init__(self, company, *, data=None, broadcast=None, initial: dict | None = None):
        self.company = company
        self.zone = zoneinfo.ZoneInfo(getattr(company, "time_zone", "") or "UTC")
        self.broadcast = broadcast
        self.errors: dict[str, list[str]] = {}
        self.other_errors: list[str] = []
        self.name = self.description = self.phones = self.launch_date = self.launch_time = ""
        self.type = BroadcastType.FALLBACK
        self.rcs_check = False
        self.targets: list[int] = []
        self.tags: list[int] = []
        self.instantly = True
        self.scheduled = None
        self.phone_list: list[str] = []
        self.steps: list[StepRow] = []
        self.is_bound = data is not None
        if data is not None:
            self._read_post(data)
        elif broadcast is not None:
            self._read_broadcast(broadcast)
        else:
            initial = initial or {}
            self.targets = _ids(initial.get("targets") or [])
            self.tags = _ids(initial.get("tags") or [])

    # -- reading ---------------------------------------------------------------------------------
    def _read_post(self, post) -> None:
        self.name = str(post.get("name") or "").strip()
        self.description = str(post.get("description") or "").strip()
        self.type = post.get("type") or BroadcastType.FALLBACK
        self.rcs_check = post.get("rcs_check") in ("on", "true", "1")
        self.targets = _ids(post.getlist("targets"))
        self.tags = _ids(post.getlist("tags"))
        self.phones = str(post.get("phones") or "").strip()
        self.phone_list = [p.strip() for p in re.split(r"[,;\n]+", self.phones) if p.strip()]
        self.instantly = post.get("instantly") in ("on", "true", "1")
        self.launch_date = str(post.get("launch_date") or "").strip()
        self.launch_time = str(post.get("launch_time") or "").strip()
        uids = [u for u in post.getlist("step") if UID.match(u or "")]
        for uid in list(dict.fromkeys(uids))[:MAX_POSTED_STEPS]:
            row = StepRow.from_post(uid, post)
            self.steps.append(row)
        for row in self.steps:
            for key, messages in row.errors.items():
                self.errors.setdefault(f"step:{row.uid}:{key}", []).extend(messages)
        if not self.instantly:
            self._read_schedule()

    def _read_broadcast(self, b) -> None:
        self.name, self.description, self.type, self.rcs_check = b.name, b.description, b.type, b.rcs_check
        recipients = b.recipients or {}
        self.targets = list(recipients.get("targets") or [])
        self.tags = list(recipients.get("tags") or [])
        self.phones = ", ".join(recipients.get("phones") or [])
        self.phone_list = list(recipients.get("phones") or [])
        self.steps = [StepRow.from_stored(f"s{i}", s) for i, s in enumerate(b.steps or []) if isinstance(s, dict)]
        if b.scheduled_for and b.status in (BroadcastStatus.SCHEDULED, BroadcastStatus.REJECTED,
                                            BroadcastStatus.DRAFT):
            local = timezone.localtime(b.scheduled_for, self.zone)
            self.instantly = False
            self.launch_date, self.launch_time = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")

    def _read_schedule(self) -> None:
        self.scheduled = None
        if not self.launch_date or not self.launch_time:
            self.add_error("schedule", _("Choose the date and time of launch, or switch on Instantly."))
            return
        try:
            day = datetime.date.fromisoformat(self.launch_date)
            at = datetime.time.fromisoformat(self.launch_time)
        except ValueError:
            self.add_error("schedule", _("The date or time of launch could not be read."))
            return
        self.scheduled = timezone.make_aware(datetime.datetime.combine(day, at.replace(tzinfo=None)), self.zone)

    # -- what the services get -------------------------------------------------------------------
    @property
    def is_valid(self) -> bool:
        """Whether the page's own checks passed (the services check the rest)."""
        return not self.errors

    def data(self) -> dict:
        return {"name": self.name, "description": self.description, "type": self.type,
                "recipients": self.recipients_data(),
                "steps": [row.as_data() for row in self.steps], "rcs_check": self.rcs_check}

    def recipients_data(self) -> dict:
        return {"targets": self.targets, "tags": self.tags, "phones": self.phone_list}

    @property
    def scheduled_for(self):
        """The aware launch time, or None for *Instantly*."""
        return None if self.instantly else self.scheduled

    # -- errors ----------------------------------------------------------------------------------
    def add_error(self, key: str, message: str) -> None:
        bucket = self.errors.setdefault(key, [])
        if message not in bucket:
            bucket.append(message)

    def add_errors(self, errors: dict[str, str]) -> None:
        """File the services' errors (``BroadcastError.errors``) next to their fields."""
        for key, message in errors.items():
            match = STEP_ERROR.match(key)
            if match:
                index, rest = int(match.group(1)), match.group(2)
                if index < len(self.steps):
                    row = self.steps[index]
                    if rest.startswith("payload."):  # a field of the content: the constructor marks it
                        row.content_field_errors[rest[len("payload."):]] = message
                        self.add_error(f"step:{row.uid}:content", message)
                        continue
                    place = STEP_FIELD_OF.get(rest, "content")
                    message = self._step_message(row, rest, message)
                    bucket = row.errors.setdefault(place, [])
                    if message not in bucket:
                        bucket.append(message)
                    self.add_error(f"step:{row.uid}:{place}", message)
                    continue
            place = FIELD_OF.get(key)
            if place is None:
                if message not in self.other_errors:
                    self.other_errors.append(message)
                self.add_error("other", message)
            else:
                self.add_error(place, message)

    @staticmethod
    def _step_message(row: StepRow, rest: str, message: str) -> str:
        if rest == "payload":  # the API's wording ("give a payload or a template")
            return _("Write the message of this step.")
        if rest == "timeout":
            return _timeout_message()
        return message

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """Errors of the fields outside the chain, for the template (``form.field_errors.name``)."""
        return {k: v for k, v in self.errors.items() if not k.startswith("step:")}

    @property
    def has_rcs_step(self) -> bool:
        return any(row.channel == Channel.RCS for row in self.steps)


class RejectForm(django_forms.Form):
    """*Reject* on the parent company's moderation pages: the note is required — the child
    company's user reads it on the rejected broadcast or template (D56)."""

    note = django_forms.CharField(
        label=gettext_lazy("Reason for the rejection"), max_length=2000, strip=True,
        widget=django_forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Say why it is rejected: the company that sent it reads this note.")})
