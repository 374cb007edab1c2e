"""Per-container wiring: every client and use case is built on first use and then reused.

Nothing here runs at import time, and each factory imports what it builds only when it is first
called: a function's cold start pays only for the use cases that function runs (the legal
function never loads the ledger or boto3's DynamoDB types). Tests can ``reset()`` between cases.
"""
# ruff: noqa: PLC0415 - the imports inside the factories are the point of this module

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minted_gateway.settings import SettingsError, input_rules, settings

if TYPE_CHECKING:
    from minted_gateway.conditional.check import CheckTriggers
    from minted_gateway.conditional.dynamodb_triggers import DynamoDbTriggerStore
    from minted_gateway.conditional.manage import CancelTrigger, CreateTrigger, GetTrigger
    from minted_gateway.conditional.place import PlaceFiredOrder
    from minted_gateway.customers.balances import GetBalances
    from minted_gateway.customers.manage import CreateCustomer, GetCustomer, UpdateCustomer
    from minted_gateway.deliveries.create import CreateDelivery
    from minted_gateway.events.bus import EventBridgeBus
    from minted_gateway.legal.documents import LegalDocuments
    from minted_gateway.minted import MintedClient
    from minted_gateway.orders.dynamodb_ledger import DynamoDbOrderLedger
    from minted_gateway.orders.dynamodb_limits import DynamoDbDailyTotals
    from minted_gateway.orders.fingerprint import Fingerprinter
    from minted_gateway.orders.get_order import GetOrder
    from minted_gateway.orders.history import ListOrders
    from minted_gateway.orders.limits import LimitRules, OrderLimits
    from minted_gateway.orders.place_order import PlaceOrder
    from minted_gateway.orders.reconcile import CompareWithMinted, Reconcile
    from minted_gateway.orders.statuses import RefreshOrderStatuses, StatusNames
    from minted_gateway.orders.workflow import RecordWorkflowFailure, StartBuyWorkflow
    from minted_gateway.orders.workflow_customers import WorkflowCustomers, WorkflowTaskOrders
    from minted_gateway.prices.get_prices import GetPrices, RefreshPrices
    from minted_gateway.prices.price_cache import DynamoDbPriceCache
    from minted_gateway.prices.quote_book import DynamoDbQuoteBook
    from minted_gateway.prices.quotes import CreateQuote

# Leave this much of a Lambda's time for writing the ledger after Minted answers.
RESERVED_SECONDS = 3.0


@functools.cache
def minted() -> MintedClient:
    from minted_gateway.minted import MintedClient, MintedClientConfig, SecretsManagerCredentials

    s = settings()
    config = MintedClientConfig(
        connect_timeout=s.minted_connect_timeout_seconds,
        read_timeout=s.minted_read_timeout_seconds,
        birthdate_format=s.minted_birthdate_strftime,
        accept_language=s.minted_language,
    )
    # Every invocation builds this client (for its time budget); only a Minted call reads the secret.
    credentials = SecretsManagerCredentials(
        s.partner_secret_id,
        max_age=s.secret_max_age_seconds,
        boto3_client=ClientOnFirstUse(secretsmanager),
        defaults={"base_url": s.minted_base_url, "client_id": s.minted_client_id},
    )
    return MintedClient(credentials, config)


@functools.cache
def aws_session() -> Any:
    """One botocore session for every client: each new session loads botocore's endpoint and service
    data again (about 25 ms a session on a cold start), so nothing here may create its own. botocore's,
    not boto3's: a client is the same, and importing boto3 (s3transfer, multiprocessing, its resource
    layer) was about 25 ms of a cold start that no function uses (docs/performance.md)."""
    import botocore.session

    return botocore.session.get_session()


class ClientOnFirstUse:
    """Stands for a boto3 client and makes it when something on it is first used."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make

    def __getattr__(self, name: str) -> Any:
        return getattr(self._make(), name)


_session_lock = threading.Lock()  # a botocore session is not thread-safe (the local gateway runs threads)
_clients: list[Any] = []  # every boto3 client made here, for renew_after_restore


def aws_client(service: str) -> Any:
    """A new boto3 client of the one session, with our timeouts and retries (and renewed after a restore)."""
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3})
    with _session_lock:
        client = aws_session().create_client(service, config=config)
        _clients.append(client)
        return client


@functools.cache
def dynamodb() -> Any:
    from minted_gateway.call_timings import time_dynamodb

    return time_dynamodb(aws_client("dynamodb"))


@functools.cache
def secretsmanager() -> Any:
    """Shared by the partner's credentials and the ledger key (Powertools would make one per reader)."""
    return aws_client("secretsmanager")


@functools.cache
def fingerprinter() -> Fingerprinter:
    from minted_gateway.orders.fingerprint import Fingerprinter
    from minted_gateway.secrets import read_secret

    key = read_secret(secretsmanager(), settings().ledger_key_secret_id)  # read once per container
    return Fingerprinter(key.encode("utf-8") if isinstance(key, str) else bytes(key))


@functools.cache
def order_ledger() -> DynamoDbOrderLedger:
    from minted_gateway.orders.dynamodb_ledger import DynamoDbOrderLedger

    return DynamoDbOrderLedger(
        dynamodb(), settings().orders_table, daily_totals(), token_seconds=settings().price_token_seconds
    )


@functools.cache
def limit_rules() -> LimitRules:
    from minted_gateway.orders.limits import LimitRules

    return LimitRules.from_env()


@functools.cache
def daily_totals() -> DynamoDbDailyTotals | None:
    """The day's limit counters, only when a daily limit is set (then the ledger gives back through them)."""
    from minted_gateway.orders.dynamodb_limits import DynamoDbDailyTotals

    rules = limit_rules()
    if not rules.daily:
        return None
    if not rules.limits_table:
        raise SettingsError("invalid environment: LIMITS_TABLE (missing, and a daily limit is set)")
    return DynamoDbDailyTotals(dynamodb(), rules.limits_table, shards=rules.limit_partner_day_shards)


@functools.cache
def order_limits() -> OrderLimits | None:
    from minted_gateway.orders.limits import CurrentPrices, OrderLimits
    from minted_gateway.orders.order_book import utcnow

    rules = limit_rules()
    if not (rules.values_money or rules.limit_order_grams):
        return None  # no limit set: nothing to check, nothing to read
    return OrderLimits(rules, daily_totals(), CurrentPrices(get_prices()), now=utcnow)


@functools.cache
def price_cache() -> DynamoDbPriceCache:
    from minted_gateway.prices.price_cache import DynamoDbPriceCache

    return DynamoDbPriceCache(dynamodb(), settings().prices_table)


@functools.cache
def place_order() -> PlaceOrder:
    from minted_gateway.orders.place_order import PlaceOrder

    return PlaceOrder(order_ledger(), minted(), fingerprinter(), claim_seconds=settings().claim_seconds,
                      limits=order_limits(), quotes=quote_book,
                      foreign_tokens_refused=foreign_tokens_refused)  # fmt: skip


@functools.cache
def create_delivery() -> CreateDelivery:
    from minted_gateway.deliveries.create import CreateDelivery

    return CreateDelivery(place_order(), minted())


def foreign_tokens_refused() -> bool:
    """QuoteCurrencyMustMatch (off by default): refuse a price token this gateway did not issue, whose
    currency it cannot check (its own quotes are always checked)."""
    return input_rules().quote_currency_must_match


@functools.cache
def quote_book() -> DynamoDbQuoteBook:
    from minted_gateway.prices.quote_book import DynamoDbQuoteBook

    return DynamoDbQuoteBook(dynamodb(), settings().prices_table)


@functools.cache
def get_order() -> GetOrder:
    from minted_gateway.minted.models.base import name_statuses_with
    from minted_gateway.orders.get_order import GetOrder

    # A refresh may meet a status Minted added later: named from the cached list (read only then).
    name_statuses_with(order_status_names().name)

    return GetOrder(order_ledger(), minted(), token_seconds=settings().price_token_seconds)


@functools.cache
def order_status_names() -> StatusNames:
    from minted_gateway.orders.statuses import DynamoDbStatusNames, StatusNames

    return StatusNames(DynamoDbStatusNames(dynamodb(), settings().prices_table))


@functools.cache
def refresh_order_statuses() -> RefreshOrderStatuses:
    from minted_gateway.orders.statuses import DynamoDbStatusNames, RefreshOrderStatuses

    return RefreshOrderStatuses(DynamoDbStatusNames(dynamodb(), settings().prices_table), minted(), clock=time.time)


@functools.cache
def list_orders() -> ListOrders:
    from minted_gateway.orders.history import ListOrders

    return ListOrders(order_ledger())


@functools.cache
def reconcile() -> Reconcile:
    """The reconciler's run: every row needing attention."""
    return _reconciler(settings().reconcile_lease_seconds)


@functools.cache
def follow_orders() -> Reconcile:
    """The follow schedule's run: non-final SUBMITTED orders only, refreshed as a GET would."""
    from minted_gateway.orders.reconcile import FOLLOWED_STATES

    return _reconciler(settings().follow_lease_seconds, states=FOLLOWED_STATES)


def _reconciler(lease_seconds: int, **only: Any) -> Reconcile:
    from minted_gateway.orders.reconcile import Reconcile

    s = settings()
    # The GET use case itself: the reconciler settles rows exactly as a partner's GET would.
    return Reconcile(order_ledger(), get_order(), max_rows=s.reconcile_max_rows,
                     time_budget_seconds=s.reconcile_time_budget_seconds, lease_seconds=lease_seconds,
                     token_seconds=s.price_token_seconds, **only)  # fmt: skip


@functools.cache
def compare_with_minted() -> CompareWithMinted:
    from minted_gateway.orders.reconcile import CompareWithMinted

    s = settings()
    return CompareWithMinted(order_ledger(), minted(), max_pages=s.compare_max_pages,
                             time_budget_seconds=s.reconcile_time_budget_seconds, days=s.compare_days)  # fmt: skip


@functools.cache
def order_events_bus() -> EventBridgeBus:
    from minted_gateway.events.bus import EventBridgeBus

    bus = settings().order_events_bus
    if not bus:
        raise SettingsError("invalid environment: ORDER_EVENTS_BUS (missing)")
    return EventBridgeBus(aws_client("events"), bus)


@functools.cache
def get_prices() -> GetPrices:
    from minted_gateway.prices.get_prices import GetPrices

    return GetPrices(price_cache(), minted(), max_age_seconds=settings().price_max_age_seconds, clock=time.time)


@functools.cache
def refresh_prices() -> RefreshPrices:
    from minted_gateway.prices.get_prices import RefreshPrices

    # The triggers' check rides on every refresh that stored new prices, when the stack has triggers.
    after_store = check_triggers().after_refresh if settings().triggers_table else None
    return RefreshPrices(price_cache(), minted(), clock=time.time, after_store=after_store)


@functools.cache
def create_quote() -> CreateQuote:
    from minted_gateway.prices.quotes import CreateQuote

    return CreateQuote(minted(), quote_book)


@functools.cache
def start_buy_workflow() -> StartBuyWorkflow:
    from minted_gateway.orders.workflow import StartBuyWorkflow, StepFunctionsEngine

    arn = settings().buy_workflow_arn
    if not arn:
        raise SettingsError("invalid environment: BUY_WORKFLOW_ARN (missing)")
    engine = StepFunctionsEngine(aws_client("stepfunctions"), arn)
    return StartBuyWorkflow(engine, order_ledger(), fingerprinter(), workflow_customers())


@functools.cache
def workflow_customers() -> WorkflowCustomers:
    from minted_gateway.orders.dynamodb_workflow_customers import DynamoDbCustomerStore
    from minted_gateway.orders.workflow_customers import WorkflowCustomers

    table = settings().workflow_customers_table
    if not table:
        raise SettingsError("invalid environment: WORKFLOW_CUSTOMERS_TABLE (missing)")
    return WorkflowCustomers(DynamoDbCustomerStore(dynamodb(), table), fingerprinter())


@functools.cache
def workflow_task_orders() -> WorkflowTaskOrders:
    """The buy task's held customers (not the workflow's request models: a buy task never loads them)."""
    from minted_gateway.orders.workflow_customers import WorkflowTaskOrders

    return WorkflowTaskOrders(workflow_customers(), order_ledger())


@functools.cache
def record_workflow_failure() -> RecordWorkflowFailure:
    from minted_gateway.orders.workflow import RecordWorkflowFailure

    return RecordWorkflowFailure(order_ledger(), fingerprinter())


@functools.cache
def legal_documents() -> LegalDocuments:
    from minted_gateway.legal.documents import LegalDocuments

    return LegalDocuments(minted(), lifetime_seconds=settings().legal_cache_seconds, clock=time.time)


@functools.cache
def create_customer() -> CreateCustomer:
    from minted_gateway.customers.manage import CreateCustomer

    return CreateCustomer(minted())


@functools.cache
def update_customer() -> UpdateCustomer:
    from minted_gateway.customers.manage import UpdateCustomer

    return UpdateCustomer(minted())


@functools.cache
def get_customer() -> GetCustomer:
    from minted_gateway.customers.manage import GetCustomer

    return GetCustomer(minted())


@functools.cache
def get_balances() -> GetBalances:
    from minted_gateway.customers.balances import GetBalances

    return GetBalances(minted())


# ------------------------------------------------------------------ conditional orders and price alerts
@functools.cache
def trigger_store() -> DynamoDbTriggerStore:
    from minted_gateway.conditional.dynamodb_triggers import DynamoDbTriggerStore

    table = settings().triggers_table
    if not table:
        raise SettingsError("invalid environment: TRIGGERS_TABLE (missing)")
    return DynamoDbTriggerStore(dynamodb(), table)


@functools.cache
def create_trigger() -> CreateTrigger:
    from minted_gateway.conditional.manage import CreateTrigger

    return CreateTrigger(trigger_store(), limit_rules)


@functools.cache
def get_trigger(kind: str) -> GetTrigger:
    from minted_gateway.conditional.manage import GetTrigger

    return GetTrigger(trigger_store(), "alert" if kind == "alert" else "order")


@functools.cache
def cancel_trigger(kind: str) -> CancelTrigger:
    from minted_gateway.conditional.manage import CancelTrigger

    return CancelTrigger(trigger_store(), "alert" if kind == "alert" else "order")


@functools.cache
def check_triggers() -> CheckTriggers:
    from minted_gateway.conditional.check import CheckTriggers
    from minted_gateway.conditional.sqs_queue import SqsFiredOrders

    queue = settings().fired_orders_queue_url
    if not queue:
        raise SettingsError("invalid environment: FIRED_ORDERS_QUEUE_URL (missing)")
    return CheckTriggers(trigger_store(), SqsFiredOrders(aws_client("sqs"), queue), order_events_bus(), clock=time.time)


@functools.cache
def place_fired_order() -> PlaceFiredOrder:
    from minted_gateway.conditional.place import PlaceFiredOrder

    return PlaceFiredOrder(trigger_store(), create_quote(), place_order(), minted(), order_events_bus(),
                           orders=get_order())  # fmt: skip


def bind_to_invocation(context: Any) -> None:
    """Bound Minted calls by the Lambda's remaining time, keeping some for the ledger write."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        minted().set_time_budget(None)
        return
    minted().set_time_budget(max(0.0, remaining() / 1000 - RESERVED_SECONDS))


def prepare_snapshot() -> None:
    """SnapStart's before-snapshot work: the clients a first call needs, made but unused (no secret,
    nonce or connection yet: those are each restored copy's own)."""
    dynamodb()
    secretsmanager()
    minted()


def renew_after_restore() -> None:
    """SnapStart's after-restore work: what two copies of one snapshot must not share."""
    import random

    random.seed()  # botocore's retry jitter draws from the module's generator
    with _session_lock:
        for client in _clients:
            client._endpoint.http_session.close()  # the pools: their sockets are the snapshot's
    if minted.cache_info().currsize:
        minted().renew()
    # The ledger key, read once and held by the use cases built on it: read again when next needed.
    for holder in (fingerprinter, place_order, create_delivery, start_buy_workflow, record_workflow_failure,
                   workflow_customers, workflow_task_orders, place_fired_order):  # fmt: skip
        holder.cache_clear()
    from minted_gateway.plans import wiring

    wiring.run_plan.cache_clear()  # a plan's run places orders: it holds the key too


def reset() -> None:
    """Forget every cached client and use case (tests, and the local gateway after a restart)."""
    for cached in (minted, aws_session, dynamodb, secretsmanager, fingerprinter, order_ledger, price_cache, quote_book,
                   place_order, create_delivery, limit_rules, daily_totals, order_limits, get_order, list_orders,
                   order_status_names, refresh_order_statuses, get_prices,
                   refresh_prices, create_quote, legal_documents, start_buy_workflow, record_workflow_failure,
                   workflow_customers, workflow_task_orders,
                   create_customer, update_customer, get_customer, get_balances, reconcile, follow_orders,
                   compare_with_minted,
                   order_events_bus, settings, input_rules):  # fmt: skip
        cached.cache_clear()
    for cached_trigger in (trigger_store, create_trigger, get_trigger, cancel_trigger, check_triggers,
                           place_fired_order):  # fmt: skip
        cached_trigger.cache_clear()
    _clients.clear()
    from minted_gateway.minted.models.base import name_statuses_with

    name_statuses_with(None)  # the hook holds the forgotten cache
    from minted_gateway.plans import wiring

    wiring.reset()
