"""The ledger's keyed hashes: one fingerprint per purchase however it is written, a new one when anything
bought (or whose) changes; identity numbers and price tokens only as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from minted_gateway.orders.fingerprint import Fingerprinter, canonical
from minted_gateway.orders.requests import ItemIn, Purchase

KEY = b"k" * 32


def purchase(*items: tuple[str, str], external_id: str = "o-1", side: str = "buy") -> Purchase:
    lines = [ItemIn(sku=sku, amount=Decimal(amount)) for sku, amount in items]
    return Purchase.of(external_id, None, lines, None, side=side)


def test_equal_amounts_and_any_item_order_are_one_purchase() -> None:
    prints = Fingerprinter(KEY)
    one = prints.purchase(purchase(("GAU", "1.5"), ("GAG", "2")))
    assert prints.purchase(purchase(("GAG", "2.000"), ("GAU", "1.50"))) == one


@pytest.mark.parametrize(
    "other",
    [purchase(("GAU", "1.51"), ("GAG", "2")), purchase(("GAU", "1.5")), purchase(("GAU", "1.5"), ("GPT", "2")),
     purchase(("GAU", "1.5"), ("GAG", "2"), external_id="o-2"), purchase(("GAU", "1.5"), ("GAG", "2"), side="sell")],
    ids=["amount", "an item fewer", "another metal", "another id", "a sell"],
)  # fmt: skip
def test_anything_else_bought_is_another_fingerprint(other: Purchase) -> None:
    prints = Fingerprinter(KEY)
    assert prints.purchase(other) != prints.purchase(purchase(("GAU", "1.5"), ("GAG", "2")))


def test_canonical_forms() -> None:
    assert canonical({"b": [Decimal("1.50"), (Decimal("100"),)], "a": Decimal("0.10")}) == {
        "a": Decimal("0.1"), "b": [Decimal("1.5"), [Decimal("100")]]}  # fmt: skip
    assert str(canonical(Decimal("1E+2"))) == "100" and str(canonical(Decimal("2.000"))) == "2"
    assert list(canonical({"b": 1, "a": 2})) == ["a", "b"] and canonical("x") == "x"


def test_a_price_tokens_hash_is_keyed() -> None:
    prints = Fingerprinter(KEY)
    expected = hmac.new(KEY, b"token:tok", hashlib.sha256).hexdigest()
    assert prints.token("tok") == expected
    assert Fingerprinter(b"j" * 32).token("tok") != expected  # keyed: another key, another hash


def test_a_short_key_is_refused_and_sixteen_bytes_suffice() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        Fingerprinter(b"k" * 15)
    assert Fingerprinter(b"k" * 16).token("t")


def test_a_buy_read_from_json_hashes_as_a_buy_written_in_code() -> None:
    """A side parsed from a request is an equal string, not the same object as the literal "buy"."""
    parsed = "".join(["b", "uy"])
    prints = Fingerprinter(KEY)
    assert prints.purchase(purchase(("GAU", "1"), side=parsed)) == prints.purchase(purchase(("GAU", "1")))


def test_a_customers_digest_is_the_keyed_hash_of_the_fields_given_and_stays_so_across_versions() -> None:
    """A buy workflow's customer is held under this digest and a second POST of the same workflow is
    matched by it (orders/workflow_customers.py), possibly after a deploy: its form is a promise. It
    hashes the fields given (an absent middlename is not a null one), keys sorted, with its own prefix."""
    from minted_gateway.orders.requests import CustomerIn

    given = {"external_id": "c-1", "identity_number": "10000000146", "firstname": "Ada", "lastname": "Kaya",
             "email": "ada@example.com", "phone": "+905322808035"}  # fmt: skip
    written = "{" + ",".join(f'"{key}":"{given[key]}"' for key in sorted(given)) + "}"
    expected = hmac.new(KEY, b"customer:" + written.encode(), hashlib.sha256).hexdigest()
    prints = Fingerprinter(KEY)
    assert prints.customer(CustomerIn.model_validate(given)) == expected
    assert prints.customer(CustomerIn.model_validate({**given, "middlename": None})) == expected
    assert prints.customer(CustomerIn.model_validate({**given, "firstname": "Adaa"})) != expected


def _written(text: str) -> str:
    return hmac.new(KEY, ("order:" + text).encode(), hashlib.sha256).hexdigest()


def test_a_purchases_fingerprint_keeps_its_written_form_across_versions() -> None:
    """A retry after a deploy must still replay: the ledger row holds the fingerprint the earlier version
    wrote, so the form hashed is a promise, like the key. Keys sorted, nulls left out, a buy's side left
    out (as before sells existed), amounts in their shortest form, items in sku order, text as it is."""
    from minted_gateway.orders.requests import CustomerIn

    customer = CustomerIn.model_validate({
        "external_id": "c-1", "identity_number": "10000000146", "firstname": "Ayşe", "middlename": "Nur",
        "lastname": "Yılmaz", "email": "ayse@example.com", "phone": "+905322808035", "gender": "F",
        "birthdate": "1990-12-31"})  # fmt: skip
    gold, silver, platinum = (ItemIn(sku="GAU", amount=Decimal("1.50")), ItemIn(sku="GAG", amount=Decimal("2.000")),
                              ItemIn(sku="GPT", amount=Decimal("1E+2")))  # fmt: skip
    prints = Fingerprinter(KEY)

    partner_buy = Purchase.of("o-1", None, [gold], None)
    assert prints.purchase(partner_buy) == _written(
        '{"currency":"TRY","external_id":"o-1","items":[{"amount":1.5,"sku":"GAU"}]}')  # fmt: skip

    card_buy = Purchase.of("o-2", "USD", [platinum, gold, silver], customer, card_token="tok_abc")
    assert prints.purchase(card_buy) == _written(
        '{"card_token":"tok_abc","currency":"USD","customer":{"birthdate":"1990-12-31","email":"ayse@example.com",'
        '"external_id":"c-1","firstname":"Ayşe","gender":"F","identity_number":"10000000146","lastname":"Yılmaz",'
        '"middlename":"Nur","phone":"+905322808035"},"external_id":"o-2","items":[{"amount":2,"sku":"GAG"},'
        '{"amount":1.5,"sku":"GAU"},{"amount":100,"sku":"GPT"}]}')  # fmt: skip

    sell = Purchase.of("o-3", None, [platinum, silver], None, side="sell", customer_external_id="c-9")
    assert prints.purchase(sell) == _written(
        '{"currency":"TRY","external_id":"o-3","items":[{"amount":2,"sku":"GAG"},{"amount":100,"sku":"GPT"}],'
        '"seller":"c-9","side":"sell"}')  # fmt: skip

    address = {"zip": "34710", "city": "İstanbul", "line": "Moda Cd. 1"}
    delivery = Purchase(external_id="d-1", side="delivery", currency="TRY", items=[gold], seller="c-1",
                        address=address)  # fmt: skip
    assert prints.purchase(delivery) == _written(
        '{"address":{"city":"İstanbul","line":"Moda Cd. 1","zip":"34710"},"currency":"TRY","external_id":"d-1",'
        '"items":[{"amount":1.5,"sku":"GAU"}],"seller":"c-1","side":"delivery"}')  # fmt: skip
