"""Partner credentials from Secrets Manager (moto), their caching, rotation and secrecy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.minted_sandbox.control import SandboxControl
from minted_gateway.minted import MintedClient, SecretsManagerCredentials
from minted_gateway.minted import errors as e
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER

REGION = "eu-central-1"


class CountedSecrets:
    """A real Secrets Manager client (moto) that counts GetSecretValue round trips."""

    def __init__(self) -> None:
        self.client: Any = boto3.client("secretsmanager", region_name=REGION)
        self.reads = 0
        self.client.meta.events.register("before-call.secrets-manager.GetSecretValue", self._count)

    def _count(self, **_: Any) -> None:
        self.reads += 1

    def put(self, secret_id: str, value: dict[str, str]) -> None:
        try:
            self.client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(value))
        except self.client.exceptions.ResourceNotFoundException:
            self.client.create_secret(Name=secret_id, SecretString=json.dumps(value))


@pytest.fixture
def secrets() -> Iterator[CountedSecrets]:
    with mock_aws():
        yield CountedSecrets()


def secret_value(base_url: str, password: str = SANDBOX_PASSWORD) -> dict[str, str]:
    return {"username": SANDBOX_USER, "password": password, "base_url": base_url, "client_id": "web"}


def test_the_secret_is_read_once_per_container_and_cached(sandbox: SandboxControl, secrets: CountedSecrets) -> None:
    secrets.put("partner", secret_value(sandbox.base_url))
    client = MintedClient(SecretsManagerCredentials("partner", boto3_client=secrets.client))
    for _ in range(3):
        client.order_statuses()
    assert secrets.reads == 1


def test_a_rotated_secret_is_picked_up_with_exactly_one_forced_refresh(
    sandbox: SandboxControl, secrets: CountedSecrets
) -> None:
    secrets.put("partner", secret_value(sandbox.base_url))
    client = MintedClient(SecretsManagerCredentials("partner", boto3_client=secrets.client))
    client.order_statuses()
    sandbox.rotate_credentials(SANDBOX_USER, "rotated-password")
    secrets.put("partner", secret_value(sandbox.base_url, "rotated-password"))
    assert len(client.order_statuses()) == 12
    assert secrets.reads == 2  # the first read, then one forced refresh
    client.order_statuses()
    assert secrets.reads == 2


def test_credentials_wrong_everywhere_fail_after_one_refresh(sandbox: SandboxControl, secrets: CountedSecrets) -> None:
    secrets.put("partner", secret_value(sandbox.base_url, "wrong-password-123"))
    client = MintedClient(SecretsManagerCredentials("partner", boto3_client=secrets.client))
    with pytest.raises(e.MintedBadCredentialsError) as refused:
        client.order_statuses()
    assert secrets.reads == 2
    assert "wrong-password-123" not in str(refused.value) + repr(refused.value)


def test_a_secret_missing_fields_names_them_and_not_the_values(secrets: CountedSecrets) -> None:
    secrets.put("partner", {"username": "bank-user-7", "password": "", "base_url": "ftp://nope"})
    source = SecretsManagerCredentials("partner", boto3_client=secrets.client)
    with pytest.raises(e.MintedCredentialsError) as bad:
        source.get()
    message = str(bad.value)
    assert "password" in message and "base_url" in message
    assert "bank-user-7" not in message and "ftp://nope" not in message


def test_a_secret_that_is_not_json_or_missing_is_a_credentials_error(secrets: CountedSecrets) -> None:
    secrets.client.create_secret(Name="not-json", SecretString="username=x")
    with pytest.raises(e.MintedCredentialsError, match="not a JSON object"):
        SecretsManagerCredentials("not-json", boto3_client=secrets.client).get()
    with pytest.raises(e.MintedCredentialsError, match="could not be read"):
        SecretsManagerCredentials("no-such-secret", boto3_client=secrets.client).get()


def test_credentials_never_show_in_a_repr(sandbox: SandboxControl) -> None:
    from tests.conftest import partner_credentials

    credentials = partner_credentials(sandbox.base_url, password="very-secret-pw")
    shown = repr(credentials) + str(credentials) + repr(SecretsManagerCredentials("minted-secret"))
    assert "very-secret-pw" not in shown and SANDBOX_USER not in shown


def test_the_host_and_client_id_come_from_the_stack_and_an_older_secrets_own_win(
    sandbox: SandboxControl, secrets: CountedSecrets
) -> None:
    """The secret holds what the partner puts (username, password); the host is a stack parameter.
    A secret from before that (with base_url and client_id) keeps working as it did."""
    secrets.put("partner", {"username": SANDBOX_USER, "password": SANDBOX_PASSWORD})
    stack = {"base_url": sandbox.base_url, "client_id": "web"}
    assert len(MintedClient(SecretsManagerCredentials("partner", boto3_client=secrets.client, defaults=stack))
               .order_statuses()) == 12  # fmt: skip
    secrets.put("older", secret_value(sandbox.base_url))
    elsewhere = {"base_url": "https://minted.invalid", "client_id": "other"}
    older = SecretsManagerCredentials("older", boto3_client=secrets.client, defaults=elsewhere)
    assert older.get().base_url == sandbox.base_url and older.get().client_id == "web"
    assert len(MintedClient(older).order_statuses()) == 12
    without = SecretsManagerCredentials("partner", boto3_client=secrets.client)
    with pytest.raises(e.MintedCredentialsError, match="base_url"):
        without.get()
