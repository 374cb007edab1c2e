"""The redaction filter on our log handler (observability.py): the second line of defence behind
logging no personal data on purpose. Unit tests: the stack's own log tests are in tests/api/test_logs.py."""

from __future__ import annotations

import logging

import pytest

from minted_gateway.observability import RedactPersonalData, redact
from tests.conftest import VALID_TCKN


@pytest.mark.parametrize(
    "secret",
    [VALID_TCKN, "+905322808035", "905322808035", "+90 532 280 80 35", "(532) 280-8035", "a.b@example.com",
     "ayse.yilmaz+gold@mail.example.co.uk"],
)  # fmt: skip
def test_numbers_and_emails_are_masked(secret: str) -> None:
    text = redact(f"customer <{secret}> did it")
    assert secret not in text and text.startswith("customer <") and text.endswith("> did it")


def test_the_masks_say_what_was_there() -> None:
    assert redact("a.b@example.com") == "<email>"
    assert redact(VALID_TCKN) == "<number>"


@pytest.mark.parametrize("kept", ["ord-123", "order 12345678", "2026-11-28T07:28:31", "GAU 1.5 g", "total 4475.72"])
def test_ids_dates_and_amounts_are_kept(kept: str) -> None:
    assert redact(kept) == kept


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("minted_gateway.x", logging.INFO, __file__, 1, message, args or None, None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_the_filter_masks_the_message_its_arguments_and_every_extra_field() -> None:
    line = record("from %s", "a.b@example.com", phone="+905321112233", external_id="ord-9", count=3)
    assert RedactPersonalData().filter(line) is True  # masked, never dropped
    assert line.getMessage() == "from <email>" and line.args is None
    assert (line.phone, line.external_id, line.count) == ("<number>", "ord-9", 3)  # type: ignore[attr-defined]


def test_the_filter_leaves_the_records_own_fields_alone() -> None:
    line = record("plain")
    before = {name: value for name, value in vars(line).items() if name not in ("msg", "args")}
    RedactPersonalData().filter(line)
    assert {name: value for name, value in vars(line).items() if name not in ("msg", "args")} == before


def test_every_handler_our_loggers_write_through_redacts_once() -> None:
    from minted_gateway.observability import PACKAGE_LOGGER, observability

    logger, _, _ = observability()
    observability()  # a second function in the same process: no second filter
    package = logging.getLogger(PACKAGE_LOGGER)
    assert package.handlers == list(logger.handlers) and package.handlers
    for handler in package.handlers:
        assert sum(isinstance(f, RedactPersonalData) for f in handler.filters) == 1
    assert package.propagate is False and package.level == logger.log_level
