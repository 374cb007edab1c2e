"""``make dev``'s stack: moto_server with the template's resources, the sandbox, and a client using both."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import pytest

from local.devstack import DevStack
from minted_gateway.minted import MintedClient, SecretsManagerCredentials
from minted_gateway.minted.models import PriceFixRequest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stack() -> Iterator[DevStack]:
    stack = DevStack(moto_port=free_port(), sandbox_port=free_port(), gateway_port=None).start()
    yield stack
    stack.stop()


def test_the_stack_serves_tables_and_a_secret_that_points_at_the_sandbox(stack: DevStack) -> None:
    env = stack.environment()
    dynamodb = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"])
    assert {env["ORDERS_TABLE"], env["PRICES_TABLE"]} <= set(dynamodb.list_tables()["TableNames"])
    secrets = boto3.client(
        "secretsmanager", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"]
    )
    client = MintedClient(SecretsManagerCredentials(env["PARTNER_SECRET_ID"], boto3_client=secrets))
    fix = client.price_fix(PriceFixRequest())
    assert len(fix.token) == 32
