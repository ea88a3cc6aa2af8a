"""Cleaning what a broadcast or a template is made of: name, recipients, type, the
fallback chain. One function for the portal form, the API and the template pages."""

from __future__ import annotations

from django.utils.translation import gettext as _

from broadcasts.models import BroadcastType
from contacts.phones import InvalidPhone, normalize
from messaging.models import WaitFor
from messaging.services.sending import MAX_STEPS, StepSpec, prepared, validate_step
from portal.channel_types import Channel

MAX_PHONES = 1000
BROADCAST_CHANNELS = (Channel.SMS, Channel.RCS, Channel.VIBER, Channel.WHATSAPP, Channel.EMAIL, Channel.PUSH,
                      Channel.TTS, Channel.MOBILE_PUSH)


class BroadcastError(ValueError):
    """What is wrong with a broadcast, by field (``name``, ``recipients``,
    ``steps[1].senderId``…), in words a marketer understands."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _ids(values, label: str, errors: dict, key: str) -> list[int]:
    out = []
    for value in values or []:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            errors[key] = _("“%(v)s” is not a %(label)s id.") % {"v": value, "label": label}
    return sorted(set(out))


def clean_recipients(company, raw) -> tuple[dict, dict[str, str]]:
    """``{"targets": [ids], "tags": [ids], "phones": ["+E164"]}`` of the company; typed
    numbers are read in the company's default region and de-duplicated."""
    from contacts.selectors import tags_for, targets_for

    errors: dict[str, str] = {}
    raw = raw if isinstance(raw, dict) else {}
    targets = _ids(raw.get("targets"), _("target"), errors, "recipients.targets")
    tags = _ids(raw.get("tags"), _("tag"), errors, "recipients.tags")
    known = set(targets_for(company).filter(pk__in=targets).values_list("pk", flat=True))
    if set(targets) - known:
        errors["recipients.targets"] = _("There is no target %(ids)s in your company.") % {
            "ids": ", ".join(str(i) for i in sorted(set(targets) - known))}
    known = set(tags_for(company).filter(pk__in=tags).values_list("pk", flat=True))
    if set(tags) - known:
        errors["recipients.tags"] = _("There is no tag %(ids)s in your company.") % {
            "ids": ", ".join(str(i) for i in sorted(set(tags) - known))}
    phones_raw = raw.get("phones") or []
    if isinstance(phones_raw, str):
        phones_raw = phones_raw.split(",")
    phones, bad = [], []
    for value in phones_raw:
        text = str(value).strip()
        if not text:
            continue
        try:
            phones.append(normalize(text, company.default_region).e164)
        except InvalidPhone as exc:
            bad.append(f"{text} ({exc})")
    if bad:
        errors["recipients.phones"] = _("These numbers are not valid: %(list)s") % {"list": "; ".join(bad[:10])}
    phones = list(dict.fromkeys(phones))
    if len(phones) > MAX_PHONES:
        errors["recipients.phones"] = _("Type at most %(n)d numbers; import longer lists as contacts.") % {
            "n": MAX_PHONES}
    cleaned = {"targets": targets, "tags": tags, "phones": phones}
    if isinstance(raw.get("relaunch_of"), int):
        cleaned["relaunch_of"] = raw["relaunch_of"]
    return cleaned, errors


def step_spec(data: dict) -> StepSpec:
    """A stored step (``StepSpec.as_json``) or a form/API step as a ``StepSpec``."""
    timeout = data.get("timeout", 600)
    try:
        timeout = int(timeout)
    except (TypeError, ValueError):
        timeout = -1
    template_id = data.get("template_id")
    try:
        template_id = int(template_id) if template_id not in (None, "") else None
    except (TypeError, ValueError):
        template_id = -1
    try:
        channel = int(data.get("channel"))
    except (TypeError, ValueError):
        channel = 0
    return StepSpec(channel=channel, sender=str(data.get("sender") or "").strip(),
                    content=data.get("content") if template_id is None else None, template_id=template_id,
                    params=data.get("params") or {}, wait_for=data.get("wait_for") or WaitFor.DELIVERY,
                    timeout=timeout)


def clean_steps(company, raw, *, for_launch: bool, api_access=None) -> tuple[list[dict], dict[str, str]]:
    """The fallback chain: at least one step to launch, at most ``MAX_STEPS``; each step
    validated by the messaging engine (content, template, wait-for, waiting time); the
    sender ID is required to launch or schedule (rule 7) and optional in a draft."""
    errors: dict[str, str] = {}
    raw = raw if isinstance(raw, list) else []
    if len(raw) > MAX_STEPS:
        errors["steps"] = _("A fallback chain has at most %(n)d steps.") % {"n": MAX_STEPS}
        return [], errors
    if for_launch and not raw:
        errors["steps"] = _("Add at least one step to the fallback chain.")
    steps = []
    for index, data in enumerate(raw):
        prefix = f"steps[{index}]."
        step = step_spec(data if isinstance(data, dict) else {})
        if step.channel and step.channel not in BROADCAST_CHANNELS:
            errors[f"{prefix}channel"] = _("Broadcasts send on SMS, RCS, Viber, WhatsApp, Email, Push, TTS or "
                                           "Mobile Push.")
            continue
        if for_launch and not step.sender:
            errors[f"{prefix}senderId"] = _("Choose the sender ID of step %(n)d (%(c)s): it is required to launch "
                                            "or schedule.") % {"n": index + 1,
                                                              "c": Channel(step.channel).label if step.channel
                                                              in Channel.values else "?"}
        step_errors = validate_step(company, step, prefix, api_access)
        if not for_launch:
            # A draft may be incomplete: keep only what is malformed, not what is missing.
            step_errors = {k: v for k, v in step_errors.items() if not k.endswith(("payload", "payload.text",
                                                                                      "payload.subject",
                                                                                      "payload.html"))}
        errors.update(step_errors)
        steps.append((step if step_errors else prepared(step)).as_json())
    return steps, errors


def clean_definition(company, data: dict, *, for_launch: bool, api_access=None) -> tuple[dict, dict[str, str]]:
    """Clean ``name``, ``description``, ``type``, ``recipients``, ``steps``, ``rcs_check``
    (with ``api_access``, its sender restrictions apply). Returns (cleaned, errors)."""
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = _("Give the broadcast a name.")
    elif len(name) > 200:
        errors["name"] = _("The name has at most 200 characters.")
    kind = data.get("type") or BroadcastType.FALLBACK
    if kind not in BroadcastType.values:
        errors["type"] = _("The type is fallback, chatbot or rcs_check.")
    elif kind == BroadcastType.CHATBOT:
        errors["type"] = _("Chatbot broadcasts arrive with the chatbots feature; choose Fallback.")
    recipients, recipient_errors = clean_recipients(company, data.get("recipients"))
    errors.update(recipient_errors)
    if kind == BroadcastType.RCS_CHECK:
        # Only asks the RCS gateway which recipients' devices can receive RCS: no chain.
        steps, rcs_check = [], False
    else:
        steps, step_errors = clean_steps(company, data.get("steps"), for_launch=for_launch, api_access=api_access)
        errors.update(step_errors)
        rcs_check = bool(data.get("rcs_check"))
    if kind == BroadcastType.RCS_CHECK and for_launch:
        from messaging.services.routing import Router

        if Router(company.pk if hasattr(company, "pk") else company).route(Channel.RCS) is None:
            errors["type"] = _("No RCS gateway serves your company: the capability check cannot run.")
    if rcs_check and not any(int(s["channel"]) == Channel.RCS for s in steps):
        errors["rcs_check"] = _("The RCS capability check needs an RCS step in the chain.")
    if for_launch and not (recipients["targets"] or recipients["tags"] or recipients["phones"]
                           or recipients.get("relaunch_of")) and "recipients.phones" not in errors:
        errors["recipients"] = _("Choose the recipients: targets, tags or phone numbers.")
    cleaned = {"name": name, "description": str(data.get("description") or "").strip(), "type": kind,
               "recipients": recipients, "steps": steps, "rcs_check": rcs_check}
    return cleaned, errors
