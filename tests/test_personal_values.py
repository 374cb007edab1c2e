"""Minted's refusal text without the customer's values, however Minted wrote them back: the sandbox's
echo fault quotes them verbatim, so these cases are Minted's other plausible spellings of one value."""

from __future__ import annotations

import time
from datetime import date

import pytest

from minted_gateway.deliveries.requests import DeliveryIn, DeliveryOrder
from minted_gateway.minted.models.delivery import DeliveryCustomer
from minted_gateway.orders.requests import CustomerIn
from minted_gateway.personal_values import MASK, without_personal_values
from tests.deliveries.test_deliveries import STREET, delivery
from tests.stack import VALID_TCKN

PHONE, EMAIL = "+905322808035", "ayse.yilmaz@example.com"
CUSTOMER = CustomerIn.model_validate({
    "external_id": "cust-1", "identity_number": VALID_TCKN, "firstname": "Ayşe", "lastname": "Yılmaz",
    "email": EMAIL, "phone": PHONE, "birthdate": "1990-12-31",
})  # fmt: skip


@pytest.mark.parametrize(
    "written",
    [
        VALID_TCKN,
        " ".join([VALID_TCKN[:3], VALID_TCKN[3:6], VALID_TCKN[6:]]),  # grouped
        EMAIL,
        EMAIL.upper(),
        "Ayşe",
        "AYŞE",
        "ayşe",
        "Yılmaz",
        "YILMAZ",
        PHONE,
        "+90 (532) 280 80 35",
        "0532 280 80 35",
        "532-280-8035",
        "905322808035",
        "1990-12-31",
        "31-12-1990",
        "31.12.1990",
        "31/12/1990",
        "1990/12/31",
    ],
)
def test_each_spelling_of_a_customers_value_is_taken_out(written: str) -> None:
    kept = CUSTOMER.redact(f"Parameter Error: {written} is not valid")
    # A phone's + or trunk 0 may stay before the mask: alone it tells nothing.
    assert kept in {f"Parameter Error: {prefix}{MASK} is not valid" for prefix in ("", "+", "0")}, kept


def test_ordinary_words_short_values_and_other_numbers_stay() -> None:
    text = "Parameter Error: customer.phone must be 10 digits (order 12345, TR)"
    assert CUSTOMER.redact(text) == text
    assert without_personal_values("an ab", ["ab", None, ""]) == "an ab"  # under 3 characters: left


def test_a_value_is_matched_as_text_not_as_a_pattern_and_spaces_may_differ() -> None:
    assert without_personal_values("Mr O'Brien (Jr.)  x", ["O'Brien (Jr.)"]) == f"Mr {MASK}  x"
    assert without_personal_values("Atatürk  Cad.\nNo: 5", ["Atatürk Cad. No: 5"]) == MASK
    assert without_personal_values("a.b.c", ["a+b"]) == "a.b.c"


def test_a_deliverys_refusal_loses_the_customers_and_the_addresses_values() -> None:
    request = DeliveryIn.model_validate(delivery("d-1", "cust-1"))
    customer = DeliveryCustomer(external_id="cust-1", firstname="Zeynep", lastname="Kor", phone=PHONE, email=EMAIL)
    kept = DeliveryOrder(request, customer).redact(f"{STREET.upper()} / 0532 280 80 35 / ZEYNEP: rejected")
    assert kept == f"{MASK} / 0{MASK} / {MASK}: rejected"


def test_a_long_hostile_text_is_redacted_in_linear_time() -> None:
    started = time.process_time()
    for text in ("9" * 200_000, "5 3 2 " * 40_000, "a" * 200_000):
        without_personal_values(text, [PHONE, VALID_TCKN, "aaa b"], [date(1990, 12, 31)])
    assert time.process_time() - started < 20  # quadratic would be minutes; linear is well under a second
