"""The Minted Connect API client (imports no boto3)."""

from minted_gateway.minted.client import MintedClient, MintedClientConfig, MintedPaths
from minted_gateway.minted.credentials import (
    CredentialsSource,
    PartnerCredentials,
    SecretsManagerCredentials,
    StaticCredentials,
)

__all__ = [
    "CredentialsSource",
    "MintedClient",
    "MintedClientConfig",
    "MintedPaths",
    "PartnerCredentials",
    "SecretsManagerCredentials",
    "StaticCredentials",
]
