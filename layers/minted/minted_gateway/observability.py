"""Powertools Logger and Metrics for every function, tracing as the partner chose
(``minted_gateway.tracing``), and personal data kept out of logs.

We never log personal data on purpose; the redaction filter is the second line: anything shaped
like an email, a phone number or an 11-digit identity number is masked before it is written.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from minted_gateway.log_format import LogLineFormatter
from minted_gateway.metric_lines import MetricLinesProvider
from minted_gateway.tracing import Handler, HandlerTracing, correlation_id, handler_tracing

_PATTERNS = (
    (re.compile(r"[^@\s\"']+@[^@\s\"']+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"\+?\d[\d\s().-]{9,}\d"), "<number>"),  # phones and identity numbers
)
# Attributes every LogRecord has; what is left on a record are the caller's extra fields.
_STANDARD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
PACKAGE_LOGGER = "minted_gateway"
SERVICE, NAMESPACE = "minted-gateway", "MintedGateway"


def redact(text: str) -> str:
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    return text


class RedactPersonalData(logging.Filter):
    """On the handler, so that it sees every record it writes, from any of our loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in vars(record).items():
            if key not in _STANDARD_FIELDS and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class GatewayLogger(Logger):
    """Powertools' Logger; a plain info line (a text and its fields, as each of ours is) goes from here
    to the handlers as stdlib logging would send it, without the calls between (Powertools' copy of
    the fields, stdlib's frame walk and record wrapper): about 40 µs of a line's 0.3 ms in a warm
    invocation inside the bench. Anything else takes Powertools' path; tests/test_log_format.py
    compares the lines."""

    def info(self, msg: object, *args: object, exc_info: Any = None, stack_info: bool = False,
             stacklevel: int = 2, extra: Any = None, **kwargs: object) -> None:  # fmt: skip
        inner = self._logger
        if args or kwargs or exc_info or stack_info or stacklevel != 2 or self._buffer_config:
            return super().info(msg, *args, exc_info=exc_info, stack_info=stack_info,
                                stacklevel=stacklevel + 1, extra=extra, **kwargs)  # fmt: skip  # this frame too
        if not inner.isEnabledFor(logging.INFO):
            return None
        frame = sys._getframe(1)
        code = frame.f_code
        record = logging.getLogRecordFactory()(
            inner.name, logging.INFO, code.co_filename, frame.f_lineno, msg, (), None, code.co_name, None
        )
        if extra:
            for key in extra:
                if key in ("message", "asctime") or key in record.__dict__:
                    raise KeyError(f"Attempt to overwrite {key!r} in LogRecord")
                record.__dict__[key] = extra[key]
        inner.handle(record)
        return None


def observability() -> tuple[Logger, HandlerTracing, Metrics]:
    """Logger, tracing and Metrics; Lambda context adds the function's name to every log line.

    Our modules log to ``minted_gateway.*`` loggers, some created only when a use case is first
    loaded; they all propagate to the package logger, which writes through Powertools' handler.
    """
    logger = GatewayLogger(service=SERVICE, logger_formatter=LogLineFormatter())
    for handler in logger.handlers:
        if not any(isinstance(f, RedactPersonalData) for f in handler.filters):
            handler.addFilter(RedactPersonalData())
    package = logging.getLogger(PACKAGE_LOGGER)
    package.handlers = list(logger.handlers)
    package.setLevel(logger.log_level)
    package.propagate = False
    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    metrics.provider = MetricLinesProvider(  # the same sets every Metrics of the process shares
        metric_set=metrics.metric_set, dimension_set=metrics.dimension_set, metadata_set=metrics.metadata_set,
        default_dimensions=metrics.default_dimensions, namespace=NAMESPACE, service=SERVICE,
    )  # fmt: skip
    return logger, handler_tracing(), metrics


def with_lambda_context(logger: Logger) -> Callable[[Handler], Handler]:
    """Powertools' ``inject_lambda_context(clear_state=True)`` with the HTTP API's correlation path, the id
    read directly: its JMESPath search was about 65 µs of each warm invocation (docs/performance.md).

    With POWERTOOLS_LOGGER_LOG_EVENT on, Powertools' own path is kept: it logs the event after its search,
    and the event's line must carry the id. Read when the handler is decorated, as Powertools reads it."""

    def decorate(handler: Handler) -> Handler:
        if resolve_truthy_env_var_choice(env=os.getenv(constants.LOGGER_LOG_EVENT_ENV, "false")):
            path = correlation_paths.API_GATEWAY_HTTP
            logged: Handler = logger.inject_lambda_context(handler, clear_state=True, correlation_id_path=path)
            return logged

        @functools.wraps(handler)
        def correlated(event: Any, context: Any) -> Any:
            logger.set_correlation_id(correlation_id(event))  # None clears it, as Powertools' search would
            return handler(event, context)

        injected: Handler = logger.inject_lambda_context(correlated, clear_state=True)
        return injected

    return decorate
