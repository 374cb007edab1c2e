"""The rules of docs/architecture.md that a machine can check."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "minted"


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Every module each file under ``folder`` imports, wherever in the file the import is."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names = found.setdefault(str(path.relative_to(ROOT)), set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return found


def test_the_sandbox_shares_no_code_with_the_client() -> None:
    offending = {
        path: sorted(name for name in names if name.split(".")[0] == "minted_gateway")
        for path, names in imported_modules(ROOT / "local" / "minted_sandbox").items()
    }
    assert not {path: names for path, names in offending.items() if names}


def test_the_layer_never_imports_the_local_tooling() -> None:
    offending = {
        path: sorted(name for name in names if name.split(".")[0] == "local")
        for path, names in imported_modules(LAYER).items()
    }
    assert not {path: names for path, names in offending.items() if names}


@pytest.mark.parametrize("function", ["buy", "get_order", "prices", "legal"])
def test_importing_a_function_creates_no_aws_client(function: str) -> None:
    # boto3 is where clients come from; the runtime imports it on first use, never at import.
    code = f"import sys, {function}_function; print('boto3' in sys.modules)"
    result = run_in_function(function, code, env={"PYTHONPATH": str(LAYER), "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("function", ["buy", "get_order", "prices", "reconcile"])
def test_a_task_never_builds_the_routes(function: str) -> None:
    # The routes' OpenAPI answer models are a few ms of a cold start that a workflow task or the price
    # schedule has no use for (docs/performance.md); an HTTP event builds them, without the Event Handler.
    code = (
        f"import sys, {function}_function as f\n"
        "print(f.dispatch({'action': 'probe'}, None, f.http_api, {'probe': lambda payload: 'done'}))\n"
        "print('aws_lambda_powertools.event_handler' in sys.modules, 'minted_gateway.api.schemas' in sys.modules)\n"
        "f.http_api()\n"
        "print('aws_lambda_powertools.event_handler' in sys.modules)\n"
    )
    result = run_in_function(function, code, env={"PYTHONPATH": str(LAYER), "PATH": "/usr/bin:/bin"})
    assert result.stdout.split("\n") == ["done", "False False", "False", ""], result.stderr


# ---------------------------------------------------------------- the docs name what the code has
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PACKAGE = LAYER / "minted_gateway"


def test_architecture_md_names_every_module_of_the_layer() -> None:
    unnamed = [
        path.relative_to(PACKAGE).as_posix()
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "__init__.py"
        and path.relative_to(PACKAGE).as_posix() not in ARCHITECTURE
        and f"`{path.name}`" not in ARCHITECTURE
    ]
    assert not unnamed, "docs/architecture.md does not name these modules"


def test_architecture_md_names_every_port_of_the_layer() -> None:
    ports = {
        node.name
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and any(getattr(base, "id", None) == "Protocol" for base in node.bases)
    }
    assert {"MintedCustomers", "MintedBalances", "DailyTotals", "OrderIndex"} <= ports
    assert not sorted(port for port in ports if f"`{port}`" not in ARCHITECTURE)


def test_api_md_lists_every_operation_id_of_the_template() -> None:
    import re

    from local.gateway import routes_from_template

    api_md = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    sentence = api_md[api_md.index("The OpenAPI document names each operation") :].split(")", 1)[0]
    listed = set(re.findall(r"`(\w+)`", sentence))
    assert listed == {route.operation_id for route in routes_from_template()}


LAMBDA_LIKE = {"PYTHONPATH": str(LAYER), "PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_NAME": "probe",
               "AWS_REGION": "eu-central-1", "LAMBDA_TASK_ROOT": "/var/task"}  # fmt: skip
# Enough settings to build a function's use cases and their adapters (no call goes out).
SETTINGS_LIKE = {**LAMBDA_LIKE, "AWS_DEFAULT_REGION": "eu-central-1", "ORDERS_TABLE": "orders",
                 "PRICES_TABLE": "prices", "PARTNER_SECRET_ID": "partner", "LEDGER_KEY_SECRET_ID": "key",
                 "STAGE": "local"}  # fmt: skip


def run_in_function(
    function: str, code: str, env: dict[str, str] = LAMBDA_LIKE, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter in the function's folder, as Lambda imports its handler."""
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=ROOT / "functions" / function, env=env, timeout=timeout,
    )  # fmt: skip


def test_a_buy_imports_neither_deliveries_nor_the_workflow_nor_the_history() -> None:
    # Their models are a few ms of a cold start that only POST /deliveries, POST /orders/workflow or GET /orders
    # uses: a task never loads them (the place_order task's held customer included), and the routes load a
    # delivery's or the workflow's body on its own first request (router.imported), not on a buy's.
    code = (
        "import sys, buy_function\n"
        "from minted_gateway import runtime\n"
        "runtime.order_ledger()\n"
        "import minted_gateway.orders.workflow_customers\n"  # what the workflow's buy task uses (its held customer)
        "unused = ('minted_gateway.deliveries.requests', 'minted_gateway.orders.history',\n"
        "          'minted_gateway.orders.workflow')\n"
        "print(sorted(m for m in unused if m in sys.modules))\n"
        "app = buy_function.http_api()\n"
        "print(sorted(m for m in unused if m in sys.modules))\n"
        "for route in app.routes:\n"
        "    route.arguments()\n"  # what a route's first request (or SnapStart's hook) builds
        "print(sorted(m for m in unused if m in sys.modules))\n"
    )
    result = run_in_function("buy", code, env=SETTINGS_LIKE)
    assert result.stdout.split("\n") == [
        "[]",
        "[]",
        "['minted_gateway.deliveries.requests', 'minted_gateway.orders.workflow']",
        "",
    ], result.stderr


def test_the_customers_routes_load_a_request_body_only_for_its_own_route() -> None:
    # GET /customers/{id} and its balances read nothing of creating or changing a customer: those requests'
    # classes (and Minted's profile models) were a few ms of their cold starts.
    code = (
        "import sys, customers_function\n"
        "app = customers_function.http_api()\n"
        "print('minted_gateway.customers.requests' in sys.modules)\n"
        "[route.arguments() for route in app.routes if route.method == 'GET']\n"
        "print('minted_gateway.customers.requests' in sys.modules)\n"
        "[route.arguments() for route in app.routes]\n"
        "print('minted_gateway.customers.requests' in sys.modules)\n"
    )
    result = run_in_function("customers", code, env=SETTINGS_LIKE)
    assert result.stdout.split("\n") == ["False", "False", "True", ""], result.stderr


def test_a_buys_customer_and_items_are_built_before_the_models_that_hold_them() -> None:
    # pydantic generates a deferred nested model again inside each parent it builds: built first, the request,
    # the purchase and the workflow's task reuse them (a buy's cold start built them three times, about 8 ms).
    code = (
        "import buy_function as f\n"
        "from minted_gateway.orders.requests import CustomerIn, ItemIn, OrderRequest, Purchase\n"
        "print([m.__pydantic_complete__ for m in (CustomerIn, ItemIn, OrderRequest, Purchase)])\n"
    )
    result = run_in_function("buy", code, env=SETTINGS_LIKE)
    assert result.stdout.strip() == "[True, True, False, False]", result.stderr  # the parents still wait for use


def test_clients_rows_and_secrets_never_import_boto3() -> None:
    # botocore is all a function uses: importing boto3 too (s3transfer, multiprocessing, its resource
    # layer) was about 25 ms of every cold start that touches AWS (docs/performance.md).
    code = (
        "import sys\n"
        "from minted_gateway import dynamodb, runtime\n"
        "from minted_gateway.minted import SecretsManagerCredentials\n"
        "from minted_gateway.orders.record import State\n"
        "class Secrets:\n"
        "    def get_secret_value(self, SecretId):\n"
        '        return {\'SecretString\': \'{"username": "u", "password": "p", "base_url": "http://m"}\'}\n'
        "runtime.dynamodb(), runtime.secretsmanager(), runtime.aws_client('stepfunctions')\n"
        "row = {'external_id': 'o-1', 'state': State.SUBMITTED, 'amount': 1, 'lines': [{'a': None, 'b': True}]}\n"
        "assert dynamodb.from_item(dynamodb.to_item(row)) == row\n"
        "assert dynamodb.to_item({'digest': b'\\x00'}) == {'digest': {'B': b'\\x00'}}\n"
        "SecretsManagerCredentials('partner', boto3_client=Secrets()).get()\n"
        "print('boto3' in sys.modules)\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
        env={**LAMBDA_LIKE, "AWS_DEFAULT_REGION": "eu-central-1"},  # Lambda sets both
    )  # fmt: skip
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("function", sorted(p.name for p in (ROOT / "functions").iterdir() if p.is_dir()))
@pytest.mark.parametrize(("tracing", "imported"), [(None, False), ("lambda", False), ("xray-sdk", True)])
def test_only_the_xray_sdk_tracing_mode_imports_the_xray_sdk(
    function: str, tracing: str | None, imported: bool
) -> None:
    # The SDK leaves support in 2027 and adds to every cold start (docs/performance.md): by default
    # Lambda's active tracing alone traces an invocation, and the calls are timed by call_timings.
    code = (
        f"import sys, {function}_function as f\n"
        "if hasattr(f, 'http_api'):\n"
        "    f.http_api()\n"  # the routes, built on the first HTTP event
        "print('aws_xray_sdk' in sys.modules)\n"
    )
    env = {**LAMBDA_LIKE, **({"TRACING": tracing} if tracing else {})}
    result = run_in_function(function, code, env=env)
    assert result.stdout.strip() == str(imported), result.stderr


# Each route once, with path values and a body its validation refuses, and one path no function serves
# (no stack: a route that validates nothing answers 500 here; only what was imported matters).
SERVE_EVERY_ROUTE = """
import re, sys
import {function}_function as f

app = f.http_api()
paths = [(route.method, re.sub(r"<[^>]+>", "!!!", route.path)) for route in app.routes] + [("GET", "/nowhere")]
for method, path in paths:
    app.resolve({{"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "body": "[]",
                 "headers": {{"content-type": "application/json"}}, "isBase64Encoded": False,
                 "requestContext": {{"http": {{"method": method, "path": path}}, "requestId": "r",
                                    "stage": "$default"}}}}, None)
print(len(paths), 'aws_lambda_powertools.event_handler' in sys.modules)
"""


HTTP_FUNCTIONS = sorted(
    path.parent.name for path in (ROOT / "functions").glob("*/*_function.py") if "def http_api" in path.read_text()
)


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_serving_a_request_never_imports_the_event_handler(function: str) -> None:
    # Powertools' Event Handler (its resolver, its OpenAPI parameter classes and models, asyncio) was about
    # 60 ms of an HTTP cold start (docs/performance.md): the router serves requests, Powertools only writes
    # the OpenAPI document.
    result = run_in_function(
        function,
        SERVE_EVERY_ROUTE.format(function=function),
        env={**LAMBDA_LIKE, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "POWERTOOLS_METRICS_NAMESPACE": "test"},
        timeout=120,
    )
    served, imported = result.stdout.split()[-2:]
    assert int(served) >= (1 if function == "reconcile" else 2) and imported == "False", result.stderr


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_every_route_builds_its_arguments_whatever_it_imports_late(function: str) -> None:
    # What SnapStart's before-snapshot hook does: a route whose types=imported(...) names a module or class
    # that is not there (a typo) fails here, not on its first request as a 500.
    code = f"import {function}_function as f\nf.http_api().prepare()\nprint('prepared')\n"
    result = run_in_function(function, code, env=SETTINGS_LIKE)
    assert result.stdout.strip() == "prepared", result.stderr


# Each room documents its own answers: building the routes creates only their answer types (the others'
# were about 20 pydantic classes, a few ms of every HTTP cold start, docs/performance.md).
BODY_MODULES = {
    "buy": ["orders/bodies.py"],
    "get_order": ["orders/bodies.py"],
    "prices": ["prices/bodies.py"],
    "legal": ["legal/bodies.py"],
    "customers": ["customers/bodies.py"],
    "conditional": ["conditional/bodies.py"],
    "plans": ["plans/views.py"],
    "reconcile": [],
}


def body_classes(relative: str) -> set[str]:
    tree = ast.parse((LAYER / "minted_gateway" / relative).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef) and node.name.endswith("Body")}


# The rooms whose routes name their answer types with documented(): made for the document, never on a request.
DOCUMENTED_LATE = {"buy", "customers", "get_order", "legal", "prices"}


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_the_answer_types_are_made_only_for_the_document_and_only_their_own(function: str) -> None:
    # By the classes made, not the modules loaded: another room's answers pasted into a shared module count too.
    code = (
        f"import {function}_function as f\n"
        "from pydantic import BaseModel\n"
        "def made():\n"
        "    found, pending = set(), [BaseModel]\n"
        "    while pending:\n"
        "        for kind in pending.pop().__subclasses__():\n"
        "            pending.append(kind)\n"
        "            if kind.__name__.endswith('Body') and kind.__module__.startswith('minted_gateway'):\n"
        "                found.add(kind.__name__)\n"
        "    return sorted(found)\n"
        "app = f.http_api()\n"
        "app.prepare()\n"  # every route's arguments, as its first request (or SnapStart's hook) builds them
        "print(made())\n"
        "app.get_openapi_json_schema()\n"
        "print(made())\n"
    )
    result = run_in_function(function, code)
    served, document = map(ast.literal_eval, result.stdout.strip().split("\n")[-2:])
    own = set().union(*(body_classes(relative) for relative in BODY_MODULES[function]))
    routes = function != "reconcile"  # the reconciler serves no route: its document has no answer at all
    assert set(document) == own | ({"ErrorBody"} if routes else set()), result.stderr
    assert set(served) == (set() if function in DOCUMENTED_LATE else own)


# Each function's own Minted models: the others' classes were a third of our import time (docs/performance.md).
MODELS_OF_OTHER_OPERATIONS = {
    "buy": {"prices", "delivery", "legal", "customers", "lookups"},  # lookups: only for an answer that was lost
    "prices": {"orders", "lookups", "delivery", "legal", "customers"},
    "get_order": {"prices", "delivery", "legal", "customers"},
    "reconcile": {"prices", "delivery", "legal", "customers"},
}


@pytest.mark.parametrize("function", sorted(MODELS_OF_OTHER_OPERATIONS))
def test_a_task_loads_only_the_minted_models_of_its_own_calls(function: str) -> None:
    code = (
        f"import sys, {function}_function\n"
        "from minted_gateway.minted import MintedClient, StaticCredentials\n"  # the client imports no model
        "print(sorted(m.rpartition('.')[2] for m in sys.modules if m.startswith('minted_gateway.minted.models.')))\n"
    )
    result = run_in_function(function, code)
    loaded = set(ast.literal_eval(result.stdout.strip()))
    assert "base" in loaded, result.stderr
    assert not loaded & MODELS_OF_OTHER_OPERATIONS[function]


def test_the_prices_function_loads_the_quote_machinery_only_to_quote() -> None:
    # The scheduled refresh and GET /prices share the function with POST /quotes and the quote task: the quote's
    # request, limits and order models were about 20 ms of their cold starts (docs/performance.md).
    code = (
        "import sys, prices_function\n"
        "from minted_gateway import runtime\n"
        "runtime.refresh_prices(), runtime.refresh_order_statuses()\n"  # the refresh's use cases, their adapters
        "quoting = ('minted_gateway.prices.quotes', 'minted_gateway.orders.limits', 'minted_gateway.orders.requests',\n"
        "           'minted_gateway.minted.models.buy')\n"
        "print([m for m in quoting if m in sys.modules])\n"
        "app = prices_function.http_api()\n"
        "print([m for m in quoting if m in sys.modules])\n"
        "[route.arguments() for route in app.routes]\n"  # what POST /quotes' first request builds
        "print([m for m in quoting if m in sys.modules])\n"
    )
    result = run_in_function(
        "prices",
        code,
        env={
            **SETTINGS_LIKE,
            "TRIGGERS_TABLE": "triggers",
            "ORDER_EVENTS_BUS": "bus",
            "FIRED_ORDERS_QUEUE_URL": "http://127.0.0.1:9/queue",
        },
    )
    imported, routed, quoted = map(ast.literal_eval, result.stdout.split("\n")[:3])
    assert imported == [], result.stderr
    assert routed == []  # GET /prices' cold start builds the routes: POST /quotes' body is not made with them
    assert len(quoted) == 4  # POST /quotes' first request makes it


def test_reading_orders_loads_nothing_of_placing_one() -> None:
    # Reading an order shares the ledger's writes (orders/order_book.py), not the buy: its request, keyed
    # hashes, Minted's buy models and the use case itself were about 10 ms of a GET /orders/{id} cold start.
    code = (
        "import sys, get_order_function as f\n"
        "from minted_gateway import runtime\n"
        "f.http_api(), runtime.get_order(), runtime.list_orders()\n"  # the routes' use cases, their adapters
        "placing = ('minted_gateway.orders.place_order', 'minted_gateway.orders.requests',\n"
        "           'minted_gateway.orders.fingerprint', 'minted_gateway.minted.models.buy')\n"
        "print([m for m in placing if m in sys.modules], 'minted_gateway.orders.order_book' in sys.modules)\n"
    )
    result = run_in_function("get_order", code, env=SETTINGS_LIKE)
    assert result.stdout.strip() == "[] True", result.stderr


def test_the_models_package_loads_only_the_module_of_a_name_asked_for() -> None:
    # The old path (minted_gateway.minted.models) still serves every name, at no cost to a cold start.
    code = (
        "import sys\n"
        "from minted_gateway.minted.models import Order\n"
        "from minted_gateway.minted.models.orders import Order as Defined\n"
        "assert Order is Defined\n"
        "print(sorted(m.rpartition('.')[2] for m in sys.modules if m.startswith('minted_gateway.minted.models.')))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=LAMBDA_LIKE,
    )  # fmt: skip
    assert result.stdout.strip() == "['base', 'orders']", result.stderr


@pytest.mark.parametrize(("runtime", "expected"), [
    ("AWS_Lambda_python3.13", "held False, first call False, after True, frozen True, second call True"),
    (None, "held True, first call True, after True, frozen False, second call True"),  # tests, make dev: never held
])  # fmt: skip
def test_a_lambda_cold_start_holds_the_garbage_collector_until_its_first_invocation_is_served(
    runtime: str | None, expected: str
) -> None:
    # The collector scanned a cold start's long-lived objects some 40 times (docs/performance.md); it
    # comes back on when the first invocation ends, even one that failed, with what exists frozen.
    code = (
        "import gc\n"
        "from minted_gateway.observability import observability\n"
        "logger, tracer, metrics = observability()\n"
        "@tracer.capture_lambda_handler(capture_response=False)\n"
        "def handler(event, context):\n"
        "    if event.get('fail'):\n"
        "        raise RuntimeError(gc.isenabled())\n"
        "    return gc.isenabled()\n"
        "held = gc.isenabled()\n"
        "try:\n"
        "    handler({'fail': True}, None)\n"
        "except RuntimeError as exc:\n"
        "    first = exc.args[0]\n"
        "print(f'held {held}, first call {first}, after {gc.isenabled()}, frozen {gc.get_freeze_count() > 0}, '\n"
        "      f'second call {handler({}, None)}')\n"
    )
    env = {**LAMBDA_LIKE, **({"AWS_EXECUTION_ENV": runtime} if runtime else {})}
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env,
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr
