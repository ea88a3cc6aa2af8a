"""Recurrence arithmetic of template schedules (``broadcasts.schedules``): every frequency,
the company's time zone, both DST transitions in Madrid and New York, month ends, leap
years, the effective period, weekdays, and the catch-up walk after downtime."""

import datetime as dt
import zoneinfo

import pytest

from broadcasts.schedules import (
    UTC,
    Recurrence,
    latest_missed,
    next_occurrence,
    occurrences,
    to_utc,
)
from portal.timezones import company_zone

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def local(tz, *args, fold=0):
    return dt.datetime(*args, tzinfo=tz, fold=fold)


def walls(instants, tz):
    """The occurrences as local wall times with their UTC offset, as a user reads them."""
    return [i.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %z") for i in instants]


# --- to_utc: a local wall time as an instant -----------------------------------------------------

def test_an_ordinary_local_time_is_read_in_the_zone():
    assert to_utc(dt.datetime(2024, 7, 1, 9, 0), MADRID) == utc(2024, 7, 1, 7, 0)
    assert to_utc(dt.datetime(2024, 1, 15, 9, 0), NEW_YORK) == utc(2024, 1, 15, 14, 0)


@pytest.mark.parametrize("tz, wall, expected", [
    # Madrid springs forward at 02:00 CET → 03:00 CEST on 31.03.2024 (01:00 UTC)
    (MADRID, dt.datetime(2024, 3, 31, 2, 0), utc(2024, 3, 31, 1, 0)),
    (MADRID, dt.datetime(2024, 3, 31, 2, 30), utc(2024, 3, 31, 1, 0)),
    (MADRID, dt.datetime(2024, 3, 31, 2, 59, 59), utc(2024, 3, 31, 1, 0)),
    # New York springs forward at 02:00 EST → 03:00 EDT on 10.03.2024 (07:00 UTC)
    (NEW_YORK, dt.datetime(2024, 3, 10, 2, 30), utc(2024, 3, 10, 7, 0)),
])
def test_a_time_that_does_not_exist_is_the_first_valid_instant_after_it(tz, wall, expected):
    got = to_utc(wall, tz)
    assert got == expected
    assert got.astimezone(tz).strftime("%H:%M:%S") == "03:00:00"


@pytest.mark.parametrize("tz, wall, expected", [
    # Madrid falls back at 03:00 CEST → 02:00 CET on 27.10.2024: 02:30 happens twice
    (MADRID, dt.datetime(2024, 10, 27, 2, 30), utc(2024, 10, 27, 0, 30)),
    # New York falls back at 02:00 EDT → 01:00 EST on 03.11.2024: 01:30 happens twice
    (NEW_YORK, dt.datetime(2024, 11, 3, 1, 30), utc(2024, 11, 3, 5, 30)),
])
def test_an_ambiguous_time_is_its_first_occurrence(tz, wall, expected):
    assert to_utc(wall, tz) == expected


def test_company_zone_falls_back_to_utc():
    class C:
        time_zone = "Europe/Madrid"

    assert company_zone(C()) == MADRID
    C.time_zone = "Mars/Olympus"
    assert company_zone(C()) == zoneinfo.ZoneInfo("UTC")
    C.time_zone = ""
    assert company_zone(C()) == zoneinfo.ZoneInfo("UTC")


# --- once ----------------------------------------------------------------------------------------

def test_once_launches_at_its_instant_and_then_never():
    rec = Recurrence(frequency="once", effective_from=local(MADRID, 2024, 5, 2, 10, 15))
    assert next_occurrence(rec, utc(2024, 5, 1), MADRID) == utc(2024, 5, 2, 8, 15)
    assert next_occurrence(rec, utc(2024, 5, 2, 8, 15), MADRID) is None  # strictly after
    assert occurrences(rec, utc(2024, 1, 1), MADRID, 3) == [utc(2024, 5, 2, 8, 15)]


def test_once_without_a_date_or_past_its_end_never_launches():
    assert next_occurrence(Recurrence(frequency="once"), utc(2024, 1, 1), MADRID) is None
    rec = Recurrence(frequency="once", effective_from=utc(2024, 5, 2), effective_till=utc(2024, 5, 1))
    assert next_occurrence(rec, utc(2024, 1, 1), MADRID) is None


# --- hourly --------------------------------------------------------------------------------------

def test_hourly_runs_at_the_minute_of_the_time():
    rec = Recurrence(frequency="hourly", time_of_day=dt.time(9, 20))
    got = occurrences(rec, local(MADRID, 2024, 6, 1, 10, 20), MADRID, 3)
    assert walls(got, MADRID) == ["Sat 2024-06-01 11:20 +0200", "Sat 2024-06-01 12:20 +0200",
                                  "Sat 2024-06-01 13:20 +0200"]


def test_hourly_across_spring_forward_stays_one_real_hour_apart():
    rec = Recurrence(frequency="hourly", time_of_day=dt.time(0, 30))
    got = occurrences(rec, local(MADRID, 2024, 3, 31, 0, 0), MADRID, 4)
    assert walls(got, MADRID) == ["Sun 2024-03-31 00:30 +0100", "Sun 2024-03-31 01:30 +0100",
                                  "Sun 2024-03-31 03:30 +0200", "Sun 2024-03-31 04:30 +0200"]
    assert all(b - a == dt.timedelta(hours=1) for a, b in zip(got, got[1:], strict=False))


def test_hourly_across_fall_back_runs_the_repeated_hour_twice_one_hour_apart():
    rec = Recurrence(frequency="hourly", time_of_day=dt.time(0, 15))
    got = occurrences(rec, local(NEW_YORK, 2024, 11, 3, 0, 0), NEW_YORK, 4)
    assert walls(got, NEW_YORK) == ["Sun 2024-11-03 00:15 -0400", "Sun 2024-11-03 01:15 -0400",
                                    "Sun 2024-11-03 01:15 -0500", "Sun 2024-11-03 02:15 -0500"]
    assert all(b - a == dt.timedelta(hours=1) for a, b in zip(got, got[1:], strict=False))


# --- daily ---------------------------------------------------------------------------------------

def test_daily_at_a_time_in_the_company_zone():
    rec = Recurrence(frequency="daily", time_of_day=dt.time(21, 59))
    assert next_occurrence(rec, local(MADRID, 2024, 2, 26, 18, 59), MADRID) == utc(2024, 2, 26, 20, 59)
    assert next_occurrence(rec, local(MADRID, 2024, 2, 26, 21, 59), MADRID) == utc(2024, 2, 27, 20, 59)
    # the same schedule in New York is another instant
    assert next_occurrence(rec, utc(2024, 2, 26, 12), NEW_YORK) == utc(2024, 2, 27, 2, 59)


def test_daily_across_spring_forward_in_madrid():
    rec = Recurrence(frequency="daily", time_of_day=dt.time(2, 30))
    got = occurrences(rec, local(MADRID, 2024, 3, 29, 12, 0), MADRID, 4)
    # 02:30 does not exist on 31.03: the launch is at 03:00 CEST, the first valid instant
    assert walls(got, MADRID) == ["Sat 2024-03-30 02:30 +0100", "Sun 2024-03-31 03:00 +0200",
                                  "Mon 2024-04-01 02:30 +0200", "Tue 2024-04-02 02:30 +0200"]


def test_daily_across_fall_back_in_madrid_runs_once():
    rec = Recurrence(frequency="daily", time_of_day=dt.time(2, 30))
    got = occurrences(rec, local(MADRID, 2024, 10, 26, 12, 0), MADRID, 3)
    assert walls(got, MADRID) == ["Sun 2024-10-27 02:30 +0200", "Mon 2024-10-28 02:30 +0100",
                                  "Tue 2024-10-29 02:30 +0100"]
    # and not again at the second 02:30 (CET)
    assert next_occurrence(rec, got[0], MADRID) == got[1]


def test_daily_across_both_transitions_in_new_york():
    rec = Recurrence(frequency="daily", time_of_day=dt.time(2, 30))
    spring = occurrences(rec, local(NEW_YORK, 2024, 3, 9, 0, 0), NEW_YORK, 3)
    assert walls(spring, NEW_YORK) == ["Sat 2024-03-09 02:30 -0500", "Sun 2024-03-10 03:00 -0400",
                                       "Mon 2024-03-11 02:30 -0400"]
    rec = Recurrence(frequency="daily", time_of_day=dt.time(1, 30))
    fall = occurrences(rec, local(NEW_YORK, 2024, 11, 2, 0, 0), NEW_YORK, 3)
    assert walls(fall, NEW_YORK) == ["Sat 2024-11-02 01:30 -0400", "Sun 2024-11-03 01:30 -0400",
                                     "Mon 2024-11-04 01:30 -0500"]


def test_an_ordinary_time_on_a_transition_day_keeps_its_wall_time():
    rec = Recurrence(frequency="daily", time_of_day=dt.time(9, 0))
    got = occurrences(rec, local(MADRID, 2024, 3, 30, 12, 0), MADRID, 2)
    assert walls(got, MADRID) == ["Sun 2024-03-31 09:00 +0200", "Mon 2024-04-01 09:00 +0200"]
    assert got[0] == utc(2024, 3, 31, 7, 0)


# --- weekly --------------------------------------------------------------------------------------

def test_weekly_on_chosen_weekdays():
    rec = Recurrence(frequency="weekly", weekdays=(0, 3), time_of_day=dt.time(9, 0))  # Monday, Thursday
    got = occurrences(rec, local(MADRID, 2024, 5, 1, 12, 0), MADRID, 5)  # a Wednesday
    assert walls(got, MADRID) == ["Thu 2024-05-02 09:00 +0200", "Mon 2024-05-06 09:00 +0200",
                                  "Thu 2024-05-09 09:00 +0200", "Mon 2024-05-13 09:00 +0200",
                                  "Thu 2024-05-16 09:00 +0200"]


def test_weekly_the_same_day_before_and_after_the_time():
    rec = Recurrence(frequency="weekly", weekdays=(2,), time_of_day=dt.time(9, 0))  # Wednesday
    assert walls([next_occurrence(rec, local(MADRID, 2024, 5, 1, 8, 59), MADRID)], MADRID) == [
        "Wed 2024-05-01 09:00 +0200"]
    assert walls([next_occurrence(rec, local(MADRID, 2024, 5, 1, 9, 0), MADRID)], MADRID) == [
        "Wed 2024-05-08 09:00 +0200"]


def test_weekly_across_spring_forward_in_new_york():
    rec = Recurrence(frequency="weekly", weekdays=(6,), time_of_day=dt.time(2, 15))  # Sunday 02:15
    got = occurrences(rec, local(NEW_YORK, 2024, 3, 1, 0, 0), NEW_YORK, 3)
    assert walls(got, NEW_YORK) == ["Sun 2024-03-03 02:15 -0500", "Sun 2024-03-10 03:00 -0400",
                                    "Sun 2024-03-17 02:15 -0400"]


def test_weekly_without_weekdays_never_launches():
    rec = Recurrence(frequency="weekly", weekdays=(), time_of_day=dt.time(9, 0))
    assert next_occurrence(rec, utc(2024, 1, 1), MADRID) is None


# --- monthly -------------------------------------------------------------------------------------

def test_monthly_day_31_runs_on_the_last_day_of_shorter_months_in_a_leap_year():
    rec = Recurrence(frequency="monthly", month_day=31, time_of_day=dt.time(9, 0))
    got = occurrences(rec, local(MADRID, 2024, 1, 1, 0, 0), MADRID, 5)
    assert walls(got, MADRID) == ["Wed 2024-01-31 09:00 +0100", "Thu 2024-02-29 09:00 +0100",
                                  "Sun 2024-03-31 09:00 +0200", "Tue 2024-04-30 09:00 +0200",
                                  "Fri 2024-05-31 09:00 +0200"]


def test_monthly_day_29_in_february_of_a_common_and_a_leap_year():
    rec = Recurrence(frequency="monthly", month_day=29, time_of_day=dt.time(9, 0))
    assert walls(occurrences(rec, local(MADRID, 2023, 2, 1, 0, 0), MADRID, 2), MADRID) == [
        "Tue 2023-02-28 09:00 +0100", "Wed 2023-03-29 09:00 +0200"]
    assert walls(occurrences(rec, local(MADRID, 2024, 2, 1, 0, 0), MADRID, 2), MADRID) == [
        "Thu 2024-02-29 09:00 +0100", "Fri 2024-03-29 09:00 +0100"]


def test_monthly_across_the_year_end():
    rec = Recurrence(frequency="monthly", month_day=15, time_of_day=dt.time(23, 30))
    got = occurrences(rec, local(NEW_YORK, 2024, 12, 15, 23, 30), NEW_YORK, 2)
    assert walls(got, NEW_YORK) == ["Wed 2025-01-15 23:30 -0500", "Sat 2025-02-15 23:30 -0500"]


def test_monthly_on_a_spring_forward_night():
    rec = Recurrence(frequency="monthly", month_day=31, time_of_day=dt.time(2, 30))
    got = occurrences(rec, local(MADRID, 2024, 3, 1, 0, 0), MADRID, 2)
    assert walls(got, MADRID) == ["Sun 2024-03-31 03:00 +0200", "Tue 2024-04-30 02:30 +0200"]


# --- the effective period ------------------------------------------------------------------------

def test_effective_from_is_the_first_possible_launch_inclusive():
    rec = Recurrence(frequency="daily", time_of_day=dt.time(9, 0),
                     effective_from=local(MADRID, 2024, 6, 10, 9, 0))
    assert next_occurrence(rec, utc(2024, 1, 1), MADRID) == local(MADRID, 2024, 6, 10, 9, 0)
    rec = Recurrence(frequency="daily", time_of_day=dt.time(9, 0),
                     effective_from=local(MADRID, 2024, 6, 10, 9, 0, 1))
    assert next_occurrence(rec, utc(2024, 1, 1), MADRID) == local(MADRID, 2024, 6, 11, 9, 0)


def test_effective_till_is_the_last_possible_launch_inclusive():
    rec = Recurrence(frequency="daily", time_of_day=dt.time(9, 0),
                     effective_from=local(MADRID, 2024, 6, 10, 0, 0),
                     effective_till=local(MADRID, 2024, 6, 12, 9, 0))
    got = occurrences(rec, utc(2024, 1, 1), MADRID, 10)
    assert walls(got, MADRID) == ["Mon 2024-06-10 09:00 +0200", "Tue 2024-06-11 09:00 +0200",
                                  "Wed 2024-06-12 09:00 +0200"]
    assert next_occurrence(rec, got[-1], MADRID) is None


def test_a_schedule_without_time_never_launches():
    assert next_occurrence(Recurrence(frequency="daily"), utc(2024, 1, 1), MADRID) is None
    assert next_occurrence(Recurrence(frequency="monthly", time_of_day=dt.time(9)), utc(2024, 1, 1), MADRID) is None


# --- after downtime ------------------------------------------------------------------------------

def test_latest_missed_walks_to_the_last_occurrence_before_now():
    rec = Recurrence(frequency="hourly", time_of_day=dt.time(0, 0))
    latest, missed = latest_missed(rec, utc(2024, 6, 1, 10), utc(2024, 6, 1, 13, 30), MADRID)
    assert latest == utc(2024, 6, 1, 13) and missed == 3


def test_latest_missed_after_a_long_downtime_is_quick_and_right():
    rec = Recurrence(frequency="hourly", time_of_day=dt.time(0, 0))
    latest, missed = latest_missed(rec, utc(2023, 6, 1, 10), utc(2024, 6, 1, 13, 30), MADRID)
    assert latest == utc(2024, 6, 1, 13) and missed >= 1


def test_latest_missed_when_nothing_was_missed():
    rec = Recurrence(frequency="daily", time_of_day=dt.time(9, 0))
    due = local(MADRID, 2024, 6, 1, 9, 0)
    assert latest_missed(rec, due, due + dt.timedelta(seconds=5), MADRID) == (due, 0)
