"""make dev's console and its helpers (make workflow, make reconcile) against real ``make dev`` processes.

One line per request and per event on the console; one stack record per running stack, removed
by its owner only; and the helpers say in one line when no stack runs, without guessing ports.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local import stackfile
from local.minted_sandbox.control import SandboxControl
from local.minted_sandbox.server import SandboxServer
from local.minted_sandbox.state import SandboxSettings
from minted_gateway.minted import MintedClient, StaticCredentials
from minted_gateway.minted.credentials import PartnerCredentials
from minted_gateway.minted.models import BuyRequest, OrderLine, PriceFixRequest
from tests.stack import free_port
from tests.test_readme import ROOT, STARTED_LINE, MakeDev

# method, path, status, ms, request id, then who called (the token's sub and client; "-" for none)
ACCESS_LINE = re.compile(r"^(GET|POST|PATCH) (\S+) (\d{3}) \d+ ms ([0-9a-f-]{36})( -| (sub|client|customer)=\S+)+$")


@pytest.fixture(scope="module")
def make_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeDev]:
    stack = MakeDev(tmp_path_factory.mktemp("make-dev-console"))
    try:
        stack.wait_until_up()
        yield stack
    finally:
        stack.stop()


def make(target: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        ["make", "--no-print-directory", "-s", target, *args],  # noqa: S607 - make from PATH, as a reader runs it
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


ALL_SCOPES = (
    "minted/prices.read minted/orders.read minted/orders.write minted/customers.read minted/customers.write "
    "minted/plans.read minted/plans.write"
)


def caller_of(stack: MakeDev) -> requests.Session:
    """A partner caller with every scope, its token from make token as a reader gets one."""
    token = make("token", stack.env, f"SCOPES={ALL_SCOPES}")
    assert token.returncode == 0, token.stderr
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token.stdout.strip()}"
    return http


def console_after_banner(stack: MakeDev) -> list[str]:
    return stack.lines[stack.lines.index(STARTED_LINE) + 1 :]


def wait_for_line(stack: MakeDev, predicate: object, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in console_after_banner(stack) if predicate(line)]  # type: ignore[operator]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError("no such line on the console:\n" + "\n".join(stack.lines))


@pytest.mark.timeout(300)
def test_the_console_prints_one_line_per_request_and_one_per_event(make_dev: MakeDev) -> None:
    api = make_dev.url("gateway")
    http = caller_of(make_dev)
    ids = []
    quote = http.post(api + "/quotes", json={"currency": "TRY", "items": [{"sku": "GAU", "amount": 1}]}, timeout=30)
    ids.append(quote.headers["X-Request-Id"])
    order = {"external_id": "console-1", "price_token": quote.json()["price_token"],
             "items": [{"sku": "GAU", "amount": 1}]}  # fmt: skip
    for response in (
        http.post(api + "/orders", json=order, timeout=30),
        http.get(api + "/prices", timeout=30),
        http.get(api + "/orders/console-1", timeout=30),
        http.get(api + "/orders", timeout=30),
        http.get(api + "/orders/no-such-order", timeout=30),
        http.get(api + "/legal", timeout=30),
        http.get(api + "/customers/no-such-customer", timeout=30),
    ):
        ids.append(response.headers["X-Request-Id"])
    wait_for_line(make_dev, lambda line: ids[-1] in line)
    wait_for_line(make_dev, lambda line: line.startswith("event  OrderSubmitted") and "console-1" in line)
    lines = console_after_banner(make_dev)
    for request_id in ids:
        assert len([line for line in lines if request_id in line]) == 1, (request_id, lines)
    # Nothing but access lines and event lines: no metrics (EMF), no function log lines, no warnings.
    assert [line for line in lines if not (ACCESS_LINE.match(line) or line.startswith("event  "))] == [], lines


@pytest.mark.timeout(300)
def test_an_order_not_in_the_ledger_is_printed_and_make_reconcile_runs_on_the_recorded_stack(
    make_dev: MakeDev,
) -> None:
    # Placed at Minted past the gateway: the ledger never has it.
    partner = PartnerCredentials(username="partner", password="sandbox-password", base_url=make_dev.url("sandbox"))
    minted = MintedClient(StaticCredentials(partner))
    token = minted.price_fix(PriceFixRequest()).token
    minted.buy(BuyRequest(price_token=token, external_id="stray-console-1", items=[OrderLine(sku="GAU", amount=1)]))
    result = make("reconcile", make_dev.env, "ACTION=compare_with_minted")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["not_in_ledger"] >= 1  # its answer alone: the function's lines are dropped
    line = wait_for_line(make_dev, lambda line: "OrderNotInLedger" in line and "stray-console-1" in line)
    assert line.startswith("event  OrderNotInLedger") and "no_row" in line


@pytest.mark.timeout(300)
def test_a_plan_run_is_printed_and_make_plans_tick_answers_with_the_run_alone(make_dev: MakeDev) -> None:
    api, http = make_dev.url("gateway"), caller_of(make_dev)
    who = {"external_id": "cust-console-plan", "identity_number": "10000000146", "firstname": "Ayşe",
           "lastname": "Yılmaz", "email": "ayse@example.com", "phone": "+905322808035"}  # fmt: skip
    assert http.post(api + "/customers", json=who, timeout=30).status_code in (200, 201)
    plan = {"plan_id": "console-plan", "customer_external_id": "cust-console-plan", "sku": "GAU", "amount": 500,
            "currency": "TRY", "calendar": {"frequency": "monthly", "day_of_month": 5, "time": "09:00"}}  # fmt: skip
    assert http.post(api + "/plans", json=plan, timeout=30).status_code == 201
    result = make("plans-tick", make_dev.env, "PLAN=console-plan")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)  # its answer alone: the function's lines are dropped
    assert run["plan_id"] == "console-plan" and run["state"] == "succeeded", run
    line = wait_for_line(make_dev, lambda line: "PlanRunSucceeded" in line and "console-plan" in line)
    assert line.startswith("event  PlanRunSucceeded") and run["period"] in line


@pytest.mark.timeout(300)
def test_a_second_make_dev_on_the_same_ports_says_which_are_taken_and_starts_nothing(make_dev: MakeDev) -> None:
    """Werkzeug's own message named neither make dev nor the variables (found by a new-user trial)."""
    second = make("dev", make_dev.env)
    assert second.returncode != 0
    for variable in ("GATEWAY_PORT", "SANDBOX_PORT", "MOTO_PORT"):
        assert f"{variable}={make_dev.env[variable]}" in second.stderr, second.stderr
    assert "Traceback" not in second.stderr + second.stdout and "starting moto_server" not in second.stdout
    assert requests.get(make_dev.url("gateway") + "/prices", timeout=10).status_code == 401  # the first still serves


@pytest.mark.timeout(300)
def test_make_workflow_passes_any_id_through_the_shell_untouched(make_dev: MakeDev) -> None:
    for external_id in ("it's", 'a "quoted" $(id) id', "back\\slash;`x`"):
        result = make("workflow", {**make_dev.env, "ID": external_id})
        assert result.returncode != 0
        assert result.stderr.splitlines()[0] == (
            f"{external_id}: no buy workflow was started for this external_id (POST /orders/workflow starts one)"
        )


@pytest.mark.timeout(300)
def test_make_workflow_with_no_recorded_stack_says_so_instead_of_trying_the_default_ports(
    make_dev: MakeDev, tmp_path: Path
) -> None:
    # MOTO_PORT names a live stack, but no make dev recorded itself: never a guess at a port.
    env = {
        **make_dev.env,
        stackfile.STACK_DIR_VARIABLE: str(tmp_path / "none"),
        "MOTO_PORT": str(make_dev.ports["moto"]),
    }
    result = make("workflow", env, "ID=anything")
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == stackfile.NO_STACK_MESSAGE


@pytest.mark.timeout(120)
@pytest.mark.parametrize("owner", ["gone", "alive_but_not_answering"])
def test_make_reconcile_with_a_stale_record_prints_one_line_and_no_traceback(tmp_path: Path, owner: str) -> None:
    dead = free_port()
    stacks = tmp_path / "stacks"
    env = {key: value for key, value in os.environ.items() if key not in ("AWS_ENDPOINT_URL", "GATEWAY_PORT")}
    env[stackfile.STACK_DIR_VARIABLE] = str(stacks)
    process = subprocess.Popen(["sleep", "600"])  # noqa: S607 - a process that stands for a stack's owner
    try:
        if owner == "gone":
            process.kill()
            process.wait()
        stacks.mkdir()
        url = f"http://127.0.0.1:{dead}"
        record = {"gateway_url": url, "sandbox_url": url, "aws_url": url, "workflow_arn": "", "pid": process.pid}
        (stacks / f"{process.pid}.json").write_text(json.dumps(record), encoding="utf-8")
        result = make("reconcile", env)
    finally:
        process.kill()
        process.wait()
    assert result.returncode != 0
    own_lines = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert len(own_lines) == 1 and own_lines[0].startswith(stackfile.NO_STACK_MESSAGE), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.timeout(400)
def test_a_second_make_dev_in_the_same_checkout_leaves_the_first_ones_record(make_dev: MakeDev, tmp_path: Path) -> None:
    stacks = Path(make_dev.env[stackfile.STACK_DIR_VARIABLE])
    first = {path.name for path in stacks.glob("*.json")}
    assert len(first) == 1
    second = MakeDev(tmp_path, {stackfile.STACK_DIR_VARIABLE: str(stacks)})
    try:
        second.wait_until_up()
        assert len(list(stacks.glob("*.json"))) == 2
    finally:
        stopping = time.monotonic()
        second.stop()
    assert {path.name for path in stacks.glob("*.json")} == first, (
        f"stopped in {time.monotonic() - stopping:.1f} s; its console ended:\n" + "\n".join(second.lines[-15:])
    )
    # The helpers still find the first stack (its record, by GATEWAY_PORT as make dev's shell has it).
    result = make("workflow", make_dev.env, "ID=after-the-second")
    assert "no buy workflow was started" in result.stderr, result.stderr


@pytest.mark.timeout(400)
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the stack's threads in /proc (Linux)")
def test_a_sigterm_the_kernel_hands_to_a_server_thread_still_stops_make_dev(tmp_path: Path) -> None:
    # A process's signal goes to any of its threads that takes it; Python runs the handler in the main
    # thread, which a wait on a threading.Event never woke: the stack hung, was killed, and left its
    # record (CI, twice). kill() on a thread's id makes the kernel offer the signal to that thread first.
    stack = MakeDev(tmp_path)
    try:
        stack.wait_until_up()
        (record,) = (tmp_path / "stacks").glob("*.json")
        pid = int(record.stem)
        threads = sorted(int(task.name) for task in Path(f"/proc/{pid}/task").iterdir() if int(task.name) != pid)
        assert threads, "make dev runs its servers on threads"
        os.kill(threads[-1], signal.SIGTERM)
        deadline = time.monotonic() + 60
        while stack.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stack.process.poll() is not None, "make dev did not stop:\n" + "\n".join(stack.lines[-15:])
        assert not record.exists()
    finally:
        stack.stop()


# ---------------------------------------------------------------- MINTED_BASE_URL: another Minted
@pytest.fixture(scope="module")
def other_minted() -> Iterator[SandboxServer]:
    """A Minted-compatible host of its own, on its own port, with credentials the stack's sandbox does not use."""
    settings = SandboxSettings(username="other-partner", password="other-secret-9")
    with SandboxServer(settings) as server:
        yield server  # type: ignore[misc]


@pytest.mark.timeout(400)
def test_make_dev_with_minted_base_url_runs_everything_against_that_minted(
    other_minted: SandboxServer, tmp_path: Path
) -> None:
    env_file = tmp_path / "minted.env"
    env_file.write_text("# git-ignored, like .dev/minted.env\nMINTED_PASSWORD=other-secret-9\n", encoding="utf-8")
    stack = MakeDev(tmp_path, {"MINTED_BASE_URL": other_minted.url, "MINTED_USERNAME": "other-partner",
                               "MINTED_ENV_FILE": str(env_file)})  # fmt: skip
    minted = SandboxControl(other_minted.url)
    try:
        stack.wait_until_up()
        banner = "\n".join(stack.lines)
        assert f"Minted           {other_minted.url}  (MINTED_BASE_URL, Digest user other-partner" in banner
        assert "Minted sandbox" not in banner and "other-secret-9" not in banner
        with pytest.raises(requests.ConnectionError):  # the stack's own sandbox is not started
            requests.get(stack.url("sandbox") + "/_sandbox/health", timeout=5)
        api = stack.url("gateway")
        http = caller_of(stack)
        # The API: a quote and a buy reach the other Minted.
        quote = http.post(api + "/quotes", json={"items": [{"sku": "GAU", "amount": 1}]}, timeout=30)
        assert quote.status_code == 201, quote.text
        order = {"external_id": "elsewhere-1", "price_token": quote.json()["price_token"],
                 "items": [{"sku": "GAU", "amount": 1}]}  # fmt: skip
        assert http.post(api + "/orders", json=order, timeout=30).status_code == 201
        assert minted.orders_created() == 1
        # The workflow: its own quote and buy, at the other Minted too.
        started = http.post(
            api + "/orders/workflow",
            timeout=30,
            json={
                "external_id": "elsewhere-plan-1",
                "items": [{"sku": "GAG", "amount": 2}],
                "poll_interval_seconds": 1,
            },
        )
        assert started.status_code == 202, started.text
        result = make("workflow", stack.env, "ID=elsewhere-plan-1")
        assert result.stdout.strip().endswith("elsewhere-plan-1: SUCCEEDED"), result.stdout + result.stderr
        assert minted.orders_created() == 2
        # The schedules: the price refresh and the reconciler's runs ask the other Minted.
        assert minted.served("prices") >= 1 and minted.served("list_orders") >= 1
    finally:
        stack.stop()


@pytest.mark.timeout(120)
def test_make_dev_with_minted_base_url_and_no_password_says_what_to_do(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("AWS_ENDPOINT_URL",)}
    env.update(MINTED_BASE_URL="https://api.staging.mintedconnect.com", MINTED_USERNAME="someone",
               MINTED_ENV_FILE=str(tmp_path / "absent.env"), GATEWAY_PORT=str(free_port()))  # fmt: skip
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "dev"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,  # noqa: S607
        capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no MINTED_PASSWORD in" in result.stderr and "Traceback" not in result.stderr
