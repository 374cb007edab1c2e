"""Load with duplicates: concurrent clients, retries and duplicate sends over real HTTP, faults at Minted.

Bounded in count (30 orders, at most 12 attempts each) and time (120 s); it stops by itself.
Afterwards Minted holds exactly one buy per order, every ledger row agrees with Minted, and every
request got an answer.
"""

from __future__ import annotations

import concurrent.futures
import statistics
import threading
import time
from collections import Counter
from typing import Any

import pytest
import requests

from minted_gateway import jsonutil, runtime
from tests.reliability.report import Report
from tests.stack import Api, order

ORDERS = 30
DUPLICATE_EVERY = 3  # every third order is also sent by a second client at the same moment
CLIENTS = 8
MAX_ATTEMPTS = 12
DEADLINE_SECONDS = 120
JSON_BODY = {"Content-Type": "application/json"}  # amounts are JSON numbers (jsonutil writes Decimal as one)
FAULTS = [  # queued on Minted's buy endpoint, each for this many buy requests
    ("connection dropped after commit", {"drop": "after_commit"}, 3),
    ("connection dropped before commit", {"drop": "before_commit"}, 3),
    ("HTTP 503", {"status": 503}, 3),
    ("latency beyond the client timeout", {"latency_ms": 3000}, 2),
    ("429 with Retry-After", {"status": 429, "retry_after": 1}, 2),
]


class Client:
    """One partner backend: sends an order, retries as the API tells it, until the order is settled."""

    def __init__(self, api: Api, deadline: float) -> None:
        self.api = api
        self.deadline = deadline
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.unanswered = 0
        self._lock = threading.Lock()
        self._http = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._http, "session"):
            self._http.session = requests.Session()
            self._http.session.headers["Authorization"] = f"Bearer {self.api.token}"
        session: requests.Session = self._http.session
        return session

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response | None:
        started = time.perf_counter()
        try:
            if method == "POST":
                response = self._session().post(
                    self.api.url + path, data=jsonutil.dumps(body), headers=JSON_BODY, timeout=30
                )
            else:
                response = self._session().get(self.api.url + path, timeout=30)
        except requests.RequestException:
            with self._lock:
                self.unanswered += 1
            return None
        with self._lock:
            self.latencies.append(time.perf_counter() - started)
            self.statuses[response.status_code] += 1
        return response

    def place(self, body: dict[str, Any]) -> str:
        for _ in range(MAX_ATTEMPTS):
            if time.monotonic() > self.deadline:
                return "deadline"
            response = self._call("POST", "/orders", body)
            if response is None:
                continue
            if response.status_code in (200, 201):
                return "settled"
            if response.status_code == 202:  # outcome unknown: ask, then retry with the same payload
                shown = self._call("GET", f"/orders/{body['external_id']}")
                if shown is not None and shown.status_code == 200 and shown.json()["state"] == "SUBMITTED":
                    return "settled"
            elif response.status_code not in (409, 429, 503):
                return f"refused {response.status_code}"
            time.sleep(min(float(response.headers.get("Retry-After", "0.2")), 0.3))
        return "gave up"


@pytest.mark.timeout(600)  # its own deadline is DEADLINE_SECONDS; the stack's start-up comes on top
def test_concurrent_duplicates_with_faults_buy_each_order_once(api: Api, report: Report) -> None:
    run = time.strftime("%H%M%S")
    bodies = [order(f"load-{run}-{n:03d}", api.quote(), amount="0.25") for n in range(ORDERS)]
    sends = []
    for n, body in enumerate(bodies):
        sends.append(body)
        if n % DUPLICATE_EVERY == 0:
            sends.append(body)  # the duplicate, sent next to the original
    for _, fault, times in FAULTS:
        api.minted.fault("buy", queue=True, times=times, **fault)
    started = time.monotonic()
    client = Client(api, deadline=started + DEADLINE_SECONDS)
    with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        outcomes = Counter(pool.map(client.place, sends))
    elapsed = time.monotonic() - started
    api.minted.clear_faults()

    assert outcomes == Counter({"settled": len(sends)}), outcomes
    assert client.unanswered == 0
    buys = api.minted.orders_created()
    assert buys == ORDERS  # one buy per distinct external_id
    consistent = 0
    for body in bodies:
        shown = api.get(f"/orders/{body['external_id']}").json()
        at_minted = runtime.minted().get_order(body["external_id"])
        assert shown["state"] == "SUBMITTED" and shown["order_codes"] == [at_minted.order_code]
        consistent += 1
    faults_applied = api.minted.counters()["faults_applied"].get("buy", 0)
    assert faults_applied == sum(times for _, _, times in FAULTS)

    p50 = statistics.median(client.latencies) * 1000
    p99 = statistics.quantiles(client.latencies, n=100)[98] * 1000
    fault_lines = "\n".join(f"| fault: {name} | {times} |" for name, _, times in FAULTS)
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(client.statuses.items()))
    report.sections[
        "Load with duplicates"
    ] = f"""{CLIENTS} concurrent clients over real HTTP on loopback place {ORDERS} orders; every
{DUPLICATE_EVERY}rd order is sent twice at the same moment. Each client retries as the API says
(202: ask, then retry; 409, 429, 503: wait Retry-After), at most {MAX_ATTEMPTS} attempts, within
{DEADLINE_SECONDS} s. Minted's buy endpoint meanwhile fails {sum(t for _, _, t in FAULTS)} times.

| figure | value |
|---|---|
| distinct orders | {ORDERS} |
| sends (originals and duplicates) | {len(sends)} |
| duplicate sends | {len(sends) - ORDERS} |
{fault_lines}
| sends settled | {outcomes["settled"]} of {len(sends)} |
| buys at Minted | {buys} |
| ledger rows that agree with Minted | {consistent} of {ORDERS} |
| requests without an answer | {client.unanswered} |

<!-- varies -->
Measured in this run (these vary from run to run):

| figure | value |
|---|---|
| requests, retries and reads included | {sum(client.statuses.values())} |
| statuses | {statuses} |
| latency p50 | {p50:.0f} ms |
| latency p99 | {p99:.0f} ms |
| wall time | {elapsed:.1f} s |
<!-- /varies -->"""
