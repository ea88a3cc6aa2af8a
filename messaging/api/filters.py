"""Query filters of the message list (``GET /api/v1/messages``, django-filter). A bad value
answers 422 naming the parameter."""

from __future__ import annotations

import django_filters

from contacts.phones import InvalidPhone, normalize
from messaging.ids import uuid7_floor
from messaging.models import Direction, Message, MessageStatus, Source
from portal.channel_types import Channel


class MessageFilter(django_filters.FilterSet):
    channel = django_filters.TypedMultipleChoiceFilter(
        choices=Channel.choices, coerce=int,
        help_text="Channel id (1–10); repeat the parameter for several channels.")
    status = django_filters.MultipleChoiceFilter(
        choices=MessageStatus.choices,
        help_text="queued, submitted, delivered, seen, undelivered, failed, rejected, expired, skipped; repeat "
                  "the parameter for several.")
    direction = django_filters.ChoiceFilter(choices=Direction.choices, help_text="mt (sent) or mo (received).")
    source = django_filters.ChoiceFilter(
        choices=Source.choices, help_text="broadcast, api, conversation, chatbot, otp, system or inbound.")
    contact = django_filters.CharFilter(
        method="filter_contact",
        help_text="The address, exactly: a phone number (any form; normalised to E.164 first), an e-mail "
                  "(case-insensitive), a WeChat id or a push token.")
    planId = django_filters.NumberFilter(field_name="plan_id", help_text="Messages of one delivery plan.")
    since = django_filters.IsoDateTimeFilter(
        method="filter_since",
        help_text="Created at or after this time (ISO 8601, e.g. 2025-03-01T00:00:00Z; millisecond precision).")
    until = django_filters.IsoDateTimeFilter(
        method="filter_until", help_text="Created before this time (ISO 8601, exclusive).")

    class Meta:
        model = Message
        fields = ["channel", "status", "direction", "source", "contact", "planId", "since", "until"]

    def filter_contact(self, queryset, name, value):
        value = value.strip()
        if "@" in value:
            return queryset.filter(address__iexact=value)
        try:
            value = normalize(value, self.request.auth.company.default_region).e164
        except InvalidPhone:
            pass  # not a phone number: a WeChat id or a push token, matched as given
        return queryset.filter(address=value)

    # Message ids are UUIDv7s (time-ordered): a time range is a range of the primary key,
    # served by the (company, -id) index, no scan of created_at.
    def filter_since(self, queryset, name, value):
        return queryset.filter(id__gte=uuid7_floor(value.timestamp()))

    def filter_until(self, queryset, name, value):
        return queryset.filter(id__lt=uuid7_floor(value.timestamp()))
