"""The measurements behind `make bench`; bench/run.py turns them into docs/performance.md and .json."""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
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
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}
FLOOR = "import boto3, requests, pydantic; boto3.client('dynamodb')"


# ---------------------------------------------------------------- cold init
def _timed_import(code: str, pythonpath: list[Path], env: dict[str, str]) -> float:
    program = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    child_env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, **env,
                 "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", program], env=child_env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def cold_init(functions: dict[str, tuple[str, str]], function_env: dict[str, str], runs: int) -> dict[str, Any]:
    """Median import time of each handler in a fresh interpreter, and of the floor, measured alike.

    One discarded run first writes the bytecode caches, as a deployed package would ship them. The
    floor and the functions take turns, round after round, so that a machine slowing down or
    speeding up during the run moves them together and the ratios stay fair.
    """
    env = {**LAMBDA_ENV, **function_env}
    cases = {"floor": (FLOOR, [ROOT / "layers" / "minted"])}
    for name, (module, code_uri) in functions.items():
        cases[name] = (f"import {module}", [ROOT / "layers" / "minted", ROOT / code_uri])
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for code, path in cases.values():
        _timed_import(code, path, env)
    for _ in range(runs):
        for name, (code, path) in cases.items():
            samples[name].append(_timed_import(code, path, env))
    results: dict[str, Any] = {
        name: {"median_ms": round(statistics.median(times) * 1000, 1), "runs": runs} for name, times in samples.items()
    }
    floor = results["floor"]["median_ms"]
    for name in functions:
        results[name]["ratio_to_floor"] = round(results[name]["median_ms"] / floor, 2)
    return results


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
