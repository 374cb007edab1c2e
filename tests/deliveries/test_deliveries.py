"""POST /deliveries: Minted's Delivery - Create, once per external_id, followed by GET /orders/{id} to Completed.

The sandbox moves a delivery Created -> Preparing -> Packed -> Shipped -> Completed, one step per
``delivery_step_seconds`` of its clock, gives a cargo tracking number once it ships, and takes the
grams out of the customer's wallet. Addresses are personal data: asserted absent from every answer
but the caller's own, every ledger row, event and log line.
"""

from __future__ import annotations

import concurrent.futures
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.events.test_order_events_stack import Consumer, distinct
from tests.stack import Api, customer, order

STREET = "Markersokak No: 99/7"  # a marker: an address line that must never be kept or logged
ADDRESS = {"fullname": "Ayşe Yılmaz", "city": "İstanbul", "county": "Beykoz", "district": "Acarlar Mah.",
           "address": STREET}  # fmt: skip


def delivery(external_id: str, who: str, amount: Any = 2, **extra: Any) -> dict[str, Any]:
    address = {"billing": {**ADDRESS, "invoice_type": "Individual"}, "shipping": ADDRESS}
    return {"external_id": external_id, "customer_external_id": who, "sku": "GAU", "amount": amount,
            "address": address, **extra}  # fmt: skip


def holding(api: Api, grams: str = "5") -> str:
    """A new customer who bought ``grams`` of gold: whose grams a delivery takes."""
    who = f"dlv-{uuid.uuid4().hex[:10]}"
    bought = api.post("/orders", order(f"buy-{who}", api.quote(amount=grams), amount=grams, customer=customer(who)))
    assert bought.status_code == 201, bought.text
    return who


def gold(api: Api, who: str) -> Decimal:
    balances = api.get(f"/customers/{who}/balances").json()["balances"]
    return Decimal(str(next(w["balance"] for w in balances if w["sku"] == "GAU")))


def test_a_delivery_lowers_the_balance_and_is_followed_to_completed_with_its_cargo(
    api: Api, order_id: str, consumer: Consumer
) -> None:
    api.minted.clock(delivery_step_seconds=10)
    who = holding(api)
    placed = api.post("/deliveries", delivery(order_id, who))
    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert (body["side"], body["state"], body["status"], body["final"]) == ("delivery", "SUBMITTED", "Created", False)
    assert placed.headers["Location"] == f"/orders/{order_id}" and body["items"][0]["amount"] == 2
    assert gold(api, who) == 3
    seen = []
    for _ in range(4):
        api.minted.clock(advance_seconds=10)
        read = api.get(f"/orders/{order_id}").json()
        seen.append(read["status"])
    assert seen == ["Preparing", "Packed", "Shipped", "Completed"]
    assert read["final"] is True and read["delivery"]["cargo_tracking_number"].startswith("MNT")
    assert read["delivery"]["cargo_tracking_url"].startswith("https://")
    assert api.minted.orders_created("delivery") == 1 and gold(api, who) == 3
    events = [e["detail"] for e in distinct(consumer.events_of(order_id, 5))]
    assert [(e["type"], e["status"], e["side"]) for e in events] == [
        ("OrderSubmitted", "Created", "delivery"), ("OrderStatusChanged", "Preparing", "delivery"),
        ("OrderStatusChanged", "Packed", "delivery"), ("OrderStatusChanged", "Shipped", "delivery"),
        ("OrderCompleted", "Completed", "delivery"),
    ]  # fmt: skip


def test_a_delivery_is_made_once_per_external_id(api: Api, order_id: str) -> None:
    who = holding(api)
    body = delivery(order_id, who)
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: api.post("/deliveries", body), range(20)))
    assert {a.status_code for a in answers} <= {200, 201, 409} and 201 in {a.status_code for a in answers}
    again = api.post("/deliveries", body)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert api.minted.orders_created("delivery") == 1 and gold(api, who) == 3
    elsewhere = delivery(order_id, who, address={"billing": {**ADDRESS, "invoice_type": "Individual"},
                                                 "shipping": {**ADDRESS, "city": "Ankara"}})  # fmt: skip
    assert api.post("/deliveries", elsewhere).status_code == 409  # another address is another delivery
    a_buy = api.post("/orders", order(order_id, api.quote()))
    assert a_buy.status_code == 409  # one namespace of external_ids for buys, sells and deliveries


def test_a_delivery_of_more_than_the_balance_is_minteds_refusal_a_clear_422(api: Api, order_id: str) -> None:
    who = holding(api, "1")
    refused = api.post("/deliveries", delivery(order_id, who, amount=2))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "order_rejected" and [d["field"] for d in error["details"]] == ["amount"]
    assert (error["order"]["state"], error["order"]["final"]) == ("REJECTED", True)
    assert api.minted.orders_created("delivery") == 0 and gold(api, who) == 1


@pytest.mark.parametrize(("change", "field"), [({"amount": Decimal("1.5")}, "amount"), ({"amount": 0}, "amount"),
                                                ({"amount": True}, "amount"), ({"amount": "1"}, "amount"),
                                                ({"sku": "GPD"}, "sku"), ({"address": {}}, "address")])  # fmt: skip
def test_bad_input_is_refused_naming_its_field_and_writes_nothing(
    api: Api, order_id: str, change: dict[str, Any], field: str
) -> None:
    response = api.post("/deliveries", {**delivery(order_id, "cust-0001"), **change})
    assert response.status_code == 422 and field in response.text, response.text
    assert STREET not in response.text and api.ledger_item(order_id) is None


def test_a_customer_named_by_id_gets_minteds_record_of_them_and_an_unknown_one_is_refused(
    api: Api, order_id: str
) -> None:
    who = holding(api)
    assert api.post("/deliveries", delivery(order_id, who)).status_code == 201
    unknown = api.post("/deliveries", delivery(f"{order_id}-x", "nobody-here"))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "customer_details_required"
    inline = delivery(f"{order_id}-i", who, amount=1)
    del inline["customer_external_id"]
    inline["customer"] = {"external_id": who, "firstname": "Ayşe", "lastname": "Yılmaz", "phone": "+905322808035",
                          "email": "ayse.yilmaz@example.com"}  # fmt: skip
    assert api.post("/deliveries", inline).status_code == 201
    assert gold(api, who) == 2


def test_no_row_event_or_log_line_holds_the_address(
    api: Api,
    order_id: str,
    consumer: Consumer,
    log_lines: list[str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    who = holding(api)
    api.minted.fault("delivery", drop="after_commit", times=1)
    lost = api.post("/deliveries", delivery(order_id, who))
    assert lost.status_code == 202, lost.text
    settled = api.get(f"/orders/{order_id}")
    assert settled.json()["state"] == "SUBMITTED" and api.minted.orders_created("delivery") == 1
    events = distinct(consumer.events_of(order_id, 2))
    out, err = capfd.readouterr()
    kept = [lost.text, settled.text, api.raw_ledger_item(order_id), json.dumps(events), "\n".join(log_lines), out, err]
    for text in kept:
        for secret in (STREET, "Markersokak", "Acarlar", "Beykoz"):
            assert secret not in text
    assert order_id in "\n".join(log_lines) + out + err


def test_a_replay_by_customer_id_makes_no_call_and_a_failed_read_places_nothing(api: Api, order_id: str) -> None:
    """Found by a hostile-input review: Minted's record of the customer was read before the ledger, so a
    replay cost a call, and with Minted down a replay answered 503 instead of its stored answer."""
    who = holding(api)
    body = delivery(order_id, who)
    assert api.post("/deliveries", body).status_code == 201
    reads = api.minted.served("get_customer")
    api.minted.fault("get_customer", status=503)
    replay = api.post("/deliveries", body)
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true", replay.text
    taken = api.post("/deliveries", delivery(order_id, who, amount=1))
    assert taken.status_code == 409 and api.minted.served("get_customer") == reads  # neither read Minted
    unread = api.post("/deliveries", delivery(f"{order_id}-2", who))
    assert unread.status_code == 503, unread.text
    row = api.ledger_item(f"{order_id}-2")
    assert row is not None and row["state"] == "NOT_PLACED" and api.minted.orders_created("delivery") == 1
    assert row.get("sent_at") is None  # never sent: nothing for the reconciler to look up (found by a code review)
    api.minted.clear_faults()
    again = api.post("/deliveries", delivery(f"{order_id}-2", who))
    assert again.status_code == 201, again.text  # the retry places it
    assert api.minted.orders_created("delivery") == 2 and gold(api, who) == 1
