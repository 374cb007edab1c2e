"""Cold start as a caller waits for it: a fresh interpreter imports the handler and serves the first
invocation, next to a floor process that makes the same AWS and HTTP calls with boto3 and requests,
and a third that adds the libraries our handlers stand on (what is left beyond it is our code).

All run bench/cold_start.py in a new process with Lambda's environment variables, tracing on (the
X-Ray SDK sends its segments to a UDP socket of ours, which counts them), against make dev's
moto_server and Minted sandbox. They run on what Lambda has: the interpreter without site-packages,
the layer's pinned requirements and the runtime's boto3 (``--site``), nothing from the dev venv.

For each operation an untimed recording run of the subject lists the calls it makes on the wire;
the floor replays exactly those (with its own order id and price token where the subject needed
fresh ones), and its own recording run must list the same calls, or the bench stops. Then the
three take turns, round after round, each taking each place in turn, so that a machine slowing
down moves them alike. The recording runs also write the bytecode caches a deployment ships.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.measure import LAMBDA_ENV, ROOT

CHILD = Path(__file__).resolve().parent / "cold_start.py"
RESULT_MARK = "BENCH-COLD-START "


@dataclass
class Invocation:
    """One cold start's input; ``fresh`` names the values only this invocation may use (an order id,
    a price token), so that the floor's replay can put its own in their place."""

    event: dict[str, Any]
    fresh: dict[str, str] = field(default_factory=dict)


@dataclass
class ColdOperation:
    name: str
    function: str  # the template's logical id
    prepare: Callable[[], Invocation]
    succeeded: Callable[[Any], bool]


@dataclass
class ColdRuntime:
    """How and where the fresh interpreters run."""

    python: str
    site: list[Path]  # the layer's requirements and the runtime's boto3
    env: dict[str, str]  # Lambda's variables and the template's, resolved for the local stack
    other_tracing: list[str] = field(default_factory=list)  # Tracing modes also measured (subject only)
    restore: bool = False  # also a SnapStart restore (bench/cold_start.py, restore)


@dataclass
class ColdResult:
    name: str
    function: str
    subject_ms: list[float] = field(default_factory=list)
    subject_import_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    floor_import_ms: list[float] = field(default_factory=list)
    libraries_ms: list[float] = field(default_factory=list)
    pydantic_ms: list[float] = field(default_factory=list)  # the libraries run without Powertools
    subject_cpu_ms: list[float] = field(default_factory=list)
    floor_cpu_ms: list[float] = field(default_factory=list)
    libraries_cpu_ms: list[float] = field(default_factory=list)
    pydantic_cpu_ms: list[float] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    http: bool = True  # an API Gateway event (a task or the schedule is not)
    tracing_ms: dict[str, list[float]] = field(default_factory=dict)  # other Tracing modes' cold starts
    restore_ms: list[float] = field(default_factory=list)
    restore_cpu_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        subject, floor = statistics.median(self.subject_ms), statistics.median(self.floor_ms)
        return {
            "name": self.name,
            "function": self.function,
            "cold_start_ms": round(subject, 1),
            "floor_ms": round(floor, 1),
            "ratio_to_floor": round(subject / floor, 2),
            "import_ms": round(statistics.median(self.subject_import_ms), 1),
            "floor_import_ms": round(statistics.median(self.floor_import_ms), 1),
            "libraries_ms": round(statistics.median(self.libraries_ms), 1),
            "libraries_ratio_to_floor": round(statistics.median(self.libraries_ms) / floor, 2),
            "cpu_ms": round(statistics.median(self.subject_cpu_ms), 1),
            "floor_cpu_ms": round(statistics.median(self.floor_cpu_ms), 1),
            "libraries_cpu_ms": round(statistics.median(self.libraries_cpu_ms), 1),
            "pydantic_ms": round(statistics.median(self.pydantic_ms), 1),
            "pydantic_cpu_ms": round(statistics.median(self.pydantic_cpu_ms), 1),
            "cpu_ratio_to_floor": round(
                statistics.median(self.subject_cpu_ms) / statistics.median(self.floor_cpu_ms), 2
            ),
            "tracing_ms": {mode: round(statistics.median(ms), 1) for mode, ms in self.tracing_ms.items()},
            "tracing_ratio_to_floor": {
                mode: round(statistics.median(ms) / floor, 2) for mode, ms in self.tracing_ms.items()
            },
            "restore_ms": round(statistics.median(self.restore_ms), 1) if self.restore_ms else None,
            "restore_cpu_ms": round(statistics.median(self.restore_cpu_ms), 1) if self.restore_cpu_ms else None,
            "runs": len(self.subject_ms),
            "http": self.http,
            "calls": self.calls,
        }


class XRayDaemon:
    """A UDP socket in the X-Ray daemon's place: proof that tracing was on, and where segments go."""

    def __init__(self, keep: bool = False) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.setblocking(False)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self.segments = 0
        self.other_segments = 0  # sent by the runs in another Tracing mode than the measured one
        self._keep = keep
        self.documents: list[dict[str, Any]] = []  # with ``keep``: each segment as the daemon would read it

    def drain(self) -> int:
        received = 0
        while True:
            try:
                datagram = self._socket.recv(65536)
            except BlockingIOError:
                self.segments += received
                return received
            received += 1
            if self._keep:  # a header line, then the segment's JSON
                self.documents.append(json.loads(datagram.split(b"\n", 1)[1]))

    def close(self) -> None:
        self._socket.close()


def run_child(runtime: ColdRuntime, spec: dict[str, Any], code_dir: Path | None, daemon: XRayDaemon) -> dict[str, Any]:
    paths = ([code_dir] if code_dir else []) + runtime.site + [ROOT / "layers" / "minted"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **LAMBDA_ENV, **runtime.env,
           "AWS_XRAY_DAEMON_ADDRESS": daemon.address, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}  # fmt: skip
    # -S: no site-packages but the ones on PYTHONPATH, as on Lambda (and bytecode caches are written).
    command = [runtime.python, "-S", str(CHILD)]
    profiles = os.environ.get("BENCH_COLD_PROFILE")  # a directory: each run's cProfile, to see where it goes
    models = os.environ.get("BENCH_COLD_MODELS")  # a directory: each cold start's model classes and builds, timed
    if models and spec["kind"] == "subject" and not spec.get("record"):
        spec = {**spec, "models_to": str(Path(models).resolve() / f"models-{spec['module']}-{time.monotonic_ns()}.tsv")}
    if profiles and not spec.get("record"):
        name = f"{spec['kind']}-{spec.get('module', 'floor')}-{time.monotonic_ns()}.prof"
        command[2:2] = ["-m", "cProfile", "-o", str(Path(profiles).resolve() / name)]
    done = subprocess.run(command, input=json.dumps(spec), env=env,
                          capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"cold start of {spec.get('module', 'the floor')} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_MARK))
    return result


def replace_strings(value: Any, changes: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in changes.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: replace_strings(item, changes) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_strings(item, changes) for item in value]
    return value


def call_names(calls: list[dict[str, Any]], changes: dict[str, str] | None = None) -> list[str]:
    """What a call list does on the wire, comparable between subject and floor."""
    names = []
    for call in calls:
        if call["kind"] == "aws":
            names.append(f"{call['service']} {call['operation']}")
        else:
            path = urlsplit(replace_strings(call["url"], changes or {})).path
            path = "/".join("{external_id}" if part.startswith("cold-") else part for part in path.split("/"))
            names.append(f"{call['method']} {path}" + (" (401)" if call["status"] == 401 else ""))
    return sorted(names)


def measure_operation(
    op: ColdOperation, code: tuple[str, Path], runtime: ColdRuntime, runs: int, daemon: XRayDaemon
) -> ColdResult:
    module, code_dir = code
    probe = op.prepare()
    recorded = run_child(runtime, {"kind": "subject", "module": module, "event": probe.event, "record": True},
                         code_dir, daemon)  # fmt: skip
    if not op.succeeded(recorded["result"]):
        raise RuntimeError(f"{op.name}: the first invocation failed: {recorded['result']}")
    # The floor replays the subject's calls; the Digest challenge (401) is requests' own to make.
    replay = [c for c in recorded["calls"] if c["kind"] == "aws" or c["status"] != 401]

    def floor_spec(invocation: Invocation, kind: str = "floor", record: bool = False) -> dict[str, Any]:
        changes = {old: invocation.fresh[key] for key, old in probe.fresh.items()}
        # A task's libraries run has no route to validate: our functions serve tasks without the router.
        return {"kind": kind, "calls": replace_strings(replay, changes), "record": record,
                "http": "routeKey" in invocation.event}  # fmt: skip

    floor_probe = op.prepare()
    floor_recorded = run_child(runtime, floor_spec(floor_probe, record=True), None, daemon)
    run_child(runtime, floor_spec(op.prepare(), "libraries"), None, daemon)  # writes its bytecode caches
    back = {new: probe.fresh[key] for key, new in floor_probe.fresh.items()}
    subject_calls, floor_calls = call_names(recorded["calls"]), call_names(floor_recorded["calls"], back)
    if subject_calls != floor_calls:
        raise RuntimeError(f"{op.name}: the floor's calls {floor_calls} are not the subject's {subject_calls}")

    result = ColdResult(op.name, op.function, calls=subject_calls, http="routeKey" in probe.event)
    # pydantic: the libraries run without Powertools, which splits the libraries column in two.
    sides = ("subject", "floor", "libraries", "pydantic")
    # The other tracing modes and the restore stand beside the measured mode: every third round.
    extras = (*(f"tracing:{mode}" for mode in runtime.other_tracing), *(["restore"] if runtime.restore else []))
    for round_ in range(runs):
        turn = round_ % len(sides)
        for side in sides[turn:] + sides[:turn] + (extras if round_ % 3 == 0 else ()):  # each takes each place
            invocation = op.prepare()
            if side == "subject" or side.startswith("tracing:"):
                mode = side.partition(":")[2]
                mode_runtime = (
                    ColdRuntime(runtime.python, runtime.site, {**runtime.env, "TRACING": mode}) if mode else runtime
                )
                if mode:
                    daemon.drain()  # what earlier runs sent counts for the measured mode
                out = run_child(mode_runtime, {"kind": "subject", "module": module, "event": invocation.event},
                                code_dir, daemon)  # fmt: skip
                if not op.succeeded(out["result"]):
                    raise RuntimeError(f"{op.name}: a cold invocation failed: {out['result']}")
                if mode:
                    result.tracing_ms.setdefault(mode, []).append(out["total_seconds"] * 1000)
                    received = daemon.drain()  # this run's segments (the others' were drained before it)
                    daemon.segments -= received
                    daemon.other_segments += received
                    continue
                result.subject_ms.append(out["total_seconds"] * 1000)
                result.subject_import_ms.append(out["import_seconds"] * 1000)
                result.subject_cpu_ms.append(out["cpu_seconds"] * 1000)
                continue
            if side == "restore":
                out = run_child(runtime, {"kind": "restore", "module": module, "event": invocation.event},
                                code_dir, daemon)  # fmt: skip
                if not op.succeeded(out["result"]):
                    raise RuntimeError(f"{op.name}: a restored invocation failed: {out['result']}")
                result.restore_ms.append(out["total_seconds"] * 1000)
                result.restore_cpu_ms.append(out["cpu_seconds"] * 1000)
                continue
            out = run_child(runtime, floor_spec(invocation, side), None, daemon)
            if any(status >= 500 for status in out["result"]["statuses"]):
                raise RuntimeError(f"{op.name}: the {side}'s HTTP calls failed: {out['result']}")
            if side == "floor":
                result.floor_ms.append(out["total_seconds"] * 1000)
                result.floor_import_ms.append(out["import_seconds"] * 1000)
                result.floor_cpu_ms.append(out["cpu_seconds"] * 1000)
            elif side == "libraries":
                result.libraries_ms.append(out["total_seconds"] * 1000)
                result.libraries_cpu_ms.append(out["cpu_seconds"] * 1000)
            else:
                result.pydantic_ms.append(out["total_seconds"] * 1000)
                result.pydantic_cpu_ms.append(out["cpu_seconds"] * 1000)
        daemon.drain()
    return result


def cold_starts(
    operations: list[ColdOperation], code: dict[str, tuple[str, Path]], runtime: ColdRuntime, runs: int
) -> dict[str, Any]:
    daemon = XRayDaemon()
    started = time.monotonic()
    try:
        results = []
        for op in operations:
            print(f"  {op.name} ...", file=sys.stderr, flush=True)
            results.append(measure_operation(op, code[op.function], runtime, runs, daemon).summary())
    finally:
        daemon.drain()
        daemon.close()
    return {"operations": results, "xray_segments": daemon.segments, "other_xray_segments": daemon.other_segments,
            "seconds": round(time.monotonic() - started, 1),
            "tracing": runtime.env.get("TRACING", "lambda"), "other_tracing": runtime.other_tracing,
            "restore": runtime.restore}  # fmt: skip
