"""Where each running ``make dev`` says which ports it took, so helper commands find it.

Each ``make dev`` writes its own record, ``.dev/stacks/<pid>.json`` (gitignored), when it is up and
removes that one record, and no other, when it stops: two stacks in one checkout (on other ports)
keep each other's. ``make workflow`` and the other helpers read the running stack's record instead
of assuming the default ports: the one on ``GATEWAY_PORT`` when that is set, else the newest. A
record whose process has gone (a stack killed before it could clean up) is not a running stack.
``make token`` also reads the local issuer's signing key, which each ``make dev`` writes beside its
record (owner-only, removed with it: a local development key, never a real one).
``MINTED_DEV_STACK_DIR`` moves the records (the tests run stacks of their own beside yours).
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
STACK_DIR_VARIABLE = "MINTED_DEV_STACK_DIR"
NO_STACK_MESSAGE = "no make dev stack is running (none recorded in .dev/stacks/); start one with make dev"


def stack_dir() -> Path:
    return Path(os.environ.get(STACK_DIR_VARIABLE) or ROOT / ".dev" / "stacks")


def signing_key_file(pid: int) -> Path:
    """The stack's signing key for make token, beside its record (not a *.json: it is no record)."""
    return stack_dir() / f"{pid}.signing-key"


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


def record_of(pid: int) -> Path:
    return stack_dir() / f"{pid}.json"


def write(addresses: StackAddresses) -> Path:
    path = record_of(addresses.pid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(addresses), indent=2) + "\n", encoding="utf-8")
    return path


def read() -> StackAddresses | None:
    """The running stack's addresses (the one on GATEWAY_PORT when set, else the newest), or None."""
    running = _running()
    port = os.environ.get("GATEWAY_PORT")
    if port:
        running = [stack for stack in running if _gateway_port(stack) == port]
    return running[-1] if running else None


def no_stack_message() -> str:
    """Why ``read`` found none: no stack at all, or none on the GATEWAY_PORT asked for (naming those that run,
    so that a mistyped port is not answered with "start one")."""
    port, others = os.environ.get("GATEWAY_PORT"), [_gateway_port(stack) for stack in _running()]
    if port and others:
        return (f"no make dev stack runs on GATEWAY_PORT={port}; the running ones are on GATEWAY_PORT="
                f"{', '.join(others)} (give one of those, or none for the newest)")  # fmt: skip
    return NO_STACK_MESSAGE


def _running() -> list[StackAddresses]:
    return [stack for stack in _records() if _alive(stack.pid)]


def _gateway_port(stack: StackAddresses) -> str:
    return stack.gateway_url.rsplit(":", 1)[-1]


def remove(pid: int, *owned: Path) -> None:
    """Forget this stack's own record (and the files it made beside it); the other stacks' stay."""
    for path in (record_of(pid), *owned):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _records() -> list[StackAddresses]:
    """Every record, oldest first."""
    found = []
    for path in stack_dir().glob("*.json"):
        try:
            found.append((path.stat().st_mtime_ns, StackAddresses(**json.loads(path.read_text(encoding="utf-8")))))
        except (OSError, ValueError, TypeError):
            continue  # half written, or removed while we looked
    return [stack for _, stack in sorted(found, key=lambda pair: pair[0])]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True
