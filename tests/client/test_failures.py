"""Every error class, timeouts, retries of reads, and that a buy is never sent twice.

Faults come from the sandbox's control API; counts come from its counters, not from mocks.
"""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest

from local.minted_sandbox.control import SandboxControl
from minted_gateway.minted import MintedClient, MintedClientConfig, StaticCredentials
from minted_gateway.minted import errors as e
from minted_gateway.minted.models import BuyerCustomer, BuyRequest, OrderLine, PriceFixRequest
from tests.conftest import VALID_TCKN, partner_credentials
from tests.waiting import wait_until


def test_the_language_really_changes_and_the_error_class_does_not(
    minted: MintedClient, client_config: MintedClientConfig
) -> None:
    expected = {"tr": "Parametre Hatası (Yeni Müşteri)", "en": "Parameter Error (New Customer)"}
    customer = BuyerCustomer(external_id="cust-lang", identity_number="", firstname="Ali", lastname="Veli",
                             email="a@example.com", phone="+905322808035")  # fmt: skip
    with pytest.raises(e.MintedNewCustomerError) as refused:
        minted.buy(gold_buy(minted, "lang-1", customer=customer))
    assert refused.value.message == expected[client_config.accept_language]
    assert set(refused.value.field_errors) == {"customer.identity_number"}


@pytest.mark.parametrize(
    ("status", "read_error", "buy_error"),
    [
        (404, e.MintedNotFoundError, e.MintedOutcomeUnknownError),  # a buy never answers 404: it may exist
        (409, e.MintedBadResponseError, e.MintedOutcomeUnknownError),  # not understood: the never-twice side
        (418, e.MintedBadResponseError, e.MintedOutcomeUnknownError),
        (503, e.MintedUnavailableError, e.MintedOutcomeUnknownError),
        (403, e.MintedForbiddenError, e.MintedForbiddenError),
    ],
)
def test_each_status_means_one_thing_and_the_unknown_ones_never_risk_a_second_buy(
    minted: MintedClient, sandbox: SandboxControl, status: int, read_error: type, buy_error: type
) -> None:
    request = gold_buy(minted, f"status-{status}")
    sandbox.fault("*", status=status)
    with pytest.raises(buy_error):
        minted.buy(request)
    with pytest.raises(read_error):
        minted.get_order(f"status-{status}")
    assert sandbox.orders_created() == 0


def test_a_refusal_naming_only_the_customer_is_new_customer_whatever_the_message(
    minted: MintedClient, sandbox: SandboxControl
) -> None:
    """A 422 whose fields are all the inline customer's: Minted cannot create that customer."""
    customer = BuyerCustomer(external_id="cust-nc", identity_number="1", firstname="Ali", lastname="Veli",
                             email="", phone="+905322808035")  # fmt: skip
    with pytest.raises(e.MintedNewCustomerError) as refused:
        minted.buy(gold_buy(minted, "nc-structure-1", customer=customer))
    assert set(refused.value.field_errors) == {"customer.email"}
    customer_and_order = gold_buy(minted, "nc-structure-2", customer=customer, items=[OrderLine(sku="GPD", amount=1)])
    with pytest.raises(e.MintedValidationError) as mixed:
        minted.buy(customer_and_order)
    assert type(mixed.value) is e.MintedValidationError  # the order itself is refused too: not New Customer
    assert sandbox.orders_created() == 0


def gold_buy(minted: MintedClient, external_id: str, **overrides: object) -> BuyRequest:
    fields: dict[str, object] = {
        "price_token": minted.price_fix(PriceFixRequest()).token,
        "external_id": external_id,
        "items": [OrderLine(sku="GAU", amount=Decimal("0.25"))],
    }
    fields.update(overrides)
    return BuyRequest.model_validate(fields)


def test_validation_error_names_every_offending_field(minted: MintedClient, sandbox: SandboxControl) -> None:
    sandbox.rules(currency_must_match_token=True)
    request = gold_buy(minted, "bad-order-1", items=[OrderLine(sku="GPD", amount=Decimal(1))], currency_code="USD")
    with pytest.raises(e.MintedValidationError) as refused:
        minted.buy(request)
    assert refused.value.status == 422
    assert set(refused.value.field_errors) == {"items.0.sku", "currency_code"}
    assert sandbox.orders_created() == 0


def test_new_customer_error_when_inline_fields_cannot_create_them(
    minted: MintedClient, sandbox: SandboxControl
) -> None:
    sandbox.rules(identity_check_digits=True, buy_name_lengths=True, email_format=True, phone_e164=True)
    customer = BuyerCustomer(
        external_id="cust-new", identity_number="12345678901", firstname="Al", lastname="Veli",
        email="not-an-email", phone="12", gender="M",
    )  # fmt: skip
    with pytest.raises(e.MintedNewCustomerError) as refused:
        minted.buy(gold_buy(minted, "new-cust-1", customer=customer))
    assert {"customer.identity_number", "customer.firstname", "customer.email", "customer.phone"} <= set(
        refused.value.field_errors
    )
    assert VALID_TCKN not in str(refused.value)


@pytest.mark.parametrize("how", ["expired", "used", "unknown"])
def test_price_token_problems_say_quote_again(minted: MintedClient, sandbox: SandboxControl, how: str) -> None:
    request = gold_buy(minted, "token-1")
    if how == "expired":
        sandbox.clock(advance_seconds=241)
    elif how == "used":
        minted.buy(request)
        request = request.model_copy(update={"external_id": "token-2"})
    else:
        request = request.model_copy(update={"price_token": "X" * 32})
    with pytest.raises(e.MintedPriceTokenError) as refused:
        minted.buy(request)
    assert "price_token" in refused.value.field_errors
    assert sandbox.orders_created() == (1 if how == "used" else 0)


def test_duplicate_external_id_is_refused_by_minted(minted: MintedClient, sandbox: SandboxControl) -> None:
    minted.buy(gold_buy(minted, "dup-1"))
    with pytest.raises(e.MintedValidationError) as refused:
        minted.buy(gold_buy(minted, "dup-1"))
    assert "external_id" in refused.value.field_errors
    assert sandbox.orders_created() == 1


def test_forbidden(minted: MintedClient, sandbox: SandboxControl) -> None:
    sandbox.fault("buy", status=403)
    with pytest.raises(e.MintedForbiddenError):
        minted.buy(gold_buy(minted, "forbidden-1"))
    assert sandbox.orders_created() == 0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_buy_answered_5xx_is_outcome_unknown_and_never_resent(
    minted: MintedClient, sandbox: SandboxControl, status: int
) -> None:
    request = gold_buy(minted, f"5xx-{status}")
    sandbox.fault("buy", status=status)
    with pytest.raises(e.MintedOutcomeUnknownError) as lost:
        minted.buy(request)
    assert lost.value.cause == f"HTTP {status}"
    assert sandbox.counters()["faults_applied"]["buy"] == 1  # one authenticated buy request, not retried


def test_a_read_answered_5xx_is_retried_then_succeeds(minted: MintedClient, sandbox: SandboxControl) -> None:
    sandbox.fault("order_statuses", status=503, times=2)
    assert len(minted.order_statuses()) == 12
    assert sandbox.counters()["faults_applied"]["order_statuses"] == 2


def test_a_read_that_keeps_failing_gives_unavailable_after_the_configured_attempts(
    minted: MintedClient, sandbox: SandboxControl
) -> None:
    sandbox.fault("prices", status=502)
    with pytest.raises(e.MintedUnavailableError):
        minted.product_prices()
    assert sandbox.counters()["faults_applied"]["prices"] == minted.config.read_attempts


def test_rate_limit_on_a_read_waits_retry_after_then_succeeds(minted: MintedClient, sandbox: SandboxControl) -> None:
    sandbox.fault("order_statuses", status=429, retry_after=1, times=1)
    started = time.monotonic()
    assert len(minted.order_statuses()) == 12
    assert time.monotonic() - started >= 1.0


def test_rate_limit_on_a_buy_is_raised_with_retry_after(minted: MintedClient, sandbox: SandboxControl) -> None:
    request = gold_buy(minted, "rl-1")
    sandbox.fault("buy", status=429, retry_after=7)
    with pytest.raises(e.MintedRateLimitedError) as limited:
        minted.buy(request)
    assert limited.value.retry_after == Decimal(7)
    assert sandbox.orders_created() == 0


@pytest.mark.parametrize(
    ("header", "read"),
    [("Infinity", None), ("NaN", None), ("1e5000", None), ("1e999999999", None), ("-5", Decimal(0)),
     ("99999999999", Decimal(3600)), ("not a date", None), ("Wed, 21 Oct 2015 07:28:00 -0000", Decimal(0)),
     ("Wed, 21 Oct 2099 07:28:00 GMT", Decimal(3600))],
)  # fmt: skip
def test_a_hostile_retry_after_is_read_within_bounds_or_not_at_all(
    minted: MintedClient, sandbox: SandboxControl, header: str, read: Decimal | None
) -> None:
    """Found by a code review: Minted's Retry-After went unbounded into int() (Infinity, 1e5000: a 500;
    1e999999999: a number of a billion digits), and a date in "-0000" into a naive-aware subtraction."""
    from minted_gateway.errors import from_minted

    sandbox.fault("buy", status=429, retry_after=header, times=1)
    started = time.monotonic()
    with pytest.raises(e.MintedRateLimitedError) as limited:
        minted.buy(gold_buy(minted, f"rl-hostile-{abs(hash(header))}"))
    assert limited.value.retry_after == read
    assert 1 <= from_minted(limited.value).retry_after <= 3601  # our own answer's Retry-After, an int
    assert time.monotonic() - started < 5 and sandbox.orders_created() == 0


def test_a_retry_after_longer_than_the_budget_is_not_waited_for(minted: MintedClient, sandbox: SandboxControl) -> None:
    sandbox.fault("order_statuses", status=429, retry_after=30)
    with pytest.raises(e.MintedRateLimitedError):
        minted.order_statuses()
    assert sandbox.counters()["faults_applied"]["order_statuses"] == 1


def test_connection_dropped_after_commit_on_a_buy_is_outcome_unknown_with_one_order(
    minted: MintedClient, sandbox: SandboxControl
) -> None:
    request = gold_buy(minted, "drop-after-1")
    sandbox.fault("buy", drop="after_commit", times=1)
    with pytest.raises(e.MintedOutcomeUnknownError) as lost:
        minted.buy(request)
    assert lost.value.cause == "connection lost"
    assert sandbox.orders_created() == 1
    assert minted.get_order("drop-after-1").external_id == "drop-after-1"  # the lookup finds it


def test_connection_dropped_before_commit_on_a_buy_is_outcome_unknown_with_no_order(
    minted: MintedClient, sandbox: SandboxControl
) -> None:
    request = gold_buy(minted, "drop-before-1")
    sandbox.fault("buy", drop="before_commit", times=1)
    with pytest.raises(e.MintedOutcomeUnknownError):
        minted.buy(request)
    assert sandbox.orders_created() == 0
    with pytest.raises(e.MintedNotFoundError):
        minted.get_order("drop-before-1")


def test_a_dropped_read_is_retried(minted: MintedClient, sandbox: SandboxControl) -> None:
    sandbox.fault("legal", drop="before_commit", times=1)
    assert len(minted.legal_documents()) == 4


@pytest.mark.parametrize("body", ["malformed", "empty", "partial"])
def test_an_unreadable_answer_to_a_buy_is_outcome_unknown(
    minted: MintedClient, sandbox: SandboxControl, body: str
) -> None:
    request = gold_buy(minted, f"bad-body-{body}")
    sandbox.fault("buy", body=body)
    with pytest.raises(e.MintedOutcomeUnknownError) as lost:
        minted.buy(request)
    assert lost.value.cause == "malformed answer"
    assert sandbox.orders_created() == 1


@pytest.mark.parametrize("body", ["malformed", "empty"])
def test_an_unreadable_answer_to_a_read_is_a_bad_response(
    minted: MintedClient, sandbox: SandboxControl, body: str
) -> None:
    sandbox.fault("order_statuses", body=body)
    with pytest.raises(e.MintedBadResponseError):
        minted.order_statuses()
    assert sandbox.counters()["faults_applied"]["order_statuses"] == minted.config.read_attempts


def test_an_answer_missing_fields_is_typed_and_names_only_the_fields(
    minted: MintedClient, sandbox: SandboxControl
) -> None:
    minted.buy(gold_buy(minted, "partial-get-1"))
    sandbox.fault("get_order", body="partial")
    with pytest.raises(e.MintedBadResponseError) as partial:
        minted.get_order("partial-get-1")
    assert str(partial.value) == "get_order: answer lacks fields: data"  # an order with no identity
    request = gold_buy(minted, "partial-buy-1")
    sandbox.fault("buy", body="partial")
    with pytest.raises(e.MintedOutcomeUnknownError):
        minted.buy(request)
    assert sandbox.orders_created() == 2


def test_read_timeout_on_a_read_is_a_timeout(sandbox: SandboxControl) -> None:
    config = MintedClientConfig(read_timeout=0.3, read_attempts=2, backoff_base=0.01)
    client = MintedClient(StaticCredentials(partner_credentials(sandbox.base_url)), config)
    client.order_statuses()
    sandbox.fault("order_statuses", latency_ms=1500)
    with pytest.raises(e.MintedTimeoutError):
        client.order_statuses()
    assert sandbox.counters()["faults_applied"]["order_statuses"] == 2


def test_read_timeout_on_a_buy_is_outcome_unknown_and_the_order_exists(sandbox: SandboxControl) -> None:
    config = MintedClientConfig(read_timeout=0.3)
    client = MintedClient(StaticCredentials(partner_credentials(sandbox.base_url)), config)
    request = gold_buy(client, "slow-buy-1")
    sandbox.fault("buy", latency_ms=1500, times=1)
    with pytest.raises(e.MintedOutcomeUnknownError) as lost:
        client.buy(request)
    assert lost.value.cause == "timeout"
    wait_until(sandbox.idle)  # the sandbox finishes the slow request and commits it
    assert sandbox.orders_created() == 1


def test_the_time_budget_bounds_timeouts_and_stops_retries(sandbox: SandboxControl) -> None:
    client = MintedClient(StaticCredentials(partner_credentials(sandbox.base_url)), MintedClientConfig(read_timeout=10))
    client.order_statuses()
    sandbox.fault("order_statuses", latency_ms=30000)
    before = sandbox.requests_to("order_statuses")
    started = time.monotonic()
    with client.time_budget(0.5), pytest.raises(e.MintedTimeoutError):
        client.order_statuses()
    # Bounded by the half-second budget, not by the 10 s timeout nor the 30 s answer: the bound is far
    # from both, so a busy machine cannot make it pass or fail by luck.
    assert time.monotonic() - started < 9
    assert sandbox.requests_to("order_statuses") - before == 1, "no retry once the budget is spent"


def test_a_spent_budget_sends_nothing(minted: MintedClient, sandbox: SandboxControl) -> None:
    request = gold_buy(minted, "no-time-1")
    before = sandbox.requests_to("buy")
    with minted.time_budget(0.0), pytest.raises(e.MintedTimeoutError):
        minted.buy(request)
    assert sandbox.requests_to("buy") == before


def test_a_refused_connection_is_unavailable_even_for_a_buy() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = MintedClient(
        StaticCredentials(partner_credentials(f"http://127.0.0.1:{closed_port}")),
        MintedClientConfig(backoff_base=0.01, read_attempts=2),
    )
    request = BuyRequest(price_token="t" * 32, external_id="refused-1", items=[OrderLine(sku="GAU", amount=Decimal(1))])
    with pytest.raises(e.MintedUnavailableError):  # nothing left the machine, so the outcome is known
        client.buy(request)
    with pytest.raises(e.MintedUnavailableError):
        client.order_statuses()
