"""docs/operations.md and the template stay in step: what an operator types comes from the stack.

Every name of a stack resource a runbook command needs is read from a stack output (the runbook's
`output` helper, i.e. `aws cloudformation describe-stacks ... --query ...`); the only placeholders
left are an incident's own values. Every archive the docs mention exists, and what `sam delete`
leaves behind is what the template retains.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.template import load_template, resources_of_type

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
RUNBOOK = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
OUTPUTS = set(TEMPLATE["Outputs"])
# What an incident brings with it, not the stack: the order, customer or conditional order it is about.
INCIDENT_VALUES = {"external_id", "customer_external_id", "trigger_id"}


def section(title: str, text: str = RUNBOOK) -> str:
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"docs/operations.md has no section {title!r}"
    return match.group(1)


def commands(text: str = RUNBOOK) -> list[str]:
    """What the runbook has an operator type: its bash blocks and its inline commands, comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    inline = [
        c
        for c in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
        if re.match(r"aws |[A-Z_]+=\$\(", c)
    ]
    return [re.sub(r"(^|\s)# .*$", "", block, flags=re.M) for block in [*blocks, *inline]]


def test_the_runbook_reads_names_from_stack_outputs_with_describe_stacks() -> None:
    tools = section("Tools")
    assert 'aws cloudformation describe-stacks --stack-name "$STACK"' in tools
    assert "--query \"Stacks[0].Outputs[?OutputKey=='$1'].OutputValue\" --output text" in tools


def test_every_output_the_runbook_reads_is_one_the_stack_has() -> None:
    named = {n for c in commands() for n in re.findall(r"(?<![-\w])output (\w+)", c)}
    named |= set(re.findall(r"OutputKey=='(\w+)'", RUNBOOK)) - {"1"}
    named |= set(re.findall(r"\(?output `(\w+)`", RUNBOOK))
    assert named, "the check found no output at all"
    assert named - OUTPUTS == set()


def test_the_only_placeholders_in_commands_are_an_incidents_own_values() -> None:
    placeholders = {p for c in commands() for p in re.findall(r"<([^<>\s][^<>]*)>", c)}
    assert placeholders - INCIDENT_VALUES == set(), "give the stack's names by output, not as <placeholders>"


def test_no_command_names_a_resource_by_its_logical_id() -> None:
    logical_ids = set(TEMPLATE["Resources"])
    # A resource import names resources by their logical ids: that is what LogicalResourceId is.
    typed = {
        word for c in commands() for word in re.findall(r"[A-Za-z]+", re.sub(r'"LogicalResourceId": "\w+"', "", c))
    }
    typed &= logical_ids
    assert typed == set(), "a logical id is not the resource's name in the account: read it from an output"


def test_every_shell_variable_a_command_uses_is_set_in_the_runbook() -> None:
    text = "\n".join(commands())
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", text))
    assigned = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", text)) | set(re.findall(r"read -r (\w+)", text))
    assigned |= set(re.findall(r"for (\w+) in", text))
    assert used - assigned == set()


@pytest.mark.parametrize(
    "doc", sorted(p.relative_to(ROOT).as_posix() for p in [ROOT / "README.md", *ROOT.glob("docs/*.md")])
)
def test_every_archive_the_docs_mention_is_in_the_template(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    if not re.search(r"\barchive", text, re.I):
        return
    archives = resources_of_type(TEMPLATE, "AWS::Events::Archive")
    buses = {str(a["Properties"]["SourceArn"]["Fn::GetAtt"][0]) for a in archives.values()}
    assert "OrderEventsBus" in buses, f"{doc} mentions an archive; the order-events bus has none"
    names = set(re.findall(r"`(\w*Archive\w*)`", text))
    known = set(archives) | OUTPUTS | set(TEMPLATE["Parameters"])
    assert names - known == set(), f"{doc} names archives, outputs or parameters the template lacks"


def test_teardown_names_everything_the_template_keeps_after_sam_delete() -> None:
    teardown = section("Teardown")
    retained = {name for name, r in TEMPLATE["Resources"].items() if r.get("DeletionPolicy") == "Retain"}
    assert retained, "the check found nothing retained"
    assert {name for name in retained if f"`{name}`" not in teardown} == set()


def test_the_one_deliberately_named_replaceable_resource_is_explained() -> None:
    from tests.template.test_deploy import REPLACEABLE_THOUGH_NAMED

    explained = section("Replacing a named resource")
    for logical_id, resource in TEMPLATE["Resources"].items():
        if resource["Type"] == "AWS::Serverless::StateMachine" and "Name" in resource["Properties"]:
            assert "AWS::StepFunctions::StateMachine" in REPLACEABLE_THOUGH_NAMED
            assert f"`{logical_id}`" in explained


def test_the_network_mode_section_names_its_parameters_and_their_cost() -> None:
    network = section("Fixed egress addresses (network mode)")
    for parameter in ("NatElasticIpAllocationIds", "VpcId", "VpcSubnetIds"):
        assert parameter in TEMPLATE["Parameters"] and f"{parameter}=" in network
    assert "Cost:" in network and "Cold starts:" in network
    assert "FunctionSecurityGroup" in network and "FunctionSecurityGroup" in TEMPLATE["Resources"]


# ------------------------------------------------------------------------------ README, "Deploying"
README = (ROOT / "README.md").read_text(encoding="utf-8")
DEPLOYING = section("Deploying", README)
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def _parameters_in(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {str(node["Ref"])} if set(node) == {"Ref"} else set()
        return found | {p for v in node.values() for p in _parameters_in(v)}
    return {p for v in node for p in _parameters_in(v)} if isinstance(node, list) else set()


def test_the_deploy_section_names_every_value_a_rule_demands() -> None:
    demanded = _parameters_in(TEMPLATE.get("Rules", {})) & set(TEMPLATE["Parameters"]) - {"Stage", "AuthMode"}
    assert {"MintedBaseUrl", "AlarmEmail"} <= demanded, "the check found the prod rules"
    assert {p for p in demanded if f"`{p}`" not in DEPLOYING} == set()
    for parameter in ("AuthMode", "JwtIssuer", "JwtAudience", "VpcId", "OrderMaxAmount"):
        assert f"`{parameter}`" in DEPLOYING


def test_the_deploy_section_runs_its_commands_in_order() -> None:
    steps = [
        "export AWS_REGION=",
        "make build",
        "sam deploy --config-env prod",
        "make credentials",
        "API=$(output ApiUrl)",
    ]
    typed = "\n".join(commands(DEPLOYING))
    places = [typed.find(step) for step in steps]
    assert -1 not in places and places == sorted(places), dict(zip(steps, places, strict=True))
    assert "scripts/call-api GET" in typed[places[-1] :], "a first authenticated call after the URL"
    assert set(re.findall(r"(?<![-\w])output (\w+)\)", DEPLOYING)) <= OUTPUTS


def test_the_scope_table_lists_every_route_once_with_the_scope_the_template_gives_it() -> None:
    (api,) = resources_of_type(TEMPLATE, "AWS::Serverless::HttpApi").values()
    rows = dict(re.findall(r"^\| `(minted/[\w.]+)` \| (.+) \|$", DEPLOYING, re.M))
    assert len(rows) == 7
    listed = [route for routes in rows.values() for route in re.findall(r"`([A-Z]+ /[^`]*)`", routes)]
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in api["Properties"]["DefinitionBody"]["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    assert sorted(listed) == sorted(operations)
    for route, operation in operations.items():
        security = operation.get("security")
        given = security.get("Fn::If", [None, []])[1] if isinstance(security, dict) else security or []
        for scope in {s for requirement in given for scopes in requirement.values() for s in scopes}:
            assert f"`{route}`" in rows.get(scope, ""), f"{route} needs {scope}: the README's table says otherwise"


def test_teardown_and_recreating_name_every_resource_the_template_retains() -> None:
    """Found by a security review: the recreate procedure imported six of the retained resources and left the
    conditional orders' and the plans' tables out (a new stack would have made them empty); teardown too."""
    retained = {name for name, resource in TEMPLATE["Resources"].items() if resource.get("DeletionPolicy") == "Retain"}
    recreating = section("Recreating the stack over retained resources")
    imported = set(re.findall(r'"LogicalResourceId": "(\w+)"', recreating))
    assert imported == retained
    noted = set(re.findall(r"\$\(output (\w+)\)", section("Teardown")))
    for name in retained:
        assert any(output.startswith(name.removesuffix("Table")) for output in noted), name
