"""Least privilege and data protection, read from the template and checked against what ran."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.template import load_template, resources_of_type
from tests.conftest import RUN, SANDBOX_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()


def _resource(value: Any) -> str:
    """A policy Resource as the template's logical name (what tests/conftest records for calls)."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = str(value["Fn::Sub"])
        index = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/(\w+)", text)
        if index:  # a table's index, as tests/conftest names a Query on it
            return f"{index[1]}/index/{index[2]}"
        return "BuyWorkflow executions" if ":execution:" in text else "BuyWorkflow"
    return str(value)


def granted() -> set[tuple[str, str, str]]:
    grants = set()
    for name, function in resources_of_type(TEMPLATE, "AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []):
                assert statement["Effect"] == "Allow"
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                grants |= {(name, action, _resource(resource)) for action in actions for resource in resources}
    return grants


def test_no_function_is_granted_a_wildcard() -> None:
    for function, action, resource in granted():
        assert "*" not in action and resource != "*", (function, action, resource)


def test_every_route_has_an_authorizer() -> None:
    (api,) = resources_of_type(TEMPLATE, "AWS::Serverless::HttpApi").values()
    for path, operations in api["Properties"]["DefinitionBody"]["paths"].items():
        for method, operation in operations.items():
            assert "security" in operation and "x-amazon-apigateway-auth" in operation, f"{method} {path}"


def test_swagger_and_the_openapi_document_are_local_only() -> None:
    (api,) = resources_of_type(TEMPLATE, "AWS::Serverless::HttpApi").values()
    assert not {"/swagger", "/openapi.json"} & set(api["Properties"]["DefinitionBody"]["paths"])
    for handler in (ROOT / "functions").glob("*/*_function.py"):
        assert "enable_swagger" not in handler.read_text(), handler


# The one table that holds personal data, for seconds (docs/decisions.md, "Personal data").
PERSONAL_DATA_TABLES = {"WorkflowCustomersTable"}


@pytest.mark.parametrize("table", sorted(resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")))
def test_tables_are_encrypted_recoverable_and_retained(table: str) -> None:
    resource = TEMPLATE["Resources"][table]
    assert resource["Properties"]["SSESpecification"]["SSEEnabled"] is True
    if table in PERSONAL_DATA_TABLES:  # its backups would keep each customer for 35 days after the item goes
        assert "PointInTimeRecoverySpecification" not in resource["Properties"]
        assert "StreamSpecification" not in resource["Properties"]
        assert resource["Properties"]["TimeToLiveSpecification"]["Enabled"] is True
    else:
        assert resource["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("group", sorted(resources_of_type(TEMPLATE, "AWS::Logs::LogGroup")))
def test_log_groups_have_a_retention(group: str) -> None:
    assert TEMPLATE["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_every_function_has_a_log_group_with_retention() -> None:
    names = {
        str(group["Properties"]["LogGroupName"]["Fn::Sub"])
        for group in resources_of_type(TEMPLATE, "AWS::Logs::LogGroup").values()
        if isinstance(group["Properties"].get("LogGroupName"), dict)
    }  # fmt: skip
    for function in resources_of_type(TEMPLATE, "AWS::Serverless::Function"):
        assert f"/aws/lambda/${{{function}}}" in names, function


# ---------------------------------------------------------------- against what the whole run did
@pytest.mark.whole_run
def test_each_function_is_granted_exactly_what_it_was_seen_using() -> None:
    if not RUN.whole_suite:
        pytest.skip("needs the whole suite: the functions' calls are recorded across every test")
    used = {call for call in RUN.aws_calls if call[0] in resources_of_type(TEMPLATE, "AWS::Serverless::Function")}
    assert granted() - used == set(), "granted but never used"
    assert used - granted() == set(), "used but not granted"


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+\d{10,15}\b")
_ELEVEN_DIGITS = re.compile(r"(?<!\d)[1-9]\d{10}(?!\d)")
_JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+")  # a token's header and claims, base64url JSON
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _is_identity_number(text: str) -> bool:
    d = [int(c) for c in text]
    return (sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10 == d[9] and sum(d[:10]) % 10 == d[10]


@pytest.mark.whole_run
def test_no_log_line_of_the_whole_run_holds_personal_data_or_a_secret() -> None:
    assert RUN.log_lines, "the functions logged nothing: the scan would prove nothing"
    secrets = (SANDBOX_PASSWORD, "rotated-Partner-Password-7", "rotated-password", "rotated-elsewhere")
    for logged in RUN.log_lines:
        line = _UUID.sub("<uuid>", logged)  # request ids: a uuid's last group may hold eleven digits by chance
        assert not _EMAIL.search(line), line
        assert not _PHONE.search(line), line
        assert not [n for n in _ELEVEN_DIGITS.findall(line) if _is_identity_number(n)], line
        assert not [s for s in secrets if s in line], line
        assert not _JWT.search(line), line  # the caller's token: the functions see its claims, never log it
