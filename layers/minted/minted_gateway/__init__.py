"""Shared code of the Minted Connect partner gateway: the Minted client, use cases, ports and adapters."""

from pydantic._internal import _config as _pydantic_config

# Every pydantic model builds its validator on first use instead of when its class is created: a
# function imports all the models its modules define, and a cold start uses a few of them
# (docs/performance.md). Set here, before any of our models exists. pydantic has no public switch
# for all models; tests/bench/test_cold_start.py fails if this one stops working.
_pydantic_config.config_defaults["defer_build"] = True
