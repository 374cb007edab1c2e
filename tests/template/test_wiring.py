"""The template's wiring holds for every way it is deployed, and each known way to break it is caught.

Each breakage below deploys "successfully" with cfn-lint and ``sam validate --lint`` passing, and
fails on the first request; here each is applied to a copy of the template and must be named.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from typing import Any

import pytest

from local.template import load_template, resources_of_type
from tests.template.wiring import ACCOUNT, REGION, ROOT, Deployment, Stack, check_wiring, deployments

TEMPLATE = load_template()
DEPLOYMENTS = deployments(TEMPLATE)
# Breakages are tried on the dev environment (AuthMode as it defaults); those that depend on the
# environment or AuthMode are tried on every deployment.
DEV = next(d for d in DEPLOYMENTS if d.environment == "dev" and ("AuthMode", "JWT") in d.parameters)


def test_every_samconfig_environment_and_every_auth_mode_is_a_deployment() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    environments = {name for name, value in config.items() if isinstance(value, dict)}
    assert {d.environment for d in DEPLOYMENTS} == environments
    auth_modes = {str(v) for v in TEMPLATE["Parameters"]["AuthMode"]["AllowedValues"]}
    for environment in environments:
        chosen = {dict(d.parameters)["AuthMode"] for d in DEPLOYMENTS if d.environment == environment}
        assert chosen == auth_modes, environment
    prod = next(d for d in DEPLOYMENTS if d.environment == "prod")
    assert prod.stack_name == "minted-gateway-prod" and dict(prod.parameters)["Stage"] == "prod"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=str)
def test_the_template_is_wired_as_aws_will_meet_it(deployment: Deployment) -> None:
    report = check_wiring(TEMPLATE, deployment)
    assert report.problems == []


def test_the_check_looks_at_every_route_task_handler_and_permission() -> None:
    """A check that looked at nothing would pass too: count what it saw against the template."""
    report = check_wiring(TEMPLATE, DEV)
    (api,) = resources_of_type(TEMPLATE, "AWS::Serverless::HttpApi").values()
    operations = sum(len(item) for item in api["Properties"]["DefinitionBody"]["paths"].values())
    tasks = sum(
        1
        for machine in resources_of_type(TEMPLATE, "AWS::Serverless::StateMachine").values()
        for state in json.loads((ROOT / machine["Properties"]["DefinitionUri"]).read_text())["States"].values()
        if state["Type"] == "Task"
    )
    assert report.checked["routes"] == operations > 0
    assert report.checked["tasks"] == tasks > 0
    assert report.checked["handlers"] == len(resources_of_type(TEMPLATE, "AWS::Serverless::Function")) > 0
    assert report.checked["permissions"] == len(resources_of_type(TEMPLATE, "AWS::Lambda::Permission")) > 0
    assert report.checked["schedules"] >= 1 and report.checked["statement resources"] >= 1
    assert report.checked["variables"] >= 1


# ------------------------------------------------------------------------------------- breakages
Template = dict[str, Any]


def _props(template: Template, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def _sub(value: Any, old: str, new: str) -> dict[str, Any]:
    assert old in value["Fn::Sub"], value  # the breakage must change something
    return {"Fn::Sub": value["Fn::Sub"].replace(old, new)}


def rename_state_machine(t: Template) -> None:
    _props(t, "BuyWorkflow")["Name"] = _sub(_props(t, "BuyWorkflow")["Name"], "-buy", "-buying")


def typo_in_permission_path(t: Template) -> None:
    permission = _props(t, "BuyApiPermission")
    permission["SourceArn"] = _sub(permission["SourceArn"], "/POST/orders", "/POST/order")


def drop_definition_substitution(t: Template) -> None:
    del _props(t, "BuyWorkflow")["DefinitionSubstitutions"]["BuyFunctionArn"]


def route_to_wrong_function(t: Template) -> None:
    integration = _props(t, "HttpApi")["DefinitionBody"]["paths"]["/quotes"]["post"]["x-amazon-apigateway-integration"]
    integration["uri"] = _sub(integration["uri"], "${PricesFunction.Arn}", "${LegalFunction.Arn}")


def prices_table_names_orders(t: Template) -> None:
    t["Globals"]["Function"]["Environment"]["Variables"]["PRICES_TABLE"] = {"Ref": "OrdersTable"}


def handler_name_typo(t: Template) -> None:
    _props(t, "BuyFunction")["Handler"] = "buy_function.handle"


def schedule_dead_letters_nowhere(t: Template) -> None:
    schedule = _props(t, "PricesFunction")["Events"]["RefreshPrices"]["Properties"]
    schedule["DeadLetterConfig"]["Arn"] = {
        "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-price-refresh-dlq"
    }


def policy_on_a_guessed_table(t: Template) -> None:
    (statement,) = [
        s for s in _props(t, "PricesFunction")["Policies"][0]["Statement"] if "dynamodb:GetItem" in s["Action"]
    ]
    statement["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${AWS::StackName}-PricesTable"
    }


def workflow_task_to_wrong_function(t: Template) -> None:
    _props(t, "BuyWorkflow")["DefinitionSubstitutions"]["PricesFunctionArn"] = {
        "Fn::GetAtt": ["GetOrderFunction", "Arn"]
    }


def workflow_role_loses_a_function(t: Template) -> None:
    policies = _props(t, "BuyWorkflow")["Policies"]
    policies.remove({"LambdaInvokePolicy": {"FunctionName": {"Ref": "BuyFunction"}}})


def handler_route_left_out_of_the_api(t: Template) -> None:
    del _props(t, "HttpApi")["DefinitionBody"]["paths"]["/orders/workflow"]


def schedule_on_a_function_without_the_task(t: Template) -> None:
    _props(t, "LegalFunction")["Events"] = _props(t, "PricesFunction").pop("Events")


def setting_left_out_of_the_environment(t: Template) -> None:
    del t["Globals"]["Function"]["Environment"]["Variables"]["LEDGER_KEY_SECRET_ID"]


def _operation(t: Template, path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = _props(t, "HttpApi")["DefinitionBody"]["paths"][path][method]
    return operation


def route_without_authorizer(t: Template) -> None:
    del _operation(t, "/prices", "get")["security"]
    del _operation(t, "/prices", "get")["x-amazon-apigateway-auth"]


def route_with_another_scope(t: Template) -> None:
    """A read scope on a route that buys: a dashboard's token could place orders."""
    _operation(t, "/orders", "post")["security"]["Fn::If"][1] = [{"PartnerJwt": ["minted/orders.read"]}]


def route_with_no_scope(t: Template) -> None:
    _operation(t, "/customers", "post")["security"]["Fn::If"][1] = [{"PartnerJwt": []}]


def route_names_a_missing_scheme(t: Template) -> None:
    _operation(t, "/legal", "get")["security"] = [{"PartnerJWT": []}]


BREAKAGES: list[tuple[Callable[[Template], None], list[str]]] = [
    # Seeded in the issue.
    (rename_state_machine, ["BuyFunction: BUY_WORKFLOW_ARN=", ":stateMachine:minted-gateway-dev-buy names no"]),
    (rename_state_machine, ["(the role of BuyFunction)", "states:StartExecution", "nothing this stack creates"]),
    (typo_in_permission_path, ["BuyApiPermission: SourceArn", "/POST/order matches no route", "BuyFunction"]),
    (typo_in_permission_path, ["POST /orders is integrated with BuyFunction, but no Lambda permission"]),
    (drop_definition_substitution, ["BuyWorkflow: its definition still holds ${BuyFunctionArn}"]),
    (
        route_to_wrong_function,
        [
            "POST /quotes is integrated with LegalFunction, whose handler serves no such route",
            "(PricesFunction serves it)",
        ],
    ),
    (route_to_wrong_function, ["PricesFunction: its handler serves POST /quotes, but no API route"]),
    (prices_table_names_orders, ["PricesFunction: PRICES_TABLE names OrdersTable, but by its name it is PricesTable"]),
    (handler_name_typo, ["BuyFunction: Handler buy_function.handle: buy_function defines no handle"]),
    (
        schedule_dead_letters_nowhere,
        ["PricesFunctionRefreshPrices: its dead-letter queue", "price-refresh-dlq", "is no queue of this stack"],
    ),
    (
        policy_on_a_guessed_table,
        [
            "(the role of PricesFunction)",
            "dynamodb:GetItem",
            "table/minted-gateway-dev-PricesTable, which is nothing this stack creates",
        ],
    ),
    # Found while building the check.
    (workflow_task_to_wrong_function, ["BuyWorkflow: task FixPrice asks GetOrderFunction for action 'quote'"]),
    (
        workflow_role_loses_a_function,
        ["BuyWorkflow: task PlaceOrder invokes BuyFunction", "its role BuyWorkflowRole may not invoke"],
    ),
    (handler_route_left_out_of_the_api, ["BuyFunction: its handler serves POST /orders/workflow, but no API route"]),
    (handler_route_left_out_of_the_api, ["BuyWorkflowApiPermission: SourceArn", "matches no route"]),
    (schedule_on_a_function_without_the_task, ["asks LegalFunction for action 'refresh_prices'"]),
    (route_without_authorizer, ["HttpApi: GET /prices has no authorizer: anyone may call it"]),
    (
        route_with_another_scope,
        [
            "HttpApi: POST /orders requires the scopes ['minted/orders.read'] at API Gateway",
            "its handler documents ['minted/orders.write']",
        ],
    ),
    (route_with_no_scope, ["HttpApi: POST /customers requires the scopes [] at API Gateway"]),
    (route_names_a_missing_scheme, ["HttpApi: GET /legal asks for the security scheme PartnerJWT, which defines no"]),
    (setting_left_out_of_the_environment, ["BuyFunction: invalid environment: LEDGER_KEY_SECRET_ID (missing)"]),
]


@pytest.mark.parametrize(
    ("breakage", "fragments"), BREAKAGES, ids=[f"{b.__name__}-{i}" for i, (b, _) in enumerate(BREAKAGES)]
)
def test_a_breakage_is_named(breakage: Callable[[Template], None], fragments: list[str]) -> None:
    broken = copy.deepcopy(TEMPLATE)
    breakage(broken)
    problems = check_wiring(broken, DEV).problems
    assert [p for p in problems if all(f in p for f in fragments)], problems


def test_a_breakage_under_one_auth_mode_is_caught() -> None:
    """The template's shape follows AuthMode: a route wired wrong only under IAM fails only there."""
    broken = copy.deepcopy(TEMPLATE)
    integration = _props(broken, "HttpApi")["DefinitionBody"]["paths"]["/prices"]["get"][
        "x-amazon-apigateway-integration"
    ]
    integration["uri"] = {"Fn::If": ["UseJwtAuth", integration["uri"], _sub(integration["uri"], "Prices", "Legal")]}
    failing = {str(d) for d in DEPLOYMENTS if check_wiring(broken, d).problems}
    assert failing == {str(d) for d in DEPLOYMENTS if ("AuthMode", "IAM") in d.parameters}


def test_a_route_left_open_under_one_auth_mode_is_caught() -> None:
    broken = copy.deepcopy(TEMPLATE)
    del _operation(broken, "/orders", "post")["x-amazon-apigateway-auth"]  # JWT still guards it; IAM no longer
    failing = {str(d): check_wiring(broken, d).problems for d in DEPLOYMENTS}
    assert {d for d, problems in failing.items() if problems} == {
        str(d) for d in DEPLOYMENTS if ("AuthMode", "IAM") in d.parameters
    }
    assert all(p == ["HttpApi: POST /orders has no authorizer: anyone may call it"] for p in failing.values() if p)


def test_a_name_right_in_one_environment_only_is_caught() -> None:
    """An ARN written out for the dev stack names nothing in the others."""
    broken = copy.deepcopy(TEMPLATE)
    _props(broken, "BuyFunction")["Environment"]["Variables"]["BUY_WORKFLOW_ARN"] = {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:minted-gateway-dev-buy"
    }
    failing = {d.environment for d in DEPLOYMENTS if check_wiring(broken, d).problems}
    assert failing == {d.environment for d in DEPLOYMENTS} - {"dev"}


def _as_eventbridge_rule(t: Template) -> dict[str, Any]:
    """The price schedule as an EventBridge rule (SAM's Schedule event) instead of a Scheduler schedule."""
    event = _props(t, "PricesFunction")["Events"]["RefreshPrices"]
    props = event["Properties"]
    event["Type"] = "Schedule"
    event["Properties"] = {"Schedule": "rate(1 minute)", "Input": props["Input"],
                           "DeadLetterConfig": {"Arn": props["DeadLetterConfig"]["Arn"]}}  # fmt: skip
    return dict(event["Properties"])


def test_an_eventbridge_rule_is_checked_too() -> None:
    rule = copy.deepcopy(TEMPLATE)
    _as_eventbridge_rule(rule)
    report = check_wiring(rule, DEV)
    assert report.problems == [] and report.checked["rule targets"] == 1

    _props(rule, "PricesFunction")["Events"]["RefreshPrices"]["Properties"]["DeadLetterConfig"]["Arn"] = {
        "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:elsewhere"
    }
    problems = check_wiring(rule, DEV).problems
    assert [p for p in problems if p.startswith("PricesFunctionRefreshPrices: its dead-letter queue")], problems


def test_aliases_and_secondary_indexes_are_part_of_the_stack() -> None:
    """What others may add (an alias the workflow invokes, an index a policy names) is wiring too."""
    grown = copy.deepcopy(TEMPLATE)
    _props(grown, "BuyFunction")["AutoPublishAlias"] = "live"
    _props(grown, "BuyWorkflow")["DefinitionSubstitutions"]["BuyFunctionArn"] = {"Ref": "BuyFunction.Alias"}
    _props(grown, "OrdersTable").setdefault("GlobalSecondaryIndexes", []).append(
        {
            "IndexName": "by-status",
            "KeySchema": [{"AttributeName": "external_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    )
    statements = _props(grown, "GetOrderFunction")["Policies"][0]["Statement"]
    statements.append(
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": {"Fn::Sub": "${OrdersTable.Arn}/index/by-status"}}
    )
    assert check_wiring(grown, DEV).problems == []

    statements[-1]["Resource"] = {"Fn::Sub": "${OrdersTable.Arn}/index/by-state"}
    problems = check_wiring(grown, DEV).problems
    assert [
        p
        for p in problems
        if p.startswith("GetOrderFunctionRole (the role of GetOrderFunction)")
        and p.endswith("/index/by-state, which is nothing this stack creates")
    ], problems


def test_intrinsic_functions_resolve_as_cloudformation_does() -> None:
    cfn = {
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
        "Mappings": {"Sizes": {"dev": {"Memory": "512"}}},
        "Conditions": {
            "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
            "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
        },
        "Resources": {
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-t"}}},
            "OnlyInProd": {"Type": "AWS::SQS::Queue", "Condition": "IsProd"},
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "Tags": [
                        {"Key": "a", "Value": {"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}},
                        {"Key": "b", "Value": {"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}},
                        {
                            "Key": "c",
                            "Value": {"Fn::Join": ["/", [{"Ref": "Table"}, {"Fn::GetAtt": ["Table", "Arn"]}]]},
                        },
                        {"Key": "d", "Value": {"Fn::If": ["IsDev", "${!Literal}", {"Ref": "AWS::NoValue"}]}},
                        {"Key": "e", "Value": {"Fn::Sub": ["${Name}-${!Literal}", {"Name": {"Ref": "Stage"}}]}},
                        {"Fn::If": ["IsProd", {"Key": "f"}, {"Ref": "AWS::NoValue"}]},
                    ]
                },
            },
        },
    }
    stack = Stack(cfn, Deployment("dev", "s", (("Stage", "dev"),)))
    tags = {tag["Key"]: tag["Value"] for tag in stack.properties["Queue"]["Tags"]}
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/s-t"
    assert tags == {"a": "512", "b": "y", "c": f"s-t/{arn}", "d": "${!Literal}", "e": "dev-${Literal}"}
    assert "OnlyInProd" not in stack.types and stack.which(arn) == "Table" and stack.problems == []
    gone = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Gone"}}}}
    broken = Stack({**cfn, "Resources": gone}, Deployment("dev", "s", ()))
    assert broken.problems == ["Q: Ref Gone names no parameter or resource of the stack"]
