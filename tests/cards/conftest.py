from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.devstack import DevStack
from tests.api.test_logs import log_lines  # noqa: F401 - every log line our loggers write, as a fixture
from tests.events.test_order_events_stack import consumer  # noqa: F401 - a partner's queue on the order-events bus
from tests.stack import running_stack


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    """make dev's stack with its order-events pipe: a card buy's and a delivery's events are checked too."""
    yield from running_stack(order_events=True)
