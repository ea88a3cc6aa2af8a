"""Reads of the Omni API, always scoped to the key's company (another company's message or
plan is simply not found)."""

from __future__ import annotations

from django.db.models import Prefetch

from messaging.models import Attempt, DeliveryPlan, Message, StatusEvent


def messages_for(company):
    """The company's messages (the EDR), newest first: what the list pages through."""
    return Message.objects.for_company(company)


def message_details_for(company):
    """Messages with their attempts and status history (two prefetch queries)."""
    return messages_for(company).prefetch_related(
        Prefetch("attempts", queryset=Attempt.objects.order_by("number", "id")),
        Prefetch("events", queryset=StatusEvent.objects.order_by("at", "id")),
    )


def plans_for(company):
    """The company's delivery plans with their contact and messages by step."""
    return (DeliveryPlan.objects.for_company(company).select_related("contact")
            .prefetch_related(Prefetch("messages", queryset=Message.objects.order_by("step", "id"))))
