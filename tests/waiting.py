"""Waiting in tests: poll a condition up to a generous deadline, never sleep a fixed time against one.

A loaded machine stretches every latency; a fixed sleep sized to a fault's latency or a timeout
then fails (or passes) by luck. A deadline far above the expected wait only bounds a hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEADLINE_SECONDS = 30.0


def wait_until(condition: Callable[[], object], timeout: float = DEADLINE_SECONDS, *, what: str = "") -> None:
    """Return once ``condition()`` is true; fail if it is still false after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what or 'the condition'} did not hold within {timeout:.0f} s"
        time.sleep(0.05)
