"""Our metrics provider (minted_gateway/metric_lines.py) writes what Powertools' own writes, byte for byte,
and refuses what it refuses: the same calls on both give the same lines and the same errors."""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from hypothesis import given, settings
from hypothesis import strategies as st

from minted_gateway.metric_lines import MetricLinesProvider
from minted_gateway.observability import observability

Calls = Callable[[AmazonCloudWatchEMFProvider], None]
NOW_MS = int(time.time() * 1000)


def provider(kind: type[AmazonCloudWatchEMFProvider], timestamp: bool = True) -> AmazonCloudWatchEMFProvider:
    made = kind(namespace="MintedGateway", service="minted-gateway")
    if timestamp:
        made.set_timestamp(NOW_MS)  # both lines at one time, so that they can be compared
    return made


def written(capsys: pytest.CaptureFixture[str], kind: type[AmazonCloudWatchEMFProvider], calls: Calls) -> Any:
    """What ``calls`` and a flush write (lines, warnings, Powertools' debug lines), or the error they raise
    (its type and text) with what they wrote and kept before it."""
    capsys.readouterr()
    made = provider(kind)
    debug = DebugLines()
    powertools = logging.getLogger("aws_lambda_powertools")
    level, powertools.level = powertools.level, logging.DEBUG
    powertools.addHandler(debug)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            calls(made)
            made.flush_metrics()
    except Exception as exc:  # the error is what is compared
        return type(exc), str(exc), capsys.readouterr().out, repr(dict(made.metric_set)), debug.lines
    finally:
        powertools.removeHandler(debug)
        powertools.level = level
    return capsys.readouterr().out, [str(w.message) for w in caught], debug.lines


class DebugLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def same(capsys: pytest.CaptureFixture[str], calls: Calls) -> None:
    expected = written(capsys, AmazonCloudWatchEMFProvider, calls)
    assert written(capsys, MetricLinesProvider, calls) == expected


def metric(**arguments: Any) -> Calls:
    return lambda p: p.add_metric(**{"name": "OrdersPlaced", "unit": MetricUnit.Count, "value": 1, **arguments})


def each(*calls: Calls) -> Calls:
    def run(made: AmazonCloudWatchEMFProvider) -> None:
        for call in calls:
            call(made)

    return run


CALLS: dict[str, Calls] = {
    "one count": metric(),
    "our handlers' kinds": each(metric(), metric(name="Age", unit=MetricUnit.Seconds, value=12.5), metric(value=2)),
    "padded name": metric(name="  OrdersRead \t"),
    "float, Decimal and bool values": each(*(metric(value=v) for v in (0.1, Decimal("2.5"), True, -3))),
    "every unit": each(*(metric(name=f"m{i}", unit=u, value=i) for i, u in enumerate(MetricUnit))),
    "a unit by name": metric(unit="Count"),
    "a unit by value": metric(unit="Count/Second"),
    "high resolution": metric(resolution=MetricResolution.High),
    "resolution 1": metric(resolution=1),
    "standard resolution by enum": metric(resolution=MetricResolution.Standard),
    "high, then standard": each(metric(resolution=1), metric(value=2)),
    "dimensions and metadata": each(
        lambda p: p.add_dimension(name="stage", value="prod"),
        lambda p: p.add_metadata(key="external_id", value="ord-1"),
        lambda p: p.add_dimensions(region="eu-central-1"),
        metric(),
    ),
    "nothing added": each(),
    "empty name": metric(name="  "),
    "long name": metric(name="x" * 256),
    "longest name": metric(name="x" * 255),
    "name not text": metric(name=7),
    "value not a number": metric(value="1"),
    "value None": metric(value=None),
    "unknown unit": metric(unit="Bogus"),
    "unit of another kind": metric(unit=MetricResolution.High),
    "unknown resolution": metric(resolution=30),
    "resolution as text": metric(resolution="60"),
    "a full set of metrics": each(*(metric(name=f"m{i}", value=i) for i in range(101))),
    "a full list of values": each(*(metric(unit=MetricUnit.Milliseconds, value=i) for i in range(150))),
    "a bad metric after good ones": each(metric(), metric(name="Age", value=2), metric(value="bad")),
}


@pytest.mark.parametrize("name", CALLS)
def test_each_kind_of_call_writes_what_powertools_writes(capsys: pytest.CaptureFixture[str], name: str) -> None:
    same(capsys, CALLS[name])


@pytest.mark.parametrize(
    "switches", [{"POWERTOOLS_METRICS_DISABLED": "true"}, {"POWERTOOLS_DEV": "true"},
                 {"POWERTOOLS_DEV": "true", "POWERTOOLS_METRICS_DISABLED": "false"},
                 {"POWERTOOLS_METRICS_DISABLED": "false"}],
)  # fmt: skip
def test_powertools_switches_are_read_as_powertools_reads_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, switches: dict[str, str]
) -> None:
    for name, value in switches.items():
        monkeypatch.setenv(name, value)
    for calls in CALLS.values():
        same(capsys, calls)


def test_a_flush_clears_for_the_next_invocation(capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    for kind in (AmazonCloudWatchEMFProvider, MetricLinesProvider):
        made = provider(kind)
        for value in (1, 2):
            made.add_metric(name="OrdersRead", unit=MetricUnit.Count, value=value)
            made.flush_metrics()
        lines.append(capsys.readouterr().out)
    assert lines[1] == lines[0] and lines[0].count("\n") == 2


def test_the_line_without_a_set_timestamp_is_stamped_now(capsys: pytest.CaptureFixture[str]) -> None:
    made = provider(MetricLinesProvider, timestamp=False)
    made.add_metric(name="OrdersRead", unit=MetricUnit.Count, value=1)
    made.flush_metrics()
    line = json.loads(capsys.readouterr().out)
    assert abs(line["_aws"]["Timestamp"] - int(time.time() * 1000)) < 60_000 and line["OrdersRead"] == [1.0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["OrdersPlaced", "OrdersRead", " QuoteAge", "a" * 255]),
            st.sampled_from(list(MetricUnit)),
            st.integers(-(10**6), 10**6)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.decimals(places=2, allow_nan=False, allow_infinity=False),
        ),
        max_size=12,
    )
)
def test_any_run_of_our_kind_of_metric_writes_what_powertools_writes(added: list[tuple[str, Any, Any]]) -> None:
    outputs = []
    for kind in (AmazonCloudWatchEMFProvider, MetricLinesProvider):
        made = provider(kind)
        for name, unit, value in added:
            made.add_metric(name=name, unit=unit, value=value)
        outputs.append(json.dumps(made.serialize_metric_set()) if added else None)  # the order of keys too
    assert outputs[1] == outputs[0]


def test_every_function_writes_metrics_through_it() -> None:
    _, _, metrics = observability()
    assert isinstance(metrics.provider, MetricLinesProvider)
    assert metrics.provider.metric_set is metrics.metric_set  # the sets every Metrics of the process shares
