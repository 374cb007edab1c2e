from __future__ import annotations

import pytest

from minted_gateway.minted import MintedClientConfig


@pytest.fixture(params=["tr", "en"])
def client_config(request: pytest.FixtureRequest) -> MintedClientConfig:
    """Every client test runs in Turkish (Minted's default) and in English: errors are told apart by
    structure, never by the language of their text. Short waits keep the retry tests quick."""
    return MintedClientConfig(
        read_timeout=2.0, connect_timeout=1.0, backoff_base=0.01, backoff_cap=0.05, accept_language=request.param
    )
