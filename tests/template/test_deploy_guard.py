"""A JWT deploy cannot go out half-configured: with AuthMode=JWT, an empty or placeholder issuer or
audience is refused by the template's Rules when ``sam deploy`` creates the change set, with a message
that says what to set. The rules are evaluated here as CloudFormation evaluates them, against the
parameters each samconfig environment deploys with."""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

from local.template import load_template
from tests.template.wiring import ROOT, deployments, translate

TEMPLATE = load_template()
CONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
COGNITO = {"JwtIssuer": "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbCdEf123",
           "JwtAudience": "4f1ke8nq2v0examplec1ient"}  # fmt: skip


def evaluate(node: Any, parameters: dict[str, str]) -> Any:
    """The rule functions CloudFormation allows in Rules, on plain parameter values."""
    if isinstance(node, list):
        return [evaluate(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    ((name, argument),) = node.items()
    if name == "Ref":
        return parameters[argument]
    values = evaluate(argument, parameters)
    functions = {
        "Fn::Equals": lambda: values[0] == values[1],
        "Fn::Not": lambda: not values[0],
        "Fn::And": lambda: all(values),
        "Fn::Or": lambda: any(values),
        "Fn::Contains": lambda: values[1] in values[0],
    }
    return functions[name]()


def refusals(parameters: dict[str, str]) -> list[str]:
    """The AssertDescriptions CloudFormation would answer a change set with (none: it goes ahead)."""
    values = {name: str(spec.get("Default", "")) for name, spec in TEMPLATE["Parameters"].items()} | parameters
    for name, spec in TEMPLATE["Parameters"].items():
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, values[name]):
            return [f"{name}: {spec['ConstraintDescription']}"]
    found = []
    for rule in TEMPLATE["Rules"].values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
            continue
        found += [a["AssertDescription"] for a in rule["Assertions"] if not evaluate(a["Assert"], values)]
    return found


def auth_refusals(parameters: dict[str, str]) -> list[str]:
    """Only what the authorizer's rules say (prod's alarm and Minted host rules are tests/template/test_deploy.py's)."""
    return [said for said in refusals(parameters) if "AuthMode=JWT" in said or said.startswith("Jwt")]


def overrides(environment: str) -> dict[str, str]:
    deploy = CONFIG[environment].get("deploy", {}).get("parameters", {})
    raw = deploy.get("parameter_overrides", CONFIG["default"]["deploy"]["parameters"]["parameter_overrides"])
    return dict(word.split("=", 1) for word in shlex.split(raw))


@pytest.mark.parametrize("environment", ["default", "dev", "prod"])
def test_deploying_an_environment_as_samconfig_ships_it_is_refused_until_the_issuer_is_set(environment: str) -> None:
    said = auth_refusals(overrides(environment))
    assert len(said) == 2, said
    issuer, audience = said
    assert "AuthMode=JWT needs JwtIssuer" in issuer and "https://cognito-idp." in issuer and "AuthMode=IAM" in issuer
    assert "AuthMode=JWT needs JwtAudience" in audience and "app client" in audience
    assert auth_refusals({**overrides(environment), **COGNITO}) == []
    assert auth_refusals({**overrides(environment), "AuthMode": "IAM"}) == []  # IAM needs no issuer


@pytest.mark.parametrize(
    "changes",
    [
        {"JwtIssuer": "https://issuer.example.com/"},  # the template's placeholder before
        {"JwtIssuer": ""},
        {"JwtAudience": ""},
        {"JwtAudience": "minted-gateway"},
        {"JwtIssuer": "http://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbCdEf123"},  # not https
    ],
)
def test_a_placeholder_empty_or_plain_http_issuer_or_audience_is_refused(changes: dict[str, str]) -> None:
    assert auth_refusals({**overrides("prod"), **COGNITO, **changes})


def test_the_rules_reach_cloudformation_through_the_sam_transform() -> None:
    for deployment in deployments(TEMPLATE):
        assert translate(TEMPLATE, deployment)["Rules"] == TEMPLATE["Rules"], deployment
