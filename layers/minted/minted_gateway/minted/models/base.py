"""What every Minted Connect model shares (contract section 2): the base model, Minted's date
formats, ids, products, currencies and order statuses. The models themselves live beside it, one
module per operation, so that a function imports only the models of the calls it makes.

Money and grams are ``Decimal``; every date format Minted uses is parsed; unknown fields are ignored.
"""

import contextlib
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from minted_gateway import jsonutil

# Minted's local time. Turkey has kept a fixed +03:00 since 2016, so a fixed offset is exact and
# needs no tz database (the Lambda image does not ship one).
ISTANBUL = timezone(timedelta(hours=3), "Europe/Istanbul")

# Naive formats Minted sends, read as Istanbul time (contract 2.4).
_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%Y-%m-%d %H:%M")
_DAY_FIRST = re.compile(r"(\d\d)-(\d\d)-(\d{4}) (\d\d):(\d\d)(?::(\d\d))?", re.ASCII).fullmatch


def parse_minted_datetime(value: Any) -> Any:
    """Read any of Minted's date formats into an aware datetime; leave other types to pydantic."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:  # ISO 8601 and Minted's "%Y-%m-%d %H:%M[:%S]" alike, in C: strptime is the slow path of every answer
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        day_first = _DAY_FIRST(text)  # "31-05-2023 03:16[:45]", padded: read without strptime's regex engine
        if day_first is not None:
            with contextlib.suppress(ValueError):  # no such day or hour: strptime below says so as before
                day, month, year, hour, minute, second = day_first.groups(default="0")
                return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=ISTANBUL)
        for fmt in _NAIVE_FORMATS:  # the day-first forms (and unpadded fields) only strptime reads
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=ISTANBUL)
            except ValueError:
                continue
        raise ValueError(f"unrecognised date format: {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ISTANBUL)


def _parse_birthdate(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{2}-\d{2}-\d{4}", value):
        return datetime.strptime(value, "%d-%m-%Y").date()
    return value


def _bounded_decimal_text(value: Any) -> Any:
    """A number Minted writes as text is bounded as jsonutil bounds a JSON number, before pydantic
    reads it: "1e-999999999" as a price would otherwise reach the quote's arithmetic."""
    return jsonutil.parse_decimal(value) if isinstance(value, str) else value


def _empty_as_none(value: Any) -> Any:
    return None if value == "" else value


def _sku_from_product_id(cls: type, data: Any) -> Any:
    """Before validation: an item (or price) named only by product_id gets its sku (contract 2.5)."""
    if isinstance(data, dict) and not data.get("sku"):
        sku = SKU_BY_PRODUCT_ID.get(_int_or_none(data.get("product_id")) or 0)
        if sku is not None:
            return {**data, "sku": sku}
    return data


def _int_or_none(value: Any) -> int | None:
    """An id Minted may send as a number or a numeric string; anything else is no id."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


MintedDateTime = Annotated[datetime, BeforeValidator(parse_minted_datetime)]
# Every money and gram field of a Minted model is one of these (a validator on the field, not on
# every field of every model: a buy's models have ~46 fields, a few of them Decimal).
MintedDecimal = Annotated[Decimal, BeforeValidator(_bounded_decimal_text)]
# A money or gram field Minted may leave out, send as null, or write as "".
OptionalDecimal = Annotated[MintedDecimal | None, BeforeValidator(_empty_as_none)]
Birthdate = Annotated[date, BeforeValidator(_parse_birthdate)]
OptionalText = Annotated[str | None, BeforeValidator(_empty_as_none)]
# Order and customer ids (contract 9.5): Minted publishes no length; a published order id has 50
# characters, so 1-64 letters, digits, "-", "_" and "." (our safety bound), not dots alone (as a
# path segment, "." and ".." would name another path).
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*$"
EXTERNAL_ID_MAX_LENGTH = 64
ExternalId = Annotated[str, StringConstraints(max_length=EXTERNAL_ID_MAX_LENGTH, pattern=EXTERNAL_ID_PATTERN)]
# The Create Customer page does publish 3-40 characters for its external_id: enforced there only.
CustomerPageId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{3,40}$")]
Grams = Annotated[Decimal, Field(gt=0, decimal_places=3), BeforeValidator(_bounded_decimal_text)]
Name = Annotated[str, StringConstraints(min_length=3, max_length=40)]


# Contract 2.5: Minted's products. An item that carries only product_id gets its sku from here.
SKU_BY_PRODUCT_ID: dict[int, str] = {
    3000001: "GAU",
    3000002: "GAG",
    3000090: "GPT",
    3000091: "GPD",
    3000088: "BGAU",
    3000089: "BGAG",
}
PRODUCT_ID_BY_SKU = {sku: product_id for product_id, sku in SKU_BY_PRODUCT_ID.items()}


class Currency(StrEnum):
    GBP = "GBP"
    TRY = "TRY"
    USD = "USD"
    EUR = "EUR"


class MintedModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _number_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else value


# A person's id, identity number or phone Minted may write as a JSON number: its text. Only these fields:
# a number where a sku, a side or a status name belongs is not one of them, and is left to fail.
NumberAsText = BeforeValidator(_number_as_text)


def _none_if_unreadable(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


def _null_as_empty(value: Any) -> Any:
    return [] if value is None else value


def _empty_as_absent(value: Any) -> Any:
    return None if value in ("", [], {}) else value  # PHP writes an empty object as []


# A field that neither identifies an order nor gives its status never makes the order unreadable:
# a date Minted writes as "" or 0000-00-00 is no date, a list sent as null is empty, an object sent
# as PHP's [] is absent, and a number written as "" is no number.
Unreadable = WrapValidator(_none_if_unreadable)


# The metals this gateway sells (validation.SKUS_FOR_SALE), by sku and by Minted's product id.
_TRADED = frozenset({"GAU", "GAG", "GPT"})
_TRADED_IDS = frozenset(PRODUCT_ID_BY_SKU[sku] for sku in _TRADED)


def names_a_traded_metal(entry: Any, key: str = "sku") -> bool:
    """A price or wallet entry of a metal we sell, by its ``key`` (sku, currency_code) or product id."""
    if not isinstance(entry, dict):
        return False
    text = entry.get(key)
    return (isinstance(text, str) and text.upper() in _TRADED) or _int_or_none(entry.get("product_id")) in _TRADED_IDS


def each_readable(model: type[BaseModel], *, must_read: Callable[[Any], bool]) -> BeforeValidator:
    """A list of ``model`` of which each entry is read on its own: one Minted writes unreadably is left
    out unless ``must_read`` says the answer is nothing without it. A price of a product we do not
    trade (null, or a new product without a sku) must not stop every quote; gold's must."""

    def read(entries: Any) -> Any:
        if not isinstance(entries, list):
            return entries  # the list's own validation says what is wrong
        kept = []
        for entry in entries:
            try:
                kept.append(model.model_validate(entry))
            except ValidationError as exc:
                if must_read(entry):
                    raise ValueError(
                        f"an entry for a metal we sell is unreadable ({exc.error_count()} errors)"
                    ) from None
        return kept

    return BeforeValidator(read)


def _null_as_zero(value: Any) -> Any:
    return 0 if value is None else value


def _null_as_false(value: Any) -> Any:
    return False if value is None else value


NullAsZero = BeforeValidator(_null_as_zero)
NullAsFalse = BeforeValidator(_null_as_false)
NullAsEmpty = BeforeValidator(_null_as_empty)
EmptyAsAbsent = BeforeValidator(_empty_as_absent)


# Contract section 6: ids 1-12 in this order; id 1 is also called "New" in an older example.
ORDER_STATUS_NAMES: dict[int, str] = {
    1: "Created",
    2: "Pending",
    3: "Processing",
    4: "Cancelled",
    5: "Completed",
    6: "Preparing",
    7: "Packed",
    8: "Shipped",
    9: "Transferring",
    10: "Refunding",
    11: "Refunded",
    12: "Payment Confirmed",
}
TERMINAL_STATUS_NAMES = frozenset({"Completed", "Cancelled", "Refunded"})
# Names for ids the contract does not list (Minted's Order Statusses call, cached): set by the runtime.
_status_names_beyond_the_contract: Callable[[int], str | None] | None = None


def name_statuses_with(lookup: Callable[[int], str | None] | None) -> None:
    """How an order carrying only a ``status_id`` that section 6 does not name gets its name."""
    global _status_names_beyond_the_contract  # noqa: PLW0603 - one hook, set once per container
    _status_names_beyond_the_contract = lookup


def _status_name_of(status_id: int | None) -> str | None:
    if status_id is None:
        return None
    lookup = _status_names_beyond_the_contract
    return ORDER_STATUS_NAMES.get(status_id) or (lookup(status_id) if lookup else None)
