"""Conditional (target-price) orders: fired once by the refresh that crosses them, placed once at the
sandbox, never after expiry or cancellation; price alerts as events. Over real HTTP against make
dev's stack: the schedule's refresh invoked as Scheduler would, the fired-orders queue in moto with
its consumer running as the event source would, buys counted at the sandbox."""

from __future__ import annotations

import re
from decimal import Decimal

import boto3

from tests.conditional.conftest import BusEvents, conditional_buy, expires_in, refresh, settled
from tests.stack import Api, customer
from tests.waiting import wait_until

API_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


def test_a_conditional_buy_fires_once_when_a_refresh_crosses_its_trigger_and_not_on_the_next_refreshes(
    market: Api,
) -> None:
    api = market
    events = BusEvents(api.stack, "ConditionalOrderTriggered", "ConditionalOrderPlaced")
    made = api.post("/orders/conditional", conditional_buy("target-once", "2800"))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "WAITING" and body["direction"] == "at_or_below" and body["price_side"] == "buy"
    assert made.headers["Location"] == "/orders/conditional/target-once"

    refresh()  # buy price 3045: above the trigger
    assert api.get("/orders/conditional/target-once").json()["state"] == "WAITING"
    assert api.minted.orders_created("buy") == 0

    api.minted.market(GAU=2700)  # buy price 2740.50: crossed
    result = refresh()
    assert result["orders_queued"] == 1
    fired = settled(api, "/orders/conditional/target-once")
    assert fired["state"] == "ORDERED" and fired["order_state"] == "SUBMITTED"
    assert fired["order_external_id"] == "cond-target-once"
    for name in ("created_at", "fired_at", "expires_at"):  # the API's one form of a time (docs/api.md)
        assert API_TIME.fullmatch(fired[name]), (name, fired[name])
    assert Decimal(str(fired["fired_price"])) == Decimal("2740.50")
    order = api.get("/orders/cond-target-once")
    assert order.status_code == 200 and order.json()["state"] == "SUBMITTED"
    assert order.json()["items"][0]["amount"] == 1.5
    assert api.minted.orders_created("buy") == 1

    for _ in range(2):  # the price stays crossed: the next refreshes fire nothing
        assert refresh()["triggers_fired"] == 0
    wait_until(api.minted.idle, what="the sandbox idle")
    assert api.minted.orders_created("buy") == 1
    assert api.get("/orders/conditional/target-once").json()["state"] == "ORDERED"
    wait_until(lambda: len(events.read()) == 2, what="the trigger's two events")
    assert [e["type"] for e in sorted(events.seen, key=lambda e: e["type"])] == [
        "ConditionalOrderPlaced", "ConditionalOrderTriggered"]  # fmt: skip
    assert all(e["order_external_id"] in (None, "cond-target-once") for e in events.seen)
    gone = api.http.delete(api.url + "/orders/conditional/target-once", timeout=30)
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "not_waiting"


def test_an_expired_conditional_buy_never_fires(market: Api) -> None:
    api = market
    made = api.post("/orders/conditional", {**conditional_buy("target-expires"), "expires_at": expires_in(2)})
    assert made.status_code == 201, made.text
    wait_until(lambda: api.get("/orders/conditional/target-expires").json()["state"] == "EXPIRED",
               what="the trigger expired")  # fmt: skip

    api.minted.market(GAU=2700)
    assert refresh()["triggers_fired"] == 0
    assert api.minted.orders_created("buy") == 0
    assert api.get("/orders/conditional/target-expires").json()["state"] == "EXPIRED"
    assert api.get("/orders/cond-target-expires").status_code == 404


def test_a_cancelled_conditional_buy_never_fires_and_cancelling_again_answers_the_same(market: Api) -> None:
    api = market
    assert api.post("/orders/conditional", conditional_buy("target-cancel")).status_code == 201
    cancelled = api.http.delete(api.url + "/orders/conditional/target-cancel", timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "CANCELLED"

    api.minted.market(GAU=2700)
    assert refresh()["triggers_fired"] == 0
    assert api.minted.orders_created("buy") == 0
    again = api.http.delete(api.url + "/orders/conditional/target-cancel", timeout=30)
    assert again.status_code == 200 and again.json()["state"] == "CANCELLED"


def test_a_conditional_sell_fires_when_the_sell_price_rises_to_its_trigger(market: Api) -> None:
    api = market
    api.minted.rules(sell_customer_from_price_fix=True)  # Minted's Sell body has no customer: its Price Fix names it
    # The customer holds silver first: a buy of 50 g.
    bought = api.post("/orders", {"external_id": "silver-first", "price_token": api.quote("GAG", "50"),
                                  "items": [{"sku": "GAG", "amount": Decimal(50)}],
                                  "customer": customer("cust-sell")})  # fmt: skip
    assert bought.status_code == 201, bought.text
    body = {"external_id": "target-sell", "side": "sell", "sku": "GAG", "amount": Decimal(20),
            "trigger_price": Decimal(40), "expires_at": expires_in(86400),
            "customer_external_id": "cust-sell"}  # fmt: skip
    made = api.post("/orders/conditional", body)
    assert made.status_code == 201, made.text
    assert made.json()["direction"] == "at_or_above" and made.json()["price_side"] == "sell"

    api.minted.market(GAG=40)  # sell price 39.40: not yet
    assert refresh()["triggers_fired"] == 0
    api.minted.market(GAG=41)  # sell price 40.385: crossed
    assert refresh()["orders_queued"] == 1
    fired = settled(api, "/orders/conditional/target-sell")
    assert fired["state"] == "ORDERED", fired
    assert api.minted.orders_created("sell") == 1
    assert api.get("/orders/cond-target-sell").json()["side"] == "sell"
    balances = api.get("/customers/cust-sell/balances").json()["balances"]
    assert next(w["balance"] for w in balances if w["sku"] == "GAG") == 30  # the customer's silver: 50 - 20


def test_a_conditional_buy_for_a_customer_is_filled_from_minteds_record_and_keeps_nothing_personal(
    market: Api,
) -> None:
    api = market
    person = customer("cust-cond")
    assert api.post("/customers", person).status_code == 201
    made = api.post("/orders/conditional", conditional_buy("target-customer", customer_external_id="cust-cond"))
    assert made.status_code == 201, made.text
    row = api.dynamodb.get_item(TableName=api.stack.env["TRIGGERS_TABLE"],
                                Key={"trigger_id": {"S": "target-customer"}})["Item"]  # fmt: skip
    for value in ("identity_number", "firstname", "lastname", "email", "phone", "birthdate"):
        assert str(person[value]) not in str(row), value

    api.minted.market(GAU=2700)
    refresh()
    assert settled(api, "/orders/conditional/target-customer")["state"] == "ORDERED"
    order = api.get("/orders/cond-target-customer").json()
    assert order["customer_external_id"] == "cust-cond" and order["mode"] == "B2B2C"
    assert api.minted.orders_created("buy") == 1


def test_a_refused_fired_order_is_failed_and_reported(market: Api) -> None:
    api = market
    events = BusEvents(api.stack, "ConditionalOrderFailed", "ConditionalOrderTriggered")
    made = api.post("/orders/conditional", conditional_buy("target-unknown", customer_external_id="nobody-here"))
    assert made.status_code == 201, made.text
    api.minted.market(GAU=2700)
    refresh()
    failed = settled(api, "/orders/conditional/target-unknown")
    assert failed["state"] == "FAILED" and failed["failure"]["code"] == "customer_details_required"
    assert api.minted.orders_created("buy") == 0
    wait_until(lambda: {e["type"] for e in events.read()} >= {"ConditionalOrderFailed", "ConditionalOrderTriggered"},
               what="the trigger's events")  # fmt: skip
    assert all(e["id"] == "target-unknown" for e in events.seen)


def test_a_price_alert_is_an_event_when_crossed_and_places_nothing(market: Api) -> None:
    api = market
    events = BusEvents(api.stack, "PriceAlertTriggered")
    alert = {"external_id": "alert-gold", "sku": "GAU", "price_side": "sell", "direction": "at_or_above",
             "trigger_price": Decimal(3100), "expires_at": expires_in(3600)}  # fmt: skip
    made = api.post("/alerts", alert)
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "alert"
    assert api.get("/orders/conditional/alert-gold").status_code == 404  # an alert is not an order

    refresh()  # sell price 2955: below
    assert api.get("/alerts/alert-gold").json()["state"] == "WAITING"
    api.minted.market(GAU=3200)  # sell price 3152: crossed
    assert refresh()["alerts_triggered"] == 1
    assert refresh()["alerts_triggered"] == 0
    shown = api.get("/alerts/alert-gold").json()
    assert shown["state"] == "TRIGGERED" and Decimal(str(shown["fired_price"])) == Decimal("3152.00")
    wait_until(events.read, what="the alert's event")
    (event,) = events.seen
    assert event["type"] == "PriceAlertTriggered" and event["id"] == "alert-gold" and event["price"] == "3152.00"
    assert api.minted.orders_created("buy") == 0 and api.minted.orders_created("sell") == 0


def test_the_same_post_again_is_the_same_trigger_and_another_body_under_its_id_is_a_conflict(market: Api) -> None:
    api = market
    body = conditional_buy("target-retry")
    assert api.post("/orders/conditional", body).status_code == 201
    again = api.post("/orders/conditional", body)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    other = api.post("/orders/conditional", {**body, "trigger_price": Decimal(2700)})
    assert other.status_code == 409
    api.minted.market(GAU=2700)
    refresh()
    settled(api, "/orders/conditional/target-retry")
    assert api.minted.orders_created("buy") == 1


def test_a_fired_order_delivered_again_by_the_queue_buys_nothing_more(market: Api) -> None:
    api = market
    assert api.post("/orders/conditional", conditional_buy("target-twice")).status_code == 201
    api.minted.market(GAU=2700)
    refresh()
    assert settled(api, "/orders/conditional/target-twice")["state"] == "ORDERED"
    source = next(s for s in api.stack.event_sources if s.source.queue == "FiredOrdersQueue")
    sqs = boto3.client("sqs", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    for _ in range(2):  # SQS delivers at least once: the same message again, twice
        sqs.send_message(QueueUrl=api.stack.env["FIRED_ORDERS_QUEUE_URL"], MessageBody='{"trigger_id": "target-twice"}')
    wait_until(source.idle, what="both deliveries consumed")
    wait_until(api.minted.idle, what="the sandbox idle")
    assert api.minted.orders_created("buy") == 1
    assert api.get("/orders/conditional/target-twice").json()["state"] == "ORDERED"


def test_a_fired_order_whose_answer_is_lost_stays_fired_until_a_delivery_finds_or_places_it_once(market: Api) -> None:
    """Minted answers 500 to the buy (did it buy? unknown): the trigger is not ORDERED on an order that may
    not exist; the queue delivers it again, the order is looked up, then bought, once."""
    api = market
    assert api.post("/orders/conditional", conditional_buy("target-answer-lost")).status_code == 201
    api.minted.fault("buy", status=500, times=1)
    api.minted.market(GAU=2700)
    refresh()
    trigger = settled(api, "/orders/conditional/target-answer-lost")
    assert (trigger["state"], trigger["order_state"]) == ("ORDERED", "SUBMITTED")
    assert api.minted.orders_created("buy") == 1
    assert api.get("/orders/cond-target-answer-lost").json()["state"] == "SUBMITTED"


def test_a_fired_order_under_a_strangers_order_at_minted_fails_foreign(market: Api) -> None:
    from tests.api.test_orders import _stranger_buys

    api = market
    assert api.post("/orders/conditional", conditional_buy("target-taken")).status_code == 201
    _stranger_buys("cond-target-taken")
    api.minted.fault("buy", drop="before_commit", times=1)  # our buy is lost; the lookup finds the stranger's
    api.minted.market(GAU=2700)
    refresh()
    trigger = settled(api, "/orders/conditional/target-taken")
    assert (trigger["state"], trigger["failure"]["code"]) == ("FAILED", "foreign_order")
    assert api.get("/orders/cond-target-taken").json()["error"]["code"] == "foreign_order"
    assert api.minted.orders_created("buy") == 1  # the stranger's only


def test_a_trigger_made_again_under_a_purged_ones_id_is_not_settled_by_the_old_order(market: Api) -> None:
    """A trigger's id is free again once its row is purged (TTL), but the ledger keeps its order: the new
    trigger's fired order is not the old one (that would say ORDERED and buy nothing); another order
    under the same id is refused for good."""
    api = market
    assert api.post("/orders/conditional", conditional_buy("target-again")).status_code == 201
    api.minted.market(GAU=2700)
    refresh()
    assert settled(api, "/orders/conditional/target-again")["state"] == "ORDERED"
    api.dynamodb.delete_item(TableName=api.stack.env["TRIGGERS_TABLE"], Key={"trigger_id": {"S": "target-again"}})
    api.minted.market(GAU=3000)
    again = api.post("/orders/conditional", conditional_buy("target-again"))  # the same body as the purged one
    assert again.status_code == 201, again.text
    api.minted.market(GAU=2700)
    refresh()
    trigger = settled(api, "/orders/conditional/target-again")
    assert (trigger["state"], trigger["failure"]["code"]) == ("FAILED", "order_conflict")
    assert api.minted.orders_created("buy") == 1


def test_a_fired_order_whose_answer_is_lost_is_not_failed_when_asked_again_differently(market: Api) -> None:
    """The buy's answer is lost and Minted has nothing yet, then the customer changes a detail: the next
    delivery's request differs from the first (409), but the first may still land, so the trigger stays
    FIRED (its message comes again) and nothing more is bought."""
    api = market
    assert api.post("/customers", customer("cust-cond-2")).status_code == 201
    made = api.post("/orders/conditional", conditional_buy("target-asked-again", customer_external_id="cust-cond-2"))
    assert made.status_code == 201, made.text
    api.minted.fault("buy", drop="before_commit", times=1)
    source = next(s for s in api.stack.event_sources if s.source.queue == "FiredOrdersQueue")
    queue_url = api.stack.env["FIRED_ORDERS_QUEUE_URL"]
    sqs = boto3.client("sqs", endpoint_url=api.stack.aws_url, region_name="eu-central-1")
    try:
        api.minted.market(GAU=2700)
        refresh()
        wait_until(lambda: (api.ledger_item("cond-target-asked-again") or {}).get("state") == "UNKNOWN"
                   and source.running == 0, what="the first delivery")  # fmt: skip
        changed = api.http.patch(f"{api.url}/customers/cust-cond-2", json={"phone": "+905322808099"}, timeout=30)
        assert changed.status_code == 200, changed.text
        lookups = api.minted.served("get_order") + api.minted.served("find_order")
        wait_until(lambda: api.minted.served("get_order") + api.minted.served("find_order") > lookups
                   and source.running == 0, what="the next delivery")  # fmt: skip
        assert api.get("/orders/conditional/target-asked-again").json()["state"] == "FIRED"
        assert api.minted.orders_created("buy") == 0
    finally:
        sqs.purge_queue(QueueUrl=queue_url)  # the message would come back until the token's lifetime is over


def test_a_stored_amount_no_order_can_take_fails_the_fired_order_for_good(market: Api) -> None:
    """Found by a code review: amounts of 29-38 digits were once taken and kept (the bound is 28 digits now).
    Fired, such a trigger raised a validation error that failed the consumer's whole batch, again and again
    until the dead-letter queue, the trigger left FIRED; it is FAILED now, naming the amount, nothing bought."""
    api = market
    assert api.post("/orders/conditional", conditional_buy("target-long-amount")).status_code == 201
    api.dynamodb.update_item(TableName=api.stack.env["TRIGGERS_TABLE"], Key={"trigger_id": {"S": "target-long-amount"}},
                             UpdateExpression="SET amount = :long",
                             ExpressionAttributeValues={":long": {"N": "1.50000000000000000000000000001"}})  # fmt: skip
    buys = api.minted.orders_created("buy")
    api.minted.market(GAU=2700)
    refresh()
    trigger = settled(api, "/orders/conditional/target-long-amount")
    assert (trigger["state"], trigger["failure"]["code"]) == ("FAILED", "invalid_input"), trigger
    assert api.minted.orders_created("buy") == buys
