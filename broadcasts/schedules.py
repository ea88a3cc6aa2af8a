"""Recurrence of broadcast templates (spec P§4.4–§4.5, gap G1): pure date arithmetic, no
database. See docs/broadcasts.md, "Templates and schedules".

A schedule is a *frequency* and a time of day, read in the company's time zone, between
*Effective from* and *Effective till* (both inclusive, either may be empty):

* ``once``: a single launch at ``effective_from`` (the instant the user chose);
* ``hourly``: every real hour at the minute (and second) of ``time_of_day``;
* ``daily``: every day at ``time_of_day``;
* ``weekly``: on the chosen ``weekdays`` (0 = Monday … 6 = Sunday) at ``time_of_day``;
* ``monthly``: on ``month_day`` at ``time_of_day``; a day past the month's end (31 in
  April, 29–31 in February) means the month's last day.

Daylight saving time (daily, weekly, monthly): a local time that does not exist (the clock
springs forward over it) runs at the first valid instant after it (02:30 on the spring-forward
night in Madrid runs at 03:00 CEST); a local time that happens twice (the clock falls back)
runs once, at the first of the two. Hourly follows real hours: the hour that is skipped does
not exist, the hour that repeats is two real hours and runs twice, so runs stay one hour
apart.

Every function takes and returns aware datetimes; results are in UTC.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

UTC = datetime.UTC
ONCE, HOURLY, DAILY, WEEKLY, MONTHLY = "once", "hourly", "daily", "weekly", "monthly"
FREQUENCIES = (ONCE, HOURLY, DAILY, WEEKLY, MONTHLY)

# The nominal period of each frequency: how old a missed occurrence may be and still get
# its catch-up run after downtime (see ``latest_missed``). ``once`` gets a day.
PERIODS = {
    ONCE: datetime.timedelta(days=1),
    HOURLY: datetime.timedelta(hours=1),
    DAILY: datetime.timedelta(days=1),
    WEEKLY: datetime.timedelta(days=7),
    MONTHLY: datetime.timedelta(days=31),
}
_SEARCH_HOURS = 60      # hourly: wall-clock hours looked at before giving up (never reached)
_SEARCH_DAYS = 16       # daily / weekly: days looked at
_SEARCH_MONTHS = 14     # monthly: months looked at
_MAX_STEPS = 100_000    # latest_missed: a safety bound on the walk
_JUMP_PERIODS = 48      # latest_missed: beyond this many periods, jump instead of walking


@dataclass(frozen=True)
class Recurrence:
    """The schedule fields of a template (``BroadcastTemplate`` has the same attributes, so
    either can be passed to the functions below)."""

    frequency: str = ONCE
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    time_of_day: datetime.time | None = None
    effective_from: datetime.datetime | None = None
    effective_till: datetime.datetime | None = None


# --- local wall time → instant --------------------------------------------------------------

def _wall(instant: datetime.datetime, tz) -> datetime.datetime:
    """The naive local wall time of an aware instant."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _exists(local: datetime.datetime, tz, fold: int) -> datetime.datetime | None:
    """The instant (UTC) of the naive wall time ``local`` read with ``fold``, or None when
    that wall time does not exist in ``tz`` (it is in a spring-forward gap)."""
    instant = local.replace(tzinfo=tz, fold=fold).astimezone(UTC)
    return instant if _wall(instant, tz) == local else None


def to_utc(local: datetime.datetime, tz) -> datetime.datetime:
    """A naive local wall time as an instant (UTC), DST-safe: an ambiguous time is its first
    occurrence; a time that does not exist is the first valid instant after it (the moment
    the clock jumps)."""
    first = _exists(local, tz, 0)
    if first is not None:
        return first
    # In a gap, fold=0 reads it with the offset before the jump (the later instant) and
    # fold=1 with the one after (the earlier instant); the jump lies between the two.
    lo = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if hi < lo:
        lo, hi = hi, lo
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp()) + 1
    while lo_s < hi_s:  # the first whole second whose wall time is at or past ``local``
        mid = (lo_s + hi_s) // 2
        if _wall(datetime.datetime.fromtimestamp(mid, UTC), tz) >= local:
            hi_s = mid
        else:
            lo_s = mid + 1
    return datetime.datetime.fromtimestamp(lo_s, UTC)


# --- occurrences ------------------------------------------------------------------------------

def _weekdays(value) -> set[int]:
    out = set()
    for day in value or ():
        try:
            day = int(day)
        except (TypeError, ValueError):
            continue
        if 0 <= day <= 6:
            out.add(day)
    return out


def _month_day(year: int, month: int, day: int) -> datetime.date:
    return datetime.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _next_hourly(time_of_day: datetime.time, after: datetime.datetime, tz) -> datetime.datetime | None:
    """The first instant after ``after`` whose local wall time is at the minute and second
    of ``time_of_day`` (both readings of a repeated hour count; a skipped hour has none)."""
    base = _wall(after, tz).replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=2)
    best = None
    for k in range(_SEARCH_HOURS):
        wall = base + datetime.timedelta(hours=k)
        wall = wall.replace(minute=time_of_day.minute, second=time_of_day.second)
        for fold in (0, 1):
            instant = _exists(wall, tz, fold)
            if instant is not None and instant > after and (best is None or instant < best):
                best = instant
        if best is not None and wall > _wall(best, tz) + datetime.timedelta(hours=3):
            break
    return best


def _candidate_dates(rec, start: datetime.date):
    """The local dates on which a daily / weekly / monthly schedule runs, from ``start``."""
    if rec.frequency == MONTHLY:
        day = int(rec.month_day or 0)
        if not 1 <= day <= 31:
            return
        year, month = start.year, start.month
        for _ in range(_SEARCH_MONTHS):
            date = _month_day(year, month, day)
            if date >= start:
                yield date
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return
    days = _weekdays(rec.weekdays) if rec.frequency == WEEKLY else set(range(7))
    if not days:
        return
    for k in range(_SEARCH_DAYS):
        date = start + datetime.timedelta(days=k)
        if date.weekday() in days:
            yield date


def next_occurrence(rec, after: datetime.datetime, tz) -> datetime.datetime | None:
    """The first occurrence of the schedule strictly after ``after`` and within its effective
    period, in UTC; None when there is none (the schedule is over, or incomplete)."""
    frequency = getattr(rec, "frequency", ONCE)
    start, till = rec.effective_from, rec.effective_till
    if frequency == ONCE:
        if start is None or start <= after or (till is not None and start > till):
            return None
        return start.astimezone(UTC)
    time_of_day = rec.time_of_day
    if time_of_day is None or frequency not in FREQUENCIES:
        return None
    # Occurrences must be > after and >= effective_from.
    bound = after if start is None or start <= after else start - datetime.timedelta(microseconds=1)
    if frequency == HOURLY:
        found = _next_hourly(time_of_day, bound, tz)
    else:
        found = None
        first_date = _wall(bound, tz).date() - datetime.timedelta(days=1)
        for date in _candidate_dates(rec, first_date):
            instant = to_utc(datetime.datetime.combine(date, time_of_day), tz)
            if instant > bound:
                found = instant
                break
    if found is None or (till is not None and found > till):
        return None
    return found


def occurrences(rec, after: datetime.datetime, tz, count: int = 3) -> list[datetime.datetime]:
    """The next ``count`` occurrences after ``after`` (fewer when the schedule ends)."""
    out = []
    while len(out) < count:
        found = next_occurrence(rec, after, tz)
        if found is None:
            break
        out.append(found)
        after = found
    return out


def latest_missed(rec, due: datetime.datetime, now: datetime.datetime, tz) -> tuple[datetime.datetime, int]:
    """The latest occurrence at or before ``now``, walking on from ``due`` (an occurrence at
    or before ``now``), and how many occurrences before it were missed. After a long
    downtime (more than ``_JUMP_PERIODS`` periods) the walk starts two periods before
    ``now``: the older ones are all missed, and the count is then a lower bound."""
    latest, skipped = due, 0
    period = PERIODS.get(getattr(rec, "frequency", ONCE), PERIODS[DAILY])
    if now - due > _JUMP_PERIODS * period:
        jump = next_occurrence(rec, now - 2 * period, tz)
        if jump is not None and jump <= now:
            latest, skipped = jump, 1
    for _ in range(_MAX_STEPS):
        found = next_occurrence(rec, latest, tz)
        if found is None or found > now:
            break
        latest, skipped = found, skipped + 1
    return latest, skipped


def period(frequency: str) -> datetime.timedelta:
    return PERIODS.get(frequency, PERIODS[DAILY])
