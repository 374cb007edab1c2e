"""Events our code puts on the order-events bus itself (the ledger's own changes go through the pipe).

The reconciler (an order Minted holds that the ledger has no row for), the plans and the conditional
orders publish (a failure raises); a price alert's event is delivered (the refused ones are tried
again, and those still refused are named, so the caller keeps them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.errors import EventsUnavailable
from minted_gateway.events.order_events import SOURCE

# PutEvents takes at most ten entries a call.
BATCH = 10
# deliver's tries of a refused event, and the pause before each try again (seconds, times the try).
TRIES = 3
PAUSE = 0.2


class EventBridgeBus:
    def __init__(self, client: Any, bus_name: str, *, pause: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._bus = bus_name
        self._pause = pause

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Each event's ``type`` is its detail-type, as the pipe does; the whole event is the detail."""
        for start in range(0, len(events), BATCH):
            entries = [self._entry(event) for event in events[start : start + BATCH]]
            try:
                response = self._client.put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise EventsUnavailable(f"The order-events bus is unavailable ({type(exc).__name__}).") from None
            if response.get("FailedEntryCount"):
                raise EventsUnavailable(f"The order-events bus refused {response['FailedEntryCount']} event(s).")

    def deliver(self, events: Sequence[Mapping[str, Any]]) -> list[int]:
        """Put each event, trying again (``TRIES`` in all) those PutEvents refused, whole or entry by entry;
        the indexes of those still refused after the last try."""
        pending = list(range(len(events)))
        for attempt in range(TRIES):
            if attempt:
                self._pause(PAUSE * attempt)
            refused: list[int] = []
            for start in range(0, len(pending), BATCH):
                batch = pending[start : start + BATCH]
                try:
                    response = self._client.put_events(Entries=[self._entry(events[i]) for i in batch])
                except (ClientError, BotoCoreError):
                    refused.extend(batch)
                    continue
                if response.get("FailedEntryCount"):
                    results = response.get("Entries") or []
                    if len(results) != len(batch):  # not said which: all again (an event_id drops a double)
                        refused.extend(batch)
                    else:
                        refused.extend(i for i, result in zip(batch, results, strict=True) if result.get("ErrorCode"))
            pending = refused
            if not pending:
                break
        return pending

    def _entry(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return {"Source": SOURCE, "DetailType": str(event["type"]), "Detail": json.dumps(event),
                "EventBusName": self._bus}  # fmt: skip
