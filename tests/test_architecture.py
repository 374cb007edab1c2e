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
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT / "functions" / function,
        env={"PYTHONPATH": str(LAYER), "PATH": "/usr/bin:/bin"},
    )
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
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT / "functions" / function,
        env={"PYTHONPATH": str(LAYER), "PATH": "/usr/bin:/bin"},
    )
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


def test_a_buy_task_imports_neither_deliveries_nor_the_history() -> None:
    # Their models are a few ms of a cold start that only POST /deliveries or GET /orders uses.
    code = (
        "import sys, buy_function\n"
        "from minted_gateway import runtime\n"
        "runtime.order_ledger()\n"
        "unused = ('minted_gateway.deliveries.requests', 'minted_gateway.orders.history')\n"
        "print(sorted(m for m in unused if m in sys.modules))\n"
        "buy_function.http_api()\n"
        "print('minted_gateway.deliveries.requests' in sys.modules)\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT / "functions" / "buy",
        env={**LAMBDA_LIKE, "AWS_DEFAULT_REGION": "eu-central-1", "ORDERS_TABLE": "orders", "PRICES_TABLE": "prices",
             "PARTNER_SECRET_ID": "partner", "LEDGER_KEY_SECRET_ID": "key", "STAGE": "local"},
    )  # fmt: skip
    assert result.stdout.split("\n") == ["[]", "True", ""], result.stderr


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
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=ROOT / "functions" / function, env=env,
    )  # fmt: skip
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
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", SERVE_EVERY_ROUTE.format(function=function)], capture_output=True, text=True,
        check=True, cwd=ROOT / "functions" / function,
        env={**LAMBDA_LIKE, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "POWERTOOLS_METRICS_NAMESPACE": "test"},
        timeout=120,
    )  # fmt: skip
    served, imported = result.stdout.split()[-2:]
    assert int(served) >= (1 if function == "reconcile" else 2) and imported == "False", result.stderr
