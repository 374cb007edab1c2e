"""Powertools' JSON log line, written with less work per line.

A warm invocation's log line cost about a quarter of its whole overhead through Powertools'
``LambdaPowertoolsFormatter`` (docs/performance.md, warm overhead): it copies the record's attributes,
scans a tuple of reserved names for each one, tries to parse every message as JSON, and makes a new
JSON encoder per line. This formatter is Powertools' own (its keys, its state, its append and clear)
and writes a plain line, the kind every line of ours is, with the same text from less work; anything
else (an exception, a message that could be JSON, a dict or %-formatted message, per-thread keys, a
custom key format) goes through Powertools' code unchanged. tests/test_log_format.py
compares the two, byte for byte. Like any formatter given to Logger, it takes its options (``utc``,
``datefmt``, ...) itself: Logger's own are not passed to it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter

_RESERVED = frozenset(RESERVED_LOG_ATTRS)
# How a JSON text can begin (json.loads skips this whitespace first); a message beginning otherwise
# cannot parse, so Powertools keeps it as it is.
_JSON_FIRST_CHARACTERS = frozenset('{["-0123456789tfnNI \t\n\r')
_LEVEL, _LOCATION, _TIMESTAMP = "%(levelname)s", "%(funcName)s:%(lineno)d", "%(asctime)s"


class LogLineFormatter(LambdaPowertoolsFormatter):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Powertools' default serializer is json.dumps with these options, which builds this encoder on
        # every call; a caller's own serializer is kept as given.
        self._encode = (
            None
            if kwargs.get("json_serializer") is not None
            else json.JSONEncoder(
                default=self.json_default, separators=(",", ":"), indent=self.json_indent, ensure_ascii=False
            ).encode
        )

    def serialize(self, log: Any) -> str:
        return self._encode(log) if self._encode is not None else super().serialize(log)

    def format(self, record: logging.LogRecord) -> str:
        message = record.msg
        if (
            type(message) is not str
            or record.args
            or (message and message[0] in _JSON_FIRST_CHARACTERS)
            or record.exc_info
            or self.json_deserializer is not json.loads
            or self.thread_safe_get_current_keys()
        ):
            return super().format(record)
        line: dict[str, Any] = {}
        for key, value in self.log_format.items():
            if value and key in _RESERVED:
                if value == _LEVEL:
                    line[key] = record.levelname
                elif value == _LOCATION:
                    line[key] = f"{record.funcName}:{record.lineno}"
                elif value == _TIMESTAMP:
                    line[key] = self.formatTime(record)
                else:
                    return super().format(record)
            else:
                line[key] = value
        for key, value in record.__dict__.items():
            if key not in _RESERVED:
                if type(key) is not str:  # an ``extra`` keyed otherwise: Powertools refuses the record
                    return super().format(record)
                line[key] = value
        line["message"] = message
        # As Powertools writes them when the record has no exception: kept from an extra of that name,
        # except the stack trace, which it always replaces, and the trace id, read from the environment.
        line.setdefault("exception", None)
        line.setdefault("exception_name", None)
        line.setdefault("exception_notes", None)
        if self.serialize_stacktrace:
            line["stack_trace"] = None
        line["xray_trace_id"] = self._get_latest_trace_id()
        return self.serialize({key: value for key, value in line.items() if value is not None})
