"""What X-Ray's subsegments told an operator, from the log lines a make dev stack writes: how long each
Minted and DynamoDB call took and which one failed, by operation, with the request's correlation id,
as metrics (embedded metric format) the dashboard's widgets find."""

from __future__ import annotations

import concurrent.futures
import json
import re
from typing import Any

import pytest

from local.template import load_template
from tests.stack import Api, order

DASHBOARD = load_template()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]


class CallLines:
    """The call lines the functions write to stdout (as CloudWatch Logs gets them) from here on."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def read(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self._capsys.readouterr().out.splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("message") in ("minted call", "dynamodb call")]


@pytest.fixture
def calls(api: Api, capsys: pytest.CaptureFixture[str]) -> CallLines:
    with capsys.disabled():  # Powertools' log handler keeps the stdout it first sees: not this test's capture
        api.get("/legal")
    return CallLines(capsys)


def dashboard_searches() -> list[tuple[str, list[str], str]]:
    """(metric name, dimension keys, statistic) of each SEARCH on the dashboard."""
    found = re.findall(r"SEARCH\('\{MintedGateway,([^}]*)\} MetricName=\\\"(\w+)\\\"', '(\w+)'", DASHBOARD)
    return [(name, dims.split(","), stat) for dims, name, stat in found]


def test_a_buy_writes_each_calls_duration_and_outcome_with_its_correlation_id(
    api: Api, order_id: str, calls: CallLines
) -> None:
    token = api.quote()
    calls.read()
    answer = api.post("/orders", order(order_id, token))
    assert answer.status_code == 201, answer.text

    lines = calls.read()
    request_id = answer.headers["X-Request-Id"]
    assert lines and all(line["correlation_id"] == request_id for line in lines)
    minted = {line["Operation"]: line for line in lines if line["message"] == "minted call"}
    dynamodb = {line["Operation"]: line for line in lines if line["message"] == "dynamodb call"}
    assert set(minted) == {"buy"} and minted["buy"]["Outcome"] == "ok" and minted["buy"]["MintedCallErrors"] == 0
    assert {"PutItem", "UpdateItem"} <= set(dynamodb)  # the claim, then Minted's answer
    for line in lines:
        durations = line.get("MintedCallDuration") or line["DynamoDbCallDuration"]
        assert durations and all(ms > 0 for ms in durations)
        # Every dimension the metric is declared with is a key of the line (else CloudWatch drops it).
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "MintedGateway"
        assert all(key in line for dims in directive["Dimensions"] for key in dims)
        assert all(metric["Name"] in line for metric in directive["Metrics"])
        assert line.get("MintedCallErrors", line.get("DynamoDbCallErrors")) == 0


def test_a_failed_minted_call_is_counted_by_operation_and_outcome(api: Api, order_id: str, calls: CallLines) -> None:
    token = api.quote()
    api.minted.fault("buy", drop="after_commit", times=1)
    calls.read()
    assert api.post("/orders", order(order_id, token)).status_code == 202  # the answer was lost

    lines = [line for line in calls.read() if line["message"] == "minted call"]
    failed = [line for line in lines if line["MintedCallErrors"]]
    assert [(line["Operation"], line["Outcome"]) for line in failed] == [("buy", "outcome_unknown")]


def test_a_replayed_buy_refused_by_its_conditional_write_is_not_a_failure(
    api: Api, order_id: str, calls: CallLines
) -> None:
    body = order(order_id, api.quote())
    assert api.post("/orders", body).status_code == 201
    calls.read()
    assert api.post("/orders", body).status_code == 200

    (line,) = [line for line in calls.read() if line["message"] == "dynamodb call"]
    assert line["Operation"] == "PutItem" and line["Outcome"] == "ConditionalCheckFailedException"
    assert line["DynamoDbCallErrors"] == 0


def test_the_dashboard_shows_p50_p99_and_errors_of_the_metrics_the_lines_carry(
    api: Api, order_id: str, calls: CallLines
) -> None:
    token = api.quote()
    calls.read()
    assert api.post("/orders", order(order_id, token)).status_code == 201
    written = {(metric["Name"], tuple(sorted(dims)))
               for line in calls.read()
               for directive in line["_aws"]["CloudWatchMetrics"]
               for dims in directive["Dimensions"] for metric in directive["Metrics"]}  # fmt: skip

    searches = dashboard_searches()
    shown = {(name, tuple(sorted(dims))): set() for name, dims, _ in searches}
    for name, dims, stat in searches:
        shown[(name, tuple(sorted(dims)))].add(stat)
    assert shown == {
        ("MintedCallDuration", ("Operation", "Outcome", "service")): {"p50", "p99"},
        ("DynamoDbCallDuration", ("Operation", "service")): {"p50", "p99"},
        ("MintedCallErrors", ("Operation", "Outcome", "service")): {"Sum"},
        ("DynamoDbCallErrors", ("Operation", "service")): {"Sum"},
    }
    # The widgets search for what the functions write (an errors metric only once a call failed).
    assert {("MintedCallDuration", ("Operation", "Outcome", "service")),
            ("DynamoDbCallDuration", ("Operation", "service"))} == written  # fmt: skip
    api.minted.fault("buy", drop="after_commit", times=1)
    assert api.post("/orders", order(f"{order_id}-lost", api.quote())).status_code == 202
    written |= {(metric["Name"], tuple(sorted(dims)))
                for line in calls.read()
                for directive in line["_aws"]["CloudWatchMetrics"]
                for dims in directive["Dimensions"] for metric in directive["Metrics"]}  # fmt: skip
    assert ("MintedCallErrors", ("Operation", "Outcome", "service")) in written
    assert written <= set(shown)


def test_concurrent_requests_each_get_their_own_correlation_id(api: Api, calls: CallLines) -> None:
    # The local gateway answers requests on threads sharing one logger: its keys are not a request's.
    calls.read()
    quote = {"currency": "TRY", "items": [{"sku": "GAU", "amount": 1}]}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: api.post("/quotes", quote), range(8)))
    assert all(answer.status_code == 201 for answer in answers)

    minted = [line for line in calls.read() if line["message"] == "minted call"]
    assert sorted(line["correlation_id"] for line in minted) == sorted(a.headers["X-Request-Id"] for a in answers)
