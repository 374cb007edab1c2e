"""The buy workflow on one machine: moto's Step Functions interpreter, Lambda tasks run by our handlers.

moto cannot run a Python Lambda without Docker: its "simple" Lambda backend answers canned results.
Here that backend's ``invoke`` is routed to our real handlers, in this process, with the payload
the state machine sends and a Lambda-like context. This is the only place that reaches into moto's
internals (``LambdaSimpleBackend.invoke``), so moto is pinned (requirements/dev.txt) and this module
is what to check when it moves.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

from local.gateway import invoke
from local.template import TEMPLATE, FunctionSpec, functions_of, load_template

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
MOTO_DEFAULT_CONFIG = {"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": True}}
DEFINITION = TEMPLATE.parent / "statemachine" / "buy.asl.json"
ROLE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
     "Action": "sts:AssumeRole"}]})  # fmt: skip


class TooManyRequests(JsonRESTError):
    """What Lambda answers when it throttles; Step Functions sees Lambda.TooManyRequestsException."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


class LambdaRouter:
    """Invokes our handler for each function the template declares; can throttle, for tests."""

    def __init__(self, functions: dict[str, FunctionSpec]) -> None:
        self._functions = functions
        self._throttles: dict[str, int] = {}
        self._lock = threading.Lock()
        self.invocations: dict[str, int] = {}

    def throttle(self, function: str, times: int) -> None:
        """The next ``times`` invocations of ``function`` are throttled (Lambda never runs them)."""
        with self._lock:
            self._throttles[function] = times

    def invoke(self, function_name: str, body: Any) -> tuple[bytes, bool]:
        name = function_name.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
        spec = self._functions[name]
        with self._lock:
            if self._throttles.get(name, 0) > 0:
                self._throttles[name] -= 1
                raise TooManyRequests()
            self.invocations[name] = self.invocations.get(name, 0) + 1
        event = json.loads(body) if isinstance(body, str | bytes) and body else (body or {})
        try:
            result = invoke(spec, event)
        except Exception as exc:  # as Lambda reports an unhandled error: the type is the Step Functions error name
            error = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
            return json.dumps(error).encode("utf-8"), True
        return json.dumps(result).encode("utf-8"), False


@contextmanager
def lambda_routed_to(router: LambdaRouter) -> Iterator[LambdaRouter]:
    original = LambdaSimpleBackend.invoke

    def invoke(  # noqa: PLR0917 - moto's signature
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        payload, failed = router.invoke(function_name, body)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    try:
        yield router
    finally:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]


def configure_moto(aws_url: str, config: dict[str, Any]) -> None:
    requests.post(f"{aws_url}/moto-api/config", json=config, timeout=5).raise_for_status()


def deploy_workflow(clients: Any, stack_name: str, template: dict[str, Any] | None = None) -> str:
    """Create the template's functions and the buy workflow (its substitutions resolved) in moto."""
    template = template or load_template()
    role = clients("iam").create_role(RoleName=f"{stack_name}-local", AssumeRolePolicyDocument=ROLE_POLICY)["Role"][
        "Arn"
    ]
    lambda_client = clients("lambda")
    arns = {}
    for logical_id in functions_of(template):
        created = lambda_client.create_function(
            FunctionName=logical_id, Runtime="python3.13", Role=role, Handler="local.routed",
            Code={"ZipFile": b"routed to the real handler by local/stepfunctions.py"}, Timeout=29,
        )  # fmt: skip
        arns[f"{logical_id}Arn"] = created["FunctionArn"]
    (machine,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine")
    substitutions = {name: arns[name] for name in machine["Properties"]["DefinitionSubstitutions"]}
    definition = re.sub(r"\$\{(\w+)\}", lambda m: substitutions[m.group(1)], DEFINITION.read_text(encoding="utf-8"))
    created = clients("stepfunctions").create_state_machine(
        name=f"{stack_name}-buy", definition=definition, roleArn=role, type="STANDARD"
    )
    arn: str = created["stateMachineArn"]
    return arn
