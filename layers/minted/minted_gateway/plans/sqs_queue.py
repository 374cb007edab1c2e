"""The plans' run queue on SQS: one message per (plan, period)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from minted_gateway.errors import GatewayError

BATCH = 10  # SendMessageBatch takes at most ten


class QueueUnavailable(GatewayError):
    status, code = 503, "queue_unavailable"


class SqsRunQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, messages: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(messages), BATCH):
            entries = [{"Id": str(i), "MessageBody": json.dumps(m, separators=(",", ":"))}
                       for i, m in enumerate(messages[start : start + BATCH])]  # fmt: skip
            try:
                answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise QueueUnavailable(f"The plans queue is unavailable ({type(exc).__name__}).") from None
            if answer.get("Failed"):
                raise QueueUnavailable(f"The plans queue refused {len(answer['Failed'])} message(s).")
