"""Read template.yaml and create its tables and secret in moto, so local AWS cannot drift from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short tags (!Ref, !Sub, ...) as their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"  # !Condition X is {"Condition": X}
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)  # type: ignore[no-untyped-call]


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 (safe loader subclass)
    return loaded


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str  # module.function
    code_uri: str
    timeout: int


def functions_of(template: dict[str, Any] | None = None) -> dict[str, FunctionSpec]:
    template = template or load_template()
    default_timeout = int(template.get("Globals", {}).get("Function", {}).get("Timeout", 3))
    specs = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        timeout = int(props.get("Timeout", default_timeout))
        specs[logical_id] = FunctionSpec(logical_id, props["Handler"], props["CodeUri"], timeout)
    return specs


def create_tables(
    dynamodb: Any, template: dict[str, Any] | None = None, *, time_to_live: bool = True
) -> dict[str, str]:
    """Create every AWS::DynamoDB::Table of the template, named by its logical id.

    ``time_to_live=False`` for implementations without UpdateTimeToLive (dynalite).
    """
    template = template or load_template()
    names = {}
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        table = {k: props[k] for k in _TABLE_KEYS if k in props}
        if "StreamSpecification" in props:  # CloudFormation's form leaves StreamEnabled implied
            table["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        dynamodb.create_table(TableName=logical_id, **table)
        ttl = props.get("TimeToLiveSpecification")
        if time_to_live and ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=logical_id, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        names[logical_id] = logical_id
    return names


def create_event_buses(events: Any, template: dict[str, Any] | None = None) -> dict[str, str]:
    """Create every AWS::Events::EventBus of the template, named by its logical id."""
    template = template or load_template()
    for logical_id in resources_of_type(template, "AWS::Events::EventBus"):
        events.create_event_bus(Name=logical_id)
    return {logical_id: logical_id for logical_id in resources_of_type(template, "AWS::Events::EventBus")}


def create_archives(events: Any, template: dict[str, Any] | None = None) -> dict[str, str]:
    """Create every AWS::Events::Archive of the template on its bus (created first), named by its logical id."""
    template = template or load_template()
    for logical_id, resource in resources_of_type(template, "AWS::Events::Archive").items():
        props = resource["Properties"]
        bus = props["SourceArn"]["Fn::GetAtt"][0]  # the template's form: !GetAtt Bus.Arn
        retention = props.get("RetentionDays", 0)
        if isinstance(retention, dict):  # a !Ref to a parameter: its default
            retention = template["Parameters"][retention["Ref"]]["Default"]
        events.create_archive(
            ArchiveName=logical_id,
            EventSourceArn=events.describe_event_bus(Name=bus)["Arn"],
            RetentionDays=int(retention),
        )
    return {logical_id: logical_id for logical_id in resources_of_type(template, "AWS::Events::Archive")}


def create_secrets(
    secretsmanager: Any, values: dict[str, str], template: dict[str, Any] | None = None
) -> dict[str, str]:
    """Create every AWS::SecretsManager::Secret of the template (named by logical id) with ``values``."""
    template = template or load_template()
    declared = set(resources_of_type(template, "AWS::SecretsManager::Secret"))
    if declared != set(values):
        raise ValueError(f"the template declares secrets {sorted(declared)}; values were given for {sorted(values)}")
    for logical_id, value in values.items():
        secretsmanager.create_secret(Name=logical_id, SecretString=value)
    return {logical_id: logical_id for logical_id in values}


def function_environment(
    template: dict[str, Any], physical_names: dict[str, str], parameters: dict[str, str]
) -> dict[str, str]:
    """The template's Globals environment with each !Ref resolved to its local name or parameter value,
    and the functions' own variables that are text or a !Ref (every handler runs in one process locally)."""
    variables = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    for function in resources_of_type(template, "AWS::Serverless::Function").values():
        own = function["Properties"].get("Environment", {}).get("Variables", {})
        variables.update({k: v for k, v in own.items() if isinstance(v, str) or (isinstance(v, dict) and "Ref" in v)})
    env = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            default = template["Parameters"][ref]["Default"] if ref in template.get("Parameters", {}) else ref
            # Locally a resource is its logical id; a Number parameter's default is text in the environment too.
            env[name] = str(physical_names.get(ref) or parameters.get(ref) or default)
        else:
            env[name] = str(value)
    return env
