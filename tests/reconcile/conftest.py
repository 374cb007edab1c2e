from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.devstack import DevStack
from tests.stack import running_stack


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    """make dev's stack with its order-events pipe, so the tests see what the reconciler's writes publish."""
    yield from running_stack(order_events=True)
