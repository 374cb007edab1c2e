"""The fired-orders queue (SQS): one message per fired conditional order, its trigger id only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

BATCH = 10  # SendMessageBatch takes at most ten


class SqsFiredOrders:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, trigger_ids: Sequence[str]) -> list[str]:
        unsent: list[str] = []
        for start in range(0, len(trigger_ids), BATCH):
            batch = list(trigger_ids[start : start + BATCH])
            entries = [{"Id": str(n), "MessageBody": json.dumps({"trigger_id": t})} for n, t in enumerate(batch)]
            try:
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError):
                unsent.extend(batch)
                continue
            unsent.extend(batch[int(failed["Id"])] for failed in response.get("Failed", []))
        return unsent


def trigger_ids_of(event: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(message id, trigger id) of each record of an SQS event; None for a body that names none."""
    found = []
    for record in event.get("Records", []):
        try:
            body = json.loads(record.get("body") or "")
            trigger_id = body.get("trigger_id") if isinstance(body, dict) else None
        except json.JSONDecodeError:
            trigger_id = None
        found.append((str(record.get("messageId")), trigger_id if isinstance(trigger_id, str) else None))
    return found
