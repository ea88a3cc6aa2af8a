"""Sending: from a request to send (API, broadcast, conversation, OTP, a user's 2FA code) to
queued messages. See docs/messaging.md, "Sending"."""

from __future__ import annotations

from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact, PushEndpoint
from contacts.phones import InvalidPhone, normalize
from messaging import encoding as sms
from messaging.models import (
    PRIORITY_SOURCES,
    DeliveryPlan,
    Direction,
    Message,
    MessageStatus,
    PlanState,
    Priority,
    SenderId,
    SkipReason,
    Source,
    StepChain,
    TrafficType,
    WaitFor,
)
from messaging.rendering import build_values, render_content
from messaging.selectors import active_sender
from messaging.services.routing import Router
from portal.audit import Actor
from portal.channel_types import PHONE_CHANNELS, Channel
from portal.db import bulk_update_values, copy_insert, insert_with_children, instance_factory, reserve_ids

MIN_TIMEOUT, MAX_TIMEOUT = 10, 7 * 24 * 3600
MAX_STEPS = 10


class SendError(ValueError):
    """A request that cannot be sent as asked. ``errors`` maps a field (API names:
    ``contact``, ``channel``, ``senderId``, ``template``, ``payload``, ``messages[1].senderId``…)
    to a message that says what is wrong."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{key}: {value}" for key, value in errors.items()))
        self.errors = errors


@dataclass
class StepSpec:
    """One step of a delivery plan (one message on one channel)."""

    channel: int
    sender: str = ""                 # the sender ID text; blank = the gateway's default "From"
    content: dict | None = None      # the channel payload, e.g. {"text": "Hi {{attribute.name}}"}
    template_id: int | None = None   # an assets.ContentTemplate of the company (instead of content)
    params: dict = field(default_factory=dict)  # template / personalisation values ("attribute.name": "Ann")
    wait_for: str = WaitFor.DELIVERY
    timeout: int = 600               # seconds before the next step goes out

    def as_json(self) -> dict:
        return {"channel": self.channel, "sender": self.sender, "content": self.content,
                "template_id": self.template_id, "params": self.params, "wait_for": self.wait_for,
                "timeout": self.timeout}




# --- validation (before anything is written) ------------------------------------------------

def _content_template(company, template_id):
    from assets.selectors import content_template

    return content_template(company, template_id)


def _payload_errors(channel: int, payload, key: str) -> dict[str, str]:
    """The channel's content rules (``messaging.content``: limits, required fields, shapes)."""
    from messaging.content import validate_content

    if not isinstance(payload, dict) or not payload:
        return {key: _("The payload must be a non-empty JSON object, e.g. {\"text\": \"Hello\"}.")}
    return validate_content(channel, payload, prefix=f"{key}.")


def prepared(step: StepSpec) -> StepSpec:
    """The step as it is stored for sending: an e-mail built from blocks carries its HTML
    (``messaging.content.prepare_content``). Call on a valid step."""
    from messaging.content import prepare_content

    if step.content is not None and isinstance(step.content, dict):
        step.content = prepare_content(step.channel, step.content)
    return step


def validate_step(company, step: StepSpec, prefix: str = "", api_access=None) -> dict[str, str]:
    """The errors of one step (API field names, with ``prefix`` such as ``messages[1].``)."""
    errors: dict[str, str] = {}
    if step.channel not in Channel.values:
        return {f"{prefix}channel": _("Unknown channel %(c)s: use 1 (SMS), 2 (RCS), 3 (Viber), 4 (WhatsApp), "
                                      "5 (WeChat), 6 (Email), 7 (Telegram), 8 (Push), 9 (TTS) or "
                                      "10 (Mobile Push).") % {"c": step.channel}}
    if (step.content is None) == (step.template_id is None):
        errors[f"{prefix}payload"] = _("Give either a payload or a template, not both and not neither.")
    elif step.template_id is not None:
        template = _content_template(company, step.template_id)
        if template is None:
            errors[f"{prefix}template.id"] = _("There is no content template %(id)s in your company.") % {
                "id": step.template_id}
        elif template.channel != step.channel:
            errors[f"{prefix}template.id"] = _("Content template %(id)s is for %(tc)s, not %(c)s.") % {
                "id": step.template_id, "tc": Channel(template.channel).label, "c": Channel(step.channel).label}
    else:
        errors.update(_payload_errors(step.channel, step.content, f"{prefix}payload"))
    if step.sender:
        if active_sender(company, step.channel, step.sender) is None:
            errors[f"{prefix}senderId"] = _("“%(s)s” is not an active %(c)s sender ID of your company "
                                            "(Assets → Sender IDs).") % {"s": step.sender,
                                                                         "c": Channel(step.channel).label}
        elif api_access is not None and api_access.allowed_senders and step.sender not in api_access.allowed_senders:
            errors[f"{prefix}senderId"] = _("This API key may not send from “%(s)s”.") % {"s": step.sender}
    if step.wait_for not in WaitFor.values:
        errors[f"{prefix}waitFor"] = _("waitFor is delivery, submit or display.")
    elif step.channel == Channel.PUSH and step.wait_for != WaitFor.SUBMIT:
        errors[f"{prefix}waitFor"] = _("Push has no delivery reports: wait for submit.")
    if not isinstance(step.timeout, int) or not MIN_TIMEOUT <= step.timeout <= MAX_TIMEOUT:
        errors[f"{prefix}timeout"] = _("The waiting time is %(a)d to %(b)d seconds.") % {"a": MIN_TIMEOUT,
                                                                                       "b": MAX_TIMEOUT}
    return errors


# The lookup of ``_contact_with_phone`` per database alias: (query, SQL, selected columns).
_CONTACT_WITH_PHONE: dict[str, tuple] = {}


def _contact_with_phone(company_id: int, phone: str) -> Contact | None:
    """``Contact.objects.for_company(company_id).filter(phone=phone).first()``, its SQL
    compiled by the ORM once per database: compiling it cost three times as much as running
    it (0.45 of 0.6 ms of CPU, 10 % of an API send)."""
    alias = connection.alias
    compiled = _CONTACT_WITH_PHONE.get(alias)
    if compiled is None:
        query = Contact.objects.for_company(0).filter(phone="")[:1].query  # params: (company_id, phone)
        compiler = query.get_compiler(alias)
        sql, _params = compiler.as_sql()
        compiled = _CONTACT_WITH_PHONE[alias] = (query, sql, [column for column, _sql, _alias in compiler.select])
    query, sql, columns = compiled
    with connection.cursor() as cursor:
        cursor.execute(sql, (company_id, phone))
        row = cursor.fetchone()
    if row is None:
        return None
    compiler = query.get_compiler(alias)  # the database's converters (JSON, and dates on SQLite)
    converters = compiler.get_converters(columns)
    if converters:
        (row,) = compiler.apply_converters([row], converters)
    return Contact.from_db(alias, [column.target.attname for column in columns], row)


def _find_contact(company, text: str, steps, create: bool, actor, errors) -> tuple[Contact | None, str]:
    text = str(text or "").strip()
    if not text:
        errors["contact"] = _("Give the recipient: a phone number (or an e-mail address for e-mail).")
        return None, ""
    if "@" in text:
        if any(s.channel != Channel.EMAIL for s in steps):
            errors["contact"] = _("An e-mail address can only receive e-mail; give a phone number.")
            return None, ""
        contact = (Contact.objects.for_company(company).filter(attributes__email__iexact=text).order_by("id").first())
        return contact, text.lower()
    try:
        phone = normalize(text, company.default_region)
    except InvalidPhone as exc:
        errors["contact"] = str(exc)
        return None, ""
    contact = _contact_with_phone(company.pk, phone.e164)
    if contact is None and create:
        try:
            with transaction.atomic():
                contact = Contact.objects.create(company=company, phone=phone.e164, country=phone.country,
                                                 mno=phone.mno)
        except IntegrityError:  # created concurrently: take it
            contact = Contact.objects.for_company(company).get(phone=phone.e164)
        else:
            from portal import audit
            audit.record(actor or Actor.system(company), "Added new contact", [audit.created(contact)],
                         company=company)
    return contact, phone.e164


# --- the entry points ---------------------------------------------------------------------

def send(*, company, to, step: StepSpec, source: str, source_id=None, api_access=None, webhook_url: str = "",
         create_contact: bool = False, actor=None) -> DeliveryPlan:
    """Send one message: a one-step plan (so that API messages and chains read alike)."""
    return _send(company=company, to=to, steps=[step], prefix=lambda i: "", source=source, source_id=source_id,
                 api_access=api_access, webhook_url=webhook_url, create_contact=create_contact, actor=actor)


def send_plan(*, company, to, steps: list[StepSpec], source: str, source_id=None, api_access=None,
              webhook_url: str = "", create_contact: bool = False, actor=None) -> DeliveryPlan:
    """Send a fallback chain to one recipient (``/omnimessages``)."""
    if not steps:
        raise SendError({"messages": _("Give at least one message.")})
    if len(steps) > MAX_STEPS:
        raise SendError({"messages": _("A chain has at most %(n)d steps.") % {"n": MAX_STEPS}})
    return _send(company=company, to=to, steps=steps, prefix=lambda i: f"messages[{i}].", source=source,
                 source_id=source_id, api_access=api_access, webhook_url=webhook_url,
                 create_contact=create_contact, actor=actor)


def _send(*, company, to, steps, prefix, source, source_id, api_access, webhook_url, create_contact, actor):
    errors: dict[str, str] = {}
    for index, step in enumerate(steps):
        errors.update(validate_step(company, step, prefix(index), api_access))
    if errors:
        raise SendError(errors)
    postgresql = connection.vendor == "postgresql"
    # On PostgreSQL the writes are one statement (``start_new_plan``): no transaction
    # around the lookup is needed (a contact made here is committed on its own).
    with nullcontext() if postgresql else transaction.atomic():
        if isinstance(to, Contact):
            if to.company_id != company.pk:
                raise SendError({"contact": _("This contact is not in your company.")})
            contact, address = to, ""
        else:
            contact, address = _find_contact(company, to, steps, create_contact, actor, errors)
            if errors:
                raise SendError(errors)
        plan = DeliveryPlan(
            company=company, contact=contact, address="" if contact else address, source=source,
            source_id=source_id, steps=[prepared(s).as_json() for s in steps], webhook_url=webhook_url or "",
            api_access=api_access)
        if postgresql:
            start_new_plan(plan)  # written once, already started: no INSERT then UPDATE
        else:
            plan.save()
            start_steps([plan])
    return plan


def send_plans_bulk(*, company, contacts, steps: list[StepSpec], source: str, source_id=None,
                    batch_size: int = 2000) -> int:
    """One plan per contact: validated once, written in batches of ``batch_size`` (each its
    own transaction, so a huge send never holds one long transaction). ``contacts`` is a
    queryset of the company's contacts. Returns the number of plans made. (Broadcasts
    resolve their recipients themselves, with ``create_plans``, to resume after a crash.)"""
    errors: dict[str, str] = {}
    for index, step in enumerate(steps):
        errors.update(validate_step(company, step, f"steps[{index}]."))
    if errors:
        raise SendError(errors)
    made, last_id = 0, 0
    contacts = contacts.filter(company=company).order_by("pk")
    step_json = [prepared(s).as_json() for s in steps]
    while True:
        chunk = list(contacts.filter(pk__gt=last_id)[:batch_size])
        if not chunk:
            return made
        last_id = chunk[-1].pk
        with transaction.atomic():
            create_plans(company=company, contacts=chunk, steps=step_json, source=source, source_id=source_id)
        made += len(chunk)


def create_plans(*, company, contacts: list[Contact], steps: list[dict] | None = None, source: str,
                 source_id=None, chain: StepChain | None = None) -> list:
    """One plan per contact with these (already validated) steps — or following ``chain``,
    which stores them once for all — started at once, in the caller's transaction. Returns
    the plans."""
    cache_contact = DeliveryPlan._meta.get_field("contact").set_cached_value
    cache_chain = DeliveryPlan._meta.get_field("chain").set_cached_value
    own = [] if chain is not None else steps
    chain_id = chain.pk if chain is not None else None
    plans = []
    for c in contacts:
        plan = _new_plan(company_id=company.pk, contact_id=c.pk, source=source, source_id=source_id, steps=own,
                         chain_id=chain_id)
        cache_contact(plan, c)
        if chain is not None:
            cache_chain(plan, chain)
        plans.append(plan)
    if connection.vendor == "postgresql":
        # Keys first, rows last: the plans are written once, already started (the foreign
        # keys between plans and messages are checked at commit).
        reserve_ids(DeliveryPlan, plans)
        start_steps(plans, insert=True)
    else:
        copy_insert(DeliveryPlan, plans, assign_ids=True)
        start_steps(plans)
    return plans


def chain_for(*, company, source: str, source_id: int, steps: list[dict]) -> StepChain:
    """The source's chain (made on first use): its plans share these steps (D83). Call in a
    transaction that serialises the source's plan making (the resolver locks its broadcast)."""
    chain = StepChain.objects.filter(source=source, source_id=source_id).first()
    if chain is None:
        chain = StepChain.objects.create(company=company, source=source, source_id=source_id, steps=steps)
    return chain


def attach_chains(plans: list[DeliveryPlan]) -> None:
    """Load the chains of plans that follow one, one query for the batch (``step_list``)."""
    field = DeliveryPlan._meta.get_field("chain")
    wanted = {p.chain_id for p in plans if p.chain_id is not None and not p.steps and not field.is_cached(p)}
    if not wanted:
        return
    chains = StepChain.objects.in_bulk(wanted)
    for plan in plans:
        if plan.chain_id in chains and not field.is_cached(plan):
            field.set_cached_value(plan, chains[plan.chain_id])


# --- starting steps (shared by sending and the fallback engine) ----------------------------

def _step(data: dict) -> StepSpec:
    return StepSpec(channel=int(data["channel"]), sender=data.get("sender") or "", content=data.get("content"),
                    template_id=data.get("template_id"), params=data.get("params") or {},
                    wait_for=data.get("wait_for") or WaitFor.DELIVERY, timeout=int(data.get("timeout") or 600))


class _StepContext:
    """What building a batch of messages needs, read once per batch."""

    def __init__(self):
        self.routers: dict[int, Router] = {}
        self.senders: dict[tuple, SenderId | None] = {}
        self.templates: dict[tuple, object] = {}
        self.opted_out: dict[tuple, set[int]] = {}
        self.push: dict[tuple[int, int], str] = {}
        self._steps: dict[int, tuple[dict, StepSpec]] = {}

    def step(self, data: dict) -> StepSpec:
        """The step of a stored step dict, parsed once per batch (a broadcast's plans share
        their chain's dicts). Read-only for the caller."""
        entry = self._steps.get(id(data))
        if entry is None or entry[0] is not data:
            entry = self._steps[id(data)] = (data, _step(data))
        return entry[1]

    def router(self, company_id: int) -> Router:
        if company_id not in self.routers:
            self.routers[company_id] = Router(company_id)
        return self.routers[company_id]

    def sender(self, company_id: int, channel: int, text: str) -> SenderId | None:
        key = (company_id, channel, text)
        if key not in self.senders:
            self.senders[key] = active_sender(company_id, channel, text) if text else None
        return self.senders[key]

    def template(self, company_id: int, template_id: int):
        key = (company_id, template_id)
        if key not in self.templates:
            self.templates[key] = _content_template(company_id, template_id)
        return self.templates[key]


def _prefetch(ctx: _StepContext, work: list[tuple[DeliveryPlan, int]]) -> None:
    from contacts.services import opted_out_contact_ids

    groups: dict[tuple, set[int]] = defaultdict(set)
    push_contacts: set[int] = set()
    for plan, index in work:
        if plan.contact_id:
            step = plan.step_list()[index]
            groups[(plan.company_id, int(step["channel"]), step.get("sender") or "")].add(plan.contact_id)
            if int(step["channel"]) in (Channel.PUSH, Channel.MOBILE_PUSH):
                push_contacts.add(plan.contact_id)
    for (company_id, channel, sender), ids in groups.items():
        ctx.opted_out[(company_id, channel, sender)] = set(opted_out_contact_ids(company_id, channel, sender, ids))
    if push_contacts:
        for contact_id, channel, token in (PushEndpoint.objects.filter(contact_id__in=push_contacts)
                                           .order_by("-id").values_list("contact_id", "channel", "token")):
            ctx.push.setdefault((contact_id, channel), token)


def _address(ctx: _StepContext, plan: DeliveryPlan, contact: Contact | None, channel: int) -> str:
    if contact is None:
        if channel == Channel.EMAIL:
            return plan.address if "@" in plan.address else ""
        return plan.address if channel in PHONE_CHANNELS and plan.address.startswith("+") else ""
    if channel in PHONE_CHANNELS:
        return contact.phone
    if channel == Channel.EMAIL:
        return str((contact.attributes or {}).get("email") or "").strip()
    if channel == Channel.WECHAT:
        return contact.wechat_id
    if channel in (Channel.PUSH, Channel.MOBILE_PUSH):
        return ctx.push.get((contact.pk, channel), "")
    return ""


def _facts(plan: DeliveryPlan) -> tuple[str, str]:
    """The country and MNO of a plan sent to a bare number (a contact's are on the contact)."""
    if plan.address.startswith("+"):
        try:
            phone = normalize(plan.address)
            return phone.country, phone.mno
        except InvalidPhone:
            pass
    return "", ""


_new_message = instance_factory(Message)
_new_plan = instance_factory(DeliveryPlan)


def _build(ctx: _StepContext, plan: DeliveryPlan, index: int) -> tuple[Message, StepSpec]:
    data = plan.step_list()[index]
    step = ctx.step(data)
    channel = step.channel
    company_id, contact_id, source = plan.company_id, plan.contact_id, plan.source
    contact = plan.contact if contact_id is not None else None
    sender = ctx.sender(company_id, channel, step.sender) if step.sender else None
    if step.template_id is not None:
        template = ctx.template(company_id, step.template_id)
        raw = dict(template.content) if template is not None else {}
    else:
        raw = dict(step.content or {})
    missing: list[str] = []
    content = render_content(raw, build_values(contact, step.params), missing)
    if missing:
        content["missing"] = missing
    encoding, segments = "", 1
    if channel in (Channel.SMS, Channel.TTS) or "text" in content:
        info = sms.analyze(str(content.get("text") or ""))
        if channel == Channel.SMS:
            encoding, segments = info.encoding, max(info.segments, 1)
    address = _address(ctx, plan, contact, channel)
    skip = None
    gateway = None
    if not address:
        skip = SkipReason.NO_ADDRESS
    elif step.sender and sender is None:
        skip = SkipReason.NO_SENDER
    elif contact_id and contact_id in ctx.opted_out.get((company_id, channel, step.sender), ()):
        skip = SkipReason.OPTED_OUT
    elif (channel == Channel.RCS and data.get("rcs_check") and contact is not None
            and contact.rcs_capable is False):
        skip = SkipReason.NOT_RCS_CAPABLE
    elif not any(str(v).strip() for k, v in content.items() if k != "missing"):
        skip = SkipReason.EMPTY
    else:
        country, mno = (contact.country, contact.mno) if contact is not None else _facts(plan)
        gateway = ctx.router(company_id).route(channel, country=country, mno=mno, sender=step.sender)
        if gateway is None:
            skip = SkipReason.NO_ROUTE
    values = {}
    if skip is not None:
        values = {"status": MessageStatus.SKIPPED, "status_rank": 50, "error_code": skip.value,
                  "error_text": str(skip.label), "finished_at": timezone.now()}
    return _new_message(
        company_id=company_id, contact_id=contact_id, channel=channel, direction=Direction.MT, source=source,
        source_id=plan.source_id, plan_id=plan.pk, step=index,
        traffic_type=TrafficType.API if source == Source.API else TrafficType.A2P,
        priority=Priority.HIGH if source in PRIORITY_SOURCES else Priority.BULK, address=address,
        sender_id_id=sender.pk if sender is not None else None,
        sender=step.sender or (gateway.default_from if gateway is not None else ""),
        gateway_id=gateway.pk if gateway is not None else None, content=content, encoding=encoding,
        segments=segments, **values), step


def start_steps(plans: list[DeliveryPlan], *, insert: bool = False) -> list[Message]:
    """Start the next step of each plan (its first one for a new plan); a step that is
    skipped moves on to the following one at once; a plan with no step left ends
    *unsuccessful*. Saves the plans (``insert``: new plans with reserved keys, inserted
    here); queues the dispatch; moves the live counters. Runs in the caller's transaction."""
    started = _Started(plans)
    copy_insert(Message, started.created)
    if insert:
        copy_insert(DeliveryPlan, plans)
    else:
        bulk_update_values(DeliveryPlan, plans, ["current_step", "current_message", "current_wait_for",
                                                 "current_timeout", "state", "deadline", "finished_at"])
    started.finish()
    return started.created


def start_new_plan(plan: DeliveryPlan) -> list[Message]:
    """``start_steps([plan], insert=True)`` for ONE new plan without a key, on PostgreSQL:
    the plan and its messages are written by one statement, which outside a transaction is
    its own (no ``BEGIN`` / ``COMMIT``: an API send is then a lookup and this one write, D79).
    A plan with more to write — live counters (a broadcast's), status events of skipped
    steps — is written in a transaction with them."""
    from messaging.services.counters import COUNTED_SOURCES

    counted = plan.source in COUNTED_SOURCES and plan.source_id is not None
    with transaction.atomic() if counted else nullcontext():  # the hold lock is taken in it
        started = _Started([plan])
        with transaction.atomic() if started.skipped and not counted else nullcontext():
            insert_with_children(plan, started.created, "plan_id")
            started.finish()
    return started.created


class _Started:
    """The messages that start the next step of ``plans`` (built, not written), and what
    goes with them once written (``finish``)."""

    def __init__(self, plans: list[DeliveryPlan]):
        from messaging.services import counters, holds

        self.now = now = timezone.now()
        attach_chains(plans)
        cache_message = DeliveryPlan._meta.get_field("current_message").set_cached_value
        ctx = _StepContext()
        self.tally = tally = counters.Tally()
        held = holds.held_among({(plan.source, plan.source_id) for plan in plans})
        for plan in plans:
            if plan.current_step is None:
                tally.add(plan.source, plan.source_id, counters.PLAN, PlanState.ACTIVE)
        pending = [(plan, 0 if plan.current_step is None else plan.current_step + 1) for plan in plans]
        self.created = created = []
        while pending:
            work = []
            for plan, index in pending:
                if index >= len(plan.step_list()):
                    plan.state, plan.deadline, plan.finished_at = PlanState.UNSUCCESSFUL, None, now
                    tally.add(plan.source, plan.source_id, counters.PLAN, PlanState.UNSUCCESSFUL)
                else:
                    work.append((plan, index))
            if not work:
                break
            _prefetch(ctx, work)
            built = [_build(ctx, plan, index) for plan, index in work]
            messages = [message for message, _step in built]
            for message in messages:
                if message.status == MessageStatus.QUEUED and (message.source, message.source_id) in held:
                    message.held = True
                tally.add(message.source, message.source_id, message.step, "created")
                tally.add(message.source, message.source_id, message.step, message.status)
            pending = []
            for (plan, index), (message, step) in zip(work, built, strict=True):
                plan.current_step, plan.deadline = index, None
                plan.current_message_id = message.pk
                cache_message(plan, message)
                plan.current_wait_for, plan.current_timeout = step.wait_for, step.timeout
                plan.state = PlanState.ACTIVE
                if message.status == MessageStatus.SKIPPED:
                    pending.append((plan, index + 1))
            created.extend(messages)
        self.skipped = [m for m in created if m.status == MessageStatus.SKIPPED]

    def finish(self) -> None:
        """After the plans and messages are written: counters, status events and
        notifications of skipped messages, the dispatch kick (after the commit)."""
        from messaging.services import dispatch

        self.tally.flush()
        if self.skipped:
            from messaging.models import StatusEvent
            from messaging.services import notify
            from messaging.services.status import Changed

            now = self.now
            copy_insert(StatusEvent, [StatusEvent(message=m, status=m.status, error_code=m.error_code, at=now)
                                      for m in self.skipped])
            notify.status_changed([Changed(m.pk, m.company_id, m.plan_id, m.step, m.channel, m.address, m.source,
                                           m.source_id, m.status, m.error_code, m.error_text, at=now)
                                   for m in self.skipped])
        queued = {(m.gateway_id, m.priority) for m in self.created if m.status == MessageStatus.QUEUED and not m.held}
        if queued:
            dispatch.kick_after_commit(queued)
