"""moto's DynamoDB made as atomic as DynamoDB: one write (or transaction) at a time.

DynamoDB evaluates a condition and applies its write as one step, per item, and a transaction as
one step across its items; moto checks and then writes in plain Python, so two threads (the local
gateway serves each request on its own) can both pass a condition that only one should. The
limits' counters rely on that atomicity, so the dev stack and the tests that hit moto from several
threads serialise moto's writes here. Local tooling only: nothing shipped imports it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_lock = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def serialise_writes() -> None:
    """Wrap moto's DynamoDB writes in one lock (once per process; later calls change nothing)."""
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_serialised", False):
            continue

        @functools.wraps(method)
        def serialised(self: Any, *args: Any, __method: Any = method, **kwargs: Any) -> Any:
            with _lock:
                return __method(self, *args, **kwargs)

        serialised._serialised = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, serialised)
