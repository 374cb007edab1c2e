"""Events our code puts on the order-events bus itself (the ledger's own changes go through the pipe).

Today only the reconciler does: an order Minted holds that the ledger has no row for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.errors import EventsUnavailable
from minted_gateway.events.order_events import SOURCE

# PutEvents takes at most ten entries a call.
BATCH = 10


class EventBridgeBus:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Each event's ``type`` is its detail-type, as the pipe does; the whole event is the detail."""
        for start in range(0, len(events), BATCH):
            entries = [
                {
                    "Source": SOURCE,
                    "DetailType": str(event["type"]),
                    "Detail": json.dumps(event),
                    "EventBusName": self._bus,
                }
                for event in events[start : start + BATCH]
            ]
            try:
                response = self._client.put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise EventsUnavailable(f"The order-events bus is unavailable ({type(exc).__name__}).") from None
            if response.get("FailedEntryCount"):
                raise EventsUnavailable(f"The order-events bus refused {response['FailedEntryCount']} event(s).")
