"""Where a running ``make dev`` says which ports it took, so helper commands find it.

``make dev`` writes ``.dev/stack.json`` (gitignored) when it is up and removes it when it stops;
``make workflow`` and the other helpers read it instead of assuming the default ports; ``make token``
also reads the local issuer's signing key, which ``make dev`` writes beside it (owner-only, removed
when it stops: a local development key, never a real one).
``MINTED_DEV_STACK_FILE`` moves the file (the tests run a stack of their own beside yours).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

REGION = "eu-central-1"
STACK_NAME = "minted-gateway-local"
ROOT = Path(__file__).resolve().parent.parent
STACK_FILE_VARIABLE = "MINTED_DEV_STACK_FILE"


def stack_file() -> Path:
    return Path(os.environ.get(STACK_FILE_VARIABLE) or ROOT / ".dev" / "stack.json")


def signing_key_file() -> Path:
    return stack_file().with_name(stack_file().stem + "-signing-key.json")


@dataclass(frozen=True)
class StackAddresses:
    gateway_url: str
    sandbox_url: str
    aws_url: str
    workflow_arn: str
    pid: int
    issuer: str = ""  # the local issuer of tokens (the gateway's URL), its audience, and its key for make token
    audience: str = ""
    signing_key_file: str = ""
    # The functions' environment the stack runs with (its parameters, limits among them): helpers that
    # invoke a function by hand (make reconcile) run it with the same settings. Names and ports only.
    environment: dict[str, str] = field(default_factory=dict)


def write(addresses: StackAddresses) -> Path:
    path = stack_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(addresses), indent=2) + "\n", encoding="utf-8")
    return path


def read() -> StackAddresses | None:
    """The running stack's addresses, or None when no ``make dev`` has recorded any."""
    try:
        data = json.loads(stack_file().read_text(encoding="utf-8"))
        return StackAddresses(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove(pid: int, *owned: Path) -> None:
    """Forget the addresses (and the files the stack made beside them), unless another stack wrote its own since."""
    current = read()
    if current is None or current.pid == pid:
        for path in (stack_file(), *owned):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
