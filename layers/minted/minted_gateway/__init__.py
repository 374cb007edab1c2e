"""Shared code of the Minted Connect partner gateway: the Minted client, use cases, ports and adapters."""

import gc
import os

from pydantic._internal import _config as _pydantic_config

# Every pydantic model builds its validator on first use instead of when its class is created: a
# function imports all the models its modules define, and a cold start uses a few of them
# (docs/performance.md). Set here, before any of our models exists. pydantic has no public switch
# for all models; tests/bench/test_cold_start.py fails if this one stops working.
_pydantic_config.config_defaults["defer_build"] = True

# A cold start makes some 100,000 objects that live as long as the container (modules, classes,
# validators, clients), and the garbage collector scanned them again and again while they were
# made: about 40 collections, a tenth of a buy task's cold start CPU. In Lambda it stays off until
# the first invocation has been served; then what exists is frozen (never scanned again; the few
# hundred objects of cyclic garbage among them stay) and it is on again: first_invocation_served,
# which every handler's tracing wrapper calls. Elsewhere (tests, make dev) it is never held.
_COLLECTOR_HELD = os.environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_") and gc.isenabled()
if _COLLECTOR_HELD:
    gc.disable()


def first_invocation_served() -> None:
    """Turn the garbage collector back on after a cold start held it (see above); then a no-op."""
    global _COLLECTOR_HELD  # noqa: PLW0603 - once per container
    if _COLLECTOR_HELD:
        _COLLECTOR_HELD = False
        gc.freeze()
        gc.enable()
