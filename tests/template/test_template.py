"""The template declares what the product promises, and local AWS is built from it."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.template import create_secrets, create_tables, function_environment, load_template, resources_of_type
from minted_gateway.caller import Scope

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_layer_is_built_for_python313_on_arm64(template: dict[str, Any]) -> None:
    (layer,) = resources_of_type(template, "AWS::Serverless::LayerVersion").values()
    assert layer["Metadata"]["BuildMethod"] == "makefile" and layer["Metadata"]["BuildArchitecture"] == "arm64"
    makefile = (ROOT / "layers" / "minted" / "Makefile").read_text()
    assert "--platform manylinux2014_aarch64" in makefile and "--python-version 3.13" in makefile
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert template["Globals"]["Function"]["Runtime"] == "python3.13"
    assert template["Globals"]["Function"]["Architectures"] == ["arm64"]


@pytest.mark.parametrize("table", ["OrdersTable", "PricesTable"])
def test_tables_are_on_demand_encrypted_recoverable_and_retained(template: dict[str, Any], table: str) -> None:
    resource = template["Resources"][table]
    props = resource["Properties"]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_ledger_is_keyed_by_external_id(template: dict[str, Any]) -> None:
    props = template["Resources"]["OrdersTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "external_id", "KeyType": "HASH"}]


def test_no_secret_holds_a_plaintext_value(template: dict[str, Any]) -> None:
    secrets = resources_of_type(template, "AWS::SecretsManager::Secret")
    assert set(secrets) == {"PartnerSecret", "LedgerKeySecret"}
    assert all("SecretString" not in s["Properties"] for s in secrets.values())
    assert secrets["PartnerSecret"]["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "password"


def _another_value(name: str, spec: dict[str, Any]) -> str:
    """A valid value of the parameter other than its default."""
    default = str(spec.get("Default", ""))
    if "AllowedValues" in spec:
        return next(str(v) for v in spec["AllowedValues"] if str(v) != default)
    if spec["Type"] == "Number":
        return str(int(default) + 1)
    chosen = {"MintedBaseUrl": "https://api.mintedconnect.com", "JwtIssuer": "https://login.example.org/",
              "PriceRefreshRate": "rate(2 minutes)", "ReconcileRate": "rate(1 hour)", "OrderMaxGramsPerSku": "GAU:5",
              "PartnerDailyShards": "11",
              "FollowOrdersRate": "rate(5 minutes)",
              "LimitTimezone": "Europe/London", "AlarmEmail": "ops@example.org",
              "AlarmHttpsEndpoint": "https://events.example.org/integration",
              "ExistingAlarmTopicArn": "arn:aws:sns:eu-central-1:123456789012:oncall", "VpcId": "vpc-0123456789abcdef0",
              "VpcSubnetIds": "subnet-0123456789abcdef0,subnet-0123456789abcdef1", "NetworkCidr": "10.81.0.0/16",
              "NatElasticIpAllocationIds": "eipalloc-0123456789abcdef0,eipalloc-0123456789abcdef1"}  # fmt: skip
    value = chosen.get(name) or ("1000" if "[0-9]" in spec.get("AllowedPattern", "") else default + "x")
    assert re.fullmatch(spec.get("AllowedPattern", ".*"), value), f"{name}: {value} is not allowed"
    return value


def test_no_parameter_changes_a_secret_and_secrets_and_tables_outlive_the_stack(template: dict[str, Any]) -> None:
    """A deploy that changes parameters must not give a secret new properties: CloudFormation would
    generate its value again, and the partner's Minted password (or the ledger's key) would be gone.
    Checked on the translated template, every intrinsic resolved, with every parameter changed."""
    from tests.template.wiring import Deployment, Stack, translate

    parameters = template["Parameters"]
    defaults = Deployment("defaults", "minted-gateway", ())
    changed = Deployment("changed", "minted-gateway", tuple((n, _another_value(n, s)) for n, s in parameters.items()))
    assert {n for n, _ in changed.parameters} == set(parameters)
    stacks = [Stack(translate(template, d), d) for d in (defaults, changed)]
    secrets = sorted(resources_of_type(template, "AWS::SecretsManager::Secret"))
    tables = sorted(resources_of_type(template, "AWS::DynamoDB::Table"))
    assert secrets and len(tables) >= 3
    for name in secrets:
        assert stacks[0].properties[name] == stacks[1].properties[name], name
    # and the check can fail: a parameter in a secret's properties is seen
    planted = copy.deepcopy(template)
    planted["Resources"]["PartnerSecret"]["Properties"]["Description"] = {"Fn::Sub": "${MintedBaseUrl}"}
    assert Stack(translate(planted, defaults), defaults).properties["PartnerSecret"] != Stack(
        translate(planted, changed), changed).properties["PartnerSecret"]  # fmt: skip
    translated = translate(template, changed)["Resources"]
    for name in (*secrets, *tables):
        assert translated[name].get("DeletionPolicy") == "Retain", name
        assert translated[name].get("UpdateReplacePolicy") == "Retain", name


def test_local_tables_and_secret_come_from_the_template(template: dict[str, Any]) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-central-1")
        names = create_tables(dynamodb, template)
        assert set(names) == {
            "OrdersTable",
            "PricesTable",
            "LimitsTable",
            "WorkflowCustomersTable",
            "TriggersTable",
            "PlansTable",
        }
        for name in names:
            described = dynamodb.describe_table(TableName=name)["Table"]
            assert described["KeySchema"] == template["Resources"][name]["Properties"]["KeySchema"]
        ttl = dynamodb.describe_time_to_live(TableName="PricesTable")["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
        secrets = boto3.client("secretsmanager", region_name="eu-central-1")
        created = create_secrets(secrets, {"PartnerSecret": '{"username": "u"}', "LedgerKeySecret": "k" * 64}, template)
        assert secrets.get_secret_value(SecretId=created["PartnerSecret"])["SecretString"] == '{"username": "u"}'
        with pytest.raises(ValueError, match="declares secrets"):
            create_secrets(secrets, {"PartnerSecret": "{}"}, template)


def test_local_functions_get_the_template_environment(template: dict[str, Any]) -> None:
    env = function_environment(
        template,
        {
            "OrdersTable": "orders-local",
            "PricesTable": "prices-local",
            "LimitsTable": "limits-local",
            "PartnerSecret": "ps",
            "LedgerKeySecret": "lk",
        },
        {"Stage": "local"},
    )
    assert env["ORDERS_TABLE"] == "orders-local" and env["STAGE"] == "local" and env["LEDGER_KEY_SECRET_ID"] == "lk"
    assert env["POWERTOOLS_SERVICE_NAME"] == "minted-gateway"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", line)
        if match:
            pins[re.sub(r"\[.*\]", "", match.group(1)).lower().replace("_", "-")] = match.group(2)
    return pins


def test_tests_run_on_exactly_what_the_layer_ships() -> None:
    layer = _pins(ROOT / "layers" / "minted" / "requirements.txt")
    dev = _pins(ROOT / "requirements" / "dev.txt")
    assert layer, "the layer pins its requirements"
    assert {name: dev.get(name) for name in layer} == layer
    assert not {"boto3", "botocore", "s3transfer"} & set(layer)  # the runtime provides them


# What the python3.13 Lambda runtime provides, so the layer need not (and must not) carry it.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "python-dateutil", "six"}


def test_the_layer_requirements_are_closed() -> None:
    """The layer is installed with --no-deps: every dependency of a listed package must be listed too."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    layer = _pins(ROOT / "layers" / "minted" / "requirements.txt")
    missing = {}
    for name in layer:
        for spec in requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker and not requirement.marker.evaluate({"extra": "", "python_version": "3.13"}):
                continue
            needed = requirement.name.lower().replace("_", "-")
            if needed not in layer and needed not in RUNTIME_PROVIDED:
                missing.setdefault(name, []).append(needed)
    assert missing == {}


def test_the_buy_workflow_logs_without_execution_data_and_traces(template: dict[str, Any]) -> None:
    props = template["Resources"]["BuyWorkflow"]["Properties"]
    assert props["Type"] == "STANDARD" and props["Tracing"] == {"Enabled": True}
    assert props["Logging"]["IncludeExecutionData"] is False
    definition = (ROOT / props["DefinitionUri"]).read_text()
    assert set(re.findall(r"\$\{(\w+)\}", definition)) == set(props["DefinitionSubstitutions"])


def test_steps_after_which_a_buy_may_have_reached_minted_retry_only_what_cannot_have_bought() -> None:
    import json

    states = json.loads((ROOT / "statemachine" / "buy.asl.json").read_text())["States"]
    safe = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException", "OrderInProgress", "LedgerUnavailable"}  # fmt: skip
    for name in ("PlaceOrder", "SettleOrder"):
        retried = {error for retry in states[name]["Retry"] for error in retry["ErrorEquals"]}
        assert retried <= safe, name
        assert states[name]["Parameters"]["Payload"]["action"] == "place_order"


def test_every_route_has_an_authorizer_chosen_by_auth_mode(template: dict[str, Any]) -> None:
    (api,) = resources_of_type(template, "AWS::Serverless::HttpApi").values()
    for path, operations in api["Properties"]["DefinitionBody"]["paths"].items():
        for method, operation in operations.items():
            # One scope per route (docs/auth.md); test_wiring checks it is the one its handler documents.
            # A path's ANY route only answers 405 with Allow: it takes any valid token, and no scope.
            scopes = (
                []
                if method == "x-amazon-apigateway-any-method"
                else [operation["security"]["Fn::If"][1][0]["PartnerJwt"][0]]
            )
            assert all(scope in {s.value for s in Scope} for scope in scopes), f"{method} {path}"
            assert operation["security"] == {
                "Fn::If": ["UseJwtAuth", [{"PartnerJwt": scopes}], {"Ref": "AWS::NoValue"}]
            }, f"{method} {path}"
            assert operation["x-amazon-apigateway-auth"] == {
                "Fn::If": ["UseJwtAuth", {"Ref": "AWS::NoValue"}, {"type": "AWS_IAM"}]
            }, f"{method} {path}"


def test_the_price_schedule_is_named_retried_and_has_a_dead_letter_queue(template: dict[str, Any]) -> None:
    schedule = template["Resources"]["PricesFunction"]["Properties"]["Events"]["RefreshPrices"]
    assert schedule["Type"] == "ScheduleV2"
    props = schedule["Properties"]
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-price-refresh"}
    assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1 and "Arn" in props["DeadLetterConfig"]


def test_the_iam_policy_outputs_give_every_route_to_exactly_its_scope(template: dict[str, Any]) -> None:
    """AuthMode=IAM has no scopes: the outputs are the execute-api:Invoke resources that make the same split."""
    import fnmatch

    from local.gateway import routes_from_template

    allowed: dict[str, list[str]] = {}
    for name, output in template["Outputs"].items():
        if name.startswith("IamInvoke"):
            assert output["Condition"] == "UseIamAuth", name
            (scope,) = re.findall(r"minted/[a-z]+\.[a-z]+", output["Description"])
            text = re.sub(r"\$\{[^}]+\}", "x", output["Value"]["Fn::Sub"])
            allowed[scope] = text.split(",")
    assert set(allowed) == {scope.value for scope in Scope}
    routes = routes_from_template(template)
    for route in routes:
        arn = "arn:x:execute-api:x:x:x/$default/" + route.method + re.sub(r"\{[^}]+\}", "a-value", route.path)
        granted = {scope for scope, patterns in allowed.items() if any(fnmatch.fnmatchcase(arn, p) for p in patterns)}
        assert granted == set(route.scopes), f"{route.method} {route.path}: {granted}"
