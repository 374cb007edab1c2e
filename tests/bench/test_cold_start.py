"""make bench's cold start at the smallest size: one round, so that the bench code is run by the
tests. Nothing here compares timings; the checks are on what the runs did."""

from __future__ import annotations

import multiprocessing
import sys
import sysconfig
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

import pytest
from pydantic import BaseModel

from bench import cold_start
from bench.cold import ColdRuntime, XRayDaemon, cold_starts, run_child
from bench.cold_start import LIBRARY_KINDS
from bench.measure import ROOT, clocked_calls, overhead_areas
from bench.report import cold_start_section, libraries_split, ours_budget
from bench.run import Bench, free_port, http_event, stack_process
from local.devstack import DevStack
from local.template import function_environment, functions_of, load_template
from minted_gateway import runtime

# Each test starts interpreters and servers: 100 s on a busy machine, past pytest's default 120 s with its set-up.
pytestmark = pytest.mark.timeout(600)

# The venv's packages stand in for the layer and the runtime's boto3 (make bench installs those).
VENV_SITE = [Path(sysconfig.get_paths()["purelib"])]


def test_a_cold_start_is_measured_beside_a_floor_that_makes_the_same_calls(stack: DevStack) -> None:
    bench = Bench(stack, iterations=1)
    template = load_template()
    code = {name: (spec.handler.split(".")[0], ROOT / spec.code_uri) for name, spec in functions_of(template).items()}
    env = {**function_environment(template, {**stack.tables, **stack.secrets}, {"Stage": "prod"}),
           "AWS_ENDPOINT_URL": stack.aws_url}  # fmt: skip
    wanted = {"GET /prices (cached)", "POST /orders, new buy"}
    operations = [op for op in bench.cold_operations() if op.name in wanted]
    buys_before = bench.minted.orders_created()

    cold = cold_starts(operations, code, ColdRuntime(sys.executable, VENV_SITE, env), runs=1)

    figures = {op["name"]: op for op in cold["operations"]}
    assert figures["GET /prices (cached)"]["calls"] == ["dynamodb GetItem"]
    assert figures["POST /orders, new buy"]["calls"] == sorted([
        "POST /partner/order/digital/buy (401)", "POST /partner/order/digital/buy",  # Digest's challenge, then the buy
        "dynamodb PutItem", "dynamodb UpdateItem",  # the claim, then Minted's answer
        "dynamodb GetItem",  # the quote's currency (the gateway checks its own quotes)
        "secretsmanager GetSecretValue", "secretsmanager GetSecretValue",  # ledger key, partner credentials
    ])  # fmt: skip
    # Subject, floor and libraries each bought once in the recording runs, and they and the libraries run
    # without Powertools once in the round:
    # the floor's replay is a real buy with its own price token, not a refused request.
    assert bench.minted.orders_created() - buys_before == 7
    for op in cold["operations"]:
        assert op["runs"] == 1
        assert 0 < op["import_ms"] < op["cold_start_ms"]
        assert 0 < op["floor_import_ms"] < op["floor_ms"]
    assert cold["xray_segments"] == 0  # the default tracing is Lambda's own: no X-Ray SDK in the function

    section = "\n".join(cold_start_section(cold))
    assert "| POST /orders, new buy |" in section
    assert "not built yet" not in section  # every operation has its row, the reconciliation too
    assert "| sell | not built yet |" not in section and "| order history | not built yet |" not in section


def test_the_libraries_runs_hold_the_libraries_and_nothing_of_ours() -> None:
    """The libraries column and its split stand for the libraries alone: a run that imported our package
    would count our modules (the tracing wrapper, SnapStart's hooks, the settings model) as libraries'."""
    watched = ["minted_gateway", "aws_lambda_powertools", "pydantic._internal._model_construction", "aws_xray_sdk"]
    daemon = XRayDaemon()
    try:
        for tracing in ("lambda", "xray-sdk"):
            env = {"TRACING": tracing, "AWS_DEFAULT_REGION": "eu-central-1"}
            runtime_ = ColdRuntime(sys.executable, VENV_SITE, env)
            for kind in LIBRARY_KINDS:
                for http in (True, False):
                    spec = {"kind": kind, "calls": [], "http": http, "report_modules": watched}
                    loaded = run_child(runtime_, spec, None, daemon)["modules"]
                    powertools = kind == "libraries"
                    assert loaded == {"minted_gateway": False, "aws_lambda_powertools": powertools,
                                      "pydantic._internal._model_construction": True,
                                      "aws_xray_sdk": powertools and tracing == "xray-sdk"}, (kind, http)  # fmt: skip
        daemon.drain()
        assert daemon.segments > 0  # the xray-sdk libraries runs traced their handler, as Tracer does ours
    finally:
        daemon.close()


def test_the_libraries_run_sets_powertools_up_as_our_handlers_do() -> None:
    """observed() stands in for minted_gateway.observability without importing it: the same names."""
    from minted_gateway import tracing
    from minted_gateway.observability import observability

    logger, _, metrics = observability()
    assert (logger.service, metrics.provider.namespace) == (cold_start.SERVICE, cold_start.NAMESPACE)
    assert metrics.provider.service == cold_start.SERVICE
    assert cold_start.TRACED_MODULES == tracing.TRACED_MODULES


def test_the_report_splits_the_libraries_column_row_by_row() -> None:
    rows = [  # CPU ms: floor, pydantic-only run, libraries run, subject
        {"name": "slow", "floor_cpu_ms": 100.0, "pydantic_cpu_ms": 115.0, "libraries_cpu_ms": 120.0, "cpu_ms": 140.0,
         "floor_ms": 100.0, "libraries_ms": 121.0},
        {"name": "close", "floor_cpu_ms": 200.0, "pydantic_cpu_ms": 230.0, "libraries_cpu_ms": 250.0, "cpu_ms": 275.0,
         "floor_ms": 200.0, "libraries_ms": 250.0},
    ]  # fmt: skip
    text = " ".join(libraries_split(rows, rows))
    assert "pydantic's model machinery (and an HTTP row's TypeAdapter) is 0.15× the floor's" in text
    assert "Powertools Logger and Metrics around the handler 0.05-0.1×" in text
    # slow: 140 - 5 = 135 > 130 still misses; close: 275 - 20 = 255 < 260 would not.
    assert "1 of the 2 rows that miss would still miss by CPU time" in text
    assert ours_budget(rows) == [9.0, 10.0]  # 1.3 × each row's own floor, less its libraries column
    assert libraries_split([{k: v for k, v in rows[0].items() if not k.startswith("pydantic")}], []) == []


def test_models_build_their_validators_on_first_use() -> None:
    # minted_gateway (imported above through bench) turns pydantic's defer_build on for every model.
    class Late(BaseModel):
        amount: int

    assert not Late.__pydantic_complete__
    assert Late.model_validate({"amount": "3"}).amount == 3
    assert Late.__pydantic_complete__


HANDLER_WITH_MODELS = """
from pydantic import BaseModel, ConfigDict


class Line(BaseModel):
    model_config = ConfigDict(defer_build=True)
    sku: str


class Unused(BaseModel):
    model_config = ConfigDict(defer_build=True)
    note: str


def handler(event, context):
    return Line.model_validate(event).sku
"""


def test_the_model_timer_names_each_class_made_and_each_validator_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BENCH_COLD_MODELS: how the per-class levers were found. A class made at import is listed as made; only
    the one the first call used is listed as built."""
    (tmp_path / "timed_handler.py").write_text(HANDLER_WITH_MODELS, encoding="utf-8")
    monkeypatch.setenv("BENCH_COLD_MODELS", str(tmp_path))
    daemon = XRayDaemon()
    try:
        spec = {"kind": "subject", "module": "timed_handler", "event": {"sku": "GAU"}}
        result = run_child(ColdRuntime(sys.executable, VENV_SITE, {}), spec, tmp_path, daemon)
    finally:
        daemon.close()
    assert result["result"] == "GAU"
    (written,) = tmp_path.glob("models-timed_handler-*.tsv")
    rows = [line.split("\t") for line in written.read_text(encoding="utf-8").splitlines()]
    assert all(float(ms) >= 0 for ms, _, _ in rows)
    assert {(kind, name) for _, kind, name in rows} == {
        ("class", "timed_handler.Line"),
        ("class", "timed_handler.Unused"),
        ("build", "timed_handler.Line"),
    }


def test_an_operation_that_reads_no_secret_makes_no_secrets_manager_client(stack: DevStack) -> None:
    bench = Bench(stack, iterations=1)
    bench.call("PricesFunction", http_event("prices/get_prices.json"))  # the cache now holds fresh prices
    runtime.reset()  # a new container

    assert bench.call("PricesFunction", http_event("prices/get_prices.json"))["statusCode"] == 200

    assert runtime.secretsmanager.cache_info().currsize == 0  # a client costs ~40 ms of a cold start
    assert runtime.dynamodb.cache_info().currsize == 1


def test_the_customers_cold_start_is_one_minted_call_and_no_table(stack: DevStack) -> None:
    """Customers live at Minted: the function's first call reads the partner's secret and asks Minted once."""
    bench = Bench(stack, iterations=1)
    template = load_template()
    code = {name: (spec.handler.split(".")[0], ROOT / spec.code_uri) for name, spec in functions_of(template).items()}
    env = {**function_environment(template, {**stack.tables, **stack.secrets}, {"Stage": "prod"}),
           "AWS_ENDPOINT_URL": stack.aws_url}  # fmt: skip
    wanted = {"POST /customers, new", "GET /customers/{id}/balances"}
    operations = [op for op in bench.cold_operations() if op.name in wanted]

    cold = cold_starts(operations, code, ColdRuntime(sys.executable, VENV_SITE, env), runs=1)

    figures = {op["name"]: op for op in cold["operations"]}
    assert figures["POST /customers, new"]["calls"] == sorted(
        ["POST /partner/customer (401)", "POST /partner/customer", "secretsmanager GetSecretValue"]
    )
    assert not any(call.startswith("dynamodb") for op in figures.values() for call in op["calls"])


def test_the_warm_customer_rows_count_their_round_trips(stack: DevStack) -> None:
    rows = {row["name"]: row for row in Bench(stack, iterations=2).warm_customers()}
    assert set(rows) == {"create customer", "create customer, repeated", "get customer", "customer balances"}
    assert rows["create customer"]["round_trips"]["minted_calls"] == 1
    assert rows["create customer, repeated"]["round_trips"]["minted_calls"] == 2  # refused as taken, looked up
    assert rows["customer balances"]["round_trips"]["minted_calls"] == 1
    assert all(row["round_trips"]["dynamodb_calls"] == [] for row in rows.values())


def test_the_sell_and_history_cold_starts_are_measured_beside_floors_that_make_their_calls(stack: DevStack) -> None:
    bench = Bench(stack, iterations=1)
    template = load_template()
    code = {name: (spec.handler.split(".")[0], ROOT / spec.code_uri) for name, spec in functions_of(template).items()}
    env = {**function_environment(template, {**stack.tables, **stack.secrets}, {"Stage": "prod"}),
           "AWS_ENDPOINT_URL": stack.aws_url}  # fmt: skip
    wanted = {"POST /orders, new sell", "GET /orders, a customer's history"}
    operations = [op for op in bench.cold_operations() if op.name in wanted]
    sells_before = bench.minted.orders_created("sell")

    cold = cold_starts(operations, code, ColdRuntime(sys.executable, VENV_SITE, env), runs=1)

    figures = {op["name"]: op for op in cold["operations"]}
    assert set(figures) == wanted
    assert figures["POST /orders, new sell"]["calls"] == sorted([
        "POST /partner/order/digital/sell (401)", "POST /partner/order/digital/sell",
        "dynamodb PutItem", "dynamodb UpdateItem",  # the claim, then Minted's answer
        "dynamodb GetItem",  # the quote's currency
        "secretsmanager GetSecretValue", "secretsmanager GetSecretValue",  # ledger key, partner credentials
    ])  # fmt: skip
    # Subject, floor and libraries each sold once in the recording runs, with the run without Powertools
    # in the round: the floor's replay is a real sell of what the customer holds, not a refusal.
    assert bench.minted.orders_created("sell") - sells_before == 7
    assert figures["GET /orders, a customer's history"]["calls"] == ["dynamodb Query"]  # an index, no Scan


def test_the_warm_sell_and_history_rows_count_their_round_trips(stack: DevStack) -> None:
    bench = Bench(stack, iterations=2)
    sells_before = bench.minted.orders_created("sell")

    with clocked_calls():  # as make bench does: DynamoDB calls are counted at botocore
        rows = {row["name"]: row for row in bench.warm_sells()}

    assert set(rows) == {"new sell", "order history, a customer"}
    assert bench.minted.orders_created("sell") - sells_before == 2
    assert rows["new sell"]["round_trips"]["minted_calls"] == 1
    assert rows["new sell"]["round_trips"]["dynamodb_writes"] == 2  # the claim, then Minted's answer
    history = rows["order history, a customer"]["round_trips"]
    assert history["minted_calls"] == 0 and history["dynamodb_calls"] == ["Query"] and history["dynamodb_reads"] == 1


def test_the_reconciliation_cold_start_and_warm_row_settle_one_row_by_one_lookup(stack: DevStack) -> None:
    bench = Bench(stack, iterations=2)
    template = load_template()
    code = {name: (spec.handler.split(".")[0], ROOT / spec.code_uri) for name, spec in functions_of(template).items()}
    env = {**function_environment(template, {**stack.tables, **stack.secrets}, {"Stage": "prod"}),
           "AWS_ENDPOINT_URL": stack.aws_url}  # fmt: skip
    prepared: list[str] = []
    make_row = bench.unknown_row
    bench.unknown_row = lambda external_id: (prepared.append(external_id), make_row(external_id))[1]  # type: ignore[method-assign]
    (operation,) = [op for op in bench.cold_operations() if op.name == "scheduled reconciliation, one row"]
    buys_before = bench.minted.orders_created()

    cold = cold_starts([operation], code, ColdRuntime(sys.executable, VENV_SITE, env), runs=1)

    (figures,) = cold["operations"]
    assert figures["calls"] == sorted([
        "dynamodb Query", "dynamodb Query", "dynamodb Query", "dynamodb Query", "dynamodb Query",  # one per state
        "dynamodb UpdateItem", "dynamodb GetItem", "POST /partner/order (401)", "POST /partner/order",  # lease, lookup
        "dynamodb UpdateItem", "secretsmanager GetSecretValue",  # SUBMITTED with Minted's codes; the credentials
    ])  # fmt: skip
    with clocked_calls():
        (row,) = bench.warm_reconciliation()
    trips = row["round_trips"]
    assert trips["minted_calls"] == 1 and trips["dynamodb_writes"] == 2 and "Scan" not in trips["dynamodb_calls"]
    # Each prepared row was one lost answer of a buy Minted made; the reconciler bought nothing.
    assert bench.minted.orders_created() - buys_before == len(prepared) == 7 + 2  # recordings, a round; warm


def test_warm_only_measures_the_rows_it_names_and_profiles_them(stack: DevStack) -> None:
    """bench.run --warm-only TEXT --profile: the named rows alone, each with a profile of its overhead."""
    bench = Bench(stack, iterations=2)
    bench.warm_only, bench.profiles = ["legal", "prices from"], {}

    with clocked_calls():
        rows = bench.warm()

    assert [row["name"] for row in rows] == ["prices from the cache", "legal document", "legal list"]
    assert set(bench.profiles) == {row["name"] for row in rows}
    assert all(overhead_areas(profile) for profile in bench.profiles.values())


def _profile_with_the_stack_in_a_process(answer: Connection) -> None:
    """The test's body, in a process with no other server: the package's own ``stack`` (threads in
    pytest's process, polling every half second) would reach the process-wide profiler too."""
    ports = [free_port() for _ in range(3)]
    runtime.reset()
    with stack_process(ports) as child:
        bench = Bench(cast(DevStack, child), iterations=2)
        bench.warm_only, bench.profiles = ["prices from", "legal list"], {}
        with clocked_calls():
            rows = bench.warm()
    areas = sorted({area for profile in bench.profiles.values() for area, _ in overhead_areas(profile)})
    answer.send({"names": [row["name"] for row in rows], "calls": rows[0]["round_trips"]["dynamodb_calls"],
                 "areas": areas})  # fmt: skip


def test_the_stack_process_keeps_the_servers_out_of_the_profile() -> None:
    """--stack-process: moto_server and the sandbox answer from a process of their own, so the handler's
    profile holds our code and its libraries, not the servers' frames (cProfile sees every thread)."""
    context = multiprocessing.get_context("spawn")  # as make bench runs: no server thread in the process
    ours, theirs = context.Pipe()
    # Not a daemon: it starts the stack's own process.
    process = context.Process(target=_profile_with_the_stack_in_a_process, args=(theirs,))
    process.start()
    try:
        while not ours.poll(1):
            assert process.is_alive(), "the profiled run ended without an answer (its error is above)"
        found = ours.recv()
    finally:
        process.join(30)
        if process.is_alive():
            process.kill()

    assert found["names"] == ["prices from the cache", "legal list"]
    assert found["calls"] == ["GetItem"]
    assert "minted_gateway.prices.price_cache" in found["areas"]
    assert not set(found["areas"]) & {"moto", "werkzeug", "flask", "stdlib socketserver"}
