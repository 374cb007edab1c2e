"""Shared fixtures: the Minted sandbox over real HTTP on a free loopback port, and clients for it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from local.minted_sandbox.control import SandboxControl
from local.minted_sandbox.server import SandboxServer
from local.minted_sandbox.state import SandboxSettings
from minted_gateway.minted import MintedClient, MintedClientConfig, PartnerCredentials, StaticCredentials

# Tests never reach a real AWS account: fake credentials and a fixed region, whatever the shell has.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="eu-central-1",
)  # fmt: skip
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

SANDBOX_USER = "partner"
SANDBOX_PASSWORD = "sandbox-password"
# A T.C. Kimlik No. with valid check digits that belongs to no one (a published test number).
VALID_TCKN = "10000000146"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(username=SANDBOX_USER, password=SANDBOX_PASSWORD, seed=7)) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxControl:
    """The running sandbox, reset to its first state, with its control API."""
    control = SandboxControl(sandbox_server.url)
    control.reset()
    return control


def partner_credentials(base_url: str, password: str = SANDBOX_PASSWORD) -> PartnerCredentials:
    return PartnerCredentials.model_validate(
        {"username": SANDBOX_USER, "password": password, "base_url": base_url, "client_id": "web"}
    )


@pytest.fixture
def client_config() -> MintedClientConfig:
    # Short waits keep the retry tests quick; the behaviour is the production one.
    return MintedClientConfig(read_timeout=2.0, connect_timeout=1.0, backoff_base=0.01, backoff_cap=0.05)


@pytest.fixture
def minted(sandbox: SandboxControl, client_config: MintedClientConfig) -> MintedClient:
    return MintedClient(StaticCredentials(partner_credentials(sandbox.base_url)), client_config)
