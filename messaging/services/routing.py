"""Routing (seed note 002): which gateway carries a message.

Candidates are the active gateways of the channel whose routing filters match the message
(destination country, mobile operator, sender). A gateway of the message's company wins
over a generic one (``company`` empty); then the lowest id. The gateway list is small and
read once per call of ``Router`` (a broadcast batch builds one router for all its rows).
"""

from __future__ import annotations

import threading
import time

from messaging.models import Gateway, RouteField

# The active gateways, read at most every CACHE_SECONDS per process: a gateway edited in
# the BackOffice routes new messages within that time.
CACHE_SECONDS = 2.0
_cache: dict = {"at": -1.0, "gateways": []}
_lock = threading.Lock()


def active_gateways() -> list[Gateway]:
    now = time.monotonic()
    with _lock:
        if now - _cache["at"] > CACHE_SECONDS:
            _cache["gateways"] = list(Gateway.objects.filter(is_active=True).order_by("id"))
            _cache["at"] = now
        return _cache["gateways"]


def clear_cache() -> None:
    with _lock:
        _cache["at"] = -1.0


def _matches(field: str, values: list, facts: dict) -> bool:
    if not field:
        return True
    wanted = {str(v).strip().lower() for v in values or [] if str(v).strip()}
    if not wanted:
        return True
    return str(facts.get(field, "")).strip().lower() in wanted


class Router:
    def __init__(self, company_id: int):
        self.company_id = company_id
        gateways = [g for g in active_gateways() if g.company_id in (None, company_id)]
        # company-specific first, then generic; each by id
        self.gateways = sorted(gateways, key=lambda g: (g.company_id is None, g.id))
        self._cache: dict[tuple, Gateway | None] = {}

    def route(self, channel: int, *, country: str = "", mno: str = "", sender: str = "") -> Gateway | None:
        key = (channel, country, mno, sender)
        if key not in self._cache:
            facts = {RouteField.COUNTRY: country, RouteField.MNO: mno, RouteField.SENDER: sender}
            self._cache[key] = next(
                (g for g in self.gateways if g.channel == channel
                 and _matches(g.filter1_field, g.filter1_values, facts)
                 and _matches(g.filter2_field, g.filter2_values, facts)), None)
        return self._cache[key]


def route(company_id: int, channel: int, *, country: str = "", mno: str = "", sender: str = "") -> Gateway | None:
    return Router(company_id).route(channel, country=country, mno=mno, sender=sender)
