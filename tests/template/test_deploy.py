"""What a deploy refuses, where alarms go, what CloudFormation can replace, and the network mode.

The template's Rules are evaluated here with the functions CloudFormation allows in them, as it
evaluates them before it changes anything (a failed assertion stops the deploy with its
AssertDescription), for each samconfig environment. The rest is read from the translated template
(SAM's output, resolved for one deployment by tests/template/wiring.py).
"""

from __future__ import annotations

import copy
import ipaddress
import re
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from local.template import load_template
from tests.template.wiring import REGION, Deployment, Stack, check_wiring, deployments, translate

TEMPLATE = load_template()
DEPLOYMENTS = deployments(TEMPLATE)
PROD = [d for d in DEPLOYMENTS if d.environment == "prod"]
OTHERS = [d for d in DEPLOYMENTS if d.environment != "prod"]
STAGING = "https://api.staging.mintedconnect.com"
PROD_RULES = ("ProdAlarmsReachSomeone", "ProdMintedBaseUrl")
NETWORK_RULE = ("NetworkModeNeedsVpcAndSubnets",)


def with_parameters(deployment: Deployment, **values: str) -> Deployment:
    chosen = {**dict(deployment.parameters), **values}
    return Deployment(deployment.environment, deployment.stack_name, tuple(sorted(chosen.items())), deployment.varied)


def stack_of(deployment: Deployment, template: dict[str, Any] = TEMPLATE) -> Stack:
    return Stack(translate(template, deployment), deployment)


def _parameter_values(deployment: Deployment) -> dict[str, Any]:
    specs = TEMPLATE["Parameters"]
    values: dict[str, Any] = {n: str(s["Default"]) for n, s in specs.items() if "Default" in s}
    values.update(dict(deployment.parameters))
    return {n: v.split(",") if "List" in str(specs.get(n, {}).get("Type")) else v for n, v in values.items()}


def _evaluate(node: Any, values: dict[str, Any]) -> Any:
    """A rule's condition or assertion, with the functions CloudFormation allows in Rules."""
    if not (isinstance(node, dict) and len(node) == 1):
        return node
    ((function, argument),) = node.items()
    match function:
        case "Ref":
            return values[argument]
        case "Fn::Equals":
            left, right = (_evaluate(a, values) for a in argument)
            return str(left) == str(right)
        case "Fn::Not":
            return not _evaluate(argument[0], values)
        case "Fn::And":
            return all(_evaluate(a, values) for a in argument)
        case "Fn::Or":
            return any(_evaluate(a, values) for a in argument)
        case "Fn::Contains":
            members, value = (_evaluate(a, values) for a in argument)
            return value in members
        case "Fn::EachMemberEquals":
            members, value = (_evaluate(a, values) for a in argument)
            return all(m == value for m in members)
        case "Fn::EachMemberIn":
            members, allowed = (_evaluate(a, values) for a in argument)
            return all(m in allowed for m in members)
    raise AssertionError(f"{function} is not a rule function this check knows")


def refused(deployment: Deployment, names: tuple[str, ...] = PROD_RULES) -> dict[str, str]:
    """The rules (of those named) whose assertions fail for this deployment, with their descriptions."""
    values = _parameter_values(deployment)
    failed = {}
    for name in names:
        rule = TEMPLATE["Rules"][name]
        if "RuleCondition" in rule and not _evaluate(rule["RuleCondition"], values):
            continue
        for assertion in rule["Assertions"]:
            if not _evaluate(assertion["Assert"], values):
                failed[name] = " ".join(str(assertion["AssertDescription"]).split())
    return failed


# ------------------------------------------------------------------------------ a prod deploy
@pytest.mark.parametrize("deployment", PROD, ids=str)
def test_prod_as_samconfig_ships_is_refused_saying_what_to_set(deployment: Deployment) -> None:
    failed = refused(deployment)
    assert set(failed) == set(PROD_RULES)
    for parameter in ("AlarmEmail", "AlarmHttpsEndpoint", "ExistingAlarmTopicArn", "samconfig.toml"):
        assert parameter in failed["ProdAlarmsReachSomeone"]
    assert "MintedBaseUrl" in failed["ProdMintedBaseUrl"] and "staging" in failed["ProdMintedBaseUrl"]


@pytest.mark.parametrize(
    "destination",
    [
        {"AlarmEmail": "oncall@partner.example"},
        {"AlarmHttpsEndpoint": "https://events.pagerduty.com/integration/abc/enqueue"},
        {"ExistingAlarmTopicArn": f"arn:aws:sns:{REGION}:123456789012:chat-alarms"},
    ],
    ids=lambda d: next(iter(d)),
)
def test_prod_goes_out_with_any_one_alarm_destination_and_its_minted_host(destination: dict[str, str]) -> None:
    deployment = with_parameters(PROD[0], MintedBaseUrl="https://api.minted.example", **destination)
    assert refused(deployment) == {}
    without_host = with_parameters(PROD[0], **destination)
    assert set(refused(without_host)) == {"ProdMintedBaseUrl"}


def test_prod_minted_base_url_has_no_default_but_staging_which_prod_refuses() -> None:
    parameter = TEMPLATE["Parameters"]["MintedBaseUrl"]
    assert parameter.get("Default") == STAGING
    overrides = {k for d in PROD for k in dict(d.parameters) if k != "AuthMode"}
    assert "MintedBaseUrl" not in overrides, "samconfig.toml's prod must not guess Minted's production host"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [("https://api.staging.mintedconnect.com/", False), ("https://API.staging.mintedconnect.com", False),
     ("https://api.staging.mintedconnect.com:443", False), ("https://api.staging.mintedconnect.com.", False),
     ("http://api.minted.example", False), ("https://api.minted.example", True),
     ("https://minted.partner.example/proxy/v1", True), ("https://api.staging.mintedconnect.com/.", False),
     ("https://api.staging.mintedconnect.com/a/..", False), ("https://minted.partner.example/v1.2/..x", True)],
)  # fmt: skip
def test_the_minted_host_has_one_spelling_so_prod_cannot_pass_for_staging(url: str, allowed: bool) -> None:
    """Found by a security review: the staging host with a trailing slash passed prod's rule. A port is another
    spelling to the rule, and so are a port, a trailing dot and a path of dot segments (which urllib3 removes,
    found by a code review): one spelling per host."""
    assert bool(re.fullmatch(TEMPLATE["Parameters"]["MintedBaseUrl"]["AllowedPattern"], url)) is allowed


@pytest.mark.parametrize("deployment", OTHERS, ids=str)
def test_other_stages_need_neither(deployment: Deployment) -> None:
    assert refused(deployment) == {}


# ------------------------------------------------------------------------------ where alarms go
def test_alarms_publish_to_an_existing_topic_and_an_https_endpoint_when_given() -> None:
    dev = next(d for d in DEPLOYMENTS if d.environment == "dev")
    plain = stack_of(dev)
    assert not plain.of_type("AWS::SNS::Subscription")
    topic = f"arn:aws:sns:{REGION}:123456789012:chat-alarms"
    url = "https://api.opsgenie.example/v1/json/cloudwatch?apiKey=x"
    stack = stack_of(with_parameters(dev, ExistingAlarmTopicArn=topic, AlarmHttpsEndpoint=url))
    ours = stack.attributes("AlarmTopic")["Ref"]
    alarms = stack.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 12
    for alarm in alarms:
        props = stack.properties[alarm]
        assert props["AlarmActions"] == [ours, topic], alarm
        assert plain.properties[alarm]["AlarmActions"] == [ours], alarm
        if "OKActions" in props:
            assert props["OKActions"] == [ours, topic], alarm
    (subscription,) = stack.of_type("AWS::SNS::Subscription")
    assert stack.properties[subscription] == {"TopicArn": ours, "Protocol": "https", "Endpoint": url}


# ------------------------------------------------------------------------------ replaceable names
# The property that names each resource type the template uses (None: it has none). A type missing
# here fails the test, so a new one is looked at.
NAME_PROPERTY: dict[str, str | None] = {
    "AWS::ApiGatewayV2::Api": None,
    "AWS::EC2::InternetGateway": None,
    "AWS::EC2::NatGateway": None,
    "AWS::EC2::Route": None,
    "AWS::EC2::RouteTable": None,
    "AWS::EC2::Subnet": None,
    "AWS::EC2::SubnetRouteTableAssociation": None,
    "AWS::EC2::VPC": None,
    "AWS::EC2::VPCEndpoint": None,
    "AWS::EC2::VPCGatewayAttachment": None,
    "AWS::ApiGatewayV2::Stage": "StageName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::EC2::SecurityGroup": "GroupName",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::Events::EventBus": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Key": None,
    "AWS::Lambda::EventSourceMapping": None,
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Lambda::Permission": None,
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Pipes::Pipe": "Name",
    "AWS::SNS::Subscription": None,
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}
# Named resources whose type has other properties that force a replacement, and why that is safe.
REPLACEABLE_THOUGH_NAMED = {
    # A new layer version is a new resource under the same layer name: nothing collides.
    "AWS::Lambda::LayerVersion": "versions share the name",
    # A stage's name is unique within its API only: a new ApiId means a new API with its own $default.
    "AWS::ApiGatewayV2::Stage": "unique per API",
    # The buy function finds the workflow by its name (a Ref would be a cycle); its one other
    # create-only property, StateMachineType, is STANDARD for good (an EXPRESS one cannot wait hours
    # for Minted). docs/operations.md, "Replacing a named resource", says what to do if it must change.
    "AWS::StepFunctions::StateMachine": "documented in docs/operations.md",
}


def _create_only(kind: str) -> list[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, kind).schema
    return [str(p).removeprefix("/properties/") for p in schema.get("createOnlyProperties", [])]


NETWORK_ON = [
    with_parameters(DEPLOYMENTS[0], VpcId="vpc-0123456789abcdef0", VpcSubnetIds="subnet-0aaa1111,subnet-0bbb2222"),
    with_parameters(DEPLOYMENTS[0], NatElasticIpAllocationIds="eipalloc-0aaa1111,eipalloc-0bbb2222"),
]


@pytest.mark.parametrize("deployment", [*DEPLOYMENTS, *NETWORK_ON], ids=str)
def test_no_custom_name_keeps_cloudformation_from_replacing_a_resource(deployment: Deployment) -> None:
    """CloudFormation cannot replace a resource with a name of its own (the new one would collide with
    the old), so a change to any other create-only property of a named resource fails the update."""
    resources = translate(TEMPLATE, deployment)["Resources"]
    blocked = []
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        assert kind in NAME_PROPERTY, f"{kind}: say which property names it (None for none)"
        name = NAME_PROPERTY[kind]
        if name is None or name not in resource.get("Properties", {}):
            continue
        others = [p for p in _create_only(kind) if p != name]
        if others and kind not in REPLACEABLE_THOUGH_NAMED:
            blocked.append(f"{logical_id} ({kind}) has {name} and would be replaced by a change to {others}")
    assert blocked == []


def test_the_check_knows_what_forces_a_replacement() -> None:
    """The check reads cfn-lint's resource schemas: the pipe's Source is create-only, a name alone is not."""
    assert "Source" in _create_only("AWS::Pipes::Pipe")
    assert _create_only("AWS::Events::EventBus") == ["Name"]
    pipe = TEMPLATE["Resources"]["OrderEventsPipe"]["Properties"]
    assert "Name" not in pipe


# ------------------------------------------------------------------------------ network mode
VPC, SUBNETS = "vpc-0123456789abcdef0", ["subnet-0aaa1111", "subnet-0bbb2222"]
# What SAM attaches to every function role as soon as the template carries a VpcConfig, whatever its
# condition: the one thing the mode changes while off (ENI permissions the functions never use).
VPC_ACCESS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


NETWORK_CONDITIONS = {"UseVpc", "UseExistingVpc", "CreateNetwork"}
NETWORK_PARAMETERS = {"VpcId", "VpcSubnetIds", "NatElasticIpAllocationIds", "NetworkCidr"}
EXISTING = {"VpcId": VPC, "VpcSubnetIds": ",".join(SUBNETS)}
BUILT = {"NatElasticIpAllocationIds": "eipalloc-0aaa1111,eipalloc-0bbb2222", "NetworkCidr": "10.42.0.0/20"}


def _without_network_mode(template: dict[str, Any]) -> dict[str, Any]:
    """The template as it was before the network mode: no VpcConfig, no network resources or parameters."""
    stripped = copy.deepcopy(template)
    del stripped["Globals"]["Function"]["VpcConfig"]
    resources = stripped["Resources"]
    for logical_id in [n for n, r in resources.items() if r.get("Condition") in NETWORK_CONDITIONS]:
        del resources[logical_id]
    for condition in NETWORK_CONDITIONS:
        del stripped["Conditions"][condition]
    for parameter in NETWORK_PARAMETERS:
        del stripped["Parameters"][parameter]
    del stripped["Rules"][NETWORK_RULE[0]]
    return stripped


def _network_stack(mode: dict[str, str]) -> Stack:
    dev = next(d for d in DEPLOYMENTS if d.environment == "dev")
    return stack_of(with_parameters(dev, **mode))


@pytest.mark.parametrize("mode", [EXISTING, BUILT], ids=["existing-vpc", "built-network"])
def test_network_mode_puts_every_function_in_private_subnets_with_https_out_only(mode: dict[str, str]) -> None:
    stack = _network_stack(mode)
    assert stack.problems == []
    functions = stack.of_type("AWS::Lambda::Function")
    assert len(functions) == len(
        [r for r in TEMPLATE["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    )
    (group,) = stack.of_type("AWS::EC2::SecurityGroup")
    subnets = (
        SUBNETS if mode is EXISTING else [stack.attributes(s)["Ref"] for s in ("PrivateSubnetA", "PrivateSubnetB")]
    )
    for function in functions:
        assert stack.properties[function]["VpcConfig"] == {
            "SubnetIds": subnets,
            "SecurityGroupIds": [stack.attributes(group)["Ref"]],
        }, function
    props = stack.properties[group]
    assert props["VpcId"] == (VPC if mode is EXISTING else stack.attributes("NetworkVpc")["Ref"])
    assert "SecurityGroupIngress" not in props
    # HTTPS only: Minted through the subnets' NAT gateways, AWS APIs through them or the VPC's endpoints.
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in props["SecurityGroupEgress"]] == [("tcp", 443, 443)]
    for role in {stack.which(stack.properties[f]["Role"]) for f in functions}:
        assert VPC_ACCESS_POLICY in stack.properties[str(role)]["ManagedPolicyArns"]  # ENIs in the subnets
    if mode is EXISTING:
        assert not stack.of_type("AWS::EC2::VPC") and not stack.of_type("AWS::EC2::NatGateway")


def test_the_built_network_sends_each_private_subnet_out_through_a_nat_gateway_with_a_given_address() -> None:
    stack = _network_stack(BUILT)
    props, ref = stack.properties, lambda logical_id: stack.attributes(logical_id)["Ref"]
    route_table_of = {
        props[a]["SubnetId"]: props[a]["RouteTableId"] for a in stack.of_type("AWS::EC2::SubnetRouteTableAssociation")
    }
    default_route = {
        props[r]["RouteTableId"]: props[r] for r in stack.of_type("AWS::EC2::Route")
        if props[r]["DestinationCidrBlock"] == "0.0.0.0/0"
    }  # fmt: skip
    nat_of = {ref(n): props[n] for n in stack.of_type("AWS::EC2::NatGateway")}
    addresses, zones = set(), set()
    for private in ("PrivateSubnetA", "PrivateSubnetB"):
        route = default_route[route_table_of[ref(private)]]
        assert set(route) == {"RouteTableId", "DestinationCidrBlock", "NatGatewayId"}, private
        nat = nat_of[route["NatGatewayId"]]
        addresses.add(nat["AllocationId"])
        public_route = default_route[route_table_of[nat["SubnetId"]]]
        assert public_route["GatewayId"] == ref("NetworkInternetGateway")  # the NAT gateway is in a public subnet
        zones.add(props[private]["AvailabilityZone"])
        assert props[private]["VpcId"] == ref("NetworkVpc")
    assert addresses == set(BUILT["NatElasticIpAllocationIds"].split(","))
    assert len(zones) == 2
    cidrs = [ipaddress.ip_network(props[s]["CidrBlock"]) for s in stack.of_type("AWS::EC2::Subnet")]
    assert all(c.subnet_of(ipaddress.ip_network(BUILT["NetworkCidr"])) for c in cidrs)  # type: ignore[arg-type]
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])
    (endpoint,) = stack.of_type("AWS::EC2::VPCEndpoint")
    assert props[endpoint]["ServiceName"] == f"com.amazonaws.{REGION}.dynamodb"
    assert set(props[endpoint]["RouteTableIds"]) == {ref("PrivateRouteTableA"), ref("PrivateRouteTableB")}


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=str)
def test_network_mode_off_changes_nothing_but_the_policy_sam_adds(deployment: Deployment) -> None:
    with_mode, before = stack_of(deployment), stack_of(deployment, _without_network_mode(TEMPLATE))
    assert with_mode.types == before.types  # no security group, nothing else new
    for logical_id, props in with_mode.properties.items():
        policies = props.get("ManagedPolicyArns") or []
        if with_mode.types[logical_id] == "AWS::IAM::Role" and VPC_ACCESS_POLICY in policies:
            props = {**props, "ManagedPolicyArns": [a for a in policies if a != VPC_ACCESS_POLICY]}  # noqa: PLW2901
        assert props == before.properties[logical_id], logical_id


@pytest.mark.parametrize(
    ("given", "refused_"),
    [({}, False), (EXISTING, False), ({"VpcId": VPC}, True), ({"VpcSubnetIds": ",".join(SUBNETS)}, True),
     (BUILT, False), ({**BUILT, **EXISTING}, True)],
    ids=["neither", "existing", "vpc-only", "subnets-only", "built", "built-and-existing"],
)  # fmt: skip
def test_network_mode_takes_a_vpc_and_its_subnets_together_or_builds_its_own(
    given: dict[str, str], refused_: bool
) -> None:
    dev = next(d for d in DEPLOYMENTS if d.environment == "dev")
    failed = refused(with_parameters(dev, **given), NETWORK_RULE)
    assert bool(failed) is refused_
    if refused_:
        assert "VpcId" in failed[NETWORK_RULE[0]] and "VpcSubnetIds" in failed[NETWORK_RULE[0]]


@pytest.mark.parametrize("deployment", NETWORK_ON, ids=["existing-vpc", "built-network"])
def test_the_network_mode_is_wired_as_aws_will_meet_it(deployment: Deployment) -> None:
    assert check_wiring(TEMPLATE, deployment).problems == []
