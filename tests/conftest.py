"""Shared fixtures: the Minted sandbox over real HTTP on a free loopback port, and clients for it."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.devstack import DevStack
from local.minted_sandbox.control import SandboxControl
from local.minted_sandbox.server import SandboxServer
from local.minted_sandbox.state import SandboxSettings
from minted_gateway import runtime
from minted_gateway.minted import MintedClient, MintedClientConfig, PartnerCredentials, StaticCredentials
from minted_gateway.settings import input_rules

# Tests never reach a real AWS account: fake credentials and a fixed region, whatever the shell has.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="eu-central-1",
)  # fmt: skip
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)

SANDBOX_USER = "partner"
SANDBOX_PASSWORD = "sandbox-password"
# A T.C. Kimlik No. with valid check digits that belongs to no one (a published test number).
VALID_TCKN = "10000000146"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings(username=SANDBOX_USER, password=SANDBOX_PASSWORD, seed=7)) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxControl:
    """The running sandbox, reset to its first state, with its control API."""
    control = SandboxControl(sandbox_server.url)
    control.reset()
    return control


def partner_credentials(base_url: str, password: str = SANDBOX_PASSWORD) -> PartnerCredentials:
    return PartnerCredentials.model_validate(
        {"username": SANDBOX_USER, "password": password, "base_url": base_url, "client_id": "web"}
    )


@pytest.fixture
def client_config() -> MintedClientConfig:
    # Short waits keep the retry tests quick; the behaviour is the production one.
    return MintedClientConfig(read_timeout=2.0, connect_timeout=1.0, backoff_base=0.01, backoff_cap=0.05)


@pytest.fixture
def minted(sandbox: SandboxControl, client_config: MintedClientConfig) -> MintedClient:
    return MintedClient(StaticCredentials(partner_credentials(sandbox.base_url)), client_config)


# ---------------------------------------------------------------- the whole local API, one per test package
# Each package that needs the stack defines its own `stack` fixture (tests.stack.running_stack), so
# that it starts and stops with the package: a package-scoped fixture here would live for the run.
from tests.stack import Api, DynamoCalls  # noqa: E402 - it needs the constants above


@pytest.fixture
def api(stack: DevStack) -> Api:
    api = Api(stack)
    api.minted.reset()
    runtime.minted().set_time_budget(None)
    return api


_DIGITS_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")


@pytest.fixture
def order_id() -> str:
    # Letters only: a random run of eleven digits would be masked in the logs as a phone number
    # (observability's redaction), and a test looking for the id in the logs would fail by chance.
    return "ord-" + uuid.uuid4().hex[:20].translate(_DIGITS_AS_LETTERS)


@pytest.fixture
def quote_currency_checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The partner setting QuoteCurrencyMustMatch on: an order in another currency than its quote is refused."""
    monkeypatch.setenv("QUOTE_CURRENCY_MUST_MATCH", "true")
    input_rules.cache_clear()
    yield
    monkeypatch.undo()
    input_rules.cache_clear()


@pytest.fixture
def dynamo_calls(api: Api) -> Iterator[DynamoCalls]:
    counter = DynamoCalls()
    events = runtime.dynamodb().meta.events
    events.register("before-call.dynamodb.*", counter)
    yield counter
    events.unregister("before-call.dynamodb.*", counter)


# ---------------------------------------------------------------- what the whole run saw
class RunRecord:
    """Log lines our loggers wrote, and the AWS calls each function made, across the whole run."""

    def __init__(self) -> None:
        self.log_lines: list[str] = []
        # Every record any logger handled, as the code made it: before any handler's filter (the redaction
        # among them) could mask it. Personal data must not be there in the first place.
        self.raw_records: list[str] = []
        self.aws_calls: set[tuple[str, str, str]] = set()  # (function, iam action, resource name)
        self.whole_suite = False


RUN = RunRecord()
TESTS = Path(__file__).resolve().parent
_OUR_LOGGERS = ("minted-gateway", "minted_gateway")


def _record_log_lines() -> None:
    """Every record our loggers' output handler writes, as written (after its redaction filter)."""
    from minted_gateway.observability import RedactPersonalData

    original = logging.Handler.handle

    def handle(self: logging.Handler, record: logging.LogRecord) -> Any:
        written = original(self, record)
        if (
            written
            and record.name.startswith(_OUR_LOGGERS)
            and any(isinstance(f, RedactPersonalData) for f in self.filters)
        ):
            fields = {k: str(v) for k, v in vars(record).items() if k not in ("args", "exc_info")}
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            RUN.log_lines.append(json.dumps(fields, ensure_ascii=False))
        return written

    logging.Handler.handle = handle  # type: ignore[method-assign]


def _record_raw_records() -> None:
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        if not record.name.startswith("werkzeug"):  # the local servers' access lines: a method and a path each
            RUN.raw_records.append(raw_text(record))
        original(self, record)

    logging.Logger.handle = handle  # type: ignore[method-assign]


def raw_text(record: logging.LogRecord) -> str:
    """A record as its code made it: logger, message with its arguments, every field, the exception."""
    fields = {key: str(value) for key, value in vars(record).items() if key not in ("msg", "args", "exc_info")}
    try:
        fields["message"] = record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the message: keep both as they are
        fields["message"] = f"{record.msg} {record.args}"
    if record.exc_info:
        fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
    return json.dumps(fields, ensure_ascii=False)


def _record_aws_calls() -> None:
    from botocore.client import BaseClient

    from local.gateway import current_function

    original = BaseClient._make_api_call

    def make_api_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        function = current_function.get()
        if function is not None and operation_name == "TransactWriteItems":
            # IAM authorises a transaction item by item: Put, Update, Delete or ConditionCheck on its table.
            for item in api_params["TransactItems"]:
                ((kind, write),) = item.items()
                action = "dynamodb:ConditionCheckItem" if kind == "ConditionCheck" else f"dynamodb:{kind}Item"
                RUN.aws_calls.add((function, action, str(write["TableName"])))
        elif function is not None:
            # IAM authorises SendMessageBatch as sqs:SendMessage, one per message.
            operation = "SendMessage" if operation_name == "SendMessageBatch" else operation_name
            action = f"{self.meta.service_model.signing_name}:{operation}"
            RUN.aws_calls.add((function, action, resource_name(api_params)))
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]


def resource_name(api_params: dict[str, Any]) -> str:
    """The template's logical name of the resource a call touches (local names are the logical ids)."""
    if "TableName" in api_params and "IndexName" in api_params:
        return f"{api_params['TableName']}/index/{api_params['IndexName']}"
    if "TableName" in api_params:
        return str(api_params["TableName"])
    if "QueueUrl" in api_params:  # a queue's URL ends in its name (locally, its logical id)
        return str(api_params["QueueUrl"]).rsplit("/", 1)[-1]
    if "SecretId" in api_params:
        return str(api_params["SecretId"])
    if "RequestItems" in api_params:  # BatchGetItem: the one table it reads
        return ",".join(sorted(api_params["RequestItems"]))
    if "Entries" in api_params:  # PutEvents: the bus its entries go to
        return ",".join(sorted({str(entry.get("EventBusName")) for entry in api_params["Entries"]}))
    if "stateMachineArn" in api_params:
        return "BuyWorkflow"
    if "executionArn" in api_params:
        return "BuyWorkflow executions"
    return "*"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "whole_run: inspects what the whole test run recorded; runs last")
    _record_log_lines()
    _record_raw_records()
    _record_aws_calls()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("whole_run") is not None)  # stable: the rest keep order
    # The whole suite: no -k or -m, and no narrower path than the tests folder (pyproject's testpaths).
    narrowed = bool(config.option.keyword or config.option.markexpr or getattr(config.option, "lf", False))
    paths = {Path(str(arg).split("::")[0]).resolve() for arg in config.args}
    RUN.whole_suite = not narrowed and paths <= {Path(str(config.rootpath)).resolve(), TESTS}
