"""One cold start in a fresh interpreter; bench/cold.py runs this file, never imports it.

``subject``: import a function's handler and serve its first invocation, as Lambda does in a new
container. ``floor``: what any function doing the same job pays at least: import boto3, requests
and pydantic, create the same clients and make the same AWS and HTTP calls (replayed from what the
subject did), with nothing of ours in between. Only the standard library is loaded before the
clock starts. The spec arrives on stdin as JSON; the figures leave as the last line of stdout.

With ``record`` set (an untimed run), the calls made on the wire are listed as well, so that the
bench can check that the floor makes exactly the subject's calls and can replay them.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

RESULT_MARK = "BENCH-COLD-START "
RESTORED: dict[str, Any] = {}  # a restore run's copies, beside its first copy's figures
# Request headers the floor does not send again: each side's own (auth, lengths, user agent, pool).
OWN_HEADERS = ("authorization", "content-length", "host", "user-agent", "connection", "accept-encoding", "cookie")


class Context:
    """The parts of Lambda's context object that our handlers and Powertools read."""

    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:bench"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def record_calls(calls: list[dict[str, Any]]) -> None:
    """List every AWS API call (botocore) and HTTP request (requests) this process makes."""
    import botocore.client  # noqa: PLC0415 - only an untimed recording run pays for this
    import botocore.exceptions  # noqa: PLC0415
    import requests.adapters  # noqa: PLC0415

    make_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    send = requests.adapters.HTTPAdapter.send

    def recorded_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        call: dict[str, Any] = {"kind": "aws", "service": client.meta.service_model.service_name,
                                "operation": operation, "params": params}  # fmt: skip
        calls.append(call)
        try:
            return make_api_call(client, operation, params)
        except botocore.exceptions.ClientError as exc:
            call["error"] = exc.response["Error"]["Code"]
            raise

    def recorded_send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = send(adapter, request, *args, **kwargs)
        body = request.body.decode("utf-8") if isinstance(request.body, bytes) else request.body
        headers = {k: v for k, v in request.headers.items() if k.lower() not in OWN_HEADERS}
        calls.append({"kind": "http", "method": request.method, "url": request.url, "body": body,
                      "headers": headers, "status": response.status_code})  # fmt: skip
        return response

    botocore.client.BaseClient._make_api_call = recorded_api_call  # type: ignore[attr-defined]
    requests.adapters.HTTPAdapter.send = recorded_send  # type: ignore[method-assign,assignment]


def record_wire(wire: dict[str, list[dict[str, Any]]]) -> None:
    """Each Minted request's Digest nonce and count, and the local port of each connection a request
    or AWS call went out on, by process."""
    import re  # noqa: PLC0415 - only the fork test pays for this

    import requests.adapters  # noqa: PLC0415
    import urllib3.connection  # noqa: PLC0415

    send, getresponse = requests.adapters.HTTPAdapter.send, urllib3.connection.HTTPConnection.getresponse

    def recorded_send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', request.headers.get("Authorization", "")))
        wire["auth"].append({"pid": os.getpid(), "nonce": fields.get("nonce"), "nc": fields.get("nc")})
        return send(adapter, request, *args, **kwargs)

    def recorded_getresponse(connection: Any, *args: Any, **kwargs: Any) -> Any:
        if connection.sock is not None:
            wire["connections"].append({"pid": os.getpid(), "port": connection.sock.getsockname()[1]})
        return getresponse(connection, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = recorded_send  # type: ignore[method-assign,assignment]
    urllib3.connection.HTTPConnection.getresponse = recorded_getresponse  # type: ignore[method-assign,assignment]


def _own(wire: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {kind: [w for w in items if w["pid"] == os.getpid()] for kind, items in wire.items()}


def restore(spec: dict[str, Any]) -> tuple[float, float, Any]:
    """SnapStart, as far as one machine can show it: this process is the snapshot (the handler imported,
    the before-snapshot hook run, untimed), each forked copy a restore (timed from the fork: the
    after-restore hook and the first invocation). ``warm_events``, if given, are served before the
    snapshot, so that it holds a nonce, a secret and open connections for the copies to renew; each
    copy serves the events of ``then`` after its first, untimed."""
    wire: dict[str, list[dict[str, Any]]] = {"auth": [], "connections": []}
    if spec.get("wire"):
        record_wire(wire)
    module = importlib.import_module(spec["module"])
    from minted_gateway import snapstart  # noqa: PLC0415 - after the handler, as Lambda loads it

    for event in spec.get("warm_events", []):
        module.handler(event, Context())
    snapstart.before_snapshot(module.handler)
    copies = []
    for _ in range(spec.get("copies", 1)):
        read_end, write_end = os.pipe()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the restored copy
            os.close(read_end)
            try:
                cpu_started = time.process_time()
                snapstart.after_restore()
                result = module.handler(spec["event"], Context())
                seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
                then = [module.handler(event, Context()) for event in spec.get("then", [])]
                out = {"seconds": seconds, "cpu_seconds": cpu_seconds, "result": result, "then": then,
                       "wire": _own(wire)}  # fmt: skip
            except BaseException as exc:
                out = {"error": repr(exc)}
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(json.dumps(out, default=str))
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            copy = json.loads(pipe.read())
        os.waitpid(pid, 0)
        if "error" in copy:
            raise RuntimeError(f"a restored copy failed: {copy['error']}")
        copies.append(copy)
    RESTORED.update(copies=copies, snapshot_wire=_own(wire))
    return 0.0, copies[0]["seconds"], copies[0]["result"]


def subject(spec: dict[str, Any]) -> tuple[float, float, Any]:
    started = time.perf_counter()
    module = importlib.import_module(spec["module"])
    imported = time.perf_counter()
    result = module.handler(spec["event"], Context())
    return imported - started, time.perf_counter() - started, result


def floor(spec: dict[str, Any]) -> tuple[float, float, Any]:
    started = time.perf_counter()
    import boto3  # noqa: PLC0415 - importing is what is measured
    import pydantic  # noqa: F401, PLC0415
    import requests  # noqa: PLC0415

    replay = make_calls
    if spec["kind"] in LIBRARY_KINDS:
        replay = with_libraries(make_calls, spec.get("http", True), powertools=spec["kind"] == "libraries")
    imported = time.perf_counter()
    statuses = replay(spec["calls"], boto3, requests)
    return imported - started, time.perf_counter() - started, {"statuses": statuses}


# ``libraries``: pydantic and Powertools as our handlers use them; ``pydantic``: the same without Powertools,
# so that the libraries column splits into the two, each run making the floor's own calls.
LIBRARY_KINDS = ("libraries", "pydantic")


def with_libraries(calls: Any, http: bool = True, powertools: bool = True) -> Any:
    """The floor plus the libraries our handlers stand on, used as ours use them: pydantic's model
    machinery, Powertools Logger, Metrics and Tracer (as the Tracing mode says) around the handler, and,
    for an HTTP event, pydantic validating its one path parameter through a TypeAdapter on the way to the
    calls, as our router does (no Event Handler: it only writes the OpenAPI document); a task or schedule
    event reaches the calls without it. What is left between this and a subject's cold start is our own
    code. The garbage collector is held as our package holds it in Lambda, from here until the first
    invocation has been served (minted_gateway/__init__.py), so that the difference is not the collector."""
    from pydantic import BaseModel  # noqa: F401, PLC0415

    held = hold_collector()
    replayed: list[Any] = []
    route_event: Any = None

    def route(item_id: str) -> dict[str, Any]:
        replayed.append(calls(*replayed.pop()))
        return {"item_id": item_id}

    serve: Any = lambda event, context: {"statusCode": 200, **route("bench")}  # noqa: E731 - a task: no resolver
    if http:
        serve, route_event = routed(route), ROUTED_EVENT
    handler = observed(serve) if powertools else serve

    def run(*args: Any) -> Any:
        replayed.append(args)
        answer = handler(route_event or {"action": "bench"}, Context())
        if held:
            gc.freeze()
            gc.enable()
        if answer["statusCode"] != 200:
            raise RuntimeError(f"the libraries' route answered {answer}")
        return replayed.pop()

    return run


def hold_collector() -> bool:
    """What ``minted_gateway`` does on import in Lambda: the collector off until the first answer."""
    if os.environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_") and gc.isenabled():
        gc.disable()
        return True
    return False


def routed(route: Any) -> Any:
    """An HTTP event's handler as our router serves it: the path matched, its one parameter validated by
    pydantic through a TypeAdapter, then ``route``."""
    import re  # noqa: PLC0415
    from typing import Annotated  # noqa: PLC0415

    from pydantic import Field, TypeAdapter  # noqa: PLC0415

    rule = re.compile(r"^/items/(?P<item_id>[-\w]+)$")
    item_id: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(pattern=r"^[a-z0-9-]{1,64}$")])

    def serve(event: Any, context: Any) -> dict[str, Any]:
        matched = rule.match(event["rawPath"])
        assert matched is not None  # the bench's own event
        return {"statusCode": 200, **route(item_id.validate_python(matched["item_id"]))}

    return serve


SERVICE, NAMESPACE = "minted-gateway", "MintedGateway"  # as minted_gateway.observability names them
TRACED_MODULES = ("botocore", "requests")  # as minted_gateway.tracing patches them


def observed(serve: Any) -> Any:
    """``serve`` inside Powertools Logger and Metrics, and Tracer when the Tracing mode is xray-sdk, set
    up as ``minted_gateway.observability`` and our handlers set them up (the correlation id read from an
    HTTP API event), without importing our package: its modules (the tracing wrapper, SnapStart's hooks,
    the settings they read) are ours, not the libraries'. tests/bench/test_cold_start.py compares the two."""
    from aws_lambda_powertools import Logger, Metrics  # noqa: PLC0415

    logger = Logger(service=SERVICE)
    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    handler = metrics.log_metrics(capture_cold_start_metric=True)(serve)
    if os.environ.get("TRACING") == "xray-sdk":
        from aws_lambda_powertools import Tracer  # noqa: PLC0415

        tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
        handler = tracer.capture_lambda_handler(handler, capture_response=False)

    def correlated(event: Any, context: Any) -> Any:  # as observability.with_lambda_context reads the id
        try:
            logger.set_correlation_id(event.get("requestContext").get("requestId"))
        except AttributeError:
            logger.set_correlation_id(None)
        return handler(event, context)

    return logger.inject_lambda_context(correlated, clear_state=True)


ROUTED_EVENT = {  # API Gateway's payload v2 for GET /items/{item_id}
    "version": "2.0",
    "routeKey": "GET /items/{item_id}",
    "rawPath": "/items/bench",
    "rawQueryString": "",
    "headers": {"accept": "application/json"},
    "requestContext": {"http": {"method": "GET", "path": "/items/bench", "sourceIp": "127.0.0.1"}, "stage": "$default"},
    "pathParameters": {"item_id": "bench"},
    "isBase64Encoded": False,
}


def make_calls(calls: list[dict[str, Any]], boto3: Any, requests: Any) -> list[int]:
    from botocore import xform_name  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415
    from botocore.exceptions import ClientError  # noqa: PLC0415
    from requests.auth import HTTPDigestAuth  # noqa: PLC0415

    config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})
    clients: dict[str, Any] = {}
    session = None
    username = password = ""
    statuses = []
    for call in calls:
        if call["kind"] == "aws":
            client = clients.get(call["service"])
            if client is None:
                client = clients[call["service"]] = boto3.client(call["service"], config=config)
            try:
                answer = getattr(client, xform_name(call["operation"]))(**call["params"])
            except ClientError:
                continue  # a refused conditional write is a round trip all the same
            secret = answer.get("SecretString", "") if call["operation"] == "GetSecretValue" else ""
            if secret.startswith("{") and "username" in secret:  # the partner's Minted credentials
                username, password = json.loads(secret)["username"], json.loads(secret)["password"]
        else:
            if session is None:
                session = requests.Session()
                session.auth = HTTPDigestAuth(username, password)
            response = session.request(call["method"], call["url"], data=call["body"], headers=call["headers"],
                                       timeout=(3.05, 10))  # fmt: skip
            statuses.append(response.status_code)
    return statuses


def timed_models() -> list[tuple[float, str, str]]:
    """``BENCH_COLD_MODELS``: each pydantic model class made and each validator built from here on, with its
    milliseconds (``class``: creating it, ``build``: its schema and validator, on first use). Where our code's
    share of a cold start goes, by class: how the levers in docs/performance.md were found."""
    from pydantic import BaseModel  # noqa: F401, PLC0415 - what a subject imports anyway
    from pydantic._internal import _model_construction as construction  # noqa: PLC0415

    timed: list[tuple[float, str, str]] = []
    make, complete = construction.ModelMetaclass.__new__, construction.complete_model_class

    def new(mcs: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        made = make(mcs, name, *args, **kwargs)
        timed.append(((time.perf_counter() - started) * 1000, "class", f"{made.__module__}.{made.__qualname__}"))
        return made

    def completed(cls: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        done = complete(cls, *args, **kwargs)
        timed.append(((time.perf_counter() - started) * 1000, "build", f"{cls.__module__}.{cls.__qualname__}"))
        return done

    construction.ModelMetaclass.__new__ = new  # type: ignore[method-assign,assignment]
    construction.complete_model_class = completed
    return timed


def main() -> None:
    spec = json.loads(sys.stdin.read())
    models = timed_models() if spec.get("models_to") else None
    calls: list[dict[str, Any]] = []
    if spec.get("record"):
        record_calls(calls)
    cpu_started = time.process_time()
    run = {"subject": subject, "restore": restore}.get(spec["kind"], floor)
    import_seconds, total_seconds, result = run(spec)
    cpu_seconds = time.process_time() - cpu_started  # this process's own work, whatever else the machine runs
    if spec["kind"] == "restore":
        cpu_seconds = RESTORED["copies"][0]["cpu_seconds"]  # the copy's, not the snapshot's
    out = {"import_seconds": import_seconds, "total_seconds": total_seconds, "cpu_seconds": cpu_seconds,
           "result": result, "calls": calls,
           "modules": {name: name in sys.modules for name in spec.get("report_modules", [])}, **RESTORED}  # fmt: skip
    if models is not None:  # written after the measured part: the file is not the cold start's
        lines = [f"{ms:.2f}\t{kind}\t{name}\n" for ms, kind, name in models]
        Path(spec["models_to"]).write_text("".join(lines), encoding="utf-8")
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(out, default=str) + "\n")


if __name__ == "__main__":
    main()
