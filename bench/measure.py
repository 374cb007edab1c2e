"""The measurements behind `make bench`; bench/run.py turns them into docs/performance.md and .json."""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import statistics
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from botocore.client import BaseClient

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_ENV = {  # what Lambda sets, so that libraries take their Lambda paths (X-Ray's local sampler)
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_REGION": "eu-central-1",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}


# ---------------------------------------------------------------- time inside Minted and DynamoDB
@dataclass
class CallClock:
    """Time spent in Minted (requests) and DynamoDB (botocore) calls, per thread, and their counts."""

    minted_seconds: float = 0.0
    dynamodb_seconds: float = 0.0
    dynamodb_calls: list[str] = field(default_factory=list)
    minted_calls: int = 0


_clock = threading.local()


def _current() -> CallClock | None:
    return getattr(_clock, "value", None)


@contextmanager
def clocked_calls() -> Iterator[None]:
    # Both measured at the client library's API: requests.Session.request (preparing the request and
    # Digest included), botocore's _make_api_call (serialising and parsing included).
    original_request = requests.Session.request
    original_call = BaseClient._make_api_call  # type: ignore[attr-defined]

    def request(self: requests.Session, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_request(self, method, url, *args, **kwargs)
        finally:
            clock = _current()
            if clock is not None and "/partner/" in url:
                clock.minted_seconds += time.perf_counter() - started
                clock.minted_calls += 1

    def make_api_call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return original_call(self, operation, params)
        finally:
            clock = _current()
            if clock is not None and self.meta.service_model.service_name == "dynamodb":
                clock.dynamodb_seconds += time.perf_counter() - started
                clock.dynamodb_calls.append(operation)

    requests.Session.request = request  # type: ignore[method-assign,assignment]
    BaseClient._make_api_call = make_api_call  # type: ignore[attr-defined]
    try:
        yield
    finally:
        requests.Session.request = original_request  # type: ignore[method-assign]
        BaseClient._make_api_call = original_call  # type: ignore[attr-defined]


def measure_invocation(run: Callable[[], Any]) -> tuple[float, CallClock, Any]:
    clock = CallClock()
    _clock.value = clock
    started = time.perf_counter()
    try:
        result = run()
    finally:
        _clock.value = None
    return time.perf_counter() - started, clock, result


def percentile(samples: list[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def summarize(totals: list[float], overheads: list[float]) -> dict[str, float]:
    ms = 1000
    return {
        "handler_p50_ms": round(statistics.median(totals) * ms, 3),
        "overhead_p50_ms": round(statistics.median(overheads) * ms, 3),
        "overhead_p99_ms": round(percentile(overheads, 99) * ms, 3),
    }


# ---------------------------------------------------------------- sizes
def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def zipped_size(path: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path))
    return buffer.tell()


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------- where the overhead goes
def profile_overhead(run: Callable[[], Any], times: int) -> list[tuple[str, float]]:
    """Share of our overhead per area (package or module), from cProfile with the profiler paused
    inside Minted and DynamoDB calls, so that only what the overhead measures is profiled."""
    profiler = cProfile.Profile()
    with paused_in_calls(profiler):
        for _ in range(times):
            profiler.enable()
            try:
                run()
            finally:
                profiler.disable()
    return overhead_areas(profiler)


@contextmanager
def paused_in_calls(profiler: cProfile.Profile) -> Iterator[None]:
    """``profiler`` paused inside Minted (requests) and DynamoDB (botocore) calls, which the overhead leaves out."""
    original_request = requests.Session.request
    original_call = BaseClient._make_api_call  # type: ignore[attr-defined]

    depth = 0  # a call inside a call (a secret read inside a Minted request) resumes only at the outer one's end
    # Only the profiled thread's calls pause it: a stack's own threads (its queue consumers) call botocore
    # too, and one resuming the profiler after the invocation ended left it on for good.
    profiled_thread = threading.get_ident()

    def paused(call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            if threading.get_ident() != profiled_thread:
                return call(*args, **kwargs)
            if depth == 0:
                profiler.disable()
            depth += 1
            try:
                return call(*args, **kwargs)
            finally:
                depth -= 1
                if depth == 0:
                    profiler.enable()

        return wrapper

    requests.Session.request = paused(original_request)  # type: ignore[method-assign]
    BaseClient._make_api_call = paused(original_call)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        requests.Session.request = original_request  # type: ignore[method-assign]
        BaseClient._make_api_call = original_call  # type: ignore[attr-defined]


def overhead_areas(profiler: cProfile.Profile) -> list[tuple[str, float]]:
    """The profiled time's shares by area, largest first."""
    areas: dict[str, float] = {}
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own_seconds, _, callers) in stats.items():
        area = _area(filename, function)
        if area:
            areas[area] = areas.get(area, 0.0) + own_seconds
            continue
        # A plain built-in (str.join, isinstance, dict.get ...) counts for whoever called it.
        for (caller_file, _, caller_function), (_, _, seconds, _) in callers.items():
            caller = _area(caller_file, caller_function) or "built-ins"
            areas[caller] = areas.get(caller, 0.0) + seconds
    areas.pop(BENCH_HOOKS, None)
    total = sum(areas.values()) or 1.0
    return sorted(((area, seconds / total) for area, seconds in areas.items()), key=lambda a: -a[1])


def top_functions(profiler: cProfile.Profile, count: int, calls: int) -> str:
    """The ``count`` functions with the most time of their own and with their callees, per invocation
    (``calls`` invocations were profiled): where to look next."""
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.strip_dirs()
    for order in ("tottime", "cumulative"):
        text.write(f"--- by {order} (seconds over {calls} invocations)\n")
        stats.sort_stats(order).print_stats(count)
    return text.getvalue()


BENCH_HOOKS = "the bench's own hooks"


def _area(filename: str, function: str) -> str:
    path = filename.replace("\\", "/")
    if filename == "~":  # a built-in: pydantic-core's and writing are areas of their own
        if "pydantic_core" in function:
            return "pydantic-core (validating, dumping)"
        if "_io.TextIOWrapper" in function:
            return "writing log and metric lines"
        return ""
    if "/minted_gateway/" in path:
        return "minted_gateway." + path.split("/minted_gateway/", 1)[1].removesuffix(".py").replace("/", ".")
    if "/functions/" in path:
        return "function entry points"
    if "/site-packages/" in path:
        parts = path.split("/site-packages/", 1)[1].split("/")
        if parts[0] == "aws_lambda_powertools" and len(parts) > 2:
            return f"powertools {parts[1]}"
        return parts[0].removesuffix(".py")
    if "/bench/" in path:
        return BENCH_HOOKS
    if "/" not in path:  # <frozen abc>, <string>
        return "stdlib " + path.strip("<>").removeprefix("frozen ")
    folder, _, module = path.rpartition("/")
    package = folder.rsplit("/", 1)[-1]  # json/encoder.py counts as json; the library's root as the module
    return "stdlib " + (module.removesuffix(".py") if package.startswith("python3") else package)
