"""Numbers no money or gram field can take are refused where they enter, before any arithmetic:
Minted's answers (its JSON, and numbers it writes as text), and JSON read anywhere through jsonutil."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tracemalloc
import typing
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from minted_gateway import jsonutil
from minted_gateway.errors import UpstreamUnexpected
from minted_gateway.minted.models import FixedPrice, MintedModel, OrderResult, PriceFix, PriceFixRequest
from minted_gateway.prices.quotes import CreateQuote, QuoteRequest

EXTREMES = ["1e-999999999", "1e-1000027", "5.6e307", "9" * 5000, "-" + "9" * 4301]


@pytest.mark.parametrize("literal", EXTREMES)
def test_jsonutil_names_the_path_of_an_extreme_number_and_converts_nothing(literal: str) -> None:
    with pytest.raises(jsonutil.UnsafeJSONValue) as refused:
        jsonutil.loads('{"data": {"prices": [{"buy_price": ' + literal + "}]}}")
    assert refused.value.problems == [("data.prices.0.buy_price", jsonutil.NUMBER_RULE)]


@pytest.mark.parametrize("text", ["[NaN]", "[-Infinity]", '{"a": "\\udc00"}', '{"\\ud800": 1}'])
def test_jsonutil_refuses_what_json_does_not_allow_or_cannot_be_written_back(text: str) -> None:
    with pytest.raises(jsonutil.UnsafeJSONValue):
        jsonutil.loads(text)


def test_jsonutil_keeps_ordinary_numbers_exact_and_pairs_surrogates_into_one_character() -> None:
    parsed = jsonutil.loads('{"a": 0.1, "b": 12, "c": 1e3, "d": "\\ud83d\\ude00"}')
    assert parsed == {"a": Decimal("0.1"), "b": 12, "c": Decimal("1E+3"), "d": "\U0001f600"}


@pytest.mark.parametrize("literal", ["1e-999999999", "5.6e307", "9" * 5000, "NaN"])
def test_a_number_minted_writes_as_text_is_bounded_too(literal: str) -> None:
    price = {"product_id": 3000001, "sku": "GAU", "spot_price": "1", "buy_price": literal, "sell_price": "1"}
    with pytest.raises(ValidationError) as refused:
        FixedPrice.model_validate(price)
    assert [error["loc"] for error in refused.value.errors()] == [("buy_price",)]
    assert FixedPrice.model_validate({**price, "buy_price": "2889.71"}).buy_price == Decimal("2889.71")


def test_minted_answers_from_the_published_examples_still_read() -> None:
    body = {"order_code": ["9YMEK5RB"], "guid": ["71E174B7-C7AD-47FB-836E-3895FF41D4F5"], "price": "559.4",
            "tax": 0, "total": 559.4, "order_at": "2023-05-31 03:16:45", "orders": []}  # fmt: skip
    result = OrderResult.model_validate(jsonutil.loads(json.dumps(body)))
    assert result.price == Decimal("559.4") and result.total == Decimal("559.4")


class _Minted:
    """A Price Fix answer as Minted might send it: within the JSON bounds, beyond any real price."""

    def price_fix(self, request: PriceFixRequest) -> PriceFix:
        price = {"product_id": 3000001, "sku": "GAU", "spot_price": "1e30", "buy_price": "1e30", "sell_price": "1"}
        return PriceFix.model_validate(
            {"token": "T" * 32, "expires_at": "2026-01-01T00:00:00+03:00", "expire_ttl": 239, "prices": [price]}
        )


def test_a_price_beyond_what_money_can_hold_is_minteds_fault_not_a_crash() -> None:
    quote = CreateQuote(_Minted())
    request = QuoteRequest.model_validate({"items": [{"sku": "GAU", "amount": Decimal("1.5")}]})
    with pytest.raises(UpstreamUnexpected):
        quote(request)


def test_finding_the_path_of_a_bad_value_deep_in_nesting_does_not_overflow() -> None:
    with pytest.raises(jsonutil.UnsafeJSONValue) as refused:
        jsonutil.loads('{"a": ' + "[" * 900 + "NaN" + "]" * 900 + "}")
    assert refused.value.problems == [("a" + ".0" * 900, jsonutil.NUMBER_RULE)]


def _holds_decimal(annotation: object) -> bool:
    return annotation is Decimal or any(_holds_decimal(arg) for arg in typing.get_args(annotation))


def _minted_decimal_fields() -> list[tuple[str, str]]:
    modules = [importlib.import_module(f"minted_gateway.minted.models.{name}") for name in MINTED_MODEL_MODULES]
    return [(f"{module.__name__}.{name}", field_name)
            for module in modules for name, model in vars(module).items()
            if isinstance(model, type) and issubclass(model, MintedModel) and model.__module__ == module.__name__
            for field_name, field in model.model_fields.items() if _holds_decimal(field.annotation)]  # fmt: skip


MINTED_MODEL_MODULES = ("buy", "customers", "delivery", "legal", "lookups", "orders", "prices")
# A request we build ourselves from an already bounded Decimal: never read from text.
NOT_READ_FROM_TEXT = {("minted_gateway.minted.models.prices.PriceFixRequest", "total")}


NESTED_EMPTY_LISTS = "[" + ",".join(["[" * 400 + "]" * 400] * 13_000) + "]"  # 10.4 MB, 5.2 million lists


@pytest.mark.parametrize(
    "body",
    [
        NESTED_EMPTY_LISTS,
        NESTED_EMPTY_LISTS.encode(),
        "[" + ",".join(["{}"] * 3_000_000) + "]",
        "[" + '"" ,' * 2_500_000,  # short strings: stripping them out first built 15 times the body
        ('["\u2200",' + "[]," * 1_500_000 + '""]').encode("utf-16-le"),  # a quote byte inside a character
    ],
)
def test_a_request_of_too_many_values_is_refused_before_it_is_built(body: str | bytes) -> None:
    """A helper's 10 MiB of nested empty lists made a tree of about 500 MB before it was counted (the
    functions have 512 MB): the bound is now read from the text, so the peak is a copy of it at most."""
    tracemalloc.start()
    try:
        with pytest.raises(jsonutil.UnsafeJSONValue) as refused:
            jsonutil.loads_request(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.problems == [("body", jsonutil.TOO_MANY_VALUES_RULE)]
    assert peak < 2 * len(body) + 1_000_000


def test_the_bound_read_from_the_text_never_refuses_a_body_within_it() -> None:
    """Empty lists and objects count as values: the most structure a body within the bound can have."""
    limit = jsonutil.MAX_REQUEST_VALUES
    within = "[" + ",".join(["[]"] * limit) + "]"  # 1,000 values, 2,001 of [ { and , outside strings
    assert len(jsonutil.loads_request(within)) == limit
    keys = "{" + ",".join(f'"k{n}": {{}}' for n in range(limit // 2)) + "}"
    assert len(jsonutil.loads_request(keys)) == limit // 2
    text = '{"note": "' + "[{," * 100_000 + '"}'  # structure inside a string is text, not values
    assert jsonutil.loads_request(text)["note"].startswith("[{,")
    utf16 = ('{"a": "\u2200", "b": "' + "," * 3000 + '"}').encode("utf-16-le")  # read as text, not as bytes
    assert jsonutil.loads_request(utf16)["a"] == "\u2200"
    with pytest.raises(jsonutil.UnsafeJSONValue):
        jsonutil.loads_request("[" + ",".join(["[]"] * (limit + 1)) + "]")  # the exact count still holds


@pytest.mark.parametrize("body", ['["' + '\\"' * 150_000, '["' + '\\"' * 150_000 + "\\", '"' * 300_000])
def test_reading_the_bound_from_a_string_never_open_is_one_scan(body: str) -> None:
    """Every quote of an open string once started a scan to the end: 40,000 of them took 18 s. Linear,
    this is milliseconds; quadratic it would be hours: in a process of its own, stopped after a minute,
    so a regression fails in one, not after the hours."""
    program = "import sys; from minted_gateway import jsonutil\ntry:\n    jsonutil.loads_request(sys.stdin.read())\n"
    program += "except ValueError:\n    pass\n"  # JSONDecodeError: the body is no JSON, once read
    env = {**os.environ, "PYTHONPATH": str(Path(jsonutil.__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", program], input=body, text=True, env=env, timeout=60, check=True)  # noqa: S603


def test_every_money_and_gram_field_of_a_minted_model_bounds_the_text_it_reads() -> None:
    """Each field carries the bound itself (MintedDecimal), not the base model: a new field typed
    plain ``Decimal`` would let "1e-999999999" through, and this test names it."""
    fields = [each for each in _minted_decimal_fields() if each not in NOT_READ_FROM_TEXT]
    assert len(fields) >= 29, fields  # every one the base model's "*" validator used to bound
    unbounded = []
    for qualname, field_name in fields:
        module, _, name = qualname.rpartition(".")
        field = getattr(importlib.import_module(module), name).model_fields[field_name]
        adapter = TypeAdapter(Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation)
        try:
            adapter.validate_python("1e-999999999")
        except ValidationError:
            assert adapter.validate_python(" 2889.71") == Decimal("2889.71")
            continue
        unbounded.append(f"{qualname}.{field_name}")
    assert unbounded == []


# A JSON number, as the grammar writes it (RFC 8259), its parts as long as it takes to cross the bounds.
DIGITS = st.integers(0, 45).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))  # lengths spread
JSON_NUMBER = st.builds(
    lambda sign, first, rest, fraction, exponent: sign + (first + rest if first != "0" else "0")
    + (fraction and "." + fraction) + exponent,
    st.sampled_from(["", "-"]),
    st.sampled_from("0123456789"),
    DIGITS,
    DIGITS,
    st.one_of(st.just(""), st.from_regex(r"\A[eE][+-]?[0-9]{1,3}\Z")),
)  # fmt: skip


def breaks_the_bounds(literal: str) -> bool:
    """docs/api.md's rule, worked out here rather than asked of jsonutil: more than 28 digits, an exponent beyond
    ±40, or more than 36 characters written (28 digits, a sign, a point and an exponent)."""
    _sign, digits, exponent = Decimal(literal).as_tuple()
    return len(digits) > 28 or abs(int(exponent)) > 40 or len(literal) > 36


@settings(max_examples=500, deadline=None)
@example(literals=["1" * 28], note="plain", as_bytes=False)  # the bounds' edges, each way
@example(literals=["1" * 29], note="plain", as_bytes=False)
@example(literals=["-" + "9" * 29], note="plain", as_bytes=True)
@example(literals=["0." + "1" * 28], note="plain", as_bytes=False)
@example(literals=["0." + "1" * 29], note="plain", as_bytes=False)
@example(literals=["1.0000000000000000000000000001"], note="plain", as_bytes=False)  # 29 digits
@example(literals=["0." + "0" * 40 + "1"], note="plain", as_bytes=False)
@example(literals=["1" * 14 + "." + "1" * 15], note="plain", as_bytes=False)
@given(
    literals=st.lists(JSON_NUMBER, min_size=1, max_size=6),
    note=st.sampled_from(["plain", "e5 and 1.5e3 in a string"]),
    as_bytes=st.booleans(),
)
def test_a_text_is_refused_exactly_when_one_of_its_numbers_breaks_the_bounds(
    literals: list[str], note: str, as_bytes: bool
) -> None:
    """Every number, however it is written (exponent, long fraction, many digits, in a string's company), is
    held to the bounds when it is read, and nothing within them is refused."""
    text = '{"note": "' + note + '", "values": [' + ", ".join(literals) + "]}"
    out_of_bounds = [literal for literal in literals if breaks_the_bounds(literal)]
    try:
        read = jsonutil.loads(text.encode() if as_bytes else text)
    except jsonutil.UnsafeJSONValue as refused:
        assert out_of_bounds, (text, refused.problems)
        return
    assert not out_of_bounds, text
    assert read["values"] == [Decimal(literal) if any(c in literal for c in ".eE") else int(literal)
                              for literal in literals]  # fmt: skip
    assert all(type(value) in (Decimal, int) for value in read["values"])


def test_a_text_in_utf_16_is_held_to_the_bounds_too() -> None:
    with pytest.raises(jsonutil.UnsafeJSONValue):
        jsonutil.loads('{"amount": 1e-999999999}'.encode("utf-16"))
    assert jsonutil.loads('{"amount": 1.5}'.encode("utf-16-le")) == {"amount": Decimal("1.5")}


def test_an_integer_is_held_to_the_same_bound_read_or_found_later() -> None:
    """Found by a code review: the later check counted bits, so a 28-digit integer loads took was named
    out of bounds in a task's input (and beside another field's error), and some 29-digit ones were not."""
    for literal in ("9" * 28, "-" + "9" * 28, "1" + "0" * 27):
        assert jsonutil.unsafe_values(jsonutil.loads(literal)) == [], literal
    for value in (10**28, -(10**28), int("1" * 29)):
        assert jsonutil.unsafe_values(value) == [("body", jsonutil.NUMBER_RULE)], value
