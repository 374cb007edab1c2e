"""``make plans-tick [PLAN=plan_id]``: the plans' schedule, delivered now on the sandbox's clock, to the
running ``make dev`` (its record in ``.dev/stacks/``).

The dispatcher takes "now" from the schedule's time, so a period can be run without waiting for it:
with ``PLAN``, the sandbox's clock is moved on to that plan's next run, the tick is delivered at that
moment, and the command waits for the run to end and prints it; without, one tick at the sandbox's
now. make dev's queue consumer runs the periods, as on AWS. No running stack is one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta

import requests

from local import stackfile
from local.devstack import LOCAL_RUNTIME_ENV, local_parameters
from local.gateway import invoke, quiet_stdout
from local.template import function_environment, functions_of, load_template

NO_STACK = 2
WAIT_SECONDS = 60


def sandbox_now(sandbox_url: str) -> datetime:
    clock = requests.get(f"{sandbox_url}/_sandbox/clock", timeout=5).json()["data"]
    return datetime.now(UTC) + timedelta(seconds=float(clock["offset_seconds"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("plan", nargs="?", default="")
    plan_id = parser.parse_args(argv).plan
    recorded = stackfile.read()
    if recorded is None:
        print(stackfile.no_stack_message(), file=sys.stderr)
        return NO_STACK
    if not recorded.sandbox_url:  # a stack on another Minted (MINTED_BASE_URL) has no sandbox clock to move
        print("the running make dev has no Minted sandbox (it talks to another Minted): no clock to move",
              file=sys.stderr)  # fmt: skip
        return NO_STACK
    template = load_template()
    os.environ.update(recorded.environment or function_environment(template, {}, local_parameters()))
    os.environ.update(
        {**LOCAL_RUNTIME_ENV, "AWS_ENDPOINT_URL": recorded.aws_url, "POWERTOOLS_METRICS_DISABLED": "true"}
    )
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from minted_gateway.plans import wiring  # noqa: PLC0415 - after the stack's environment is set

    at = sandbox_now(recorded.sandbox_url)
    plan = wiring.plan_store().get(plan_id) if plan_id else None
    if plan_id and (plan is None or plan.next_run_at is None):
        print(f"plan {plan_id} is not active (or not known)", file=sys.stderr)
        return 1
    if plan is not None and plan.next_run_at is not None and plan.next_run_at > at:
        ahead = (plan.next_run_at - at).total_seconds()
        requests.post(f"{recorded.sandbox_url}/_sandbox/clock", json={"advance_seconds": ahead}, timeout=5)
        at = plan.next_run_at
    with quiet_stdout():  # the function's log and metric lines: stdout is this command's answer alone
        result = invoke(functions_of(template)["PlansFunction"], {"action": "dispatch_plans", "time": at.isoformat()})
    if plan is None:
        print(json.dumps({"time": at.isoformat(), **result}, indent=2))
        return 0
    period = plan.calendar.period(at, wiring.plan_settings().plans_timezone)
    deadline = time.monotonic() + WAIT_SECONDS
    while (run := wiring.plan_store().run(plan.plan_id, period)) is None or not run.final:
        if time.monotonic() > deadline:
            print(f"the run of {plan.plan_id} for {period} has not ended yet; GET /plans/{plan.plan_id} shows it",
                  file=sys.stderr)  # fmt: skip
            return 1
        time.sleep(0.2)
    print(json.dumps({"plan_id": run.plan_id, "period": run.period, "external_id": run.external_id,
                      "state": run.state, "reason": run.reason}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
