"""`make bench`: cold start, warm overhead, round trips and package sizes, each next to its baseline
measured in the same run. Writes docs/performance.md and docs/performance.json.

It runs make dev's stack (moto_server, the Minted sandbox, the handlers in-process) on free ports;
nothing leaves the machine. Timings are this machine's: compare a figure with the baseline printed
beside it, not with another machine's.

While working on the warm overhead, ``PYTHONPATH=layers/minted:. .venv/bin/python -m bench.run --warm-only
"new buy" [--iterations 50] [--profile]`` measures the warm rows whose name holds the text (no text: every
row), prints them (with ``--profile``, where each row's overhead goes) and writes nothing.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import functools
import json
import logging
import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import boto3
import requests
from requests.auth import HTTPDigestAuth

from bench.cold import ColdOperation, ColdRuntime, Invocation, cold_starts
from bench.measure import (
    ROOT,
    clocked_calls,
    directory_size,
    measure_invocation,
    overhead_areas,
    paused_in_calls,
    profile_overhead,
    summarize,
    to_json,
    top_functions,
    zipped_size,
)
from bench.report import WORKFLOW_COMPLETION_S, render
from local.devstack import DevStack, quiet_workflow_interpreter
from local.gateway import invoke, quiet_stdout
from local.minted_sandbox.control import SandboxControl
from local.template import function_environment, functions_of, load_template
from minted_gateway import jsonutil, runtime

EVENTS = ROOT / "events"
CUSTOMER = {"external_id": "bench-customer", "identity_number": "10000000146", "firstname": "Ayşe",
            "lastname": "Yılmaz", "email": "ayse@example.com", "phone": "+905322808035"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Address:
    url: str


@dataclass(frozen=True)
class ChildStack:
    """What the warm rows need of a stack whose servers run in a process of their own (``--stack-process``)."""

    env: dict[str, str]
    aws_url: str
    sandbox: Address


def _serve_stack(ports: list[int], pipe: Any) -> None:
    """The child: moto_server and the sandbox, no gateway and no consumers, until the parent says stop."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stack = DevStack(moto_port=ports[0], sandbox_port=ports[1], gateway_port=None).start()
    try:
        pipe.send({"env": stack.env, "aws_url": stack.aws_url, "sandbox_url": stack.sandbox.url})
        pipe.recv()
    finally:
        stack.stop()


@contextmanager
def stack_process(ports: list[int]) -> Iterator[ChildStack]:
    """moto_server and the Minted sandbox in a child process, the handlers in this one, as in Lambda, where
    DynamoDB and Minted are elsewhere: in-process, their threads' work after each answer (closing the
    connection, moto's bookkeeping) competes with the handler for the GIL and is counted as its overhead,
    and cProfile (process-wide on Python 3.12+) mixes their frames into the handler's profile."""
    # spawn, not fork: a fork of a process whose threads hold locks (a test's own stack) can hang.
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve_stack, args=(ports, theirs), daemon=True)
    child.start()
    saved_env = dict(os.environ)
    try:
        if not ours.poll(120):
            raise RuntimeError("the stack's process did not start within 120 s")
        started = ours.recv()
        os.environ.update(started["env"])  # the functions' environment, as the in-process stack sets it
        yield ChildStack(env=started["env"], aws_url=started["aws_url"], sandbox=Address(started["sandbox_url"]))
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        ours.send("stop")
        child.join(30)


def http_event(relative: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text(encoding="utf-8"))
    for key, value in changes.items():
        event[key] = value
    return event


class Bench:
    def __init__(self, stack: DevStack, iterations: int) -> None:
        self.stack = stack
        self.iterations = iterations
        self.minted = SandboxControl(stack.sandbox.url)
        self.functions = {spec.logical_id: spec for spec in functions_of().values()}
        self.dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_url, region_name="eu-central-1")
        self.warm_only: list[str] = []  # --warm-only TEXT: the warm rows whose name holds one of these
        self.profiles: dict[str, cProfile.Profile] | None = None  # --profile: each measured row's profile

    def wanted(self, name: str) -> bool:
        return not self.warm_only or any(text in name for text in self.warm_only)

    def call(self, function: str, event: dict[str, Any]) -> Any:
        return invoke(self.functions[function], copy.deepcopy(event))

    def token(self, side: str = "buy", amount: str = "0.1") -> str:
        quote = {"currency": "TRY", "side": side, "items": [{"sku": "GAU", "amount": amount}]}
        result = self.call("PricesFunction", {"action": "quote", "quote": quote})
        token: str = result["price_token"]
        return token

    def hold(self, grams: str) -> None:
        """The bench's customer buys ``grams`` of gold: a sell takes back what is held (the sandbox counts)."""
        placed = self.call("BuyFunction", self.buy_event(f"bench-hold-{time.time_ns()}", self.token(amount=grams),
                                                         amount=grams))  # fmt: skip
        assert placed["statusCode"] == 201, placed

    def sell_event(self, external_id: str, token: str) -> dict[str, Any]:
        body = {"external_id": external_id, "side": "sell", "price_token": token,
                "items": [{"sku": "GAU", "amount": Decimal("0.1")}], "customer_external_id": CUSTOMER["external_id"]}  # fmt: skip
        return http_event("buy/post_orders_sell.json", body=jsonutil.dumps(body))

    def history_event(self) -> dict[str, Any]:
        """The bench customer's latest orders: a DynamoDB Query on the wallet index, nothing at Minted."""
        query = {"customer_external_id": CUSTOMER["external_id"], "limit": "20"}
        return http_event("get_order/list_orders.json", queryStringParameters=query,
                          rawQueryString="&".join(f"{k}={v}" for k, v in query.items()))  # fmt: skip

    def buy_event(self, external_id: str, token: str, amount: str = "0.1") -> dict[str, Any]:
        body = {"external_id": external_id, "price_token": token, "items": [{"sku": "GAU", "amount": Decimal(amount)}],
                "customer": CUSTOMER}  # fmt: skip
        return http_event("buy/post_orders.json", body=jsonutil.dumps(body))  # amounts are JSON numbers

    def get_event(self, external_id: str) -> dict[str, Any]:
        event = http_event("get_order/get_order.json")
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/orders/{external_id}"
        event["pathParameters"] = {"external_id": external_id}
        return event

    def age_prices(self) -> None:
        self.dynamodb.update_item(
            TableName=self.stack.env["PRICES_TABLE"], Key={"pk": {"S": "LATEST"}, "sk": {"S": "TRY"}},
            UpdateExpression="SET fetched_at = :old, #s.fetched_at = :old REMOVE lease_until",
            ExpressionAttributeNames={"#s": "snapshot"}, ExpressionAttributeValues={":old": {"N": "1"}},
        )  # fmt: skip

    def unknown_row(self, external_id: str) -> dict[str, Any]:
        """The reconciler's work: one buy Minted committed whose answer was lost, due now, the only row listed."""
        table = self.stack.env["ORDERS_TABLE"]
        for state in ("UNKNOWN", "RECEIVED", "SUBMITTED", "NOT_PLACED", "FOREIGN"):
            listed = self.dynamodb.query(TableName=table, IndexName="by_attention", KeyConditionExpression="attention = :s",
                                         ExpressionAttributeValues={":s": {"S": state}})["Items"]  # fmt: skip
            for item in listed:
                self.dynamodb.update_item(TableName=table, Key={"external_id": item["external_id"]},
                                          UpdateExpression="REMOVE attention, attention_due")  # fmt: skip
        self.minted.fault("buy", drop="after_commit", times=1)
        assert self.call("BuyFunction", self.buy_event(external_id, self.token()))["statusCode"] == 202
        self.dynamodb.update_item(TableName=table, Key={"external_id": {"S": external_id}},
                                  UpdateExpression="SET attention_due = :due", ExpressionAttributeValues={":due": {"N": "1"}})  # fmt: skip
        return {"action": "reconcile"}

    # ------------------------------------------------------------ cold starts
    def cold_operations(self) -> list[ColdOperation]:
        """Every operation's first invocation in a new container; the state each one needs is made here."""
        status = {200: lambda r: r["statusCode"] == 200, 201: lambda r: r["statusCode"] == 201}
        is_task_result: Callable[[Any], bool] = lambda r: isinstance(r, dict) and "statusCode" not in r  # noqa: E731
        run = time.time_ns()
        counter = iter(range(1_000_000))
        self.minted.clock(completion_delay_seconds=0)
        final = f"cold-final-{run}"
        assert self.call("BuyFunction", self.buy_event(final, self.token()))["statusCode"] == 201
        self.call("GetOrderFunction", self.get_event(final))  # records Completed
        self.minted.clock(completion_delay_seconds=None)
        pending, replayed = f"cold-pending-{run}", self.buy_event(f"cold-replayed-{run}", self.token())
        assert self.call("BuyFunction", self.buy_event(pending, self.token()))["statusCode"] == 201
        assert self.call("BuyFunction", replayed)["statusCode"] == 201

        def fresh_prices() -> Invocation:
            self.call("PricesFunction", http_event("prices/get_prices.json"))  # the cache is fresh, as usual
            return Invocation(http_event("prices/get_prices.json"))

        def new_buy() -> Invocation:
            external_id, token = f"cold-{run}-{next(counter)}", self.token()
            return Invocation(self.buy_event(external_id, token), {"external_id": external_id, "token": token})

        def new_sell() -> Invocation:
            self.hold("0.1")  # each cold sell (subject, floor or libraries) sells back what was just bought
            external_id, token = f"cold-{run}-{next(counter)}", self.token("sell")
            return Invocation(self.sell_event(external_id, token), {"external_id": external_id, "token": token})

        def place_order_task() -> Invocation:
            external_id, token = f"cold-{run}-{next(counter)}", self.token()
            event = http_event("buy/place_order_task.json")
            event["order"].update(external_id=external_id, price_token=token)
            return Invocation(event, {"external_id": external_id, "token": token})

        def workflow_failure() -> Invocation:
            external_id = f"cold-{run}-{next(counter)}"  # a workflow that failed before buying: a NOT_PLACED row
            return Invocation(failure_task(external_id), {"external_id": external_id})

        def stale_prices() -> Invocation:
            self.call("PricesFunction", http_event("prices/get_prices.json"))  # a cache to age, even run alone (ONLY)
            self.age_prices()
            return Invocation(http_event("prices/scheduled_event.json"))

        def fixed(relative: str, **changes: Any) -> Callable[[], Invocation]:
            return lambda: Invocation(http_event(relative, **changes))

        def new_customer() -> Invocation:
            return Invocation(self.customer_event(f"cold-{run}-{next(counter)}"))

        def reconciliation() -> Invocation:
            external_id = f"cold-{run}-{next(counter)}"
            return Invocation(self.unknown_row(external_id), {"external_id": external_id})

        self.call("CustomersFunction", http_event("customers/post_customers.json"))  # cust-0001, for the reads

        return [
            ColdOperation("GET /prices (cached)", "PricesFunction", fresh_prices, status[200]),
            ColdOperation("POST /quotes", "PricesFunction", fixed("prices/post_quotes.json"), status[201]),
            ColdOperation("POST /orders, new buy", "BuyFunction", new_buy, status[201]),
            ColdOperation("POST /orders, replay", "BuyFunction", lambda: Invocation(replayed), status[200]),
            ColdOperation("POST /orders, new sell", "BuyFunction", new_sell, status[201]),
            ColdOperation(
                "GET /orders/{id}, final", "GetOrderFunction", lambda: Invocation(self.get_event(final)), status[200]
            ),
            ColdOperation(
                "GET /orders, a customer's history",
                "GetOrderFunction",
                lambda: Invocation(self.history_event()),
                status[200],
            ),
            ColdOperation("GET /legal", "LegalFunction", fixed("legal/list_documents.json"), status[200]),
            ColdOperation("GET /legal/{type}", "LegalFunction", fixed("legal/get_document.json"), status[200]),
            ColdOperation("POST /customers, new", "CustomersFunction", new_customer, status[201]),
            ColdOperation(
                "GET /customers/{id}/balances", "CustomersFunction", fixed("customers/get_balances.json"), status[200]
            ),
            ColdOperation("task quote", "PricesFunction", fixed("prices/quote_task.json"), is_task_result),
            ColdOperation("task place_order", "BuyFunction", place_order_task, is_task_result),
            ColdOperation(
                "task get_order, not final",
                "GetOrderFunction",
                fixed("get_order/get_order_task.json", external_id=pending),
                is_task_result,
            ),
            ColdOperation("task record_failure", "BuyFunction", workflow_failure, is_task_result),
            ColdOperation("scheduled price refresh", "PricesFunction", stale_prices, is_task_result),
            ColdOperation(
                "scheduled reconciliation, one row",
                "ReconcileFunction",
                reconciliation,
                lambda r: is_task_result(r) and r["looked_at"] == 1,
            ),
        ]

    # ------------------------------------------------------------ one operation, many times
    def operation(
        self, name: str, function: str, prepare: Callable[[int], dict[str, Any]], check: Callable[[Any], bool]
    ) -> dict[str, Any]:
        if not self.wanted(name):
            return {}  # left out by --warm-only; warm() drops it
        totals, overheads = [], []
        trips: dict[str, Any] = {}
        profiler = None
        if self.profiles is not None:
            profiler = self.profiles[name] = cProfile.Profile()
        for i in range(self.iterations):
            event = copy.deepcopy(prepare(i))  # copied before the clock starts: the handler may change it
            last = i == self.iterations - 1  # round trips of the steady state, not of a first visit
            before = self.minted.counters()["requests"] if last else None
            run = functools.partial(invoke, self.functions[function], event)
            if profiler is not None:
                run = functools.partial(_profiled, profiler, run)
            elapsed, clock, result = measure_invocation(run)
            assert check(result), (name, result)
            totals.append(elapsed)
            overheads.append(elapsed - clock.minted_seconds - clock.dynamodb_seconds)
            if before is not None:
                after = self.minted.counters()["requests"]
                writes = sum(1 for c in clock.dynamodb_calls if c in ("PutItem", "UpdateItem"))
                trips = {"minted_calls": sum(after.values()) - sum(before.values()),
                         "dynamodb_reads": sum(1 for c in clock.dynamodb_calls if c in ("GetItem", "Query")),
                         "dynamodb_writes": writes, "dynamodb_calls": clock.dynamodb_calls}  # fmt: skip
        return {"name": name, **summarize(totals, overheads), "round_trips": trips, "iterations": self.iterations}

    def warm(self) -> list[dict[str, Any]]:
        def ok(status: int) -> Callable[[Any], bool]:
            return lambda result: bool(result["statusCode"] == status)

        results: list[dict[str, Any]] = []
        # Warm every container once: cold starts, nonces and caches are measured elsewhere.
        self.call("PricesFunction", http_event("prices/get_prices.json"))
        self.call("LegalFunction", http_event("legal/get_document.json"))
        self.minted.clock(completion_delay_seconds=None)
        pending = f"bench-pending-{time.time_ns()}"
        assert self.call("BuyFunction", self.buy_event(pending, self.token()))["statusCode"] == 201
        self.call("GetOrderFunction", self.get_event(pending))

        tokens = [self.token() for _ in range(self.iterations)]
        run = time.time_ns()
        results.append(
            self.operation("quote", "PricesFunction", lambda i: http_event("prices/post_quotes.json"), ok(201))
        )
        results.append(self.operation("new buy", "BuyFunction",
                                      lambda i: self.buy_event(f"bench-{run}-{i}", tokens[i]), ok(201)))  # fmt: skip
        replay = self.buy_event(f"bench-{run}-0", tokens[0])
        if self.wanted("replayed buy") and not self.wanted("new buy"):  # its order is the new buy row's first
            assert self.call("BuyFunction", replay)["statusCode"] == 201
        results.append(self.operation("replayed buy", "BuyFunction", lambda i: replay, ok(200)))
        results.append(self.operation("get order, not final", "GetOrderFunction",
                                      lambda i: self.get_event(pending), ok(200)))  # fmt: skip
        self.minted.clock(completion_delay_seconds=0)
        done = f"bench-done-{time.time_ns()}"
        assert self.call("BuyFunction", self.buy_event(done, self.token()))["statusCode"] == 201
        self.call("GetOrderFunction", self.get_event(done))  # records Completed
        results.append(self.operation("get order, final", "GetOrderFunction", lambda i: self.get_event(done), ok(200)))
        self.call("PricesFunction", http_event("prices/get_prices.json"))
        results.append(self.operation("prices from the cache", "PricesFunction",
                                      lambda i: http_event("prices/get_prices.json"), ok(200)))  # fmt: skip

        def stale(i: int) -> dict[str, Any]:
            self.age_prices()
            return http_event("prices/get_prices.json")

        results.append(self.operation("prices refresh", "PricesFunction", stale, ok(200)))
        results.append(self.operation("legal document", "LegalFunction",
                                      lambda i: http_event("legal/get_document.json"), ok(200)))  # fmt: skip
        results.append(self.operation("legal list", "LegalFunction",
                                      lambda i: http_event("legal/list_documents.json"), ok(200)))  # fmt: skip
        results += self.warm_sells()
        results += self.warm_customers()
        results += self.warm_tasks(pending, stale)
        results += self.warm_reconciliation()
        return [row for row in results if row]  # --warm-only leaves the other rows empty

    def warm_reconciliation(self) -> list[dict[str, Any]]:
        """A scheduled run that finds one due row and settles it by one lookup at Minted."""
        run = time.time_ns()
        return [
            self.operation("scheduled reconciliation, one row", "ReconcileFunction",
                           lambda i: self.unknown_row(f"bench-reconcile-{run}-{i}"),
                           lambda r: isinstance(r, dict) and r.get("looked_at") == 1 and r.get("changed") == 1),
        ]  # fmt: skip

    def warm_sells(self) -> list[dict[str, Any]]:
        """A new sell is a buy's path with Minted's sell price; the history is one Query, nothing at Minted."""

        def ok(status: int) -> Callable[[Any], bool]:
            return lambda result: bool(result["statusCode"] == status)

        self.hold(str(Decimal("0.1") * self.iterations))  # what the sells below take back
        tokens = [self.token("sell") for _ in range(self.iterations)]
        run = time.time_ns()
        return [
            self.operation("new sell", "BuyFunction", lambda i: self.sell_event(f"bench-sell-{run}-{i}", tokens[i]),
                           ok(201)),
            self.operation("order history, a customer", "GetOrderFunction", lambda i: self.history_event(), ok(200)),
        ]  # fmt: skip

    def customer_event(self, external_id: str) -> dict[str, Any]:
        event = http_event("customers/post_customers.json")
        event["body"] = json.dumps({**json.loads(event["body"]), "external_id": external_id}, ensure_ascii=False)
        return event

    def warm_customers(self) -> list[dict[str, Any]]:
        """Customers live at Minted: each operation is one Minted call, a repeated create two (refused, looked up)."""

        def ok(*statuses: int) -> Callable[[Any], bool]:
            return lambda result: result["statusCode"] in statuses

        run = time.time_ns()
        self.call("CustomersFunction", http_event("customers/post_customers.json"))  # cust-0001, for the reads
        again = self.customer_event(f"bench-cust-{run}-again")
        return [
            self.operation("create customer", "CustomersFunction",
                           lambda i: self.customer_event(f"bench-cust-{run}-{i}"), ok(201)),
            self.operation("create customer, repeated", "CustomersFunction", lambda i: again, ok(200, 201)),
            self.operation("get customer", "CustomersFunction",
                           lambda i: http_event("customers/get_customer.json"), ok(200)),
            self.operation("customer balances", "CustomersFunction",
                           lambda i: http_event("customers/get_balances.json"), ok(200)),
        ]  # fmt: skip

    def warm_tasks(self, pending: str, stale: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
        """The workflow's tasks and the schedule's refresh: the same use cases without the Event Handler."""

        def task_result(result: Any) -> bool:
            return isinstance(result, dict) and "statusCode" not in result

        run = time.time_ns()
        tokens = [self.token() for _ in range(self.iterations)]

        def place(i: int) -> dict[str, Any]:
            event = http_event("buy/place_order_task.json")
            event["order"].update(external_id=f"bench-task-{run}-{i}", price_token=tokens[i])
            return event

        def scheduled(i: int) -> dict[str, Any]:
            stale(i)
            return http_event("prices/scheduled_event.json")

        return [
            self.operation("task quote", "PricesFunction", lambda i: http_event("prices/quote_task.json"), task_result),
            self.operation("task place_order", "BuyFunction", place, task_result),
            self.operation("task get_order", "GetOrderFunction",
                           lambda i: http_event("get_order/get_order_task.json", external_id=pending), task_result),
            self.operation("task record_failure", "BuyFunction",
                           lambda i: failure_task(f"bench-failed-{run}-{i}"), task_result),
            self.operation("scheduled price refresh", "PricesFunction", scheduled, task_result),
        ]  # fmt: skip

    def new_buy_profile(self) -> list[tuple[str, float]]:
        """Where a new buy's overhead goes: shares of the profiled time, by package or module."""
        run = time.time_ns()
        events = iter([self.buy_event(f"bench-profile-{run}-{i}", self.token()) for i in range(self.iterations)])
        return profile_overhead(lambda: invoke(self.functions["BuyFunction"], next(events)), self.iterations)

    def raw_baseline(self) -> dict[str, float]:
        """A bare requests call (stock Digest, nonce reused) to the sandbox endpoints the operations use."""
        session = requests.Session()
        session.auth = HTTPDigestAuth("partner", "sandbox-password")
        url = self.stack.sandbox.url
        calls: dict[str, Callable[[], requests.Response]] = {
            "GET /partner/order/{id}": lambda: session.get(f"{url}/partner/order/bench-missing", timeout=5),
            "GET /partner/prices": lambda: session.get(f"{url}/partner/prices", timeout=5),
            "POST /partner/pricefix": lambda: session.post(f"{url}/partner/pricefix", json={"type": "digital"},
                                                           headers={"api-version": "3"}, timeout=5),
        }  # fmt: skip
        results: dict[str, float] = {}
        for name, call in calls.items():
            call()
            samples = []
            for _ in range(self.iterations):
                started = time.perf_counter()
                call()
                samples.append(time.perf_counter() - started)
            results[name] = round(statistics.median(samples) * 1000, 3)
        return results

    def workflow_transitions(self) -> tuple[int, int]:
        """One buy workflow to its end, Minted completing the order WORKFLOW_COMPLETION_S after the buy: its
        state transitions (what Step Functions bills) and its polls. It must succeed: an execution that polls
        until it gives up (the sandbox's clock left never completing) measured 125 transitions in every earlier
        report."""
        self.minted.clock(completion_delay_seconds=WORKFLOW_COMPLETION_S)
        try:
            return self._one_workflow()
        finally:
            self.minted.clock(completion_delay_seconds=None)

    def _one_workflow(self) -> tuple[int, int]:
        assert self.stack.gateway is not None
        external_id = f"bench-wf-{time.time_ns()}"
        body = {
            "external_id": external_id,
            "items": [{"sku": "GAU", "amount": Decimal("0.1")}],
            "poll_interval_seconds": 1,
        }
        token = self.stack.issuer.mint(["minted/orders.write"])  # the gateway checks it as API Gateway would
        started = requests.post(self.stack.gateway.url + "/orders/workflow", data=jsonutil.dumps(body),
                                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                                timeout=10).json()  # fmt: skip
        sfn = boto3.client("stepfunctions", endpoint_url=self.stack.aws_url, region_name="eu-central-1")
        deadline = time.monotonic() + 60
        while sfn.describe_execution(executionArn=started["execution_arn"])["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        ended = sfn.describe_execution(executionArn=started["execution_arn"])
        assert ended["status"] == "SUCCEEDED", ended
        events = sfn.get_execution_history(executionArn=started["execution_arn"], maxResults=1000)["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
        return len(entered), entered.count("RefreshOrder")


def _profiled(profiler: cProfile.Profile, run: Callable[[], Any]) -> Any:
    """``run()`` profiled, the profiler paused inside Minted and DynamoDB calls (``--profile``)."""
    with paused_in_calls(profiler):
        profiler.enable()
        try:
            return run()
        finally:
            profiler.disable()


def print_warm(warm: list[dict[str, Any]], profiles: dict[str, cProfile.Profile] | None, iterations: int) -> None:
    """``--warm-only``: the warm table on stdout (and each row's profile with ``--profile``), nothing written."""
    print("| operation | handler p50 (ms) | overhead p50 (ms) | overhead p99 (ms) | DynamoDB calls | Minted calls |")
    print("|---|---|---|---|---|---|")
    for row in warm:
        trips = row["round_trips"]
        print(f"| {row['name']} | {row['handler_p50_ms']} | {row['overhead_p50_ms']} | {row['overhead_p99_ms']} "
              f"| {len(trips.get('dynamodb_calls', []))} | {trips.get('minted_calls', '')} |")  # fmt: skip
    for name, profiler in (profiles or {}).items():
        print(f"\n## {name}: where the overhead goes (profiled; the profiler itself inflates the figures above)")
        for area, share in overhead_areas(profiler)[:15]:
            print(f"{share:6.1%}  {area}")
        print(top_functions(profiler, 30, iterations))


def failure_task(external_id: str) -> dict[str, Any]:
    """The workflow's failure step for an order it never bought (its row is made NOT_PLACED)."""
    order = {"external_id": external_id, "items": [{"sku": "GAU", "amount": "0.1"}]}
    return {"action": "record_failure", "order": order, "error": "States.Timeout", "execution": external_id}


def sizes() -> dict[str, Any]:
    build = ROOT / ".aws-sam" / "build"
    if not (build / "SharedLayer").exists():
        return {"error": "no sam build output: run make build first"}
    result: dict[str, Any] = {}
    for item in sorted(p for p in build.iterdir() if p.is_dir()):
        result[item.name] = {"unzipped_bytes": directory_size(item), "zipped_bytes": zipped_size(item)}
    return result


def warm_rows(bench: Bench, args: argparse.Namespace, where: str) -> None:
    """``--warm-only``: the rows whose name holds one of its texts, measured and printed."""
    bench.warm_only = [text for text in args.warm_only if text]
    bench.profiles = {} if args.profile else None
    print(f"warm: {args.iterations} invocations per operation, {where} ...", flush=True)
    with clocked_calls(), quiet_stdout():
        warm = bench.warm()
    print_warm(warm, bench.profiles, args.iterations)


def warm_in_child(args: argparse.Namespace, ports: list[int]) -> None:
    """``--warm-only --stack-process``: the warm rows with the stack's servers in a child process."""
    runtime.reset()
    try:
        with stack_process(ports) as child:
            # Bench reads the stack's env, AWS URL and sandbox URL only, for the warm rows.
            warm_rows(Bench(cast(DevStack, child), args.iterations), args, "the stack in its own process")
    finally:
        runtime.reset()


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="cold starts per operation, subject and floor each")
    parser.add_argument("--python", default=sys.executable, help="the Lambda runtime's Python, for cold starts")
    parser.add_argument("--site", type=Path, action="append", default=[],
                        help="site-packages as Lambda has them: the layer's requirements and the runtime's boto3")  # fmt: skip
    parser.add_argument("--iterations", type=int, default=100, help="invocations per warm figure")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="only the cold starts whose name holds TEXT (repeatable); prints them, writes no document")  # fmt: skip
    parser.add_argument("--warm-only", nargs="?", const="", action="append", metavar="TEXT",
                        help="no cold starts: the warm rows (those whose name holds TEXT, repeatable), printed, no document")  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="with --warm-only: each row's profile (the profiler paused inside Minted and DynamoDB calls; "
                             "implies --stack-process)")  # fmt: skip
    parser.add_argument("--stack-process", action="store_true",
                        help="with --warm-only: moto_server and the sandbox in a process of their own, as in Lambda")  # fmt: skip
    parser.add_argument("--ports", type=int, default=None,
                        help="moto_server, the sandbox and the gateway on this port and the next two (default: free ports)")  # fmt: skip
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request from two servers is noise
    quiet_workflow_interpreter()
    started = time.monotonic()
    template = load_template()
    code = {name: (spec.handler.split(".")[0], ROOT / spec.code_uri) for name, spec in functions_of(template).items()}
    saved_env = dict(os.environ)
    ports = [args.ports + i for i in range(3)] if args.ports else [free_port() for _ in range(3)]
    if args.warm_only is not None and (args.stack_process or args.profile):
        warm_in_child(args, ports)
        return
    stack = DevStack(moto_port=ports[0], sandbox_port=ports[1], gateway_port=ports[2])
    stack.start()
    runtime.reset()
    try:
        bench = Bench(stack, args.iterations)
        if args.warm_only is not None:  # a quick look at the warm overhead while working on it
            warm_rows(bench, args, "on the local stack")
            return
        env = {**function_environment(template, {**stack.tables, **stack.secrets}, {"Stage": "prod"}),
               "AWS_ENDPOINT_URL": stack.aws_url, "BUY_WORKFLOW_ARN": stack.workflow_arn}  # fmt: skip
        # The template's default Tracing mode is the one measured; the others' cold starts stand beside it.
        other_tracing = [m for m in template["Parameters"]["Tracing"]["AllowedValues"] if m != env["TRACING"]]
        cold_runtime = ColdRuntime(args.python, [p.resolve() for p in args.site], env, other_tracing, restore=True)
        with quiet_stdout():  # the setup's invocations log too
            operations = bench.cold_operations()
        if args.only:  # a quick look at a few rows while working on them: the measured mode alone
            operations = [op for op in operations if any(text in op.name for text in args.only)]
            cold_runtime = ColdRuntime(args.python, cold_runtime.site, env)
        print(f"cold starts: {args.runs} rounds of subject and floor per operation ...", flush=True)
        with quiet_stdout():
            cold = cold_starts(operations, code, cold_runtime, args.runs)
        if args.only:
            for row in cold["operations"]:
                print(f"{row['name']}: {row['cold_start_ms']} ms, floor {row['floor_ms']} ms, "
                      f"ratio {row['ratio_to_floor']}x, libraries {row['libraries_ratio_to_floor']}x, "
                      f"CPU ratio {row['cpu_ratio_to_floor']}x, import {row['import_ms']} ms")  # fmt: skip
            return
        with quiet_stdout():
            transitions, polls = bench.workflow_transitions()  # the gateway and the workflow: this stack's
    finally:
        stack.stop()
        runtime.reset()
        os.environ.clear()
        os.environ.update(saved_env)
    # The warm figures with moto_server and the sandbox in a process of their own, as DynamoDB and Minted
    # are elsewhere in Lambda (stack_process says what sharing the process with them would add).
    try:
        with stack_process([free_port() for _ in range(3)]) as child:
            bench = Bench(cast(DevStack, child), args.iterations)
            print(f"warm: {args.iterations} invocations per operation, the stack in its own process ...", flush=True)
            with clocked_calls(), quiet_stdout():
                warm = bench.warm()
                profile = bench.new_buy_profile()
                raw = bench.raw_baseline()
    finally:
        runtime.reset()

    results = {
        "cold_start": cold,
        "warm": warm,
        "new_buy_profile": profile,
        "iterations": args.iterations,
        "raw_requests_p50_ms": raw,
        "sizes": sizes(),
        "workflow_state_transitions": transitions,
        "workflow_polls": polls,
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count()},
        "seconds": round(time.monotonic() - started, 1),
    }
    (ROOT / "docs" / "performance.json").write_text(to_json(results), encoding="utf-8")
    (ROOT / "docs" / "performance.md").write_text(render(results), encoding="utf-8")
    print((ROOT / "docs" / "performance.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
