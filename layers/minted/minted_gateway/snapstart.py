"""SnapStart's two hooks, registered only when Lambda initialises a function for a snapshot (the
template's ``SnapStart`` parameter; off by default, docs/performance.md says why).

Before the snapshot: build what the first invocation would, short of calling out (the function's
HTTP routes, the pydantic validators of our models, the clients). After each restore: renew what
must be unique to the copy (connection pools, the Digest nonce and count, the secrets read, random
seeds: ``runtime.renew_after_restore``). A restored copy's first call then pays for its secret and
a Digest challenge, as a cold start does, and for nothing of ours it could have built ahead.
"""

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

from minted_gateway import runtime

SNAPSTART = "snap-start"  # AWS_LAMBDA_INITIALIZATION_TYPE when Lambda initialises for a snapshot
OURS = ("minted_gateway.",)


def register(handler: Callable[..., Any]) -> None:
    """Register the hooks for ``handler``'s function, when Lambda is making a snapshot of it."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != SNAPSTART:
        return
    from snapshot_restore_py import (  # type: ignore[import-not-found]  # noqa: PLC0415 - Lambda's own module
        register_after_restore,
        register_before_snapshot,
    )

    register_before_snapshot(lambda: before_snapshot(handler))
    register_after_restore(after_restore)


def before_snapshot(handler: Callable[..., Any]) -> None:
    module = sys.modules.get(handler.__module__)
    http_api = getattr(module, "http_api", None)
    if http_api is not None:
        http_api().prepare()  # the routes and their validators
    runtime.prepare_snapshot()
    prefixes = (*OURS, handler.__module__)
    for model in _models():
        if not model.__pydantic_complete__ and model.__module__.startswith(prefixes):
            model.model_rebuild(raise_errors=False)  # its validator, which pydantic would build on first use


def after_restore() -> None:
    runtime.renew_after_restore()


def _models() -> Iterator[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                pending.append(sub)
                yield sub
