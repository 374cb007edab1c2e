"""Buy by card (POST /orders with payment): Minted's card buy, once per external_id, no CVV anywhere.

The sandbox knows its cards by token (local/minted_sandbox/cards.py): one that pays, one that is
declined, and two whose payment stays pending and then succeeds or fails on the sandbox's clock.
What is asserted is the outcome: the answer, the ledger row, the events, the log lines and the
card buys the sandbox really made.
"""

from __future__ import annotations

import concurrent.futures
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from local.minted_sandbox.cards import HOLDER
from minted_gateway import runtime
from tests.events.test_order_events_stack import Consumer, distinct
from tests.stack import Api, customer, order

OK_CARD = "card_visa_ok"  # the sandbox's card that pays
CVV = "8317"  # a marker: it must never come back from the gateway, nor be written or logged
OTHER_CVV = "4096"
CARD_SECRETS = (f'"{CVV}"', f'"{OTHER_CVV}"', f"'{CVV}'", "card_cvv", HOLDER, "card_expiry", "card_holder")


def card(token: str = OK_CARD, cvv: str = CVV) -> dict[str, str]:
    return {"card_token": token, "card_cvv": cvv, "customer_ip": "203.0.113.7"}


def card_order(api: Api, external_id: str, token: str = OK_CARD, cvv: str = CVV, amount: str = "1.5",
               **extra: Any) -> dict[str, Any]:  # fmt: skip
    return order(external_id, api.quote(amount=amount), amount=amount, payment=card(token, cvv), **extra)


def no_card_secret(*texts: str) -> None:
    for text in texts:
        for secret in CARD_SECRETS:
            assert secret not in text, f"{secret!r} in {text[:300]}"


def test_a_card_buy_is_minteds_card_buy_and_shows_the_payment_as_minted_reports_it(api: Api, order_id: str) -> None:
    placed = api.post("/orders", card_order(api, order_id))
    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert (body["state"], body["payment_type"], body["mode"]) == ("SUBMITTED", "card", "B2B2C")
    payment = body["payment"]
    assert payment["state"] == "success" and payment["card_number"] == "404809******7528"
    assert payment["card_association"] == "Visa" and Decimal(str(payment["amount"])) == Decimal(str(body["total"]))
    assert set(payment) <= {
        "state",
        "amount",
        "commission",
        "error_code",
        "error_message",
        "card_number",
        "card_association",
    }  # fmt: skip  -- and nothing more
    assert api.minted.orders_created("card_buy") == 1
    read = api.get(f"/orders/{order_id}").json()
    assert read["payment"]["state"] == "success" and read["payment"]["card_number"] == "404809******7528"
    assert read["payment_cost"] == 10  # Minted's Get Order gives it (its buy answer's orders do not)
    no_card_secret(placed.text, json.dumps(read), api.raw_ledger_item(order_id))


def test_a_card_buy_without_a_currency_goes_to_minted_in_the_currency_the_ledger_records(
    api: Api, order_id: str
) -> None:
    """Minted's card buy takes GBP when no currency_code is sent (the card page): the gateway records the
    default, TRY, so it sends it. The sandbox's rule refuses a currency_code other than the token's."""
    api.minted.rules(currency_must_match_token=True)
    body = card_order(api, order_id)
    assert "currency" not in body and "currency_code" not in body
    placed = api.post("/orders", body)
    assert placed.status_code == 201, placed.text
    assert placed.json()["currency"] == "TRY"
    assert api.minted.orders_created("card_buy") == 1


def test_no_answer_row_event_or_log_line_holds_the_cvv_or_the_card_holder(
    api: Api, order_id: str, consumer: Consumer, log_lines: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    """Markers across a buy, a replay with another CVV, a GET, the workflow, a failure and the events."""
    api.minted.clock(completion_delay_seconds=0.5)
    body = card_order(api, order_id)
    answers = [api.post("/orders", body)]
    assert answers[0].status_code == 201, answers[0].text
    replay = api.post(
        "/orders", {**body, "payment": card(cvv=OTHER_CVV)}
    )  # the same order: another CVV changes nothing
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true", replay.text
    assert replay.json()["order_codes"] == answers[0].json()["order_codes"]
    answers += [replay, api.get(f"/orders/{order_id}")]

    lost = f"{order_id}-lost"  # a failure: the answer is lost after Minted bought, then a GET settles it
    api.minted.fault("buy", drop="after_commit", times=1)
    answers.append(api.post("/orders", card_order(api, lost)))
    assert answers[-1].status_code == 202, answers[-1].text
    answers.append(api.get(f"/orders/{lost}"))
    assert answers[-1].json()["state"] == "SUBMITTED" and answers[-1].json()["payment"]["state"] == "success"

    declined = f"{order_id}-declined"
    answers.append(api.post("/orders", card_order(api, declined, token="card_declined")))
    assert answers[-1].status_code == 422

    workflow = {"external_id": f"{order_id}-wf", "items": [{"sku": "GAU", "amount": Decimal("0.5")}],
                "customer": customer(), "payment": card()}  # fmt: skip
    answers.append(api.post("/orders/workflow", workflow))
    assert answers[-1].status_code == 422 and "payment" in answers[-1].text  # refused before anything started
    invalid = api.post("/orders", {**body, "external_id": f"{order_id}-bad", "payment": {**card(), "customer_ip": "x"}})
    assert invalid.status_code == 422 and "customer_ip" in invalid.text
    answers.append(invalid)

    events = distinct(consumer.events_of(order_id, 3)) + distinct(consumer.events_of(declined, 1))
    assert events and all(e["detail"]["payment"]["type"] == "card" for e in events)
    out, err = capfd.readouterr()
    no_card_secret(*(a.text for a in answers), *(api.raw_ledger_item(i) for i in (order_id, lost, declined)),
                   json.dumps(events), "\n".join(log_lines) + out + err)  # fmt: skip
    assert order_id in "\n".join(log_lines) + out + err  # the buy was logged, without its card


def test_fifty_concurrent_identical_card_buys_make_one_card_buy(api: Api, order_id: str) -> None:
    body = card_order(api, order_id)
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: api.post("/orders", body), range(50)))
    statuses = {a.status_code for a in answers}
    assert statuses <= {200, 201, 409}, statuses  # 409: in progress, retry shortly
    assert 201 in statuses
    assert api.minted.orders_created("card_buy") == 1
    assert {tuple(a.json()["order_codes"]) for a in answers if a.status_code in (200, 201)} == {
        tuple(api.ledger_item(order_id)["order_codes"])  # type: ignore[index]
    }


def test_a_declined_card_is_a_final_rejection_with_minteds_code_and_buys_nothing(api: Api, order_id: str) -> None:
    who = customer(f"decl-{uuid.uuid4().hex[:8]}")
    body = card_order(api, order_id, token="card_declined", customer=who)
    refused = api.post("/orders", body)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "card_declined"
    assert error["details"] == [{"field": "payment", "message": "Do not honour", "error_code": "05"}]
    assert (error["order"]["state"], error["order"]["final"]) == ("REJECTED", True)
    assert error["order"]["payment"]["state"] == "failed"
    again = api.post("/orders", {**body, "price_token": api.quote()})
    assert again.status_code == 422 and again.headers.get("Idempotent-Replayed") == "true"
    read = api.get(f"/orders/{order_id}").json()
    assert (read["state"], read["final"], read["rejection"]["code"]) == ("REJECTED", True, "card_declined")
    assert api.minted.orders_created("card_buy") == 1  # one attempt at Minted, never a second
    grams = {w["sku"]: w["balance"] for w in api.get(f"/customers/{who['external_id']}/balances").json()["balances"]}
    assert grams["GAU"] == 0


@pytest.mark.parametrize("status", [422, 403, 429], ids=["refused, kept", "forbidden, kept", "rate limited, answered"])
def test_minteds_words_quoting_the_card_are_masked_in_the_answer_and_on_the_row(
    api: Api, order_id: str, status: int
) -> None:
    """A careless validator at Minted quotes the CVV, the card and the IP (the sandbox's echo): a refusal is
    kept on the row and replayed, a 429 only answered; neither may hold them, nor the customer's values."""
    api.minted.fault("buy", status=status, echo=True, times=1)
    answer = api.post("/orders", card_order(api, order_id))
    assert answer.status_code == status, answer.text
    row = json.dumps(api.ledger_item(order_id), default=str)
    assert "[personal data]" in answer.text, "the sandbox quoted the payment: there was something to mask"
    for text in (answer.text, row):
        for value in (f"CVV {CVV}", OK_CARD, "203.0.113.7", "ayse.yilmaz@example.com", "Yılmaz"):
            assert value not in text, f"{value!r} in {text[:400]}"
    if status != 429:  # kept: the replay answers from the row
        replay = api.post("/orders", {**card_order(api, order_id), "price_token": api.quote()})
        assert replay.headers.get("Idempotent-Replayed") == "true" and f"CVV {CVV}" not in replay.text


def test_masking_minteds_words_leaves_the_field_names_and_our_message_whole(api: Api, order_id: str) -> None:
    """Found by a code review: a name that is part of a word ("Tom" in "customer") was masked inside the
    details' field names, which a client maps to its form, and inside the gateway's own message."""
    api.minted.fault("buy", status=422, echo=True, times=1)
    refused = api.post("/orders", card_order(api, order_id, customer=customer(firstname="Tom")))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert {d["field"] for d in error["details"]} == {"customer.email", "customer.phone", "payment.card_cvv"}
    assert error["message"] == "Minted refused the order; see details."
    assert f"CVV {CVV}" not in refused.text and "[personal data]" in refused.text


def test_a_decline_quoting_the_cvv_and_ip_is_kept_and_answered_without_them(api: Api, order_id: str) -> None:
    """Found by a code review: Minted's payment error_message went onto the row (payment and rejection) and
    into every later answer as Minted wrote it; the sandbox's card_declined_quoting quotes what was sent."""
    refused = api.post("/orders", card_order(api, order_id, token="card_declined_quoting"))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "card_declined", refused.text
    read = api.get(f"/orders/{order_id}")
    row = json.dumps(api.ledger_item(order_id), default=str)
    assert "CVV [personal data] invalid" in refused.text
    for text in (refused.text, read.text, row):
        assert CVV not in text and "203.0.113.7" not in text, text[:400]
    assert refused.json()["error"]["details"][0]["error_code"] == "82"


def test_a_pending_card_payment_is_not_final_and_settles_by_get(api: Api, order_id: str) -> None:
    api.minted.clock(completion_delay_seconds=1, card_settle_seconds=2)
    placed = api.post("/orders", card_order(api, order_id, token="card_pending"))
    assert placed.status_code == 201, placed.text
    assert (placed.json()["payment"]["state"], placed.json()["final"]) == ("pending", False)
    api.minted.clock(advance_seconds=5)  # paid at 2 s, completed 1 s later
    read = api.get(f"/orders/{order_id}").json()
    assert (read["payment"]["state"], read["status"], read["final"], read["state"]) == (
        "success", "Completed", True, "SUBMITTED",
    )  # fmt: skip


def test_a_pending_card_payment_that_fails_settles_by_get_as_a_final_rejection(api: Api, order_id: str) -> None:
    who = customer(f"pend-{uuid.uuid4().hex[:8]}")
    placed = api.post("/orders", card_order(api, order_id, token="card_pending_declined", customer=who))
    assert placed.status_code == 201 and placed.json()["payment"]["state"] == "pending", placed.text
    api.minted.clock(advance_seconds=5)
    read = api.get(f"/orders/{order_id}").json()
    assert (read["state"], read["status"], read["final"]) == ("REJECTED", "Cancelled", True)
    assert read["rejection"]["details"][0]["error_code"] == "51"
    grams = {w["sku"]: w["balance"] for w in api.get(f"/customers/{who['external_id']}/balances").json()["balances"]}
    assert grams["GAU"] == 0  # the failed payment bought nothing


def test_a_pending_card_payment_settles_by_the_reconciler(api: Api, order_id: str) -> None:
    from tests.reconcile.test_reconciler import run, time_passes

    api.minted.clock(completion_delay_seconds=1, card_settle_seconds=2)
    placed = api.post("/orders", card_order(api, order_id, token="card_pending"))
    assert placed.status_code == 201 and not placed.json()["final"], placed.text
    api.minted.clock(advance_seconds=5)
    time_passes(api, order_id)
    run()
    row = api.ledger_item(order_id)
    assert row is not None and (row["state"], row["status"], row["payment"]["state"]) == (
        "SUBMITTED", "Completed", "success",
    )  # fmt: skip
    assert api.minted.orders_created("card_buy") == 1


def test_the_limits_count_card_buys_like_cash_buys(api: Api, order_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIMIT_CUSTOMER_DAY_AMOUNT", "6000")
    runtime.reset()
    try:
        who = customer(f"lim-{uuid.uuid4().hex[:8]}")
        declined = api.post("/orders", card_order(api, f"{order_id}-d", token="card_declined", customer=who))
        assert declined.status_code == 422  # refused by the card: its part of the day comes back
        first = api.post("/orders", card_order(api, order_id, amount="1.5", customer=who))
        assert first.status_code == 201, first.text
        second = api.post("/orders", card_order(api, f"{order_id}-2", amount="1", customer=who))
        assert second.status_code == 422 and second.json()["error"]["code"] == "limit_exceeded", second.text
        assert api.minted.orders_created("card_buy") == 2  # the declined one and the first; never the second
    finally:
        monkeypatch.undo()
        runtime.reset()


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        ({"card_token": "card_visa_ok", "card_cvv": "12", "customer_ip": "127.0.0.1"}, "card_cvv"),
        ({"card_token": "card_visa_ok", "card_cvv": "123", "customer_ip": "not-an-ip"}, "customer_ip"),
        ({"card_token": "", "card_cvv": "123", "customer_ip": "127.0.0.1"}, "card_token"),
        ({"card_token": "card_visa_ok", "customer_ip": "127.0.0.1"}, "card_cvv"),
        # A zone names an interface, not a customer (found by a hostile-input review).
        ({"card_token": "card_visa_ok", "card_cvv": "123", "customer_ip": "fe80::1%eth0"}, "customer_ip"),
        ({"card_token": "card_visa_ok", "card_cvv": "123", "customer_ip": "fe80::1%\u202e"}, "customer_ip"),
    ],
)
def test_a_bad_payment_is_refused_naming_its_field_and_never_echoed(
    api: Api, order_id: str, payment: dict[str, str], field: str
) -> None:
    response = api.post("/orders", {**order(order_id, api.quote()), "payment": payment})
    assert response.status_code == 422 and field in response.text, response.text
    assert '"12"' not in response.text and "not-an-ip" not in response.text
    assert api.ledger_item(order_id) is None


def test_a_card_pays_only_a_buy_for_a_customer(api: Api, order_id: str) -> None:
    partner_wallet = api.post("/orders", order(order_id, api.quote(), with_customer=False, payment=card()))
    assert partner_wallet.status_code == 422 and "card payment" in partner_wallet.text
    assert api.minted.orders_created("card_buy") == 0 and api.ledger_item(order_id) is None


def test_a_card_buy_and_a_cash_buy_under_one_external_id_are_different_orders(api: Api, order_id: str) -> None:
    assert api.post("/orders", card_order(api, order_id)).status_code == 201
    cash = api.post("/orders", order(order_id, api.quote()))
    assert cash.status_code == 409 and cash.json()["error"]["code"] == "order_conflict"
    other_card = api.post("/orders", card_order(api, order_id, token="card_master_ok"))
    assert other_card.status_code == 409
    assert api.minted.orders_created("buy") == 1
