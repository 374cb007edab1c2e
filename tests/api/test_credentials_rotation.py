"""The rotation runbook (docs/operations.md, "Minted credentials") run against make dev's stack while
buys go on: the password changes at Minted, ``make credentials`` puts the new one, the running
functions pick it up on their next 401 with no restart, and the old password no longer works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from minted_gateway.minted import MintedClient, StaticCredentials
from minted_gateway.minted import errors as minted_errors
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER, partner_credentials
from tests.stack import Api, order

ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = f"rotated-{uuid.uuid4().hex}"
# Only bounds a broken stack: each step is polled for and ends as soon as it has happened.
PATIENCE_SECONDS = 120


def make_credentials(api: Api, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """What ``make credentials`` runs, against this test's stack; the answers come on standard input."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "minted"), str(ROOT)])}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local.credentials", "--aws-url", api.stack.aws_url, *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=PATIENCE_SECONDS, check=False,
    )  # fmt: skip


def stored(api: Api) -> dict[str, str]:
    value = api.secrets().get_secret_value(SecretId=api.stack.env["PARTNER_SECRET_ID"])["SecretString"]
    parsed: dict[str, str] = json.loads(value)
    return parsed


class Buyer(threading.Thread):
    """A partner's app buying one order after another; a failed buy is retried once, later (here:
    once the runbook's put is done, so the test does not depend on how long that takes)."""

    def __init__(self, stack_api: Api, put_done: threading.Event) -> None:
        super().__init__(daemon=True)
        self.api = Api(stack_api.stack)  # its own HTTP session
        self.put_done = put_done
        self.buys: list[tuple[str, bool, list[int]]] = []  # external_id, started after the put, statuses
        self.halt = threading.Event()
        self.refused = threading.Event()  # a first attempt failed

    def run(self) -> None:
        while not self.halt.is_set():
            external_id, after_put, statuses = f"rot-{uuid.uuid4().hex[:12]}", self.put_done.is_set(), []
            if not self._buy(external_id, statuses):
                self.refused.set()
                self.put_done.wait(PATIENCE_SECONDS)
                self._buy(external_id, statuses)
            self.buys.append((external_id, after_put, statuses))

    def _buy(self, external_id: str, statuses: list[int]) -> bool:
        quote = self.api.post("/quotes", {"currency": "TRY", "items": [{"sku": "GAU", "amount": Decimal("0.1")}]})
        if quote.status_code != 201:
            statuses.append(quote.status_code)
            return False
        placed = self.api.post("/orders", order(external_id, quote.json()["price_token"], amount="0.1"))
        statuses.append(placed.status_code)
        return placed.status_code == 201


def wait_for(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain for {what}"
        time.sleep(0.05)


@pytest.mark.timeout(600)  # it waits up to PATIENCE_SECONDS at several steps: pytest's 120 s would cut it first
def test_rotating_the_minted_password_while_buys_run(api: Api) -> None:
    put_done = threading.Event()
    buyer = Buyer(api, put_done)
    buyer.start()
    try:
        wait_for("buys with the old password", lambda: len(buyer.buys) >= 2)
        # 1. The password changes at Minted: from now on Minted refuses the old one.
        api.minted.rotate_credentials(SANDBOX_USER, NEW_PASSWORD)
        wait_for("a buy refused in the gap", buyer.refused.is_set)
        # 2. make credentials: a typo is refused before anything is stored ...
        typo = make_credentials(api, f"{SANDBOX_USER}\nnot-{NEW_PASSWORD}\nnot-{NEW_PASSWORD}\n")
        assert typo.returncode == 1 and "nothing was stored" in typo.stderr
        assert stored(api)["password"] == SANDBOX_PASSWORD
        # ... the new password is tried at Minted, then stored; the secret's other fields stay.
        before = stored(api)
        done = make_credentials(api, f"{SANDBOX_USER}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
        assert done.returncode == 0, done.stderr
        assert NEW_PASSWORD not in done.stdout + done.stderr
        assert stored(api) == {**before, "password": NEW_PASSWORD}
        put_done.set()
        # 3. The running functions (their secret cached for minutes) re-read it on their next 401.
        wait_for("buys after the put", lambda: sum(1 for _, after, _ in buyer.buys if after) >= 3)
    finally:
        put_done.set()
        buyer.halt.set()
        buyer.join(PATIENCE_SECONDS)
    for external_id, after_put, statuses in buyer.buys:
        assert statuses[-1] == 201 and len(statuses) <= 2, (external_id, statuses)  # no buy fails more than once
        if after_put:
            assert statuses == [201], (external_id, statuses)  # no buy fails once the secret holds the new one
        else:
            assert set(statuses[:-1]) <= {502}, statuses  # the gap: upstream_misconfigured, nothing bought
    assert any(len(statuses) == 2 for _, _, statuses in buyer.buys), "no buy ran in the gap: the test saw nothing"
    assert api.minted.orders_created() == len(buyer.buys)  # each buy reached Minted's books once
    # 4. Verify: the old password no longer works at Minted, the new one does.
    with pytest.raises(minted_errors.MintedBadCredentialsError):
        MintedClient(StaticCredentials(partner_credentials(api.minted.base_url))).order_statuses()
    MintedClient(StaticCredentials(partner_credentials(api.minted.base_url, NEW_PASSWORD))).order_statuses()


@pytest.fixture(autouse=True)
def sandbox_password_afterwards(api: Api) -> Iterator[None]:
    """The package's other tests use the stack's own password."""
    yield
    api.minted.rotate_credentials(SANDBOX_USER, SANDBOX_PASSWORD)
    api.put_partner_secret(api.secrets(), SANDBOX_PASSWORD)


def test_rolling_back_makes_the_previous_credentials_current_again(api: Api) -> None:
    assert stored(api)["password"] == SANDBOX_PASSWORD
    api.minted.rotate_credentials(SANDBOX_USER, NEW_PASSWORD)
    assert make_credentials(api, f"{SANDBOX_USER}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n").returncode == 0
    assert api.post("/orders", order(f"rb-{uuid.uuid4().hex[:10]}", api.quote())).status_code == 201
    # Minted takes the change back (say, it was made on the wrong account): roll the secret back too.
    api.minted.rotate_credentials(SANDBOX_USER, SANDBOX_PASSWORD)
    rolled = make_credentials(api, "", "--rollback")
    assert rolled.returncode == 0, rolled.stderr
    assert stored(api)["password"] == SANDBOX_PASSWORD
    assert api.post("/orders", order(f"rb-{uuid.uuid4().hex[:10]}", api.quote())).status_code == 201
