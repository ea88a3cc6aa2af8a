"""What the outside world hears about messages: client webhooks (the message's ``webhook``
or its API access's webhook), in bulk. Payloads follow spec §21.2's recommendation."""

from __future__ import annotations

from accounts.models import ApiAccess
from messaging.models import FAILURE_STATUSES, DeliveryPlan, Source


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _emit(specs: list) -> None:
    if specs:
        from webhooks import services as webhooks

        webhooks.emit_many(specs)


def _spec(company_id: int, event_type: str, data: dict, url: str = "", api_access=None, at=None):
    from webhooks.services import EventSpec

    return EventSpec(company=company_id, event_type=event_type, data=data, url=url, api_access=api_access,
                     occurred_at=at)


def status_changed(changed) -> None:
    """Status webhooks for API messages among ``changed`` (one query for their plans)."""
    api = [c for c in changed if c.source == Source.API and c.plan_id]
    if not api:
        return
    plans = {pk: (url, access) for pk, url, access in DeliveryPlan.objects.filter(
        pk__in={c.plan_id for c in api}).values_list("pk", "webhook_url", "api_access_id")}
    accesses = {a.pk: a for a in ApiAccess.objects.filter(pk__in={a for _u, a in plans.values() if a})}
    specs = []
    for c in api:
        url, access_id = plans.get(c.plan_id, ("", None))
        access = accesses.get(access_id)
        if not url and not (access and access.webhook_url):
            continue
        specs.append(_spec(c.company_id, "message.status", url=url, api_access=access, at=c.at, data={
            "messageId": str(c.id), "planId": c.plan_id, "step": (c.step or 0) + 1, "contact": c.address,
            "channel": c.channel, "status": c.status, "providerStatus": c.provider_status or None, "late": c.late,
            # a raw "no error" code beside a success (SMPP's err:000) is not an error
            "error": {"code": c.error_code, "text": c.error_text} if c.error_code and c.status in FAILURE_STATUSES
            else None,
            "timestamp": _iso(c.at)}))
    _emit(specs)


def inbound(message) -> None:
    """A ``message.inbound`` webhook to the company's API accesses that have a webhook."""
    accesses = ApiAccess.objects.for_company(message.company_id).exclude(webhook_url="")
    _emit([_spec(message.company_id, "message.inbound", api_access=access, at=message.created_at, data={
        "messageId": str(message.pk), "contact": message.address, "channel": message.channel, "to": message.sender,
        "text": message.content.get("text", ""), "timestamp": _iso(message.created_at)})
        for access in accesses])
