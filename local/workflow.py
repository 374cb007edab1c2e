"""``python -m local.workflow <external_id>``: the local buy workflow's execution, step by step.

Reads moto's Step Functions (the stack of ``make dev``); execution data is not printed, only
states, errors and the final status, as the deployed workflow's logs would show them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import boto3

from local.devstack import REGION, STACK_NAME


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
        if event["type"] == "TaskStateEntered" or event["type"].endswith("StateEntered"):
            lines.append(
                f"  {event['type'].removesuffix('StateEntered').lower():8} {event['stateEnteredEventDetails']['name']}"
            )
        elif event["type"] in ("TaskFailed", "ExecutionFailed"):
            details = next(v for k, v in event.items() if k.endswith("EventDetails"))
            lines.append(f"  {'failed':8} {details.get('error')}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local.workflow", description=__doc__)
    parser.add_argument("external_id")
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for the execution to end")
    args = parser.parse_args()
    endpoint = os.environ.get("AWS_ENDPOINT_URL", f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}")
    client = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
    )
    execution = describe(client, args.external_id, wait=args.wait)
    print("\n".join(steps(client, args.external_id)))
    print(
        f"{args.external_id}: {execution['status']}"
        + (f" ({execution.get('error')})" if execution.get("error") else "")
    )
    sys.exit(0 if execution["status"] == "SUCCEEDED" else 1)


if __name__ == "__main__":
    main()
