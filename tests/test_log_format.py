"""Our log formatter (minted_gateway/log_format.py) writes what Powertools' own formatter writes, byte for
byte: the same record through both, after the same changes to their keys, gives the same line. And our
handlers' correlation id (observability.with_lambda_context) is the one Powertools' path would find."""

from __future__ import annotations

import datetime
import json
import logging
import sys
from collections import UserDict
from collections.abc import Callable, Iterator
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minted_gateway.log_format import LogLineFormatter
from minted_gateway.observability import observability

SERVICE_KEYS = {"service": "minted-gateway", "sampling_rate": None}
LAMBDA_KEYS = {
    "cold_start": True, "function_name": "BuyFunction", "function_memory_size": 512,
    "function_arn": "arn:aws:lambda:eu-central-1:123456789012:function:BuyFunction",
    "function_request_id": "c6af9ac6-7b61-11e6-9a41-93e812345678", "correlation_id": "JKJaXmPLFMEEJzQ=",
}  # fmt: skip


def pair(**options: Any) -> tuple[LambdaPowertoolsFormatter, LogLineFormatter]:
    return LambdaPowertoolsFormatter(**options, **SERVICE_KEYS), LogLineFormatter(**options, **SERVICE_KEYS)


def record(
    message: Any = "order placed", /, *args: Any, level: int = logging.INFO, exc_info: Any = None, **extra: Any
) -> logging.LogRecord:
    made = logging.LogRecord("minted_gateway.orders", level, __file__, 42, message, args or None, exc_info, "place")
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def same_line(theirs: LambdaPowertoolsFormatter, ours: LogLineFormatter, made: logging.LogRecord) -> tuple[str, str]:
    return theirs.format(made), ours.format(made)


def failure() -> Any:
    try:
        raise ValueError("Minted said no")
    except ValueError as exc:
        exc.add_note("while buying")
        return sys.exc_info()


RECORDS: dict[str, Callable[[], logging.LogRecord]] = {
    "plain": record,
    "extras": lambda: record("order read", external_id="ord-1", refreshed=False, stale=None, n=3),
    "extras of every kind": lambda: record(
        "x",
        amount=Decimal("1.50"),
        at=datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC),
        items=[{"a": 1}],
        nested={"b": [None, True, 1.5]},
        text="çığ ünicode ✓",
        empty="",
    ),
    "an extra named like a key": lambda: record("x", service="other", correlation_id="mine", level="custom"),
    "an extra named like an exception field": lambda: record("x", exception="e", exception_name="n", stack_trace="s"),
    "an extra named message": lambda: record("x", message="formatted elsewhere"),
    "empty message": lambda: record(""),
    "JSON object message": lambda: record('{"a": 1}'),
    "JSON list message": lambda: record("[1, 2]"),
    "number message": lambda: record("12 orders"),
    "negative number": lambda: record("-3"),
    "true": lambda: record("true"),
    "null": lambda: record("null"),
    "nan": lambda: record("NaN"),
    "leading space": lambda: record(" 5"),
    "quoted": lambda: record('"quoted"'),
    "not JSON though it starts so": lambda: record("{not json"),
    "dict message": lambda: record({"event": "x", "n": 1}),
    "%-args": lambda: record("bought %s grams of %s", Decimal("1.5"), "GAU"),
    "exception": lambda: record("failed", level=logging.ERROR, exc_info=failure()),
    "exc_info outside an except": lambda: record("x", exc_info=(None, None, None)),
    "warning": lambda: record("slow", level=logging.WARNING),
    "non-str message": lambda: record(12345),
}


# A message that is JSON, for each character a JSON text can begin with: Powertools writes it parsed.
JSON_MESSAGES = ["{}", "[]", '"s"', "-1", *"0123456789", "true", "false", "null", "NaN", "Infinity", "-Infinity",
                 " 1", "\t1", "\n1", "\r1"]  # fmt: skip


@pytest.fixture(autouse=True)
def no_trace_id(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    yield


@pytest.mark.parametrize("name", RECORDS)
def test_each_kind_of_record_is_written_as_powertools_writes_it(name: str) -> None:
    theirs, ours = pair()
    for formatter in (theirs, ours):
        formatter.append_keys(**LAMBDA_KEYS)
    made = RECORDS[name]()
    expected, got = same_line(theirs, ours, made)
    assert got == expected


@pytest.mark.parametrize("message", JSON_MESSAGES)
def test_a_message_that_is_json_is_written_parsed_as_powertools_writes_it(message: str) -> None:
    theirs, ours = pair()
    expected, got = same_line(theirs, ours, record(message))
    assert got == expected and json.loads(got).get("message") != message  # "null" leaves no message at all


def test_a_record_powertools_refuses_is_refused() -> None:
    """An ``extra`` keyed by something other than text: Powertools raises, and logging reports it."""
    theirs, ours = pair()
    for key in (1, None):
        made = record("x")
        made.__dict__[key] = "v"  # type: ignore[index]
        with pytest.raises(TypeError) as expected:
            theirs.format(made)
        with pytest.raises(TypeError) as got:
            ours.format(made)
        assert str(got.value) == str(expected.value)


@pytest.mark.parametrize(
    "options",
    [{"utc": True}, {"use_rfc3339": True}, {"datefmt": "%H:%M:%S.%F"}, {"serialize_stacktrace": False},
     {"log_record_order": ["message", "level"]}, {"json_default": repr},
     {"json_serializer": lambda log: json.dumps(log, sort_keys=True, default=str)}],
)  # fmt: skip
def test_the_formatter_options_are_honoured(options: dict[str, Any]) -> None:
    theirs, ours = pair(**options)
    for name, make in RECORDS.items():
        made = make()
        expected, got = same_line(theirs, ours, made)
        assert got == expected, name


def test_keys_appended_removed_cleared_and_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    theirs, ours = pair()
    for change in (
        lambda f: f.append_keys(**LAMBDA_KEYS),
        lambda f: f.append_keys(correlation_id=None),  # how Powertools removes a correlation id
        lambda f: f.remove_keys(["function_arn"]),
        lambda f: f.append_keys(location="%(module)s"),  # a custom format for a reserved key
        lambda f: f.append_keys(location="%(funcName)s:%(lineno)d", timestamp=""),
        lambda f: f.clear_state(),
        lambda f: f.append_keys(xray_trace_id=None),  # the trace id left out on purpose
        lambda f: f.thread_safe_append_keys(tenant="t-1"),
        lambda f: f.thread_safe_clear_keys(),
    ):
        change(theirs)
        change(ours)
        monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8")
        for name, make in RECORDS.items():
            made = make()
            expected, got = same_line(theirs, ours, made)
            assert got == expected, name


@pytest.mark.filterwarnings("ignore:POWERTOOLS_DEV")
def test_powertools_dev_indents_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    theirs, ours = pair()
    for name, make in RECORDS.items():
        made = make()
        expected, got = same_line(theirs, ours, made)
        assert got == expected, name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.decimals(allow_nan=False, places=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    message=st.text(max_size=40),
    extra=st.dictionaries(st.text(min_size=1, max_size=12).filter(str.isidentifier), json_values, max_size=5),
    appended=st.dictionaries(st.sampled_from(["tenant", "stage", "correlation_id", "cold_start"]), json_values),
)
def test_any_plain_line_is_written_as_powertools_writes_it(
    message: str, extra: dict[str, Any], appended: dict[str, Any]
) -> None:
    theirs, ours = pair()
    theirs.append_keys(**appended)
    ours.append_keys(**appended)
    made = record(message, **extra)
    expected, got = same_line(theirs, ours, made)
    assert got == expected


def test_every_function_logs_through_it() -> None:
    logger, _, _ = observability()
    assert isinstance(logger.registered_formatter, LogLineFormatter)


class LambdaContext:
    function_name = "GetOrderFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:GetOrderFunction"
    memory_limit_in_mb = 512
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = "/aws/lambda/GetOrderFunction"
    log_stream_name = "2026/12/07/[$LATEST]abc"


@pytest.mark.parametrize(
    "event",
    [{"version": "2.0", "requestContext": {"requestId": "JKJaXmPLFMEEJzQ="}}, {"requestContext": {"requestId": 7}},
     {"requestContext": {}}, {"requestContext": "text"}, {"requestContext": None}, {"action": "get_order"}, {},
     ["a", "list"], "text", None, {"requestContext": UserDict({"requestId": "in-a-mapping"})},
     MappingProxyType({"requestContext": MappingProxyType({"requestId": "read-only"})})],
)  # fmt: skip
def test_the_correlation_id_is_what_powertools_path_for_an_http_api_finds(event: Any) -> None:
    """with_lambda_context reads the id without Powertools' JMESPath search: the keys are those Powertools
    sets with correlation_paths.API_GATEWAY_HTTP, for an HTTP event and any other, after a request had one."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging import correlation_paths

    from minted_gateway.observability import with_lambda_context

    theirs, ours = Logger(service="correlation-theirs"), Logger(service="correlation-ours")

    def keys_of(logger: Logger) -> Callable[[Any, Any], list[tuple[str, Any]]]:
        return lambda event, context: [(k, v) for k, v in logger.get_current_keys().items() if k != "service"]

    their_handler = theirs.inject_lambda_context(
        keys_of(theirs), clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP
    )
    our_handler = with_lambda_context(ours)(keys_of(ours))
    before = {"requestContext": {"requestId": "an-earlier-request"}}
    for handler in (their_handler, our_handler):
        handler(before, LambdaContext())  # a warm container: an earlier request's id must not stay
    assert our_handler(event, LambdaContext()) == their_handler(event, LambdaContext())


def test_with_event_logging_on_the_event_line_carries_the_correlation_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """POWERTOOLS_LOGGER_LOG_EVENT: Powertools logs the event after setting the id; so must we."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging import correlation_paths

    from minted_gateway.observability import with_lambda_context

    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    event = {"requestContext": {"requestId": "logged-with-its-event"}}
    lines = []
    for name, decorate in (
        ("theirs", lambda logger: logger.inject_lambda_context(
            clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)),
        ("ours", with_lambda_context),
    ):  # fmt: skip
        logger = Logger(service=f"event-{name}", stream=sys.stdout)
        capsys.readouterr()
        decorate(logger)(lambda event, context: None)(event, LambdaContext())
        line = json.loads(capsys.readouterr().out.splitlines()[0])
        lines.append({k: v for k, v in line.items() if k not in ("service", "timestamp", "cold_start", "location")})
    assert lines[1] == lines[0] and lines[0]["correlation_id"] == "logged-with-its-event"


class Stamp(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.stamped = record.funcName  # a logger's own filter sees the record as stdlib made it
        return True


def on_behalf_of_its_caller(log: Any) -> None:
    log.info("up one", stacklevel=3)  # the line names the function calling this


LOGGER_CALLS: dict[str, Callable[[Any], None]] = {
    "plain": lambda log: log.info("order placed"),
    "extras": lambda log: log.info("order read", extra={"external_id": "ord-1", "refreshed": False, "stale": None}),
    "an empty extra": lambda log: log.info("order read", extra={}),
    "fields as keywords": lambda log: log.info("order read", external_id="ord-1"),
    "%-args": lambda log: log.info("bought %s grams", Decimal("1.5")),
    "a dict message": lambda log: log.info({"event": "x"}),
    "JSON text": lambda log: log.info('{"a": 1}'),
    "an exception": lambda log: log.info("failed", exc_info=failure()),
    "the stack": lambda log: log.info("where", stack_info=True),
    "another stack level": on_behalf_of_its_caller,
    "a warning": lambda log: log.warning("slow", extra={"ms": 12}),
}


def logged(logger: Any, call: Callable[[Any], None], stream: Any) -> list[dict[str, Any]]:
    stream.seek(0)
    stream.truncate()
    call(logger)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for line in lines:
        line.pop("service")
        line.pop("timestamp")  # made a moment apart
        if isinstance(line.get("stack_trace"), dict):
            line["stack_trace"].pop("frames", None)  # their frames name each logger's own code
    return lines


@pytest.mark.parametrize("name", LOGGER_CALLS)
def test_our_logger_writes_each_call_as_powertools_logger_does(name: str) -> None:
    """GatewayLogger makes a plain info line's record itself: the same lines, its fields, location and
    keys, through the same handlers and filters, as Powertools' Logger writes."""
    import io

    from aws_lambda_powertools import Logger

    from minted_gateway.observability import GatewayLogger

    streams = {"theirs": io.StringIO(), "ours": io.StringIO()}  # a service's logger keeps its first stream
    loggers = {
        side: kind(service=f"calls-{side}-{name}", stream=streams[side], logger_formatter=LogLineFormatter())
        for side, kind in (("theirs", Logger), ("ours", GatewayLogger))
    }
    for logger in loggers.values():
        logger.append_keys(**LAMBDA_KEYS)
        logger.addFilter(Stamp())
    lines = {side: logged(logger, LOGGER_CALLS[name], streams[side]) for side, logger in loggers.items()}
    assert lines["ours"] == lines["theirs"] and lines["ours"]


def test_our_logger_refuses_and_skips_what_powertools_logger_does() -> None:
    import io

    from aws_lambda_powertools import Logger

    from minted_gateway.observability import GatewayLogger

    for kind, service in ((Logger, "refuse-theirs"), (GatewayLogger, "refuse-ours")):
        stream = io.StringIO()
        logger = kind(service=service, stream=stream, logger_formatter=LogLineFormatter())
        for key in ("message", "asctime", "name", "lineno"):
            with pytest.raises(KeyError, match=f"Attempt to overwrite '{key}' in LogRecord"):
                logger.info("x", extra={key: "mine"})
        logger.setLevel("WARNING")
        logger.info("below the level")
        logger.setLevel("INFO")
        logger.addFilter(lambda record: False)
        logger.info("filtered out")
        assert stream.getvalue() == "", kind


def test_the_functions_plain_lines_take_our_logger() -> None:
    from minted_gateway.observability import GatewayLogger

    logger, _, _ = observability()
    assert type(logger) is GatewayLogger
