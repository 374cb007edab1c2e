"""Tracing as the template's ``Tracing`` parameter says: with ``xray-sdk`` a cold buy still sends X-Ray
a segment with a subsegment per DynamoDB call and per Minted request, as before tracing left the
default path; with the default ``lambda`` the function sends none (Lambda's own tracing records the
invocation) and imports no X-Ray SDK."""

from __future__ import annotations

import sys
from typing import Any

from bench.cold import ColdRuntime, XRayDaemon, run_child
from bench.measure import ROOT
from bench.run import Bench
from local.devstack import DevStack
from local.template import function_environment, functions_of, load_template
from tests.bench.test_cold_start import VENV_SITE


def subsegments(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for sub in document.get("subsegments", []):
        found += [sub, *subsegments(sub)]
    return found


def cold_buy(stack: DevStack, tracing: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    bench = Bench(stack, iterations=1)
    template = load_template()
    spec = functions_of(template)["BuyFunction"]
    env = {**function_environment(template, {**stack.tables, **stack.secrets}, {"Stage": "prod", "Tracing": tracing}),
           "AWS_ENDPOINT_URL": stack.aws_url}  # fmt: skip
    (operation,) = [op for op in bench.cold_operations() if op.name == "POST /orders, new buy"]
    daemon = XRayDaemon(keep=True)
    try:
        out = run_child(ColdRuntime(sys.executable, VENV_SITE, env),
                        {"kind": "subject", "module": spec.handler.split(".")[0], "event": operation.prepare().event,
                         "report_modules": ["aws_xray_sdk"]}, ROOT / spec.code_uri, daemon)  # fmt: skip
        assert operation.succeeded(out["result"]), out["result"]
        daemon.drain()
    finally:
        daemon.close()
    return out, daemon.documents


def test_with_xray_sdk_a_buy_traces_each_dynamodb_call_and_minted_request(stack: DevStack) -> None:
    out, documents = cold_buy(stack, "xray-sdk")

    assert out["modules"] == {"aws_xray_sdk": True}
    subs = [sub for document in documents for sub in [document, *subsegments(document)]]
    dynamodb = sorted(sub["aws"]["operation"] for sub in subs if sub.get("name") == "dynamodb")
    assert dynamodb == ["GetItem", "PutItem", "UpdateItem"]  # the claim, the quote's currency, Minted's answer
    minted = [sub["http"]["request"]["url"] for sub in subs if sub.get("namespace") == "remote"]
    assert [url.split("/", 3)[-1] for url in minted] == ["partner/order/digital/buy"]
    assert sorted(sub["aws"]["operation"] for sub in subs if sub.get("name") == "secretsmanager") == [
        "GetSecretValue",
        "GetSecretValue",
    ]  # the ledger key, the partner's credentials
    assert any(sub.get("name") == "## handler" for sub in subs)  # Powertools' handler subsegment


def test_by_default_a_buy_sends_no_segment_and_loads_no_xray_sdk(stack: DevStack) -> None:
    out, documents = cold_buy(stack, load_template()["Parameters"]["Tracing"]["Default"])

    assert out["modules"] == {"aws_xray_sdk": False}
    assert documents == []
