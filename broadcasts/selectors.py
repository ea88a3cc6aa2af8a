"""Reads of broadcasts: lists scoped to a company, live statistics from the engine's
counters (never a COUNT(*) over messages), the pre-flight summary."""

from __future__ import annotations

from django.db.models import Q

from broadcasts.models import Broadcast, BroadcastStatus, BroadcastTemplate, ModerationState
from messaging.models import MessageStatus as M
from messaging.models import PlanState, Source
from messaging.services import counters
from portal.channel_types import PHONE_CHANNELS, Channel
from portal.tenancy import MissingCompany


def broadcasts_for(company):
    return Broadcast.objects.for_company(company)


def templates_for(company):
    return BroadcastTemplate.objects.for_company(company)


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _step_figures(index: int, step: dict, keys: dict[str, int]) -> dict:
    g = keys.get
    channel = int(step.get("channel") or 0)
    created = g("created", 0)
    return {
        "index": index, "number": index + 1, "channel": channel,
        "channel_label": Channel(channel).label if channel in Channel.values else "?",
        "sender": step.get("sender") or "",
        "wait_for": step.get("wait_for") or "", "timeout": step.get("timeout") or 0,
        "sent": created - g(M.SKIPPED, 0),
        "queued": g(M.QUEUED, 0),
        "submitted": sum(g(s, 0) for s in (M.SUBMITTED, M.DELIVERED, M.SEEN, M.UNDELIVERED, M.EXPIRED)),
        "delivered": g(M.DELIVERED, 0) + g(M.SEEN, 0),
        "seen": g(M.SEEN, 0),
        "failed": sum(g(s, 0) for s in (M.FAILED, M.REJECTED, M.UNDELIVERED, M.EXPIRED)),
        "skipped": g(M.SKIPPED, 0),
        "late": g("late", 0),
        "created": created,
    }


def statistics(broadcast: Broadcast, totals: dict | None = None) -> dict:
    """*Fallback statistics* and per-step *Message statistics* of a run, from counters."""
    if totals is None:
        totals = counters.totals(Source.BROADCAST, broadcast.pk)
    plan = totals.get(counters.PLAN, {})
    total = broadcast.total_contacts if broadcast.resolved else max(broadcast.total_contacts,
                                                                     broadcast.estimated_contacts)
    initiated = plan.get(PlanState.ACTIVE, 0)
    successful = plan.get(PlanState.SUCCESSFUL, 0)
    unsuccessful = plan.get(PlanState.UNSUCCESSFUL, 0) + plan.get(PlanState.CANCELED, 0)
    not_initiated = max(total - initiated, 0)
    return {
        "total": total,
        "not_initiated": not_initiated, "not_initiated_pct": _pct(not_initiated, total),
        "initiated": initiated, "initiated_pct": _pct(initiated, total),
        "successful": successful, "successful_pct": _pct(successful, total),
        "unsuccessful": unsuccessful, "unsuccessful_pct": _pct(unsuccessful, total),
        "canceled": plan.get(PlanState.CANCELED, 0),
        "in_progress": max(initiated - successful - unsuccessful, 0),
        "steps": [_step_figures(i, step, totals.get(i, {})) for i, step in enumerate(broadcast.steps)],
    }


def progress_many(broadcasts) -> dict[int, dict]:
    """The *Progress* bar of each listed run (% successful / unsuccessful), one query."""
    broadcasts = list(broadcasts)
    all_totals = counters.totals_many(Source.BROADCAST, [b.pk for b in broadcasts])
    out = {}
    for b in broadcasts:
        plan = all_totals.get(b.pk, {}).get(counters.PLAN, {})
        total = b.total_contacts if b.resolved else max(b.total_contacts, b.estimated_contacts)
        ok = plan.get(PlanState.SUCCESSFUL, 0)
        bad = plan.get(PlanState.UNSUCCESSFUL, 0) + plan.get(PlanState.CANCELED, 0)
        out[b.pk] = {"successful_pct": _pct(ok, total), "unsuccessful_pct": _pct(bad, total),
                     "done_pct": _pct(ok + bad, total)}
    return out


def _unreachable(contacts, channel: int):
    """Recipients with no address on ``channel``."""
    from contacts.models import PushEndpoint

    if channel in PHONE_CHANNELS:
        return contacts.filter(phone="")
    if channel == Channel.EMAIL:
        return contacts.filter(Q(attributes__email__isnull=True) | Q(attributes__email=""))
    if channel == Channel.WECHAT:
        return contacts.filter(wechat_id="")
    if channel in (Channel.PUSH, Channel.MOBILE_PUSH):
        return contacts.exclude(pk__in=PushEndpoint.objects.filter(channel=channel).values("contact_id"))
    return contacts.none()


def preflight(company, cleaned: dict) -> dict:
    """What a launch would do (spec §4.2; issue 5 point 2): recipients after
    de-duplication, per step the opted-out and unreachable ones, SMS segments, the
    estimated number of messages and an ETA from the routes' throughput."""
    from broadcasts.services.recipients import recipients_query
    from contacts.services import exclude_opted_out
    from messaging import encoding
    from messaging.services.routing import Router

    contacts = recipients_query(company, cleaned["recipients"])
    total = contacts.count()
    typed_new = len(set(cleaned["recipients"].get("phones") or [])
                    - set(contacts.filter(phone__in=cleaned["recipients"].get("phones") or [])
                          .values_list("phone", flat=True)))
    total += typed_new
    router = Router(company.pk)
    steps, first_step_messages, eta = [], 0, None
    for index, step in enumerate(cleaned["steps"]):
        channel = int(step["channel"])
        sender = step.get("sender") or ""
        reachable = contacts.exclude(pk__in=_unreachable(contacts, channel).values("pk"))
        opted_out = reachable.count() - exclude_opted_out(reachable, channel, sender).count()
        unreachable = _unreachable(contacts, channel).count()
        text = str((step.get("content") or {}).get("text") or "")
        segments = max(encoding.analyze(text).segments, 1) if channel == Channel.SMS else 1
        gateway = router.route(channel, sender=sender)
        sendable = max(total - opted_out - unreachable, 0)
        steps.append({"index": index, "number": index + 1, "channel": channel, "channel_label": Channel(channel).label,
                      "sender": sender, "opted_out": opted_out, "unreachable": unreachable, "sendable": sendable,
                      "segments": segments, "messages": sendable * segments,
                      "gateway": gateway.name if gateway else "", "tps": gateway.tps if gateway else 0,
                      "has_route": gateway is not None})
        if index == 0:
            first_step_messages = sendable * segments
            eta = round(sendable / gateway.tps) if gateway and gateway.tps else None
    return {"recipients": total, "typed_new": typed_new, "steps": steps,
            "estimated_messages": first_step_messages, "eta_seconds": eta}


# --- moderation by the parent company (D56) -----------------------------------------------------

CHILDREN_CACHE_SECONDS = 60


def has_child_companies(company) -> bool:
    """Whether ``company`` is the parent (reseller) of at least one company: it moderates
    their broadcasts in the portal. Cached for a minute per company (the menu asks on every
    page; a new child company shows the *Moderation* entry within that minute)."""
    from django.core.cache import cache

    from accounts.models import Company

    if company is None:
        return False
    key = f"herald:has-children:{company.pk}"
    cached = cache.get(key)
    if cached is None:
        cached = Company.objects.filter(parent_id=company.pk).exists()
        cache.set(key, cached, CHILDREN_CACHE_SECONDS)
    return bool(cached)


def _children_of(company) -> Q:
    if company is None:
        raise MissingCompany("moderation: a parent company is required to scope this query")
    return Q(company__parent_id=company.pk)


def moderated_broadcasts(company):
    """The broadcasts the parent ``company`` may open in its moderation pages: those of its
    DIRECT child companies that are on moderation or were moderated (a grandchild's belong
    to its own parent)."""
    return (Broadcast.objects.filter(_children_of(company))
            .filter(Q(status=BroadcastStatus.ON_MODERATION) | Q(moderated_at__isnull=False))
            .select_related("company", "created_by", "moderated_by"))


def moderation_queue(company):
    """The broadcasts of ``company``'s direct child companies waiting for moderation."""
    return (Broadcast.objects.filter(_children_of(company), status=BroadcastStatus.ON_MODERATION)
            .select_related("company", "created_by"))


def moderated_templates(company):
    """The templates of ``company``'s direct child companies that are or were on moderation."""
    return (BroadcastTemplate.objects.filter(_children_of(company)).exclude(moderation=ModerationState.NONE)
            .select_related("company", "created_by"))


def template_moderation_queue(company):
    """The templates of ``company``'s direct child companies waiting for moderation."""
    return (BroadcastTemplate.objects.filter(_children_of(company), moderation=ModerationState.PENDING)
            .select_related("company", "created_by"))


def recipient_names(definitions) -> tuple[dict[int, str], dict[int, str]]:
    """``({target id: name}, {tag id: name})`` of the targets and tags these broadcasts or
    templates (of any companies) send to: two queries however many rows. Each id is read
    in its row's own company only."""
    from contacts.models import Tag, Target

    targets, tags = [], []
    for d in definitions:
        r = d.recipients or {}
        if r.get("targets"):
            targets.append(Q(company_id=d.company_id, pk__in=r["targets"]))
        if r.get("tags"):
            tags.append(Q(company_id=d.company_id, pk__in=r["tags"]))
    target_names = dict(Target.objects.filter(_any(targets)).values_list("pk", "name")) if targets else {}
    tag_names = dict(Tag.objects.filter(_any(tags)).values_list("pk", "name")) if tags else {}
    return target_names, tag_names


def _any(conditions: list[Q]) -> Q:
    out = Q()
    for q in conditions:
        out |= q
    return out
