"""Hostile input: schemathesis against the local stack's OpenAPI document, then the cases it cannot make.

Every route: no 5xx, and no answer that breaks the document (status codes, content types, schemas).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from minted_gateway import runtime
from tests.reliability.report import Report
from tests.stack import Api, customer, order


@pytest.fixture
def api_schema(api: Api) -> Iterator[Any]:
    yield schemathesis.openapi.from_url(api.url + "/openapi.json")
    # Workflows that schemathesis started must not outlive the stack.
    sfn = boto3.client("stepfunctions", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    arn = api.stack.workflow_arn
    for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"])


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda mode: mode.value)
def test_every_route_answers_within_its_document(
    api_schema: Any, report: Report, mode: schemathesis.GenerationMode
) -> None:
    """Schemathesis's own checks on every operation: no server error, status codes, content types and
    bodies as documented, invalid input refused. (Driven through Hypothesis directly: schemathesis's
    pytest plugin does not run under pytest 9.)"""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)  # fmt: skip
        def exercise(case: Any) -> None:
            # Not positive_data_acceptance: JSON Schema cannot say "at most 3 decimals" of a JSON number
            # (multipleOf on binary floats lets 0.013000000000000001 through), so some schema-valid
            # amounts are rightly refused. Not ignored_auth: the document declares the deployed stage's
            # authorizers (JWT or IAM), which API Gateway enforces; the local gateway stands in for them
            # and lets every caller in. Every check on the answers stays on.
            case.call_and_validate(
                excluded_checks=[schemathesis.checks.positive_data_acceptance, schemathesis.checks.ignored_auth]
            )

        try:
            exercise()
        except Unsatisfiable:
            # A route without parameters or body (GET /legal, GET /prices' defaults) has no invalid input.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    report.add_hostile(
        f"- {mode.value} generation: {len(operations)} operations, no 5xx, no answer outside the document"
    )


def test_a_body_over_the_size_limit_is_refused_before_any_function(api: Api, report: Report) -> None:
    response = api.post("/orders", b'{"external_id": "' + b"x" * (10 * 1024 * 1024 + 1) + b'"}')
    assert response.status_code == 413
    assert api.minted.served("buy") == 0
    report.add_hostile("- a body over 10 MiB (API Gateway's limit): 413, no function runs")


def test_deeply_nested_json_is_invalid_input_not_a_crash(api: Api, report: Report) -> None:
    deep = '{"items": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post("/orders", deep)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input"
    report.add_hostile("- JSON nested 100,000 deep: 422 invalid_input")


@pytest.mark.parametrize(
    ("content_type", "status", "code"),
    [("text/plain", 415, "unsupported_media_type"), ("application/xml", 415, "unsupported_media_type"),
     ("application/x-www-form-urlencoded", 415, "unsupported_media_type")],  # what curl -d sends by default
)  # fmt: skip
def test_a_body_that_is_not_json_is_refused(
    api: Api, report: Report, content_type: str, status: int, code: str
) -> None:
    response = api.http.post(api.url + "/orders", data="a=1", headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert api.minted.served("buy") == 0
    report.add_hostile(f"- a {content_type} body: {status} {code}")


def test_turkish_and_other_non_ascii_names_round_trip(api: Api, report: Report, order_id: str) -> None:
    person = customer(firstname="İlkşen Çağrı", lastname="Ğüneşöz", middlename="Zoë")
    assert api.post("/orders", order(order_id, api.quote(), customer=person)).status_code == 201
    at_minted = runtime.minted().get_order(order_id).customer
    assert at_minted is not None
    assert (at_minted.firstname, at_minted.middlename, at_minted.lastname) == ("İlkşen Çağrı", "Zoë", "Ğüneşöz")
    report.add_hostile("- Turkish and other non-ASCII names (İ, ş, ğ, ü, ç, ë): reach Minted unchanged")


@pytest.mark.parametrize("raw", ["..%2Fcustomer%2Fcust-0001", "a%2Fb", "%2E%2E%2Fpartner", "ok-id%3Fx%3D1", "%00abc"])
def test_a_path_value_never_reaches_minted_as_another_path(api: Api, report: Report, raw: str) -> None:
    response = api.get(f"/orders/{raw}")
    assert response.status_code in (404, 422)
    counters = api.minted.counters()["requests"]
    assert set(counters) <= {"find_order", "get_order"}  # nothing but order reads, whatever the value
    if response.status_code == 422:
        assert "external_id" in json.dumps(response.json())
    report.add_hostile(f"- path value `{raw}`: {response.status_code}, never another path at Minted")


def test_a_body_that_is_not_utf8_is_invalid_input(api: Api, report: Report) -> None:
    response = api.post("/orders", b"\xed\x78\x38\xff")
    assert response.status_code == 422 and response.json()["error"]["details"] == [
        {"field": "body", "message": "not UTF-8"}
    ]
    report.add_hostile("- a body that is not UTF-8: 422 invalid_input")
