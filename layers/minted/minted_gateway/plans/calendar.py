"""When a plan runs: weekly on a weekday, every two weeks, or monthly on a day of the month, at a time
of day in the partner's time zone. Everything here is a pure function of its arguments, so the next
run (and each run's period) is the same wherever and however often it is computed.

Rules (docs/api.md, "Savings plans"):
- a month without the plan's day (the 31st in April, the 29th-31st in February) runs on its last day
  (``short_month: last_day``) or not at all (``short_month: skip``);
- a local time that does not exist (the hour a DST change skips) runs that many minutes later, at
  the same instant the wall clock would have shown it before the change; a time that occurs twice
  runs at the first;
- a period names what a run buys for: ``YYYY-MM`` for a monthly plan (at most one buy a month,
  whatever its day is changed to), the local run date ``YYYY-MM-DD`` for a weekly or two-weekly one.
"""

import calendar as _calendar
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from minted_gateway.validation import DATE_TEXT, JSON_NUMBER

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Frequency = Literal["weekly", "biweekly", "monthly"]
# A safety bound: a calendar that finds no run in this many days is refused (it cannot happen with
# the rules above; it keeps a bug from looping).
_SEARCH_DAYS = 800
# A safety bound too: the search for a run must end before the last date Python has (9999-12-31),
# else a plan starting near it overflowed the calendar's arithmetic.
LATEST_START = date(9000, 12, 31)
# The context a stored plan is read with (plans/dynamodb_plans.py): the rules below that only a caller's
# request must meet are not applied to a row an earlier version wrote, which must stay readable.
STORED = {"stored": True}


def _asked(info: ValidationInfo) -> bool:
    return not (isinstance(info.context, dict) and info.context.get("stored"))


class Calendar(BaseModel):
    """``weekly`` and ``biweekly`` name a ``weekday``; ``monthly`` a ``day_of_month``."""

    # _one_day_rule, said in the document too, so a client (or schemathesis) knows which day to name.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            # if/then/else rather than anyOf, which code generators drop the model for (see NewPlan)
            "if": {"properties": {"frequency": {"const": "monthly"}}},
            "then": {"properties": {"day_of_month": {"type": "integer"}, "weekday": {"type": "null"}},
                     "required": ["day_of_month"]},
            "else": {"properties": {"weekday": {"type": "string"}, "day_of_month": {"type": "null"}},
                     "required": ["weekday"]},
        },
    )  # fmt: skip

    frequency: Frequency = Field(description="weekly, biweekly (every two weeks) or monthly")
    weekday: Weekday | None = Field(default=None, description="weekly and biweekly: the day of the week")
    day_of_month: Annotated[int | None, JSON_NUMBER] = Field(default=None, ge=1, le=31, description="monthly: 1-31")
    short_month: Literal["last_day", "skip"] = Field(
        default="last_day", description="monthly: a month without day_of_month runs on its last day, or is skipped"
    )
    time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time of day, HH:MM")
    starts_on: Annotated[date, DATE_TEXT] | None = Field(
        default=None,
        description="the first day a run may fall on (local date; default: the day the plan is made). A "
        f"biweekly plan runs on its first weekday from this day, then every 14 days. At most {LATEST_START}",
    )

    @field_validator("time")
    @classmethod
    def _ascii_digits(cls, value: str, info: ValidationInfo) -> str:
        # The pattern's engine takes any Unicode digit for \d ("1０:00"); the document's \d (JSON Schema's) is 0-9.
        if _asked(info) and not value.isascii():
            raise ValueError("must be HH:MM in the digits 0-9")
        return value

    @field_validator("starts_on")
    @classmethod
    def _not_too_late(cls, day: date | None, info: ValidationInfo) -> date | None:
        if _asked(info) and day is not None and day > LATEST_START:
            raise ValueError(f"must be on or before {LATEST_START.isoformat()}")
        return day

    @model_validator(mode="after")
    def _one_day_rule(self) -> "Calendar":
        if self.frequency == "monthly":
            if self.day_of_month is None or self.weekday is not None:
                raise ValueError("a monthly calendar names day_of_month (1-31) and no weekday")
        elif self.weekday is None or self.day_of_month is not None:
            raise ValueError(f"a {self.frequency} calendar names a weekday and no day_of_month")
        return self

    def starting(self, day: date) -> "Calendar":
        """This calendar with ``starts_on`` filled in (a plan keeps the day it was made)."""
        return self if self.starts_on is not None else self.model_copy(update={"starts_on": day})

    def _at(self) -> wall_time:
        hours, minutes = self.time.split(":")
        return wall_time(int(hours), int(minutes))

    def _runs_on(self, day: date, start: date) -> bool:
        if day < start:
            return False
        if self.frequency == "monthly":
            assert self.day_of_month is not None  # noqa: S101 - the validator holds it
            last = _calendar.monthrange(day.year, day.month)[1]
            if self.day_of_month <= last:
                return day.day == self.day_of_month
            return self.short_month == "last_day" and day.day == last
        if WEEKDAYS[day.weekday()] != self.weekday:
            return False
        if self.frequency == "weekly":
            return True
        first = start + timedelta(days=(WEEKDAYS.index(str(self.weekday)) - start.weekday()) % 7)
        return (day - first).days % 14 == 0

    def next_run(self, after: datetime, zone: str) -> datetime:
        """The first run strictly after ``after`` (aware), in UTC."""
        tz = ZoneInfo(zone)
        local_day = after.astimezone(tz).date()
        start = self.starts_on or local_day
        day = max(local_day, start)
        for _ in range(_SEARCH_DAYS):
            if self._runs_on(day, start):
                at = local_instant(day, self._at(), tz)
                if at > after:
                    return at
            day += timedelta(days=1)
        raise ValueError("this calendar has no run in the next two years")

    def period(self, run_at: datetime, zone: str) -> str:
        """The period a run at ``run_at`` buys for (part of its order's external_id)."""
        local = run_at.astimezone(ZoneInfo(zone)).date()
        return f"{local.year:04d}-{local.month:02d}" if self.frequency == "monthly" else local.isoformat()


def local_instant(day: date, at: wall_time, tz: ZoneInfo) -> datetime:
    """``day`` at ``at`` on the wall clock of ``tz``, in UTC. zoneinfo reads a skipped wall time with
    the offset before the change (so it lands as many minutes after the gap) and a repeated one as its
    first occurrence (fold 0): both deterministic, both what the module's rules say."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
