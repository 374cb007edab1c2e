"""Faults the sandbox injects per endpoint, set through the control API."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

from local.minted_sandbox.rules import SandboxError

ENDPOINTS = (
    "pricefix", "prices", "buy", "sell", "get_order", "find_order", "list_orders", "order_statuses",
    "legal", "create_customer", "update_customer", "get_customer", "customer_balance", "delivery",
)  # fmt: skip


@dataclass
class Fault:
    latency_ms: int = 0
    status: int | None = None  # answer this status instead of acting
    retry_after: int | str | None = None  # with status 429 (defaults to 1); text is sent as it is (a hostile one)
    drop: Literal["before_commit", "after_commit"] | None = None
    body: Literal["malformed", "empty", "partial"] | None = None  # after acting, send this instead of the answer
    times: int | None = None  # how many requests it hits; None until cleared
    echo: bool = False  # with a status: the refusal quotes the customer's email and identity number

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Fault:
        problems: dict[str, list[str]] = {}
        allowed = {"latency_ms", "status", "retry_after", "drop", "body", "times", "echo"}
        for name in set(raw) - allowed - {"endpoint", "queue"}:
            problems[name] = ["unknown fault field"]
        fault = cls(**{k: v for k, v in raw.items() if k in allowed})
        if not isinstance(fault.latency_ms, int) or fault.latency_ms < 0:
            problems["latency_ms"] = ["must be a whole number of milliseconds >= 0"]
        if fault.status is not None and not (isinstance(fault.status, int) and 400 <= fault.status <= 599):
            problems["status"] = ["must be an HTTP error status (400-599)"]
        if fault.drop not in (None, "before_commit", "after_commit"):
            problems["drop"] = ["must be before_commit or after_commit"]
        if fault.body not in (None, "malformed", "empty", "partial"):
            problems["body"] = ["must be malformed, empty or partial"]
        if not isinstance(fault.echo, bool) or (fault.echo and fault.status is None):
            problems["echo"] = ["must be true or false, and true only with a status"]
        if fault.retry_after is not None and not (
            isinstance(fault.retry_after, str) or (isinstance(fault.retry_after, int) and fault.retry_after >= 0)
        ):
            problems["retry_after"] = ["must be whole seconds >= 0, or the header's text"]
        if fault.times is not None and (not isinstance(fault.times, int) or fault.times < 1):
            problems["times"] = ["must be a whole number >= 1"]
        if problems:
            raise SandboxError(422, "invalid fault", problems)
        return fault


class FaultBoard:
    """Faults per endpoint; several may be queued, each taking its turn for ``times`` requests."""

    def __init__(self) -> None:
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()

    def set(self, endpoint: str, fault: Fault, *, queue: bool = False) -> None:
        targets = ENDPOINTS if endpoint == "*" else (endpoint,)
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise SandboxError(422, "invalid fault", {"endpoint": [f"must be * or one of {', '.join(ENDPOINTS)}"]})
        with self._lock:
            for name in targets:
                queued = self._faults.get(name, []) if queue else []
                self._faults[name] = [*queued, Fault(**asdict(fault))]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, endpoint: str) -> Fault | None:
        """The fault for this request, counting it against ``times``."""
        with self._lock:
            queued = self._faults.get(endpoint)
            if not queued:
                return None
            fault = queued[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queued.pop(0)
            return fault

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {name: [asdict(f) for f in faults] for name, faults in self._faults.items() if faults}
