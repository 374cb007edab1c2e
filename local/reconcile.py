"""``make reconcile``: one reconciler run now, against the running ``make dev`` (its record in ``.dev/stacks/``).

``make dev`` already runs the reconciler on the template's schedules; this is the by-hand run the
runbook describes (docs/operations.md, "The reconciler"). ``ACTION=compare_with_minted`` runs the
daily comparison instead. The function runs with the settings the stack recorded (its limits among
them). Prints the run's summary; no running stack (none recorded, or a record whose stack no longer
answers) is one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from local import stackfile
from local.devstack import LOCAL_RUNTIME_ENV, local_parameters
from local.gateway import invoke, quiet_stdout
from local.template import function_environment, functions_of, load_template
from minted_gateway.errors import GatewayError, LedgerUnavailable

NO_STACK = 2
ACTIONS = ("reconcile", "follow_orders", "compare_with_minted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", nargs="?", default="reconcile", choices=ACTIONS)
    action = parser.parse_args(argv).action
    recorded = stackfile.read()
    if recorded is None:
        print(stackfile.no_stack_message(), file=sys.stderr)
        return NO_STACK
    template = load_template()
    # The stack's own settings (its limits among them), as it recorded them; a stack file from before
    # they were recorded gets make dev's defaults (samconfig.toml's local parameters).
    os.environ.update(recorded.environment or function_environment(template, {}, local_parameters()))
    os.environ.update(
        {**LOCAL_RUNTIME_ENV, "AWS_ENDPOINT_URL": recorded.aws_url, "POWERTOOLS_METRICS_DISABLED": "true"}
    )
    # Powertools warns when a run records no metric; this run's metrics are not written anyway.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    try:
        with quiet_stdout():  # the function's log and metric lines: stdout is this command's answer alone
            result = invoke(functions_of(template)["ReconcileFunction"], {"action": action})
    except LedgerUnavailable:  # its moto_server is gone: the stack died without removing its record
        print(f"{stackfile.NO_STACK_MESSAGE} (nothing answers at {recorded.aws_url})", file=sys.stderr)
        return NO_STACK
    except GatewayError as exc:
        print(f"the reconciler run failed: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
