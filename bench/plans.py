"""`make bench`'s savings-plans section: the time 1,000 plan runs take through the run queue with
MaximumConcurrency N, beside the sandbox's own throughput measured in the same run (the same three
Minted calls a run makes - Price Fix, Get Customer, Buy - made directly by N threads). Their ratio
is what the engine (queue, ledger, limits, events) costs per run. Writes its section of
docs/performance.md (between the plans-bench markers) and prints it.
"""

from __future__ import annotations

import argparse
import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from requests.auth import HTTPDigestAuth

from bench.measure import ROOT
from bench.run import free_port
from local.devstack import DevStack
from local.gateway import current_function, invoke, quiet_stdout
from local.minted_sandbox.control import SandboxControl
from local.template import functions_of
from minted_gateway import runtime

DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- plans-bench:start -->", "<!-- plans-bench:end -->"
CUSTOMER = {"external_id": "bench-plans", "identity_number": "10000000146", "firstname": "Ayşe", "lastname": "Yılmaz",
            "email": "ayse@example.com", "phone": "+905322808035"}  # fmt: skip


def sandbox_runs_per_second(url: str, count: int, concurrency: int) -> float:
    """What the sandbox itself sustains: ``count`` runs' Minted calls, ``concurrency`` at a time."""
    local = {"api-version": "3", "x-client-id": "web"}

    def one(_: int) -> None:
        session = requests.Session()
        session.auth = HTTPDigestAuth("partner", "sandbox-password")
        fix = session.post(f"{url}/partner/pricefix", json={"type": "digital", "currency": "TRY"}, headers=local,
                           timeout=10).json()["data"]  # fmt: skip
        session.get(f"{url}/partner/customer/{CUSTOMER['external_id']}", headers=local, timeout=10)
        session.post(f"{url}/partner/order/digital/buy", headers=local, timeout=10,
                     json={"price_token": fix["token"], "external_id": f"raw-{uuid.uuid4().hex[:20]}",
                           "currency_code": "TRY", "items": [{"sku": "GAU", "amount": 0.5}], "customer": CUSTOMER})  # fmt: skip

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


class CallClock:
    """Counts and times the AWS calls (botocore) and Minted calls (requests) the plan runs make, to say
    where a run's time goes: most of it, locally, is moto's DynamoDB, which real DynamoDB serves faster."""

    def __init__(self) -> None:
        self.seconds = {"aws": 0.0, "minted": 0.0}
        self.calls = {"aws": 0, "minted": 0}
        self._lock = threading.Lock()

    def __enter__(self) -> CallClock:
        from botocore.client import BaseClient  # noqa: PLC0415 - only the bench patches it

        self._patched = [(BaseClient, "_make_api_call", "aws"), (requests.Session, "request", "minted")]
        self._originals = [getattr(owner, name) for owner, name, _ in self._patched]
        for (owner, name, kind), original in zip(self._patched, self._originals, strict=True):
            setattr(owner, name, self._timed(original, kind))
        return self

    def __exit__(self, *_: object) -> None:
        for (owner, name, _kind), original in zip(self._patched, self._originals, strict=True):
            setattr(owner, name, original)

    def _timed(self, original: Any, kind: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if current_function.get() != "PlansFunction":
                return original(*args, **kwargs)  # the bench's own reads of the sandbox, the queue's polls
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[kind] += time.perf_counter() - started
                    self.calls[kind] += 1

        return call


def plan_runs_seconds(stack: DevStack, count: int, clock: CallClock) -> float:
    from minted_gateway.plans import wiring  # noqa: PLC0415 - the stack's environment first
    from minted_gateway.plans.calendar import Calendar  # noqa: PLC0415
    from minted_gateway.plans.plan import Plan  # noqa: PLC0415

    store, minted = wiring.plan_store(), SandboxControl(stack.sandbox.url)
    now = datetime.now(UTC)
    due = (now + timedelta(days=1)).replace(second=0, microsecond=0)
    calendar = Calendar(frequency="monthly", day_of_month=due.day, time=f"{due.hour:02d}:{due.minute:02d}")
    for index in range(count):
        store.create(Plan(plan_id=f"bench-{index:05d}", customer_external_id=CUSTOMER["external_id"], sku="GAU",
                          currency="TRY", grams=Decimal("0.5"), calendar=calendar, next_run_at=due, created_at=now,
                          updated_at=now))  # fmt: skip
    buys = minted.orders_created()
    started = time.perf_counter()
    with clock:
        invoke(functions_of()["PlansFunction"], {"action": "dispatch_plans", "time": due.isoformat()})
        while minted.orders_created() - buys < count or not all(source.idle() for source in stack.event_sources):
            time.sleep(0.2)
    seconds = time.perf_counter() - started
    if minted.orders_created() - buys != count:  # a figure for runs that bought twice would be no figure
        raise SystemExit(f"{count} plans made {minted.orders_created() - buys} buys at the sandbox")
    return seconds


def section(count: int, concurrency: int, seconds: float, sandbox_rate: float, clock: CallClock) -> str:
    engine_rate = count / seconds
    per_run = {kind: clock.seconds[kind] * 1000 / count for kind in clock.seconds}
    return "\n".join([
        START,
        "## Savings plans: runs through the queue",
        "",
        f"{count} plans due at once, run through the run queue with MaximumConcurrency {concurrency} "
        "(`python -m bench.plans`, part of `make bench`), beside the sandbox's own throughput at the same "
        "concurrency in the same run (Price Fix, Get Customer and Buy made directly):",
        "",
        "| measure | value |",
        "|---|---|",
        f"| time per 1,000 plan runs | {1000 / engine_rate:.1f} s |",
        f"| plan runs per second | {engine_rate:.1f} |",
        f"| the sandbox's own runs per second | {sandbox_rate:.1f} |",
        f"| plan runs / sandbox's runs | {engine_rate / sandbox_rate:.2f} |",
        f"| buys at the sandbox | exactly {count} |",
        f"| per run: AWS calls (DynamoDB, SQS, EventBridge on moto) | {clock.calls['aws'] / count:.1f} calls, "
        f"{per_run['aws']:.1f} ms |",
        f"| per run: Minted calls (the sandbox) | {clock.calls['minted'] / count:.1f} calls, {per_run['minted']:.1f} ms |",
        "",
        f"Each worker spends about {concurrency * 1000 / engine_rate:.0f} ms on a run ({concurrency} at a time). The "
        "two rows above are the time the runs (and the dispatcher's queries and sends beside them) waited on "
        "each call, per run: nearly all of it is moto, one local Python process answering every DynamoDB, "
        "SQS and EventBridge call on this machine's CPUs. The engine's own logic is what remains, so the "
        "ratio to the sandbox says more about moto than about the engine.",
        END,
    ])  # fmt: skip


def write(text: str, path: Path = DOC) -> None:
    doc = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    doc = pattern.sub(lambda _: text, doc) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--doc", type=Path, default=DOC, help="the report whose plans section is rewritten")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    stack = DevStack(moto_port=free_port(), sandbox_port=free_port(), gateway_port=free_port(),
                     parameters={"PlansMaxConcurrency": str(args.concurrency)},
                     extra_env={"POWERTOOLS_METRICS_DISABLED": "true", "LOG_LEVEL": "ERROR"}).start()  # fmt: skip
    runtime.reset()
    try:
        requests.post(f"{stack.sandbox.url}/partner/customer", json=CUSTOMER, timeout=10,
                      auth=HTTPDigestAuth("partner", "sandbox-password"), headers={"x-client-id": "web"})  # fmt: skip
        sandbox_rate = sandbox_runs_per_second(stack.sandbox.url, args.plans, args.concurrency)
        clock = CallClock()
        with quiet_stdout():  # each run's call lines (metrics, written whatever LOG_LEVEL says): the cost stays
            seconds = plan_runs_seconds(stack, args.plans, clock)
    finally:
        stack.stop()
        runtime.reset()
    text = section(args.plans, args.concurrency, seconds, sandbox_rate, clock)
    write(text, args.doc)
    print(text)


if __name__ == "__main__":
    main()
