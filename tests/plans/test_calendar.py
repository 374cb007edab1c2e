"""The plan calendar: the next run and its period, the same however often they are computed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from minted_gateway.plans.calendar import Calendar


def runs(calendar: Calendar, start: datetime, count: int, zone: str) -> list[datetime]:
    found, at = [], start
    for _ in range(count):
        at = calendar.next_run(at, zone)
        found.append(at)
    return found


def test_the_31st_runs_on_the_last_day_of_a_shorter_month_or_not_at_all() -> None:
    last_day = Calendar(frequency="monthly", day_of_month=31, starts_on=date(2027, 1, 1))
    days = [r.astimezone(UTC).date().isoformat() for r in runs(last_day, datetime(2027, 1, 1, tzinfo=UTC), 4, "UTC")]
    assert days == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    leap = runs(Calendar(frequency="monthly", day_of_month=30), datetime(2028, 2, 1, tzinfo=UTC), 1, "UTC")
    assert leap[0].date() == date(2028, 2, 29)
    skip = Calendar(frequency="monthly", day_of_month=31, short_month="skip", starts_on=date(2027, 1, 1))
    days = [r.date().isoformat() for r in runs(skip, datetime(2027, 1, 1, tzinfo=UTC), 3, "UTC")]
    assert days == ["2027-01-31", "2027-03-31", "2027-05-31"]


def test_a_monthly_period_is_its_month_and_a_weekly_one_its_local_date() -> None:
    monthly = Calendar(frequency="monthly", day_of_month=1, time="00:30")
    # 00:30 on 1 Feb in Istanbul is still 31 Jan in UTC: the period is the partner's month.
    run = monthly.next_run(datetime(2027, 1, 15, tzinfo=UTC), "Europe/Istanbul")
    assert run == datetime(2027, 1, 31, 21, 30, tzinfo=UTC)
    assert monthly.period(run, "Europe/Istanbul") == "2027-02"
    weekly = Calendar(frequency="weekly", weekday="monday")
    run = weekly.next_run(datetime(2027, 1, 1, tzinfo=UTC), "Europe/Istanbul")
    assert weekly.period(run, "Europe/Istanbul") == "2027-01-04"


def test_biweekly_runs_every_fourteen_days_from_its_first_weekday() -> None:
    every_two = Calendar(frequency="biweekly", weekday="friday", starts_on=date(2027, 1, 1))  # a Friday
    days = [r.date().isoformat() for r in runs(every_two, datetime(2026, 12, 31, tzinfo=UTC), 3, "UTC")]
    assert days == ["2027-01-01", "2027-01-15", "2027-01-29"]


def test_across_daylight_saving_time_the_wall_clock_time_holds() -> None:
    weekly = Calendar(frequency="weekly", weekday="sunday", time="09:00")
    around = runs(weekly, datetime(2027, 3, 20, tzinfo=UTC), 2, "Europe/London")  # BST starts 28 March
    assert [r.hour for r in around] == [9, 8]  # 09:00 GMT, then 09:00 BST
    # 01:30 does not exist on 28 March 2027 in London: it runs at 02:30 BST (01:30 UTC), once.
    gap = Calendar(frequency="weekly", weekday="sunday", time="01:30")
    run = gap.next_run(datetime(2027, 3, 27, tzinfo=UTC), "Europe/London")
    assert run == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    # 01:30 happens twice on 31 October 2027: the first (BST, 00:30 UTC).
    twice = gap.next_run(datetime(2027, 10, 30, tzinfo=UTC), "Europe/London")
    assert twice == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert gap.next_run(twice, "Europe/London").date() == date(2027, 11, 7)  # not again an hour later


def test_a_calendar_names_the_day_its_frequency_needs() -> None:
    with pytest.raises(ValidationError):
        Calendar(frequency="monthly", weekday="monday")
    with pytest.raises(ValidationError):
        Calendar(frequency="weekly", day_of_month=5)
    with pytest.raises(ValidationError):
        Calendar(frequency="monthly", day_of_month=32)
