"""The alarms, their topic, the dashboard and the order-events pipe, as the template declares them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from local.template import load_template, resources_of_type
from minted_gateway.events.order_events import SOURCE

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
ALARMS = resources_of_type(TEMPLATE, "AWS::CloudWatch::Alarm")
RUNBOOK = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
# Every metric name our code writes (Powertools add_metric), literal or as the prefix of an f-string.
CODE = "\n".join(
    p.read_text(encoding="utf-8")
    for p in [*ROOT.glob("functions/*/*.py"), *ROOT.glob("layers/minted/minted_gateway/**/*.py")]
)


def _metrics_of(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    props = alarm["Properties"]
    if "MetricName" in props:
        return [props]
    return [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]


def test_there_is_an_alarm_for_each_thing_the_issue_names() -> None:
    watched = {(m["Namespace"], m["MetricName"]) for alarm in ALARMS.values() for m in _metrics_of(alarm)}
    for needed in [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/States", "ExecutionsFailed"),
        ("MintedGateway", "OrderAttentionOldestAgeSeconds"),
        ("AWS/ApiGateway", "5xx"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("MintedGateway", "PriceAgeSeconds"),
    ]:
        assert needed in watched, needed
    queues = {str(m["Dimensions"][0]["Value"]["Fn::GetAtt"][0]) for a in ALARMS.values() for m in _metrics_of(a)
              if m["Namespace"] == "AWS/SQS"}  # fmt: skip
    assert queues == set(resources_of_type(TEMPLATE, "AWS::SQS::Queue")), "every dead-letter queue has an alarm"
    functions = {str(m["Dimensions"][0]["Value"]["Ref"]) for a in ALARMS.values() for m in _metrics_of(a)
                 if m["Namespace"] == "AWS/Lambda"}  # fmt: skip
    assert functions == set(resources_of_type(TEMPLATE, "AWS::Serverless::Function"))


def test_the_docs_count_the_alarms_the_template_has() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    counts = [int(n) for text in (readme, RUNBOOK) for n in re.findall(r"\b(\d+) alarms\b", text)]
    assert len(counts) >= 2, "the README's parameters and the runbook's costs say how many alarms there are"
    assert set(counts) == {len(ALARMS)}


def test_a_fired_order_given_up_alarms_though_no_dead_letter_holds_it() -> None:
    """When the queue refused all six sends, only the refresh's FiredOrdersAbandoned says so: a person must look."""
    watched = {m["MetricName"] for alarm in ALARMS.values() for m in _metrics_of(alarm)}
    assert "FiredOrdersAbandoned" in watched


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_each_alarm_mails_the_topic_is_named_in_the_runbook_and_shown_on_the_dashboard(name: str) -> None:
    props = ALARMS[name]["Properties"]
    also = {"Fn::If": ["HasExistingAlarmTopic", {"Ref": "ExistingAlarmTopicArn"}, {"Ref": "AWS::NoValue"}]}
    assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}, also]  # and the partner's own topic, if given
    assert f"`{name}`" in RUNBOOK, f"docs/operations.md does not say what {name} means"
    body = TEMPLATE["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    (widget,) = [w for w in json.loads(body)["widgets"] if w["type"] == "alarm"]
    assert f"${{{name}.Arn}}" in widget["properties"]["alarms"]


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_our_own_metrics_that_alarms_watch_are_ones_the_code_writes(name: str) -> None:
    for metric in _metrics_of(ALARMS[name]):
        if metric["Namespace"] == "MintedGateway":
            assert re.search(rf"""["']{metric["MetricName"]}["']""", CODE), metric["MetricName"]
            assert metric["Dimensions"] == [{"Name": "service", "Value": "minted-gateway"}]  # as Powertools writes


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_mail_is_optional() -> None:
    topic = TEMPLATE["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = TEMPLATE["Resources"]["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert any(s["Principal"].get("Service") == "cloudwatch.amazonaws.com" for s in key["KeyPolicy"]["Statement"])
    subscription = TEMPLATE["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_the_pipe_reads_the_ledger_stream_through_our_transform_to_the_bus() -> None:
    (pipe,) = resources_of_type(TEMPLATE, "AWS::Pipes::Pipe").values()
    props = pipe["Properties"]
    assert props["Source"] == {"Fn::GetAtt": ["OrdersTable", "StreamArn"]}
    assert TEMPLATE["Resources"]["OrdersTable"]["Properties"]["StreamSpecification"]["StreamViewType"] == (
        "NEW_AND_OLD_IMAGES"  # the transform compares the row before and after
    )
    assert props["Enrichment"] == {"Fn::GetAtt": ["OrderEventsFunction", "Arn"]}
    assert props["Target"] == {"Fn::GetAtt": ["OrderEventsBus", "Arn"]}
    target = props["TargetParameters"]["EventBridgeEventBusParameters"]
    assert target["DetailType"] == "$.type" and target["Source"] == SOURCE
    assert props["SourceParameters"]["DynamoDBStreamParameters"]["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": ["OrderEventsDeadLetters", "Arn"]
    }
