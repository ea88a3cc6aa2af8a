"""The company's time zone (the agreement's): dates on pages, in exports and in forms are
shown and read in it."""

from __future__ import annotations

import zoneinfo

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone


def company_zone(company) -> zoneinfo.ZoneInfo:
    """The company's time zone; UTC when unset or unknown."""
    try:
        return zoneinfo.ZoneInfo(getattr(company, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _in_zone(chunks, zone):
    with timezone.override(zone):
        yield from chunks


class CompanyZoneMixin:
    """Run the view — and a streamed export, which is written after the view returned —
    with the company's time zone active. Sits after ``PortalAccessMixin`` in the bases
    (which has set ``self.company``)."""

    def dispatch(self, request, *args, **kwargs):
        zone = company_zone(getattr(self, "company", None))
        with timezone.override(zone):
            response = super().dispatch(request, *args, **kwargs)
        if isinstance(response, StreamingHttpResponse) and not isinstance(response, FileResponse):
            response.streaming_content = _in_zone(response.streaming_content, zone)
        return response
