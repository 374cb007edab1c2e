"""DynamoDB faults injected into the functions' own client (make dev's stack runs them in this process),
answered as DynamoDB answers them, botocore's retries included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

from minted_gateway import runtime


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


@contextmanager
def quote_book_unreadable() -> Iterator[list[int]]:
    """DynamoDB answers 500 to every read of a quote's currency (botocore's retries included); yields the
    number of refused reads so far."""
    refused = [0]
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected"})

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        if json.loads(request.body or b"{}").get("Key", {}).get("pk", {}).get("S") != "QUOTE":
            return None  # any other read goes through
        refused[0] += 1
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 500, headers, _Body(body.encode()))

    events = runtime.dynamodb().meta.events
    events.register_first("before-send.dynamodb.GetItem", answer)
    try:
        yield refused
    finally:
        events.unregister("before-send.dynamodb.GetItem", answer)
