"""``make credentials``: put the partner's Minted username and password into a stage's secret.

Asked for at a prompt (the password twice, not echoed) or read from standard input when it is not
a terminal (a password manager's pipe): never from a command-line argument, which would land in the
shell's history and the process list. The new credentials are tried at Minted (one authenticated
read) before they are stored, so a typo never reaches the running functions; the secret's other
fields (an older secret's ``base_url``, ``client_id``) are kept. The previous value stays in the
secret as its ``AWSPREVIOUS`` version: ``--rollback`` stores it again as the current one.

Where: ``--stage local`` (the default) is the running ``make dev`` (``.dev/stack.json``); ``--stage
dev`` or ``prod`` is the deployed stack of that samconfig environment, its secret found from the
stack's outputs (``PartnerSecretArn``) with the AWS credentials and region of your shell.
The runbook: docs/operations.md, "Minted credentials".
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import tomllib
from dataclasses import dataclass
from typing import Any

import boto3

from local import stackfile
from local.devstack import LOCAL_RUNTIME_ENV
from local.template import TEMPLATE
from minted_gateway.minted import MintedClient, PartnerCredentials, StaticCredentials
from minted_gateway.minted import errors as minted_errors

REFUSED, NO_STACK = 1, 2
LOCAL_SECRET_ID = "PartnerSecret"  # noqa: S105 - a name: make dev names each resource by its logical id


@dataclass(frozen=True)
class Target:
    secret_id: str
    client: Any  # Secrets Manager
    base_url: str | None  # the stack's MintedBaseUrl and MintedClientId, when the secret does not name them
    client_id: str | None


def local_target(aws_url: str | None, secret_id: str | None) -> Target | None:
    if aws_url is None:
        recorded = stackfile.read()
        if recorded is None:
            return None
        aws_url = recorded.aws_url
    client = boto3.client(
        "secretsmanager",
        endpoint_url=aws_url,
        region_name=LOCAL_RUNTIME_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=LOCAL_RUNTIME_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_RUNTIME_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    return Target(secret_id or LOCAL_SECRET_ID, client, None, None)


def deployed_target(stage: str, stack_name: str | None, region: str | None) -> Target:
    if stack_name is None:
        config = tomllib.loads((TEMPLATE.parent / "samconfig.toml").read_text(encoding="utf-8"))
        stack_name = str(config[stage]["global"]["parameters"]["stack_name"])
    session = boto3.session.Session(region_name=region)
    (stack,) = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    return Target(outputs["PartnerSecretArn"], session.client("secretsmanager"),
                  parameters.get("MintedBaseUrl"), parameters.get("MintedClientId"))  # fmt: skip


def ask(prompt: str, *, secret: bool = False) -> str:
    """From the terminal (a secret not echoed), or one line of standard input when that is a pipe."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt) if secret else input(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def current_value(target: Target) -> dict[str, Any]:
    raw = target.client.get_secret_value(SecretId=target.secret_id).get("SecretString") or "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def tried_at_minted(value: dict[str, Any], target: Target) -> str | None:
    """None when Minted accepts these credentials; else why not (never the values)."""
    defaults = {k: v for k, v in {"base_url": target.base_url, "client_id": target.client_id}.items() if v}
    try:
        credentials = PartnerCredentials.model_validate({**defaults, **value})
    except ValueError:
        return "the secret lacks base_url (and the stack names no MintedBaseUrl)"
    try:
        MintedClient(StaticCredentials(credentials)).order_statuses()
    except minted_errors.MintedBadCredentialsError:
        return "Minted refused this username and password"
    except minted_errors.MintedError as exc:
        return f"Minted could not be asked ({type(exc).__name__})"
    return None


def put(target: Target, *, verify: bool) -> int:
    username = ask("Minted username: ").strip()
    password = ask("Minted password: ", secret=True)
    if ask("The password again: ", secret=True) != password:
        print("the two passwords differ; nothing was stored", file=sys.stderr)
        return REFUSED
    if not username or not password:
        print("a username and a password are both needed; nothing was stored", file=sys.stderr)
        return REFUSED
    value = {**current_value(target), "username": username, "password": password}
    problem = tried_at_minted(value, target) if verify else None
    if problem is not None:
        print(f"{problem}; nothing was stored", file=sys.stderr)
        return REFUSED
    version = target.client.put_secret_value(SecretId=target.secret_id, SecretString=json.dumps(value))["VersionId"]
    checked = "Minted accepted them; " if verify else ""
    print(f"{target.secret_id}: new credentials stored as version {version} ({checked}the functions read them "
          "on their next 401, or within 5 minutes). The previous ones stay as AWSPREVIOUS: --rollback restores "
          "them.")  # fmt: skip
    return 0


def rollback(target: Target) -> int:
    """The AWSPREVIOUS value stored again as a new version (so the one rolled back from becomes
    AWSPREVIOUS in turn, and a second rollback undoes the first)."""
    try:
        previous = target.client.get_secret_value(SecretId=target.secret_id, VersionStage="AWSPREVIOUS")
    except target.client.exceptions.ResourceNotFoundException:
        print(f"{target.secret_id} has no previous version to go back to", file=sys.stderr)
        return REFUSED
    version = target.client.put_secret_value(SecretId=target.secret_id, SecretString=previous["SecretString"])
    print(f"{target.secret_id}: the previous credentials are current again as version {version['VersionId']} "
          "(the functions read them on their next 401).")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="local", choices=("local", "dev", "prod"))
    parser.add_argument("--stack-name", help="a deployed stack of another name than samconfig.toml's")
    parser.add_argument("--region", help="the deployed stack's region (else your AWS configuration's)")
    parser.add_argument("--aws-url", help="local: moto_server's URL (else .dev/stack.json's)")
    parser.add_argument("--secret-id", help="local: the secret's name (else PartnerSecret)")
    parser.add_argument("--rollback", action="store_true", help="make the previous credentials current again")
    parser.add_argument("--no-verify", action="store_true", help="store without trying them at Minted first")
    args = parser.parse_args(argv)
    if args.stage == "local":
        target = local_target(args.aws_url, args.secret_id)
        if target is None:
            print("no running make dev found (.dev/stack.json); start it with make dev", file=sys.stderr)
            return NO_STACK
    else:
        target = deployed_target(args.stage, args.stack_name, args.region)
    return rollback(target) if args.rollback else put(target, verify=not args.no_verify)


if __name__ == "__main__":
    sys.exit(main())
