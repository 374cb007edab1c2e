"""POST /orders over real HTTP: validation, exactly-once rules, and what the ledger records.

Buys at Minted are counted by the sandbox, never by mocks.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from minted_gateway import runtime
from minted_gateway.minted.models import BuyRequest, Currency, OrderLine, PriceFixRequest
from minted_gateway.orders.requests import OrderRequest
from minted_gateway.settings import input_rules
from tests.conftest import VALID_TCKN
from tests.stack import Api, DynamoCalls, customer, order

TWO_ITEMS = [{"sku": "GAU", "amount": Decimal("1.5")}, {"sku": "GAG", "amount": Decimal("2")}]


@pytest.fixture(params=[False, True], ids=["one order", "split orders"])
def split_orders(request: pytest.FixtureRequest, api: Api) -> bool:
    """Minted makes one order per item of a buy (split) or one order for the whole buy."""
    api.minted.settings(split_orders=request.param)
    split: bool = request.param
    return split


def test_a_b2b2c_buy_reaches_minted_once_and_the_ledger_keeps_no_personal_data(
    api: Api, order_id: str, split_orders: bool
) -> None:
    response = api.post("/orders", order(order_id, api.quote(), items=TWO_ITEMS))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "SUBMITTED" and body["mode"] == "B2B2C" and body["status"] in ("Created", "Pending")
    assert body["items"][0]["amount"] == 1.5 and len(body["order_codes"]) == (2 if split_orders else 1)
    assert [o["guid"] for o in body["orders"]] == body["guids"] and body["final"] is False
    assert {o["status"] for o in body["orders"]} <= {"Created", "Pending"}
    assert response.headers["Location"] == f"/orders/{order_id}" and "Idempotent-Replayed" not in response.headers
    assert api.minted.orders_created() == 1
    row = api.ledger_item(order_id)
    assert row is not None and row["state"] == "SUBMITTED" and row["version"] == 2
    assert not {name for name in row if name.startswith("identity")}  # nothing of the identity number, not even its end
    assert row["lines"][0]["amount"] == Decimal("1.5") and isinstance(row["total"], Decimal)
    stored = api.raw_ledger_item(order_id)
    for personal in (VALID_TCKN, "ayse.yilmaz@example.com", "+905322808035", "Ayşe", "Yılmaz", "1990-12-31"):
        assert personal not in stored


def test_a_list_of_orders_is_refused_whole_and_nothing_is_bought(api: Api, order_id: str) -> None:
    """Powertools read a list sent for one object as its first item: a batch of two placed one, answered 201,
    and the caller believed both were placed. One order a request; a list is a 422 naming the body."""
    first, second = order(order_id, api.quote()), order(order_id + "-2", api.quote())
    for batch in ([first, second], [first]):
        refused = api.post("/orders", batch)
        assert refused.status_code == 422, refused.text
        assert [detail["field"] for detail in refused.json()["error"]["details"]] == ["body"]
    assert api.minted.orders_created() == 0
    assert api.ledger_item(order_id) is None and api.ledger_item(order_id + "-2") is None
    assert api.post("/orders", first).status_code == 201  # the same order, sent as itself


def test_a_b2b_buy_goes_to_the_partner_wallet(api: Api, order_id: str) -> None:
    response = api.post("/orders", order(order_id, api.quote(), with_customer=False))
    assert response.status_code == 201 and response.json()["mode"] == "B2B"
    assert response.json()["customer_external_id"] is None


def test_a_new_buy_costs_two_writes_and_one_read_and_a_replay_one_request(
    api: Api, order_id: str, dynamo_calls: DynamoCalls, split_orders: bool
) -> None:
    body = order(order_id, api.quote(), items=TWO_ITEMS)
    dynamo_calls.calls.clear()
    assert api.post("/orders", body).status_code == 201
    # The claim and the answer; the read is its quote's currency (the gateway checks its own quotes).
    assert (dynamo_calls.writes, dynamo_calls.reads) == (2, 1)
    dynamo_calls.calls.clear()
    minted_buys = api.minted.served("buy")
    replay = api.post("/orders", body)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["order_codes"] == api.ledger_item(order_id)["order_codes"]  # type: ignore[index]
    # The conditional put that finds the row returns it: one DynamoDB request, no Minted call.
    assert len(dynamo_calls.calls) == 1
    assert api.minted.served("buy") == minted_buys


def test_the_same_external_id_with_another_payload_is_a_conflict(api: Api, order_id: str) -> None:
    token = api.quote()
    assert api.post("/orders", order(order_id, token)).status_code == 201
    other = api.post("/orders", order(order_id, token, amount="2"))
    assert other.status_code == 409 and other.json()["error"]["code"] == "order_conflict"
    assert api.minted.orders_created() == 1


def test_equal_amounts_written_differently_are_the_same_payload(api: Api, order_id: str) -> None:
    token = api.quote()
    assert api.post("/orders", order(order_id, token, amount="1.5")).status_code == 201
    assert api.post("/orders", order(order_id, token, amount="1.500")).status_code == 200


def test_concurrent_duplicates_buy_once(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote())
    api.minted.fault("buy", latency_ms=400, times=1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: api.post("/orders", body), range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {200, 201, 409}
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "order_in_progress" and int(response.headers["Retry-After"]) >= 1
    assert api.minted.orders_created() == 1
    assert api.minted.served("buy") == 1


def test_an_answer_lost_after_minted_committed_is_202_then_settled_by_lookup(
    api: Api, order_id: str, split_orders: bool
) -> None:
    body = order(order_id, api.quote(), items=TWO_ITEMS)
    api.minted.fault("buy", drop="after_commit", times=1)
    lost = api.post("/orders", body)
    assert lost.status_code == 202 and lost.json()["state"] == "UNKNOWN"
    assert api.ledger_item(order_id)["state"] == "UNKNOWN"  # type: ignore[index]
    settled = api.get(f"/orders/{order_id}")
    assert settled.status_code == 200 and settled.json()["state"] == "SUBMITTED"
    assert settled.json()["order_codes"] and api.minted.served("find_order") >= 1
    # Every line bought stays on the row, also when the lookup shows one order of a split buy.
    assert [(i["sku"], i["amount"]) for i in settled.json()["items"]] == [("GAU", 1.5), ("GAG", 2)]
    replay = api.post("/orders", body)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert api.minted.orders_created() == 1


def test_a_retry_after_a_lost_answer_looks_up_before_buying(api: Api, order_id: str, split_orders: bool) -> None:
    body = order(order_id, api.quote(), items=TWO_ITEMS)
    api.minted.fault("buy", drop="after_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    retry = api.post("/orders", body)
    assert retry.status_code == 200 and retry.json()["state"] == "SUBMITTED"
    assert retry.json()["history"][-1]["note"].startswith("found at Minted by lookup")
    assert api.minted.orders_created() == 1


def test_a_buy_lost_before_minted_committed_is_bought_on_retry_once(
    api: Api, order_id: str, split_orders: bool
) -> None:
    body = order(order_id, api.quote(), items=TWO_ITEMS)
    api.minted.fault("buy", drop="before_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    assert api.minted.orders_created() == 0
    retry = api.post("/orders", body)
    assert retry.status_code == 201 and retry.json()["state"] == "SUBMITTED"
    assert api.minted.orders_created() == 1
    assert api.post("/orders", body).status_code == 200


def test_a_5xx_on_the_buy_is_treated_as_unknown_not_as_failure(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote())
    api.minted.fault("buy", status=502, times=1)
    assert api.post("/orders", body).status_code == 202
    assert api.post("/orders", body).status_code == 201  # lookup finds none, the token is still valid
    assert api.minted.orders_created() == 1


def test_an_expired_quote_is_refused_with_quote_again_and_the_refusal_replays(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote())
    api.minted.clock(advance_seconds=241)
    refused = api.post("/orders", body)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "quote_expired"
    assert "new quote" in refused.json()["error"]["message"]
    assert api.ledger_item(order_id)["state"] == "REJECTED"  # type: ignore[index]
    replay = api.post("/orders", body)
    assert replay.status_code == 422 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["error"]["code"] == "quote_expired"
    assert api.minted.orders_created() == 0


def test_a_used_quote_is_refused_with_quote_again(api: Api, order_id: str) -> None:
    token = api.quote()
    assert api.post("/orders", order(order_id, token)).status_code == 201
    second = api.post("/orders", order(order_id + "-b", token))
    assert second.status_code == 422 and second.json()["error"]["code"] == "quote_expired"


def test_a_forbidden_buy_is_recorded_and_replayed(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote())
    api.minted.fault("buy", status=403, times=1)
    assert api.post("/orders", body).status_code == 403
    assert api.post("/orders", body).status_code == 403
    assert api.ledger_item(order_id)["rejection"]["code"] == "forbidden"  # type: ignore[index]


def test_rate_limited_buy_is_not_placed_and_may_be_retried(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote())
    api.minted.fault("buy", status=429, retry_after=2, times=1)
    limited = api.post("/orders", body)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 2
    assert api.ledger_item(order_id)["state"] == "NOT_PLACED"  # type: ignore[index]
    assert api.post("/orders", body).status_code == 201
    assert api.minted.orders_created() == 1


def test_an_in_flight_duplicate_waits_and_a_dead_claim_is_settled_by_lookup(api: Api, order_id: str) -> None:
    """A claim whose invocation died (RECEIVED, past its expiry) is looked up at Minted, not bought blindly."""
    body = order(order_id, api.quote())
    request = OrderRequest.model_validate(body)
    runtime.order_ledger().claim(
        runtime.place_order()._new_record(request.purchase(), "a dead invocation's token", _now())
    )
    busy = api.post("/orders", body)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "order_in_progress"
    # Meanwhile the dead invocation's buy did reach Minted.
    runtime.minted().buy(request.to_minted())
    _expire_claim(api, order_id)
    settled = api.post("/orders", body)
    assert settled.status_code == 200 and settled.json()["state"] == "SUBMITTED"
    assert api.minted.orders_created() == 1


def test_a_split_buy_is_final_when_every_order_is_and_get_refreshes_each(api: Api, order_id: str) -> None:
    api.minted.settings(split_orders=True)
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=0)
    placed = api.post("/orders", order(order_id, api.quote(), items=TWO_ITEMS))
    assert placed.status_code == 201 and len(placed.json()["orders"]) == 2
    lookups = api.minted.served("find_order")
    pending = api.get(f"/orders/{order_id}").json()
    assert pending["final"] is False and pending["status"] == "Pending"
    assert api.minted.served("find_order") == lookups + 2  # each order by its guid
    api.minted.clock(completion_delay_seconds=0)
    done = api.get(f"/orders/{order_id}").json()
    assert done["final"] is True and done["status"] == "Completed"
    assert [o["status"] for o in done["orders"]] == ["Completed", "Completed"]
    served = api.minted.served("find_order") + api.minted.served("get_order")
    assert api.get(f"/orders/{order_id}").json()["final"] is True
    assert api.minted.served("find_order") + api.minted.served("get_order") == served  # final: Minted not asked


def _stranger_buys(external_id: str) -> None:
    """Someone places 0.1 g of silver for the partner's own wallet under our id, outside this ledger."""
    token = runtime.minted().price_fix(PriceFixRequest(currency=Currency.TRY)).token
    stranger = BuyRequest(
        price_token=token, external_id=external_id, items=[OrderLine(sku="GAG", amount=Decimal("0.1"))]
    )
    runtime.minted().buy(stranger)


def test_a_strangers_order_under_our_id_is_never_adopted(
    api: Api, order_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _stranger_buys(order_id)
    body = order(order_id, api.quote(), amount="5")
    answer = api.post("/orders", body)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "foreign_order" and error["order"]["state"] == "FOREIGN"
    assert error["order"]["order_codes"] == [] and error["order"]["status"] is None
    assert api.minted.orders_created() == 1  # the stranger's only: nothing was bought for us
    row = api.ledger_item(order_id)
    assert row is not None and row["state"] == "FOREIGN" and "SUBMITTED" not in {e["state"] for e in row["history"]}
    note = row["history"][-1]["note"]
    assert "Asked: Buy for customer cust-0001: GAU 5 g" in note
    assert "Minted holds: Buy for a wallet not shown: GAG 0.1 g" in note
    for personal in (VALID_TCKN, "ayse.yilmaz@example.com", "Ayşe"):
        assert personal not in api.raw_ledger_item(order_id)
    replay = api.post("/orders", body)
    assert replay.status_code == 409 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["error"]["code"] == "foreign_order"
    shown = api.get(f"/orders/{order_id}")
    assert shown.status_code == 409 and shown.json()["error"]["code"] == "foreign_order"
    assert api.minted.orders_created() == 1
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert sum(m.get("OrdersForeign", [0])[0] for m in metrics) == 2  # the answer and the GET
    assert sum(m.get("OrdersReplayed", [0])[0] for m in metrics) == 1  # the replay is counted as one


def test_a_strangers_order_found_while_settling_an_unknown_buy_is_not_adopted(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote(), amount="5")
    api.minted.fault("buy", drop="before_commit", times=1)
    assert api.post("/orders", body).status_code == 202
    _stranger_buys(order_id)
    shown = api.get(f"/orders/{order_id}")
    assert shown.status_code == 409 and shown.json()["error"]["code"] == "foreign_order"
    retry = api.post("/orders", body)
    assert retry.status_code == 409 and retry.json()["error"]["code"] == "foreign_order"
    assert api.minted.orders_created() == 1


def test_leaving_out_the_default_currency_is_the_same_order(api: Api, order_id: str) -> None:
    token = api.quote()
    assert api.post("/orders", order(order_id, token)).status_code == 201
    same = api.post("/orders", order(order_id, token, currency="TRY"))
    assert same.status_code == 200 and same.headers["Idempotent-Replayed"] == "true"
    assert api.post("/orders", order(order_id, token, items=TWO_ITEMS)).status_code == 409  # more metal: another order
    assert api.minted.orders_created() == 1


def test_items_in_another_order_are_the_same_purchase(api: Api, order_id: str) -> None:
    token = api.quote()
    assert api.post("/orders", order(order_id, token, items=TWO_ITEMS)).status_code == 201
    assert api.post("/orders", order(order_id, token, items=list(reversed(TWO_ITEMS)))).status_code == 200


def test_an_order_whose_quote_expired_may_be_retried_with_a_new_quote(api: Api, order_id: str) -> None:
    expired = order(order_id, api.quote())
    api.minted.clock(advance_seconds=241)
    assert api.post("/orders", expired).status_code == 422
    assert api.post("/orders", expired).status_code == 422  # the same token: the refusal replays
    retried = api.post("/orders", order(order_id, api.quote()))
    assert retried.status_code == 201, retried.text
    assert retried.json()["state"] == "SUBMITTED" and "rejection" not in retried.json()
    assert api.minted.orders_created() == 1


def test_a_refusal_a_new_quote_can_retry_is_not_final_and_one_that_replays_is(api: Api, order_id: str) -> None:
    """``final`` means nothing more will change the order: an expired quote's refusal is retried with a new one."""
    expired = order(order_id, api.quote())
    api.minted.clock(advance_seconds=241)
    refused = api.post("/orders", expired).json()["error"]
    assert refused["code"] == "quote_expired" and refused["order"]["final"] is False
    shown = api.get(f"/orders/{order_id}").json()
    assert shown["state"] == "REJECTED" and shown["final"] is False and shown["rejection"]["code"] == "quote_expired"
    # A refusal is read from the ledger, never settled at Minted.
    assert api.minted.served("get_order") == 0 and api.minted.served("find_order") == 0
    forbidden = order(order_id + "-f", api.quote())
    api.minted.fault("buy", status=403, times=1)
    assert api.post("/orders", forbidden).json()["error"]["order"]["final"] is True  # replayed: never changes
    assert api.get(f"/orders/{order_id}-f").json()["final"] is True


def test_a_not_placed_order_may_be_retried_with_a_new_quote(api: Api, order_id: str) -> None:
    api.minted.fault("buy", status=429, retry_after=1, times=1)
    assert api.post("/orders", order(order_id, api.quote())).status_code == 429
    assert api.post("/orders", order(order_id, api.quote())).status_code == 201
    assert api.minted.orders_created() == 1


def test_an_unknown_buy_that_never_reached_minted_settles_as_not_placed_once_its_token_is_past(
    api: Api, order_id: str
) -> None:
    api.minted.fault("buy", drop="before_commit", times=1)
    assert api.post("/orders", order(order_id, api.quote())).status_code == 202
    assert api.get(f"/orders/{order_id}").json()["state"] == "UNKNOWN"  # its token could still buy
    _backdate_attempt(api, order_id, seconds=301)
    settled = api.get(f"/orders/{order_id}").json()
    assert settled["state"] == "NOT_PLACED" and "price token's lifetime" in settled["history"][-1]["note"]
    retried = api.post("/orders", order(order_id, api.quote()))
    assert retried.status_code == 201 and api.minted.orders_created() == 1


def test_a_dead_claim_whose_buy_lands_late_is_not_called_not_placed(api: Api, order_id: str) -> None:
    """The claim expires while its buy is still on its way: unknown until the token is past, then found."""
    body = order(order_id, api.quote())
    request = OrderRequest.model_validate(body)
    runtime.order_ledger().claim(runtime.place_order()._new_record(request.purchase(), "token", _now()))
    _expire_claim(api, order_id)
    assert api.get(f"/orders/{order_id}").json()["state"] == "UNKNOWN"
    runtime.minted().buy(request.to_minted())  # the late commit
    assert api.get(f"/orders/{order_id}").json()["state"] == "SUBMITTED"
    assert api.minted.orders_created() == 1


def test_get_looks_a_not_placed_order_up_at_minted(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote())
    api.minted.fault("buy", status=429, retry_after=1, times=1)
    assert api.post("/orders", body).status_code == 429
    runtime.minted().buy(OrderRequest.model_validate(body).to_minted())  # it got there after all
    shown = api.get(f"/orders/{order_id}").json()
    assert shown["state"] == "SUBMITTED" and "found at Minted by lookup" in shown["history"][-1]["note"]
    assert api.minted.orders_created() == 1


def test_invalid_input_names_every_field_and_writes_nothing(api: Api, order_id: str) -> None:
    bad = {
        "external_id": "x/y",
        "price_token": "short",
        "currency": "JPY",
        "items": [{"sku": "GPD", "amount": Decimal("0.0001")}, {"sku": "GAU", "amount": Decimal("-1")}],
        # Minted publishes no format for these: only our safety bounds (non-empty, no control characters,
        # a length no real value reaches) refuse them by default.
        "customer": customer(identity_number="12345678901\u0000", phone=" ", email="e" * 255,
                             birthdate="2999-01-01", firstname="\t"),
    }  # fmt: skip
    response = api.post("/orders", bad)
    assert response.status_code == 422
    fields = {detail["field"] for detail in response.json()["error"]["details"]}
    assert fields >= {
        "external_id", "price_token", "currency", "items.0.sku", "items.0.amount", "items.1.amount",
        "customer.identity_number", "customer.phone", "customer.email", "customer.birthdate", "customer.firstname",
    }  # fmt: skip
    assert "12345678901" not in response.text
    assert api.minted.served("buy") == 0


@pytest.fixture
def partner_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every unpublished input rule turned on, as a partner would through the template's parameters."""
    for name in ("IDENTITY_NUMBER_CHECK_DIGITS", "PHONE_E164", "BUYER_NAME_LENGTHS", "EMAIL_FORMAT"):
        monkeypatch.setenv(name, "true")
    input_rules.cache_clear()
    yield
    monkeypatch.undo()
    input_rules.cache_clear()


def test_the_published_customer_is_accepted_by_default(api: Api, order_id: str) -> None:
    """Minted's own example customer: its identity number fails the T.C. check digits, which Minted does not publish."""
    published = {"identity_number": "12345677938", "phone": "+90 532 280 80 35", "firstname": "Al", "email": "a@b"}
    response = api.post("/orders", order(order_id, api.quote(), customer=customer(**published)))
    assert response.status_code == 201, response.text
    assert api.minted.orders_created() == 1


def test_the_unpublished_rules_refuse_when_the_partner_turns_them_on(
    api: Api, order_id: str, partner_rules: None
) -> None:
    bad = customer(identity_number="12345677938", phone="0532 280 80 35", email="nope", firstname="Al")
    response = api.post("/orders", order(order_id, api.quote(), customer=bad))
    assert response.status_code == 422
    fields = {detail["field"] for detail in response.json()["error"]["details"]}
    assert fields == {"customer.identity_number", "customer.phone", "customer.email", "customer.firstname"}
    assert "12345677938" not in response.text and "0532 280 80 35" not in response.text
    assert api.minted.served("buy") == 0
    good = customer(phone="+90 532 280 80 35")  # a valid T.C. Kimlik No., an E.164 phone written with spaces
    assert api.post("/orders", order(order_id, api.quote(), customer=good)).status_code == 201
    at_minted = runtime.minted().get_order(order_id).customer
    assert at_minted is not None and at_minted.phone == "+905322808035"  # normalised before it was sent


def test_a_real_date_is_required_and_unknown_fields_are_refused(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote(), customer=customer(birthdate="1990-02-30"), surprise=1)
    fields = {d["field"] for d in api.post("/orders", body).json()["error"]["details"]}
    assert fields == {"customer.birthdate", "surprise"}


def test_a_body_that_is_not_json_or_not_an_object_is_422(api: Api) -> None:
    for raw in ("{not json", "[1, 2]", ""):
        response = api.post("/orders", raw)
        assert response.status_code == 422, raw
        assert response.json()["error"]["code"] == "invalid_input"


def test_turkish_names_round_trip(api: Api, order_id: str) -> None:
    body = order(order_id, api.quote(), customer=customer(firstname="İsmail", lastname="Güneşoğlu"))
    assert api.post("/orders", body).status_code == 201
    at_minted = runtime.minted().get_order(order_id)
    assert at_minted.customer is not None and at_minted.customer.fullname == "İsmail Güneşoğlu"


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _backdate_attempt(api: Api, external_id: str, seconds: int) -> None:
    api.dynamodb.update_item(
        TableName=api.stack.env["ORDERS_TABLE"],
        Key={"external_id": {"S": external_id}},
        UpdateExpression="SET sent_at = :then",
        ExpressionAttributeValues={":then": {"N": str(int(time.time()) - seconds)}},
    )


def _expire_claim(api: Api, external_id: str) -> None:
    api.dynamodb.update_item(
        TableName=api.stack.env["ORDERS_TABLE"],
        Key={"external_id": {"S": external_id}},
        UpdateExpression="SET claim_expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )


def test_a_replay_is_counted_as_a_replay_not_as_another_order(
    api: Api, order_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = order(order_id, api.quote())
    assert api.post("/orders", body).status_code == 201
    for _ in range(2):
        assert api.post("/orders", body).headers["Idempotent-Replayed"] == "true"
    assert api.minted.orders_created() == 1
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert sum(m.get("OrdersSubmitted", [0])[0] for m in metrics) == 1
    assert sum(m.get("OrdersReplayed", [0])[0] for m in metrics) == 2


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_an_order_in_another_currency_than_the_gateways_own_quote_is_always_refused_before_minted(
    api: Api, order_id: str, side: str
) -> None:
    """Minted buys (and sells) in the quote's currency whatever the order names: GBP money for a TRY order.
    The gateway issued the quote, so it knows: no partner setting is needed."""
    quote = api.post("/quotes", {"currency": "GBP", "side": side, "items": [{"sku": "GAU", "amount": 1}]}).json()
    assert quote["currency"] == "GBP"
    extra: dict[str, Any] = {"side": "sell"} if side == "sell" else {}
    for named in ({"currency": "TRY"}, {}):  # left out, the order's currency is TRY
        body = order(order_id, quote["price_token"], amount="1", **named, **extra)
        refused = api.post("/orders", body)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "currency_mismatch" and "GBP" in error["message"]
        assert error["details"] == [{"field": "currency", "message": "the quote's currency is GBP"}]
        assert api.ledger_item(order_id) is None  # nothing half-written: the claim was released
    assert api.minted.served("buy") == 0 and api.minted.served("sell") == 0
    if side == "buy":  # the same id, in the quote's currency, is then placed
        placed = api.post("/orders", order(order_id, quote["price_token"], amount="1", currency="GBP"))
        assert placed.status_code == 201 and placed.json()["currency"] == "GBP"


def test_by_default_a_token_the_gateway_did_not_issue_is_left_to_minted(api: Api, order_id: str) -> None:
    """Minted publishes no such check (its examples pair a TRY price fix with a GBP buy), and the gateway
    cannot know the currency of a token it did not issue: refusing it is a partner setting, off by default."""
    token = runtime.minted().price_fix(PriceFixRequest(currency=Currency.GBP)).token  # past the gateway
    assert api.post("/orders", order(order_id, token, currency="TRY")).status_code == 201


def test_a_rows_status_id_is_minteds_for_one_order_and_none_for_a_split_buy(api: Api, order_id: str) -> None:
    api.minted.clock(completion_delay_seconds=None, pending_after_seconds=600)  # Created until the clock moves
    assert api.post("/orders", order(order_id, api.quote())).status_code == 201
    api.minted.clock(advance_seconds=601)  # Pending (Minted's id 2): a GET refreshes the row
    assert api.get(f"/orders/{order_id}").json()["status"] == "Pending"
    assert api.ledger_item(order_id)["status_id"] == 2  # type: ignore[index]
    api.minted.settings(split_orders=True)
    split = f"{order_id}-s"
    assert api.post("/orders", order(split, api.quote(), items=TWO_ITEMS)).status_code == 201
    api.minted.clock(advance_seconds=601)
    assert api.get(f"/orders/{split}").json()["status"] == "Pending"
    assert api.ledger_item(split).get("status_id") is None  # type: ignore[union-attr]  # one id would hide the other


def test_with_quote_currency_must_match_a_token_the_gateway_did_not_issue_is_refused(
    api: Api, order_id: str, quote_currency_checked: None
) -> None:
    token = runtime.minted().price_fix(PriceFixRequest(currency=Currency.TRY)).token  # past the gateway
    refused = api.post("/orders", order(order_id, token, currency="TRY"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "quote_unknown"
    assert refused.json()["error"]["details"][0]["field"] == "price_token"
    assert api.ledger_item(order_id) is None and api.minted.served("buy") == 0
    # The gateway's own quote is checked and placed.
    assert api.post("/orders", order(order_id, api.quote())).status_code == 201
