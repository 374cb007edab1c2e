"""Powertools Logger, Tracer and Metrics for every function, with personal data kept out of logs.

We never log personal data on purpose; the redaction filter is the second line: anything shaped
like an email, a phone number or an 11-digit identity number is masked before it is written.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

_PATTERNS = (
    (re.compile(r"[^@\s\"']+@[^@\s\"']+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"\+?\d[\d\s().-]{9,}\d"), "<number>"),  # phones and identity numbers
)


def redact(text: str) -> str:
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    return text


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in ("msg", "levelname", "name", "pathname", "filename", "module"):
                setattr(record, key, redact(value))
        return True


def observability() -> tuple[Logger, Tracer, Metrics]:
    """The three Powertools utilities; Lambda context adds the function's name to every log line."""
    logger = Logger(service="minted-gateway")
    logger.addFilter(RedactPersonalData())
    for handler in logger.handlers:
        handler.addFilter(RedactPersonalData())
    copy_config_to_registered_loggers(source_logger=logger, include={"minted_gateway"})
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("minted_gateway"):
            logging.getLogger(name).addFilter(RedactPersonalData())
    return logger, Tracer(service="minted-gateway"), Metrics(namespace="MintedGateway", service="minted-gateway")


def safe_extra(**fields: Any) -> dict[str, Any]:
    """Log fields that are safe by construction: ids, states, codes and counts only."""
    return {key: value for key, value in fields.items() if isinstance(value, str | int | bool) or value is None}
