"""DynamoDB faults injected into the functions' own client (make dev's stack runs them in this process),
answered as DynamoDB answers them, botocore's retries included."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

from minted_gateway import runtime


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


@contextmanager
def dynamodb_failing(
    operations: tuple[str, ...], code: str, status: int, only: Callable[[dict[str, Any]], bool] = lambda _: True
) -> Iterator[list[int]]:
    """The functions' DynamoDB client gets ``code`` for these operations (those whose request ``only``
    picks), as from DynamoDB itself (botocore's retries run against it, then give up); yields the
    number of requests refused so far."""
    refused = [0]
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        if not only(json.loads(request.body or b"{}")):
            return None  # sent on to DynamoDB
        refused[0] += 1
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, _Body(body))  # type: ignore[arg-type]

    events = runtime.dynamodb().meta.events
    for operation in operations:
        events.register_first(f"before-send.dynamodb.{operation}", answer)
    try:
        yield refused
    finally:
        for operation in operations:
            events.unregister(f"before-send.dynamodb.{operation}", answer)


def quote_book_unreadable() -> AbstractContextManager[list[int]]:
    """Every read of a quote's currency answered 500 (any other read goes through)."""
    return dynamodb_failing(("GetItem",), "InternalServerError", 500,
                            only=lambda request: request.get("Key", {}).get("pk", {}).get("S") == "QUOTE")  # fmt: skip
