"""Reading a secret from Secrets Manager with the client alone.

Powertools Parameters did this before, but importing it imports boto3 for its other providers: with
the DynamoDB types and the session (minted_gateway.dynamodb, runtime.aws_session) that was about
25 ms of every cold start that nothing else here needs (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

UNREADABLE = (BotoCoreError, ClientError, KeyError)  # what a failed read raises (KeyError: an empty secret)


def read_secret(client: Any, secret_id: str) -> str | bytes:
    """The secret's current value: its string, or its bytes when it holds binary."""
    answer = client.get_secret_value(SecretId=secret_id)
    value: str | bytes = answer["SecretString"] if "SecretString" in answer else answer["SecretBinary"]
    return value
