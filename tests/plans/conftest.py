from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.devstack import DevStack
from tests.limits.conftest import limits  # noqa: F401 - the limits fixture, for plan runs under limits
from tests.stack import running_stack


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    yield from running_stack(order_events=False)
