"""Reads of the webhook pages, always scoped to one company."""

from webhooks.models import Endpoint, Event


def events_for(company):
    return Event.objects.for_company(company).select_related("endpoint")


def endpoints_for(company):
    return Endpoint.objects.for_company(company)
