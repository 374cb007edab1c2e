"""The README's walkthroughs, run in order against one real ``make dev`` on free, non-default ports.

``make dev`` runs as a reader would start it (with GATEWAY_PORT, SANDBOX_PORT and MOTO_PORT); each
marked block runs in bash from the project's folder with the README's ports swapped for the
stack's; the answers are compared with the README's on structure, status codes and stable values
(prices, tokens, codes and times vary). What a block exports (``export TOKEN=$(make token ...)``)
stays for the walkthrough's later blocks, as it would in the reader's shell. See
tests/readme_walkthroughs.py for the markers.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stackfile import STACK_DIR_VARIABLE
from tests import readme_walkthroughs as readme
from tests.stack import customer, free_port

ROOT = Path(__file__).resolve().parents[1]
README = readme.parse()
STARTED_LINE = "Ctrl-C stops the stack."
README_PORTS = {"3000": "gateway", "8080": "sandbox", "5000": "moto"}


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


class MakeDev:
    """``make dev`` in its own process group; its console is collected line by line."""

    def __init__(self, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.ports = {"gateway": free_port(), "sandbox": free_port(), "moto": free_port()}
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("AWS_ENDPOINT_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")  # a reader's shell, not make test's
        }
        self.env.update(
            GATEWAY_PORT=str(self.ports["gateway"]),
            SANDBOX_PORT=str(self.ports["sandbox"]),
            MOTO_PORT=str(self.ports["moto"]),
            **{STACK_DIR_VARIABLE: str(tmp / "stacks")},
        )
        self.env.update(env or {})
        self.lines: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "dev"],  # noqa: S607 - make from PATH, as a reader runs it
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._lines.put(line)
        self._lines.put(None)

    def wait_until_up(self, timeout: float = 240) -> None:
        """Until the banner's last line (a first run installs packages first); the console is kept."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("make dev did not come up:\n" + "\n".join(self.lines)) from None
            if line is None:
                raise AssertionError("make dev stopped:\n" + "\n".join(self.lines))
            if line.strip() == STARTED_LINE:
                return

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def stop(self) -> None:
        # The process group we started (make and its python). SIGTERM, which make dev handles like
        # Ctrl-C: SIGINT is ignored by processes started in the background of a non-interactive shell.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
            # make may exit before its python has finished cleaning up (its record, its servers): stopped
            # means the whole group is gone (CI once found a record still there just after make exited).
            deadline = time.monotonic() + 30
            while _group_alive(self.process.pid):
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired("make dev", 30)
                time.sleep(0.1)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def localise(self, text: str) -> str:
        """The README's ports (3000, 8080, 5000) swapped for this stack's."""
        return re.sub(
            r"127\.0\.0\.1:(3000|8080|5000)\b", lambda m: f"127.0.0.1:{self.ports[README_PORTS[m.group(1)]]}", text
        )


@pytest.fixture(scope="module")
def make_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeDev]:
    stack = MakeDev(tmp_path_factory.mktemp("make-dev"))
    try:
        stack.wait_until_up()
        yield stack
    finally:
        stack.stop()


def test_the_readme_marks_its_walkthroughs_and_gives_each_its_own_ids() -> None:
    names = [walkthrough.name for walkthrough in README.walkthroughs]
    assert names[:3] == ["buy", "workflow", "sandbox"] and README.banner
    assert all(step.expect is not None for w in README.walkthroughs for step in w.steps)
    owners: dict[str, str] = {}
    for walkthrough in README.walkthroughs:
        for step in walkthrough.steps:
            for order_id in re.findall(r'"external_id": "([^"]+)"|ID=(\S+)|/orders/([\w-]+)', step.script):
                found = next(part for part in order_id if part)
                assert owners.setdefault(found, walkthrough.name) == walkthrough.name, f"{found} is shared"


@pytest.mark.timeout(300)
def test_make_dev_prints_the_banner_the_readme_shows(make_dev: MakeDev) -> None:
    expected = make_dev.localise("\n".join(README.banner))
    assert not readme.text_differences(expected, "\n".join(make_dev.lines)), make_dev.lines
    (record,) = Path(make_dev.env[STACK_DIR_VARIABLE]).glob("*.json")
    recorded = json.loads(record.read_text(encoding="utf-8"))
    assert recorded["gateway_url"] == make_dev.url("gateway") and recorded["aws_url"] == make_dev.url("moto")


def exported_by(script_env: Path, before: dict[str, str]) -> dict[str, str]:
    """The variables a block exported (or changed), from ``env -0`` written after it ran."""
    if not script_env.exists():
        return {}
    pairs = [entry.split("=", 1) for entry in script_env.read_text(encoding="utf-8").split("\0") if "=" in entry]
    return {name: value for name, value in pairs if before.get(name) != value and not name.startswith(("BASH", "_"))
            and name not in ("SHLVL", "PWD", "OLDPWD")}  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("walkthrough", README.walkthroughs, ids=lambda w: w.name)
def test_walkthrough(make_dev: MakeDev, walkthrough: readme.Walkthrough, tmp_path: Path) -> None:
    last_answer: Any = None
    shell = dict(make_dev.env)  # the reader's shell: what a block exports, the later blocks see
    script_env = tmp_path / "env"
    for number, step in enumerate(walkthrough.steps, start=1):
        if step.sandbox_seconds:  # what "two seconds later" means, without sleeping on a slow machine
            response = requests.post(
                make_dev.url("sandbox") + "/_sandbox/clock", json={"advance_seconds": step.sandbox_seconds}, timeout=10
            )
            assert response.status_code == 200
        script = make_dev.localise(readme.fill_placeholders(step.script, last_answer))
        script_env.unlink(missing_ok=True)
        result = subprocess.run(  # noqa: S603 - the README's own commands
            ["bash", "-c", f"set -e\n{script}\nenv -0 > '{script_env}'"],  # noqa: S607 - bash, as a reader pastes it
            cwd=ROOT,
            env=shell,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        shell.update(exported_by(script_env, shell))
        where = f"{walkthrough.name} step {number}:\n{step.script}\n--- printed:\n{result.stdout}{result.stderr}"
        assert (result.returncode != 0) == step.fails, where
        assert step.expect is not None
        expect = step.expect
        if expect.kind == "text":
            problems = readme.text_differences(make_dev.localise(expect.text), result.stdout + result.stderr)
        elif expect.kind == "http":
            problems = readme.http_differences(make_dev.localise(expect.text), result.stdout, expect.vary)
        else:
            documents = readme.json_documents(result.stdout)
            assert documents, where
            # A reader pipes a step's answer to jq: no function's log or metric line may come with it.
            stray = [d for d in documents if isinstance(d, dict) and ("_aws" in d or {"level", "message"} <= d.keys())]
            assert not stray, f"{where}\n--- log or metric lines on stdout: {stray[:2]}"
            want = json.loads(make_dev.localise(expect.text), parse_float=Decimal)
            problems = readme.differences(want, documents[-1], expect.vary)
        assert not problems, f"{where}\n--- differs from the README: {problems}"
        documents = readme.json_documents(result.stdout)
        last_answer = documents[-1] if documents else last_answer


def test_the_comparison_is_strict_on_structure_and_stable_values_and_tolerant_of_volatile_ones() -> None:
    shown = {"state": "SUBMITTED", "total": 1, "items": [{"sku": "GAU"}, "..."], "history": ["..."]}
    same_shape = {"state": "SUBMITTED", "total": 2, "items": [{"sku": "GAU"}, {"sku": "GAG"}], "history": [], "x": 1}
    assert readme.differences(shown, same_shape) == []
    assert readme.differences(shown, {**same_shape, "state": "UNKNOWN"})  # a stable value differs
    assert readme.differences(shown, {**same_shape, "total": "2"})  # a volatile value of another type
    assert readme.differences(shown, {k: v for k, v in same_shape.items() if k != "items"})  # a key is missing
    assert readme.differences(shown, {**same_shape, "items": []})  # fewer items than shown
    assert readme.text_differences("a\n...\nc", "a\nb\nc") == []
    assert readme.text_differences("c\na", "a\nb\nc")  # out of order
    http = "HTTP/1.1 201 Created\nLocation: /orders/x\n\n" + json.dumps({"state": "SUBMITTED"})
    assert readme.http_differences(http, http.replace("201 Created", "201 CREATED"), frozenset()) == []
    assert readme.http_differences(http, http.replace("201", "200"), frozenset())
    assert readme.http_differences(http, http.replace("/orders/x", "/orders/y"), frozenset())


@pytest.mark.timeout(300)
def test_the_make_dev_console_logs_each_request_once_and_no_personal_data(make_dev: MakeDev) -> None:
    """An access-log line per request (method, path, status, ms, id), and a B2B2C buyer's identity
    number, email and phone in none of the console's lines."""
    api = make_dev.url("gateway")
    token = subprocess.run(  # the README's way to a token: make token, reading the stack's recorded key
        ["make", "--no-print-directory", "token", "SCOPES=minted/orders.write"],  # noqa: S607 - make from PATH
        cwd=ROOT, env=make_dev.env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout.strip()  # fmt: skip
    bearer = {"Authorization": f"Bearer {token}"}
    quote = requests.post(
        api + "/quotes", json={"items": [{"sku": "GAG", "amount": 2}]}, headers=bearer, timeout=30
    ).json()
    person = customer("cust-console", email="console.buyer@example.com", phone="+905551234567")
    body = {"external_id": "console-order", "price_token": quote["price_token"], "items": [{"sku": "GAG", "amount": 2}],
            "customer": person}  # fmt: skip
    response = requests.post(api + "/orders", json=body, headers=bearer, timeout=30)
    assert response.status_code == 201, response.text
    request_id = response.headers["X-Request-Id"]
    deadline = time.monotonic() + 30  # the console is read by another thread: wait for the line, within a bound
    while not any(request_id in logged for logged in make_dev.lines):
        assert time.monotonic() < deadline, "\n".join(make_dev.lines[-50:])
        time.sleep(0.1)
    console = "\n".join(make_dev.lines)
    # The line names its caller (the token's subject and client), never the token.
    assert re.search(r"^POST /orders 201 \d+ ms [0-9a-f-]{36} sub=local-developer client=make-dev$", console, re.M)
    for secret in (person["identity_number"], person["email"], person["phone"], person["phone"].lstrip("+")):
        assert secret not in console
    assert token.rsplit(".", 1)[1] not in console
