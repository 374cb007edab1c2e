"""The template's wiring as AWS will meet it, checked offline.

cfn-lint and ``sam validate`` read one resource at a time; a stack whose pieces are each valid can
still deploy "successfully" and fail on its first request (an ARN built from a stale name, a route
sent to the wrong function, a ``${...}`` left in the workflow). This module turns template.yaml into
plain CloudFormation with the SAM translator (its bundled managed-policy map: no AWS call, no
network), resolves every intrinsic for one deployment (a samconfig environment and a value of each
parameter a condition reads), gives each resource the names and ARNs CloudFormation would, and
checks what refers to what. Expectations come from the template and the handlers, never from a list
of today's resources, so new resources are checked without edits here.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import hashlib
import ipaddress
import itertools
import json
import re
import shlex
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
ACCOUNT = "123456789012"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class WiringError(Exception):
    """A reference CloudFormation could not resolve."""


# ------------------------------------------------------------------------------------- deployments
@dataclass(frozen=True)
class Deployment:
    """One way the template is deployed: a samconfig environment and the parameter values it gets."""

    environment: str
    stack_name: str
    parameters: tuple[tuple[str, str], ...]
    varied: tuple[str, ...] = ()  # parameters the environment leaves open, given each allowed value

    def __str__(self) -> str:
        return "-".join([self.environment, *(f"{k}={v}" for k, v in self.parameters if k in self.varied)])


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {str(node["Ref"])} if set(node) == {"Ref"} else {r for v in node.values() for r in _refs(v)}
    return {r for v in node for r in _refs(v)} if isinstance(node, list) else set()


def _overrides(raw: Any) -> dict[str, str]:
    words = shlex.split(raw) if isinstance(raw, str) else [str(w) for w in raw or []]
    return dict(word.split("=", 1) for word in words)


def deployments(template: dict[str, Any], root: Path = ROOT) -> list[Deployment]:
    """Every samconfig environment, crossed with every allowed value of each parameter a condition reads
    and the environment leaves open (e.g. AuthMode), since the template takes different shapes for them."""
    config = tomllib.loads((root / "samconfig.toml").read_text(encoding="utf-8"))
    parameters = template.get("Parameters", {})
    conditional = sorted(n for n in _refs(template.get("Conditions", {})) if parameters.get(n, {}).get("AllowedValues"))
    found = []
    for environment, commands in config.items():
        if not isinstance(commands, dict):
            continue  # the file's version
        stack_name = next(
            (
                str(commands[c]["parameters"]["stack_name"])
                for c in ("deploy", "global")
                if "stack_name" in commands.get(c, {}).get("parameters", {})
            ),
            None,
        )
        overrides = _overrides(commands.get("deploy", {}).get("parameters", {}).get("parameter_overrides"))
        if stack_name is None and not overrides:
            continue
        open_ = [name for name in conditional if name not in overrides]
        for values in itertools.product(*(parameters[name]["AllowedValues"] for name in open_)):
            chosen = {**overrides, **dict(zip(open_, (str(v) for v in values), strict=True))}
            found.append(
                Deployment(environment, stack_name or environment, tuple(sorted(chosen.items())), tuple(open_))
            )
    return found


# ------------------------------------------------------------------------------------- translation
def _translate(template: dict[str, Any], deployment: Deployment, root: Path) -> dict[str, Any]:
    import boto3
    from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(template)
    for logical_id, resource in sam.get("Resources", {}).items():
        props = resource.get("Properties", {})
        # What `sam deploy` uploads: code by S3 location, the workflow's definition as written.
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://deployment-bucket/{logical_id}.zip"
        uri = props.get("DefinitionUri")
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(uri, str):
            path = root / uri
            if not path.is_file():
                raise WiringError(f"{logical_id}: DefinitionUri {uri} is no file")
            props["Definition"] = json.loads(path.read_text(encoding="utf-8"))
            del props["DefinitionUri"]
    defaults = {name: spec["Default"] for name, spec in sam.get("Parameters", {}).items() if "Default" in spec}
    translator = Translator(
        get_bundled_managed_policy_map("aws"), Parser(), boto_session=boto3.session.Session(region_name=REGION)
    )
    translated: dict[str, Any] = translator.translate(
        sam,
        {**defaults, **dict(deployment.parameters), "AWS::Region": REGION, "AWS::AccountId": ACCOUNT},
        passthrough_metadata=False,
    )
    translator.metrics.publish()  # to its offline publisher: nothing leaves, nothing is left to warn about
    return translated


_TRANSLATED: dict[tuple[str, Deployment], dict[str, Any]] = {}


def translate(template: dict[str, Any], deployment: Deployment, root: Path = ROOT) -> dict[str, Any]:
    """Plain CloudFormation for one deployment; cached per template text and deployment."""
    key = (hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest(), deployment)
    if key not in _TRANSLATED:
        _TRANSLATED[key] = _translate(template, deployment, root)
    return copy.deepcopy(_TRANSLATED[key])


# ------------------------------------------------------------------------------------- the stack
_NO_VALUE = object()

# The property that names a resource; without it CloudFormation makes a name from the stack and logical id.
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Lambda::Alias": "Name",
    "AWS::S3::Bucket": "BucketName",
}


class Stack:
    """A translated template resolved for one deployment, with the names and ARNs AWS would give."""

    def __init__(self, cfn: dict[str, Any], deployment: Deployment) -> None:
        self.deployment = deployment
        self.template_parameters: dict[str, Any] = cfn.get("Parameters", {})
        values = {n: str(s["Default"]) for n, s in self.template_parameters.items() if "Default" in s}
        self.parameters: dict[str, Any] = {**values, **dict(deployment.parameters)}
        for name, spec in self.template_parameters.items():
            if "List" in str(spec.get("Type", "")) and name in self.parameters:
                self.parameters[name] = str(self.parameters[name]).split(",")
        self.pseudo: dict[str, Any] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": deployment.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{deployment.stack_name}/id",
            "AWS::NotificationARNs": [],
        }
        self.mappings: dict[str, Any] = cfn.get("Mappings", {})
        self._conditions: dict[str, Any] = cfn.get("Conditions", {})
        self._condition_values: dict[str, bool] = {}
        raw = cfn.get("Resources", {})
        self.problems: list[str] = []
        self.types: dict[str, str] = {}
        for logical_id, resource in raw.items():
            try:
                if self.condition(resource.get("Condition")):
                    self.types[logical_id] = resource["Type"]
            except WiringError as exc:
                self.problems.append(f"{logical_id}: {exc}")
        self._raw = {logical_id: raw[logical_id] for logical_id in self.types}
        self._names: dict[str, str] = {}
        self._naming: set[str] = set()
        self.properties: dict[str, dict[str, Any]] = {}
        for logical_id in self.types:
            try:
                self.properties[logical_id] = self.resolve(self._raw[logical_id].get("Properties", {}))
            except WiringError as exc:
                self.problems.append(f"{logical_id}: {exc}")
                self.properties[logical_id] = {}
        # Every name, ARN and URL of a stack resource, and which resource it is.
        self.identifiers: dict[str, str] = {}
        for logical_id in self.types:
            for identifier in self.attributes(logical_id).values():
                self.identifiers.setdefault(identifier, logical_id)

    # -- names and attributes
    def name(self, logical_id: str) -> str:
        if logical_id not in self._names:
            if logical_id in self._naming:
                raise WiringError(f"the name of {logical_id} depends on itself")
            self._naming.add(logical_id)
            prop = _NAME_PROPERTY.get(self.types[logical_id], "")
            given = self._raw[logical_id].get("Properties", {}).get(prop)
            if given is not None:
                try:
                    self._names[logical_id] = str(self.resolve(given))
                except WiringError:  # reported with its properties; the name is then nobody's
                    self._names[logical_id] = f"unresolved-{logical_id}"
            else:
                self._names[logical_id] = f"{self.deployment.stack_name}-{logical_id}-GENERATED1"
            self._naming.discard(logical_id)
        return self._names[logical_id]

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"

    def attributes(self, logical_id: str) -> dict[str, str]:
        """What Ref and each Fn::GetAtt give for a resource (those this check needs)."""
        kind, name = self.types[logical_id], self.name(logical_id)
        arn = self._arn
        match kind:
            case "AWS::DynamoDB::Table":
                table = arn("dynamodb", f"table/{name}")
                return {"Ref": name, "Arn": table, "StreamArn": f"{table}/stream/2026-01-01T00:00:00.000"}
            case "AWS::Lambda::Function":
                return {"Ref": name, "Arn": arn("lambda", f"function:{name}")}
            case "AWS::StepFunctions::StateMachine":
                machine = arn("states", f"stateMachine:{name}")
                return {"Ref": machine, "Arn": machine, "Name": name}
            case "AWS::SQS::Queue":
                url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
                return {"Ref": url, "QueueUrl": url, "Arn": arn("sqs", name), "QueueName": name}
            case "AWS::SNS::Topic":
                return {"Ref": arn("sns", name), "TopicArn": arn("sns", name), "TopicName": name}
            case "AWS::SecretsManager::Secret":
                secret = arn("secretsmanager", f"secret:{name}-AbCdEf")
                return {"Ref": secret, "Id": secret}
            case "AWS::Logs::LogGroup":
                return {"Ref": name, "Arn": arn("logs", f"log-group:{name}:*")}
            case "AWS::IAM::Role":
                return {"Ref": name, "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "RoleId": f"AROA{logical_id}"}
            case "AWS::ApiGatewayV2::Api":
                api_id = f"api{hashlib.sha256(logical_id.encode()).hexdigest()[:7]}"
                return {
                    "Ref": api_id,
                    "ApiId": api_id,
                    "ApiEndpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com",
                }
            case "AWS::Lambda::Alias" | "AWS::Lambda::Version":
                function = self._qualified_function(logical_id)
                base = self.attributes(function)["Arn"] if function else arn("lambda", "function:not-in-this-stack")
                qualifier = name if kind == "AWS::Lambda::Alias" else "1"
                return {"Ref": f"{base}:{qualifier}", "Version": qualifier}
            case "AWS::Lambda::LayerVersion":
                return {"Ref": arn("lambda", f"layer:{name}:1")}
            case "AWS::Scheduler::Schedule":
                return {"Ref": name, "Arn": arn("scheduler", f"schedule/default/{name}")}
            case "AWS::Events::EventBus":
                return {"Ref": name, "Name": name, "Arn": arn("events", f"event-bus/{name}")}
            case "AWS::Events::Rule":
                return {"Ref": name, "Arn": arn("events", f"rule/{name}")}
            case "AWS::S3::Bucket":
                return {"Ref": name, "Arn": f"arn:aws:s3:::{name}"}
            case _:
                return {"Ref": name}

    def _qualified_function(self, logical_id: str) -> str | None:
        """The function an alias or version belongs to."""
        given = self._raw[logical_id].get("Properties", {}).get("FunctionName")
        if isinstance(given, dict):
            named = next(iter(_refs(given)), None) or given.get("Fn::GetAtt", [None])[0]
            return named if named in self.types else None
        return None

    def function(self, identifier: Any) -> str | None:
        """The stack function a name or ARN (an alias's or version's too) invokes."""
        logical_id = self.which(identifier)
        if logical_id and self.types[logical_id] in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            return self._qualified_function(logical_id)
        return logical_id if logical_id and self.types[logical_id] == "AWS::Lambda::Function" else None

    def samples(self, logical_id: str) -> list[str]:
        """Its identifiers and ARNs of what lives inside it, for matching IAM resource patterns."""
        found = list(self.attributes(logical_id).values())
        kind, name, attributes = self.types[logical_id], self.name(logical_id), self.attributes(logical_id)
        if kind == "AWS::DynamoDB::Table":
            props = self.properties.get(logical_id, {})
            indexes = props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", [])
            names = [str(index.get("IndexName")) for index in indexes] or ["an-index"]
            found += [f"{attributes['Arn']}/index/{n}" for n in names] + [f"{attributes['Arn']}/stream/a-stream"]
        elif kind == "AWS::Lambda::Function":
            found.append(f"{attributes['Arn']}:a-version")
        elif kind == "AWS::StepFunctions::StateMachine":
            found.append(self._arn("states", f"execution:{name}:an-execution"))
        elif kind == "AWS::Logs::LogGroup":
            found += [self._arn("logs", f"log-group:{name}"), self._arn("logs", f"log-group:{name}:log-stream:s")]
        return found

    def of_type(self, kind: str) -> list[str]:
        return [logical_id for logical_id, t in self.types.items() if t == kind]

    def which(self, identifier: Any, kind: str | None = None) -> str | None:
        """The stack resource an identifier names (of that kind, if given)."""
        logical_id = self.identifiers.get(identifier) if isinstance(identifier, str) else None
        return logical_id if logical_id and (kind is None or self.types[logical_id] == kind) else None

    def documented_parameter_values(self) -> set[str]:
        """Values a parameter with a description supplies (an existing resource the partner names)."""
        return {
            str(self.parameters[name])
            for name, spec in self.template_parameters.items()
            if spec.get("Description") and not spec.get("AllowedValues") and name in self.parameters
        }

    # -- intrinsic functions
    def condition(self, name: str | None) -> bool:
        if name is None:
            return True
        if name not in self._condition_values:
            if name not in self._conditions:
                raise WiringError(f"condition {name} is not defined")
            self._condition_values[name] = bool(self.resolve(self._conditions[name]))
        return self._condition_values[name]

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not _NO_VALUE]
        if isinstance(node, dict):
            if len(node) == 1:
                ((key, argument),) = node.items()
                if key == "Ref":
                    return self._ref(str(argument))
                if key.startswith("Fn::") or key == "Condition":
                    return self._function(key, argument)
            return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not _NO_VALUE}
        return node

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.types:
            return self.attributes(name)["Ref"]
        raise WiringError(f"Ref {name} names no parameter or resource of the stack")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.types:
            raise WiringError(f"Fn::GetAtt {logical_id}.{attribute}: no such resource in the stack")
        known = self.attributes(logical_id)
        if attribute == "Ref" or (attribute not in known and len(known) > 1):
            raise WiringError(f"Fn::GetAtt {logical_id}.{attribute}: a {self.types[logical_id]} has no such attribute")
        return known.get(attribute, f"{self.name(logical_id)}.{attribute}")

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return self._get_att(logical_id, attribute)
            return str(self._ref(expression))

        return re.sub(r"\$\{([^}]*)\}", replace, text)

    def _function(self, name: str, argument: Any) -> Any:
        match name:
            case "Condition":
                return self.condition(str(argument))
            case "Fn::GetAtt":
                parts = argument.split(".", 1) if isinstance(argument, str) else [str(a) for a in argument]
                return self._get_att(parts[0], ".".join(parts[1:]))
            case "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return self._sub(str(text), {k: self.resolve(v) for k, v in variables.items()})
            case "Fn::Join":
                delimiter, items = argument
                return str(delimiter).join(str(item) for item in self.resolve(items))
            case "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            case "Fn::Split":
                delimiter, text = argument
                return str(self.resolve(text)).split(str(delimiter))
            case "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(str(condition)) else when_false)
            case "Fn::Equals":
                left, right = (self.resolve(a) for a in argument)
                return str(left) == str(right)
            case "Fn::Not":
                return not self.resolve(argument[0])
            case "Fn::And":
                return all(self.resolve(a) for a in argument)
            case "Fn::Or":
                return any(self.resolve(a) for a in argument)
            case "Fn::FindInMap":
                mapping, top, second = (str(self.resolve(a)) for a in argument[:3])
                try:
                    return self.mappings[mapping][top][second]
                except KeyError:
                    raise WiringError(f"Fn::FindInMap {mapping}/{top}/{second}: no such entry") from None
            case "Fn::Base64":
                return str(self.resolve(argument))
            case "Fn::Cidr":
                block, count, bits = (self.resolve(a) for a in argument)
                network = ipaddress.ip_network(str(block))
                subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
                return [str(subnet) for subnet in itertools.islice(subnets, int(count))]
            case "Fn::GetAZs":
                return [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
            case "Fn::ToJsonString":
                return json.dumps(self.resolve(argument))
            case "Fn::ImportValue":
                return f"import:{self.resolve(argument)}"  # another stack's export: outside this check
        raise WiringError(f"{name} is not resolved by this check")


# ------------------------------------------------------------------------------------- handlers
@dataclass(frozen=True)
class Code:
    """Where a SAM function's handler lives."""

    logical_id: str
    code_uri: str
    handler: str

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def function(self) -> str:
        return self.handler.rsplit(".", 1)[-1]

    def path(self, root: Path) -> Path:
        return root / self.code_uri / (self.module.replace(".", "/") + ".py")


def sam_functions(template: dict[str, Any]) -> dict[str, Code | str]:
    """Each SAM function's code, or what is wrong with where its handler is said to be."""
    defaults = template.get("Globals", {}).get("Function", {})
    found: dict[str, Code | str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        if props.get("InlineCode") is not None or props.get("PackageType", defaults.get("PackageType")) == "Image":
            continue
        code_uri, handler = props.get("CodeUri", defaults.get("CodeUri")), props.get("Handler", defaults.get("Handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
            found[logical_id] = f"{logical_id}: Handler {handler!r} with CodeUri {code_uri!r} is not module.function"
        else:
            found[logical_id] = Code(logical_id, code_uri, handler)
    return found


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def handler_problem(code: Code, root: Path) -> str | None:
    """Lambda imports the module from the code's root and looks the function up: does it exist?"""
    path = code.path(root)
    if not (root / code.code_uri).is_dir():
        return f"{code.logical_id}: CodeUri {code.code_uri} is no directory"
    if not path.is_file():
        return f"{code.logical_id}: Handler {code.handler}: no module {code.module} in {code.code_uri}"
    if code.function not in _top_level_names(ast.parse(path.read_text(encoding="utf-8"))):
        return f"{code.logical_id}: Handler {code.handler}: {code.module} defines no {code.function}"
    return None


@cache
def task_actions(path: Path) -> frozenset[str] | None:
    """The task actions a handler dispatches (the keys of its ``dispatch(..., {action: task})``), if any."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "dispatch":
            tables = [a for a in node.args if isinstance(a, ast.Dict)]
            if tables:
                return frozenset(str(k.value) for k in tables[-1].keys if isinstance(k, ast.Constant))
    return None


@cache
def served_routes(code: Code) -> frozenset[tuple[str, str]]:
    """The (METHOD, /path/{param}) pairs the handler's routers serve, as their OpenAPI says."""
    return frozenset(served_scopes(code))


def served_scopes(code: Code) -> dict[tuple[str, str], tuple[str, ...]]:
    """The JWT scopes each route the handler serves documents (its OpenAPI ``security`` on PartnerJwt)."""
    from local.gateway import load_handler
    from local.template import FunctionSpec
    from minted_gateway.api.router import Router

    load_handler(FunctionSpec(code.logical_id, code.handler, code.code_uri, 3))
    module = sys.modules[code.module]
    routes = {}
    # A function builds its router on its first HTTP event (``http_api()``); an older one holds it as a value.
    built = [module.http_api()] if callable(getattr(module, "http_api", None)) else []
    for resolver in [*vars(module).values(), *built]:
        if isinstance(resolver, Router):
            for path, item in (resolver.get_openapi_schema().paths or {}).items():
                for method in HTTP_METHODS:
                    operation = getattr(item, method, None)
                    if operation is not None:
                        requirements = operation.security or []
                        routes[(method.upper(), path)] = tuple(s for r in requirements for s in r.get("PartnerJwt", []))
    return routes


# ------------------------------------------------------------------------------------- the checks
@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class ApiRoute:
    api: str
    method: str
    path: str
    function: str
    scopes: tuple[str, ...] = ()  # the JWT authorizer's scopes on the route
    jwt: bool = False  # the route asks for the JWT authorizer (AuthMode=JWT)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


# An environment variable's kind, by its name's ending (the stem before it names the resource).
_VARIABLE_KINDS = (
    (r"_TABLE(_NAME|_ARN)?$", "AWS::DynamoDB::Table"),
    (r"_SECRET(_ID|_ARN|_NAME)?$", "AWS::SecretsManager::Secret"),
    (r"_QUEUE(_URL|_ARN|_NAME)?$", "AWS::SQS::Queue"),
    (r"_(EVENT_)?BUS(_NAME|_ARN)?$", "AWS::Events::EventBus"),
    (r"_(WORKFLOW|STATE_MACHINE)(_ARN|_NAME)?$", "AWS::StepFunctions::StateMachine"),
    (r"_FUNCTION(_NAME|_ARN)?$", "AWS::Lambda::Function"),
    (r"_TOPIC(_ARN|_NAME)?$", "AWS::SNS::Topic"),
    (r"_BUCKET(_NAME|_ARN)?$", "AWS::S3::Bucket"),
)
_KIND_WORDS = ("statemachine", "workflow", "eventbus", "function", "secret", "table", "queue", "topic", "bucket", "bus")


def _stem(name: str) -> str:
    """PRICES_TABLE and PricesTable both have the stem "prices"."""
    plain = re.sub(r"[^a-z0-9]", "", name.lower())
    for word in _KIND_WORDS:
        if plain.endswith(word) and plain != word:
            return plain[: -len(word)]
    return plain


def _check_environment(stack: Stack, report: Report) -> None:
    documented = stack.documented_parameter_values()
    for function in stack.of_type("AWS::Lambda::Function"):
        variables = stack.properties[function].get("Environment", {}).get("Variables", {})
        for variable, value in variables.items():
            report.checked["variables"] += 1
            pattern, kind = next(((p, k) for p, k in _VARIABLE_KINDS if re.search(p, variable)), ("", None))
            target = stack.which(value)
            if str(value) in documented:
                continue
            if kind is None:
                if (variable.endswith("_ARN") or str(value).startswith("arn:")) and target is None:
                    report.problems.append(f"{function}: {variable}={value} names nothing this stack creates")
                continue
            short = kind.split("::")[-1]
            if target is None:
                report.problems.append(f"{function}: {variable}={value} names no {short} this stack creates")
            elif stack.types[target] != kind:
                report.problems.append(f"{function}: {variable} names {target}, a {stack.types[target]}, not a {short}")
            else:
                # PRICES_TABLE may name only PricesTable when there is one; a name no resource shares, any table.
                stem = _stem(re.sub(pattern, "", variable))
                meant = [r for r in stack.of_type(kind) if _stem(r) == stem]
                if meant and target not in meant:
                    report.problems.append(f"{function}: {variable} names {target}, but by its name it is {meant[0]}")


def _check_settings(stack: Stack, report: Report) -> None:
    """Each function's environment satisfies the layer's settings (which fail at cold start otherwise)."""
    from minted_gateway.settings import Settings, SettingsError

    for function in stack.of_type("AWS::Lambda::Function"):
        variables = stack.properties[function].get("Environment", {}).get("Variables", {})
        try:
            Settings.from_env({k: str(v) for k, v in variables.items()})
        except SettingsError as exc:
            report.problems.append(f"{function}: {exc}")


def _statements(document: Any) -> list[dict[str, Any]]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policies(stack: Stack, role: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(policy name, statement) of a role: inline, and of policies attached to it in the stack."""
    for policy in stack.properties[role].get("Policies", []):
        for statement in _statements(policy.get("PolicyDocument")):
            yield str(policy.get("PolicyName")), statement
    role_name = stack.attributes(role)["Ref"]
    for logical_id in stack.of_type("AWS::IAM::Policy") + stack.of_type("AWS::IAM::ManagedPolicy"):
        if role_name in stack.properties[logical_id].get("Roles", []):
            for statement in _statements(stack.properties[logical_id].get("PolicyDocument")):
                yield logical_id, statement


def _role_allows(stack: Stack, role: str, action: str, resource: str) -> bool:
    for _, statement in _policies(stack, role):
        actions = [str(a).lower() for a in _as_list(statement.get("Action", []))]
        resources = [str(r) for r in _as_list(statement.get("Resource", []))]
        if (
            statement.get("Effect") == "Allow"
            and any(fnmatch.fnmatchcase(action.lower(), a) for a in actions)
            and any(fnmatch.fnmatchcase(resource, r) for r in resources)
        ):
            return True
    return False


def _owner_of_role(stack: Stack, role: str) -> str:
    arn = json.dumps(stack.attributes(role)["Arn"])
    owners = [
        r for r in stack.types
        if not stack.types[r].startswith("AWS::IAM::") and arn in json.dumps(stack.properties[r])
    ]  # fmt: skip
    return f"{role} (the role of {', '.join(owners)})" if owners else role


def _check_statements(stack: Stack, report: Report) -> None:
    documented = stack.documented_parameter_values()
    samples = [sample for logical_id in stack.types for sample in stack.samples(logical_id)]
    for role in stack.of_type("AWS::IAM::Role"):
        for policy, statement in _policies(stack, role):
            for resource in _as_list(statement.get("Resource", [])):
                report.checked["statement resources"] += 1
                text = str(resource)
                if text == "*" or text in documented or any(fnmatch.fnmatchcase(s, text) for s in samples):
                    continue
                actions = ", ".join(str(a) for a in _as_list(statement.get("Action", [])))
                report.problems.append(
                    f"{_owner_of_role(stack, role)}: policy {policy} grants {actions} on {text}, "
                    "which is nothing this stack creates"
                )


def _authorization_problem(body: dict[str, Any], operation: dict[str, Any]) -> str | None:
    """How API Gateway imports a route's authorization: IAM, or a security requirement on a scheme
    that carries an authorizer. Anything else leaves the route open to anyone."""
    if str(operation.get("x-amazon-apigateway-auth", {}).get("type", "")).upper() == "AWS_IAM":
        return None
    requirements = operation["security"] if "security" in operation else body.get("security", [])
    schemes = body.get("components", {}).get("securitySchemes", {})
    if not requirements or any(not requirement for requirement in requirements):
        return "has no authorizer: anyone may call it"
    for name in (name for requirement in requirements for name in requirement):
        if "x-amazon-apigateway-authorizer" not in schemes.get(name, {}):
            return f"asks for the security scheme {name}, which defines no authorizer in the API"
    return None


def _api_routes(stack: Stack, report: Report) -> list[ApiRoute]:
    routes = []
    for api in stack.of_type("AWS::ApiGatewayV2::Api"):
        body = stack.properties[api].get("Body") or {}
        for path, item in body.get("paths", {}).items():
            for key, operation in item.items():
                method = "ANY" if key == "x-amazon-apigateway-any-method" else key.upper()
                if key.lower() not in HTTP_METHODS and method != "ANY":
                    continue
                report.checked["routes"] += 1
                problem = _authorization_problem(body, operation)
                if problem:
                    report.problems.append(f"{api}: {method} {path} {problem}")
                uri = str(operation.get("x-amazon-apigateway-integration", {}).get("uri", ""))
                found = re.search(r"/functions/(.+)/invocations$", uri)
                function = stack.function(found.group(1)) if found else None
                if function is None:
                    report.problems.append(
                        f"{api}: {method} {path} is integrated with {uri!r}, no function of this stack"
                    )
                else:
                    scopes = tuple(s for r in operation.get("security") or [] for s in r.get("PartnerJwt", []))
                    jwt = any("PartnerJwt" in requirement for requirement in operation.get("security") or [])
                    routes.append(ApiRoute(api, method, path, function, scopes, jwt=jwt))
    return routes


def _check_routes(routes: list[ApiRoute], codes: dict[str, Code], report: Report) -> None:
    documented = {function: served_scopes(code) for function, code in codes.items()}
    served = {function: frozenset(scopes) for function, scopes in documented.items()}
    for route in routes:
        if route.function not in documented or (route.method, route.path) not in documented[route.function]:
            continue
        handler_scopes = documented[route.function][(route.method, route.path)]
        if not handler_scopes:
            report.problems.append(f"{route.api}: {route}'s handler documents no scope for it")
        elif route.jwt and route.scopes != handler_scopes:
            report.problems.append(
                f"{route.api}: {route} requires the scopes {list(route.scopes)} at API Gateway, but its handler "
                f"documents {list(handler_scopes)}"
            )
    servers = {route: function for function, pairs in served.items() for route in pairs}
    for route in routes:
        if route.function not in served:
            continue
        pairs = served[route.function]
        if (route.method, route.path) not in pairs and not (
            route.method == "ANY" and route.path in {p for _, p in pairs}
        ):
            elsewhere = servers.get((route.method, route.path))
            report.problems.append(
                f"{route.api}: {route} is integrated with {route.function}, whose handler serves no such route"
                + (f" ({elsewhere} serves it)" if elsewhere else "")
            )
    for function, pairs in served.items():
        for method, path in sorted(pairs):
            # The method's own route wins over the path's ANY route, as API Gateway picks them.
            exact = [r for r in routes if r.path == path and r.method == method]
            sending = exact or [r for r in routes if r.path == path and r.method == "ANY"]
            if not any(r.function == function for r in sending):
                report.problems.append(
                    f"{function}: its handler serves {method} {path}, but no API route sends it there"
                )


def _route_arn(stack: Stack, route: ApiRoute, stage: str) -> str:
    """The execute-api ARN of a request on the route (path parameters given a value)."""
    api_id = stack.attributes(route.api)["Ref"]
    path = re.sub(r"\{[^}]+\}", "a-value", route.path)
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{stage}/{route.method}{path}"


def _check_permissions(stack: Stack, routes: list[ApiRoute], report: Report) -> None:
    stages = {
        api: [str(stack.properties[s].get("StageName")) for s in stack.of_type("AWS::ApiGatewayV2::Stage")
              if stack.properties[s].get("ApiId") == stack.attributes(api)["Ref"]] or ["$default"]
        for api in stack.of_type("AWS::ApiGatewayV2::Api")
    }  # fmt: skip
    samples = [sample for logical_id in stack.types for sample in stack.samples(logical_id)]
    allowed: list[tuple[str, str]] = []  # (function, SourceArn) API Gateway may invoke
    for permission in stack.of_type("AWS::Lambda::Permission"):
        report.checked["permissions"] += 1
        props = stack.properties[permission]
        function = stack.function(props.get("FunctionName"))
        source = str(props.get("SourceArn", ""))
        if function is None:
            report.problems.append(
                f"{permission}: FunctionName {props.get('FunctionName')} is no function of this stack"
            )
            continue
        if props.get("Principal") != "apigateway.amazonaws.com":
            if source and not any(fnmatch.fnmatchcase(s, source) for s in samples):
                report.problems.append(f"{permission}: SourceArn {source} is nothing this stack creates")
            continue
        allowed.append((function, source))
        own = [r for r in routes if r.function == function]
        if not any(fnmatch.fnmatchcase(_route_arn(stack, r, stage), source) for r in own for stage in stages[r.api]):
            report.problems.append(
                f"{permission}: SourceArn {source} matches no route integrated with {function} "
                f"(its routes: {', '.join(str(r) for r in own) or 'none'})"
            )
    for route in routes:
        arns = [_route_arn(stack, route, stage) for stage in stages[route.api]]
        if not any(f == route.function and fnmatch.fnmatchcase(a, s) for f, s in allowed for a in arns):
            report.problems.append(
                f"{route.api}: {route} is integrated with {route.function}, "
                "but no Lambda permission lets API Gateway invoke it for that route"
            )


def _task_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from _task_states(branch.get("States", {}))
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _task_states(state[key].get("States", {}))


def _check_action(target: str, action: Any, *, codes: dict[str, Code], root: Path, where: str, report: Report) -> None:
    """The function is asked for a task its handler dispatches."""
    if not isinstance(action, str) or target not in codes:
        return
    actions = task_actions(codes[target].path(root))
    if actions is None or action not in actions:
        takes = ", ".join(sorted(actions or [])) or "no task actions"
        report.problems.append(
            f"{where} asks {target} for action {action!r}, which its handler does not take ({takes})"
        )


def _check_state_machines(stack: Stack, codes: dict[str, Code], root: Path, report: Report) -> None:
    for machine in stack.of_type("AWS::StepFunctions::StateMachine"):
        props = stack.properties[machine]
        text = props.get("DefinitionString")
        if text is None:
            text = json.dumps(props.get("Definition", {}))
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            text = str(text).replace("${" + key + "}", str(value))
        left = sorted(set(re.findall(r"\$\{[^}]*\}", str(text))))
        if left:
            report.problems.append(
                f"{machine}: its definition still holds {', '.join(left)} after DefinitionSubstitutions"
            )
            continue
        role = stack.which(props.get("RoleArn"), "AWS::IAM::Role")
        if role is None:
            report.problems.append(f"{machine}: RoleArn {props.get('RoleArn')} is no role of this stack")
            continue
        for state_name, state in _task_states(json.loads(str(text)).get("States", {})):
            report.checked["tasks"] += 1
            resource = str(state.get("Resource", ""))
            arguments = state.get("Parameters") or state.get("Arguments") or {}
            if resource.startswith("arn:aws:states:::lambda:invoke"):
                invoked, payload = arguments.get("FunctionName"), arguments.get("Payload") or {}
            elif resource.startswith("arn:aws:lambda:"):
                invoked, payload = resource, arguments
            else:
                continue  # other service integrations: their targets are not checked here
            target = stack.function(invoked)
            where = f"{machine}: task {state_name}"
            if target is None:
                report.problems.append(f"{where} invokes {invoked}, no function of this stack")
                continue
            arn = str(invoked) if str(invoked).startswith("arn:") else stack.attributes(target)["Arn"]
            if not _role_allows(stack, role, "lambda:InvokeFunction", arn):
                report.problems.append(f"{where} invokes {target}, which its role {role} may not invoke")
            action = payload.get("action") if isinstance(payload, dict) else None
            _check_action(target, action, codes=codes, root=root, where=where, report=report)


# What a schedule's role needs to deliver to a target of each kind.
_DELIVERY_ACTIONS = {
    "AWS::Lambda::Function": "lambda:InvokeFunction",
    "AWS::StepFunctions::StateMachine": "states:StartExecution",
    "AWS::SQS::Queue": "sqs:SendMessage",
    "AWS::SNS::Topic": "sns:Publish",
    "AWS::Events::EventBus": "events:PutEvents",
}


def _check_schedules(stack: Stack, codes: dict[str, Code], root: Path, report: Report) -> None:
    for schedule in stack.of_type("AWS::Scheduler::Schedule"):
        report.checked["schedules"] += 1
        target_props = stack.properties[schedule].get("Target", {})
        target_arn, role_arn = target_props.get("Arn"), target_props.get("RoleArn")
        target = stack.which(target_arn)
        role = stack.which(role_arn, "AWS::IAM::Role")
        if target is None:
            report.problems.append(f"{schedule}: its target {target_arn} is nothing this stack creates")
        if role is None:
            report.problems.append(f"{schedule}: its role {role_arn} is no role of this stack")
        delivery = _DELIVERY_ACTIONS.get(stack.types[target]) if target else None
        if role and delivery and not _role_allows(stack, role, delivery, str(target_arn)):
            report.problems.append(f"{schedule}: its role {role} may not deliver to {target}")
        dead_letters = target_props.get("DeadLetterConfig", {}).get("Arn")
        if dead_letters is not None:
            queue = stack.which(dead_letters, "AWS::SQS::Queue")
            if queue is None:
                report.problems.append(f"{schedule}: its dead-letter queue {dead_letters} is no queue of this stack")
            elif role and not _role_allows(stack, role, "sqs:SendMessage", str(dead_letters)):
                report.problems.append(f"{schedule}: its role {role} may not send to its dead-letter queue {queue}")
        if target and isinstance(target_props.get("Input"), str):
            try:
                action = json.loads(target_props["Input"]).get("action")
            except (ValueError, AttributeError):
                action = None
            _check_action(target, action, codes=codes, root=root, where=f"{schedule}: its input", report=report)


def _check_rules(stack: Stack, codes: dict[str, Code], root: Path, report: Report) -> None:
    """EventBridge rules: each target, its role and dead-letter queue exist, and a function may be invoked."""
    for rule in stack.of_type("AWS::Events::Rule"):
        rule_arn = stack.attributes(rule)["Arn"]
        for target_props in stack.properties[rule].get("Targets", []):
            report.checked["rule targets"] += 1
            target_arn = target_props.get("Arn")
            target = stack.which(target_arn)
            if target is None:
                report.problems.append(f"{rule}: its target {target_arn} is nothing this stack creates")
            if "RoleArn" in target_props and stack.which(target_props["RoleArn"], "AWS::IAM::Role") is None:
                report.problems.append(f"{rule}: its role {target_props['RoleArn']} is no role of this stack")
            dead_letters = target_props.get("DeadLetterConfig", {}).get("Arn")
            if dead_letters is not None and stack.which(dead_letters, "AWS::SQS::Queue") is None:
                report.problems.append(f"{rule}: its dead-letter queue {dead_letters} is no queue of this stack")
            if target and stack.types[target] == "AWS::Lambda::Function":
                if not any(
                    stack.function(stack.properties[p].get("FunctionName")) == target
                    and stack.properties[p].get("Principal") == "events.amazonaws.com"
                    and fnmatch.fnmatchcase(rule_arn, str(stack.properties[p].get("SourceArn", "*")))
                    for p in stack.of_type("AWS::Lambda::Permission")
                ):
                    report.problems.append(f"{rule}: no Lambda permission lets EventBridge invoke {target} for it")
                if isinstance(target_props.get("Input"), str):
                    action = json.loads(target_props["Input"]).get("action")
                    _check_action(target, action, codes=codes, root=root, where=f"{rule}: its input", report=report)


def check_wiring(template: dict[str, Any], deployment: Deployment, root: Path = ROOT) -> Report:
    """Every wiring problem of the template deployed this way, each naming the resource it is about."""
    report = Report()
    codes: dict[str, Code] = {}
    for logical_id, code in sam_functions(template).items():
        report.checked["handlers"] += 1
        problem = code if isinstance(code, str) else handler_problem(code, root)
        if problem:
            report.problems.append(problem)
        elif isinstance(code, Code):
            codes[logical_id] = code
    try:
        cfn = translate(template, deployment, root)
    except Exception as exc:  # the translator's own errors say what is wrong
        report.problems.append(f"template: SAM cannot translate it for {deployment}: {exc}")
        return report
    stack = Stack(cfn, deployment)
    report.problems += stack.problems
    _check_environment(stack, report)
    _check_settings(stack, report)
    _check_statements(stack, report)
    routes = _api_routes(stack, report)
    _check_routes(routes, codes, report)
    _check_permissions(stack, routes, report)
    _check_state_machines(stack, codes, root, report)
    _check_schedules(stack, codes, root, report)
    _check_rules(stack, codes, root, report)
    return report
