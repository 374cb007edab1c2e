"""``make workflow ID=<external_id>``: the local buy workflow's execution, step by step.

Reads moto's Step Functions of the running ``make dev`` (its ports come from its record in ``.dev/stacks/``);
execution data is not printed, only states, errors and the final status, as the deployed workflow's
logs would show them. A missing stack or an unknown id is one line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local import stackfile
from local.stackfile import REGION, STACK_NAME

NOT_FOUND, NO_STACK = 1, 2


def execution_arn(external_id: str) -> str:
    return f"arn:aws:states:{REGION}:123456789012:execution:{STACK_NAME}-buy:{external_id}"


def describe(client: Any, external_id: str, *, wait: float) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    while True:
        execution: dict[str, Any] = client.describe_execution(executionArn=execution_arn(external_id))
        if execution["status"] != "RUNNING" or time.monotonic() >= deadline:
            return execution
        time.sleep(0.5)


def steps(client: Any, external_id: str) -> list[str]:
    lines = []
    for event in client.get_execution_history(executionArn=execution_arn(external_id))["events"]:
        if event["type"].endswith("StateEntered"):
            lines.append(
                f"  {event['type'].removesuffix('StateEntered').lower():8} {event['stateEnteredEventDetails']['name']}"
            )
        elif event["type"] in ("TaskFailed", "ExecutionFailed"):
            details = next(v for k, v in event.items() if k.endswith("EventDetails"))
            lines.append(f"  {'failed':8} {details.get('error')}")
    return lines


def follow(external_id: str, *, wait: float, endpoint: str) -> int:
    client = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )
    try:
        execution = describe(client, external_id, wait=wait)
        print("\n".join(steps(client, external_id)))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ExecutionDoesNotExist":
            message = "no buy workflow was started for this external_id (POST /orders/workflow starts one)"
        else:
            message = f"Step Functions refused the lookup: {error.get('Code')} {error.get('Message', '')}".rstrip()
        print(f"{external_id}: {message}", file=sys.stderr)
        return NOT_FOUND
    failure = f" ({execution['error']})" if execution.get("error") else ""
    print(f"{external_id}: {execution['status']}{failure}")
    return 0 if execution["status"] == "SUCCEEDED" else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="make workflow ID=<external_id>", description=__doc__)
    parser.add_argument("external_id")
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for the execution to end")
    args = parser.parse_args()
    recorded = stackfile.read()
    if recorded is None:  # never a guess at the default ports: another checkout's stack may be there
        print(stackfile.no_stack_message(), file=sys.stderr)
        sys.exit(NO_STACK)
    endpoint = recorded.aws_url
    try:
        code = follow(args.external_id, wait=args.wait, endpoint=endpoint)
    except BotoCoreError as exc:
        print(
            f"no make dev stack answers at {endpoint} ({type(exc).__name__}); start one with make dev", file=sys.stderr
        )
        code = NO_STACK
    sys.exit(code)


if __name__ == "__main__":
    main()
