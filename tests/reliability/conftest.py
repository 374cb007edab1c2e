"""The reliability tests run their own stack, with a short client timeout, and write docs/reliability.md."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.devstack import DevStack
from tests.reliability.report import Report
from tests.stack import running_stack


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    # "Beyond the client timeout" is then 1 s away; Minted's sandbox answers in milliseconds otherwise.
    yield from running_stack({"MINTED_READ_TIMEOUT_SECONDS": "1", "MINTED_CONNECT_TIMEOUT_SECONDS": "1"})


@pytest.fixture(scope="package")
def report() -> Iterator[Report]:
    collected = Report()
    yield collected
    if collected.complete():  # a partial run (-k, a failure) leaves the committed report alone
        collected.write()
