"""OrderAttentionAgeAlarm stays steady while a row waits, whatever ReconcileRate allows.

The reconciler writes the oldest wait it saw once per run (0 once nothing waits, nothing while a
waiting row is leased). With runs an hour apart, or late, most of the alarm's periods are empty:
what the alarm does with an empty period decides whether it mails ALARM/OK again and again.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from local.template import load_template

TEMPLATE = load_template()
ALARM = TEMPLATE["Resources"]["OrderAttentionAgeAlarm"]["Properties"]
THRESHOLD = Decimal(TEMPLATE["Parameters"]["AttentionAgeAlarmSeconds"]["Default"])
RATE_PATTERN = TEMPLATE["Parameters"]["ReconcileRate"]["AllowedPattern"]
LEASE_SECONDS = 120  # reconcile_lease_seconds' default: a row looked at is not due again before it ends
DAY = 86400


def seconds_of(rate: str) -> int:
    assert re.fullmatch(RATE_PATTERN, rate), rate
    number, unit = rate[len("rate(") : -1].split()
    return int(number) * (3600 if unit.startswith("hour") else 60)


def written(rate: str, settled_at: int, until: int) -> dict[int, Decimal]:
    """What each period holds: a row claimed at 0 waits until ``settled_at``; runs come up to 2 min late."""
    periods: dict[int, Decimal] = {}
    every, last_look = seconds_of(rate), -LEASE_SECONDS
    for run in range(until // every + 1):
        at = run * every + (run * 37) % 120
        if at >= settled_at:
            value: Decimal | None = Decimal(0)  # nothing waits
        elif at - last_look >= LEASE_SECONDS:
            value, last_look = Decimal(at), at  # looked at: its age since the claim
        else:
            value = None  # still leased from the run before: not seen, nothing written
        if value is not None:
            period = at // int(ALARM["Period"])
            periods[period] = max(periods.get(period, value), value)  # Statistic Maximum
    return periods


def states(periods: dict[int, Decimal], count: int) -> list[str]:
    """The alarm's state after each period, as CloudWatch decides with EvaluationPeriods 1."""
    state, result = "INSUFFICIENT_DATA", []
    missing = {"breaching": "ALARM", "notBreaching": "OK", "missing": "INSUFFICIENT_DATA"}
    for period in range(count):
        if period in periods:
            state = "ALARM" if periods[period] >= THRESHOLD else "OK"
        else:
            state = missing.get(ALARM.get("TreatMissingData", "missing"), state)  # ignore: the state stays
        result.append(state)
    return result


def test_the_alarm_is_evaluated_as_the_simulation_assumes() -> None:
    assert ALARM["MetricName"] == "OrderAttentionOldestAgeSeconds" and ALARM["Statistic"] == "Maximum"
    assert ALARM["EvaluationPeriods"] == 1 and ALARM["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize("rate", ["rate(1 minute)", "rate(5 minutes)", "rate(7 minutes)", "rate(1 hour)",
                                  "rate(6 hours)"])  # fmt: skip
def test_a_waiting_row_mails_alarm_once_and_ok_once_it_is_settled(rate: str) -> None:
    settled_at, until = DAY, 2 * DAY + seconds_of(rate) + 600
    count = until // int(ALARM["Period"])
    timeline = states(written(rate, settled_at, until), count)
    changes = [state for before, state in zip(["INSUFFICIENT_DATA", *timeline], timeline, strict=False)
               if state != before]  # fmt: skip
    assert changes in (["ALARM", "OK"], ["OK", "ALARM", "OK"]), changes  # each is one mail: no flapping
    first_alarm = timeline.index("ALARM") * int(ALARM["Period"])
    assert first_alarm <= THRESHOLD + seconds_of(rate) + LEASE_SECONDS + 120 + int(
        ALARM["Period"]
    )  # no later than one run after
