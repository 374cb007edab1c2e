"""The Minted Connect client: one requests.Session, Digest auth, typed models, typed errors.

Reads (GETs, the lookup POSTs and Price Fix) are retried with jittered backoff inside the caller's
time budget. Buys and sells are sent once, ever: when their answer is lost the client raises
``MintedOutcomeUnknownError`` and the caller must look the order up by ``external_id``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, TypeVar
from urllib.parse import quote

import requests
from pydantic import BaseModel, TypeAdapter, ValidationError
from urllib3.exceptions import NameResolutionError, NewConnectionError

from minted_gateway import call_timings, jsonutil
from minted_gateway.minted import errors
from minted_gateway.minted.credentials import CredentialsSource, PartnerCredentials
from minted_gateway.minted.digest import DEFAULT_ALGORITHMS, DigestAuth

if TYPE_CHECKING:  # each call imports the models it reads: a function loads only the ones its calls use
    from minted_gateway.minted.models.buy import BuyRequest, SellRequest
    from minted_gateway.minted.models.customers import Balance, Customer, CustomerProfile, CustomerUpdate
    from minted_gateway.minted.models.delivery import DeliveryRequest
    from minted_gateway.minted.models.legal import LegalDocument, LegalDocumentSummary
    from minted_gateway.minted.models.lookups import OrderLookup, OrdersPage, OrdersQuery, OrderStatus
    from minted_gateway.minted.models.orders import Order, OrderResult
    from minted_gateway.minted.models.prices import PriceFix, PriceFixRequest, ProductPrice

T = TypeVar("T")


class MintedPaths(NamedTuple):
    """Endpoint paths; the ones Minted has not published are our decisions, so they are settings."""

    pricefix: str = "/partner/pricefix"
    buy: str = "/partner/order/digital/buy"
    sell: str = "/partner/order/digital/sell"
    order: str = "/partner/order/{external_id}"
    order_lookup: str = "/partner/order"
    orders: str = "/partner/orders"
    order_statuses: str = "/partner/order-statuses"
    prices: str = "/partner/prices"
    legal: str = "/partner/legal"
    customers: str = "/partner/customer"
    customer: str = "/partner/customer/{external_id}"
    customer_balance: str = "/partner/balance/customer/{external_id}"
    delivery: str = "/partner/delivery/create"


DEFAULT_PATHS = MintedPaths()

# Each number's bounds: (lowest, highest, whether the lowest itself is allowed).
_CONFIG_BOUNDS: dict[str, tuple[float, float | None, bool]] = {
    "connect_timeout": (0, None, False),
    "read_timeout": (0, None, False),
    "read_attempts": (1, 10, True),
    "backoff_base": (0, None, True),
    "backoff_cap": (0, None, True),
    "max_retry_after": (0, None, True),
    "min_time_for_a_call": (0, None, True),
}


@dataclass(frozen=True)
class MintedClientConfig:
    """Every choice the public reference leaves open (contract section 2), with our defaults.

    A plain dataclass, not a model: our own code builds it from validated settings, and a pydantic
    class here cost every function's cold start its creation and its validator (docs/performance.md).
    """

    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    read_attempts: int = 3
    backoff_base: float = 0.1
    backoff_cap: float = 2.0
    max_retry_after: float = 5.0
    min_time_for_a_call: float = 0.05
    api_version: str = "2"
    pricefix_api_version: str = "3"
    accept_language: str = "tr"
    birthdate_format: str = "%Y-%m-%d"
    # The card buy page sends "creditcard"; the Order Schema's enum spells it "credit-card" (contract 11).
    card_payment_type: str = "creditcard"
    digest_algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    user_agent: str = "minted-partner-gateway/1"
    paths: MintedPaths = DEFAULT_PATHS

    def __post_init__(self) -> None:
        """Numbers are numbers here (nothing is coerced: settings.py reads the environment's text), finite and
        within their bounds; every other field has its own type."""
        for name, (lowest, highest, inclusive) in _CONFIG_BOUNDS.items():
            value = getattr(self, name)
            kind = int if name == "read_attempts" else int | float
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ValueError(f"MintedClientConfig.{name} must be a number, not {value!r}")
            below = value < lowest or (value == lowest and not inclusive)
            if not math.isfinite(value) or below or (highest is not None and value > highest):
                raise ValueError(f"MintedClientConfig.{name} is out of range: {value!r}")
        for field in dataclasses.fields(self):
            if field.type == "str" and not isinstance(getattr(self, field.name), str):  # "str": postponed annotations
                raise ValueError(f"MintedClientConfig.{field.name} must be text, not {getattr(self, field.name)!r}")
        algorithms = self.digest_algorithms
        if not isinstance(algorithms, tuple) or not algorithms or not all(isinstance(a, str) for a in algorithms):
            raise ValueError(f"MintedClientConfig.digest_algorithms must be a tuple of names, not {algorithms!r}")
        if not isinstance(self.paths, MintedPaths):
            raise ValueError(f"MintedClientConfig.paths must be MintedPaths, not {self.paths!r}")


class _Call(NamedTuple):
    operation: str
    method: str
    path: str
    retryable: bool = False  # changes nothing at Minted, so it may be sent again
    places_order: bool = False  # a lost answer means the order may exist
    api_version: str | None = None
    body: dict[str, Any] | None = None
    params: dict[str, str] | None = None


_RETRYABLE_ERRORS = (
    errors.MintedUnavailableError,
    errors.MintedTimeoutError,
    errors.MintedRateLimitedError,
    errors.MintedBadResponseError,
)


class MintedClient:
    def __init__(
        self,
        credentials: CredentialsSource,
        config: MintedClientConfig | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or MintedClientConfig()
        self._credentials = credentials
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = self.config.user_agent
        self._auth = DigestAuth(self._secret, algorithms=self.config.digest_algorithms)
        self._sleep = sleep
        self._clock = clock
        # Per thread: the local gateway runs invocations on threads that share this client, and one
        # invocation's budget must not lift or move another's (in Lambda there is one thread).
        self._budget = threading.local()
        self._random = random.Random()  # noqa: S311 - jitter, not security

    def __repr__(self) -> str:
        return "MintedClient(<credentials hidden>)"

    # ------------------------------------------------------------------ time budget
    def set_time_budget(self, seconds: float | None) -> None:
        """Bound every later call (timeouts and retries) to ``seconds`` from now; None lifts it."""
        self._budget.deadline = None if seconds is None else self._clock() + seconds

    @property
    def _deadline(self) -> float | None:
        deadline: float | None = getattr(self._budget, "deadline", None)
        return deadline

    @contextmanager
    def time_budget(self, seconds: float | None) -> Iterator[None]:
        previous = self._deadline
        self.set_time_budget(seconds)
        try:
            yield
        finally:
            self._budget.deadline = previous

    # ------------------------------------------------------------------ prices
    def price_fix(self, request: PriceFixRequest) -> PriceFix:
        from minted_gateway.minted.models.prices import PriceFix  # noqa: PLC0415 - its own models only

        # Price Fix only locks a price; an unused token expires, so repeating it is harmless.
        call = _Call(
            "pricefix",
            "POST",
            self.config.paths.pricefix,
            retryable=True,
            api_version=self.config.pricefix_api_version,
            body=self._wire(request),
        )
        return self._call(call, PriceFix.model_validate)

    def product_prices(self, currency: str | None = None) -> list[ProductPrice]:
        from minted_gateway.minted.models.prices import ProductPrice  # noqa: PLC0415 - its own models only

        params = {"currency": currency} if currency else None
        call = _Call("prices", "GET", self.config.paths.prices, retryable=True, params=params)
        from minted_gateway.minted.models.base import names_a_traded_metal  # noqa: PLC0415 - with the models

        return self._call(call, _readable_entries_of(ProductPrice, names_a_traded_metal))

    # ------------------------------------------------------------------ orders
    def buy(self, request: BuyRequest) -> OrderResult:
        """A cash buy, or a card buy (``CardBuyRequest``): the same path, the card's CVV only in this body."""
        from minted_gateway.minted.models.buy import CardBuyRequest  # noqa: PLC0415 - its own models only
        from minted_gateway.minted.models.orders import OrderResult  # noqa: PLC0415

        body = self._wire(request)
        if isinstance(request, CardBuyRequest):
            body["payment_type"] = self.config.card_payment_type
        call = _Call("buy", "POST", self.config.paths.buy, places_order=True, body=body)
        return self._call(call, OrderResult.model_validate)

    def create_delivery(self, request: DeliveryRequest) -> OrderResult:
        """Delivery - Create (Pay With Cash). Its declared answer is ``{total, items}``; the published
        one is a whole order: read as an Order Response of that one order. An answer naming no order
        cannot be tracked, so it is an unknown outcome that a lookup by external_id settles."""
        call = _Call("delivery", "POST", self.config.paths.delivery, places_order=True, body=self._wire(request))
        return self._call(call, _delivery_result)

    def sell(self, request: SellRequest) -> OrderResult:
        from minted_gateway.minted.models.orders import OrderResult  # noqa: PLC0415 - its own models only

        call = _Call("sell", "POST", self.config.paths.sell, places_order=True, body=self._wire(request))
        return self._call(call, OrderResult.model_validate)

    def get_order(self, external_id: str) -> Order:
        from minted_gateway.minted.models.orders import Order  # noqa: PLC0415 - its own models only

        path = self.config.paths.order.format(external_id=_segment(external_id))
        return self._call(_Call("get_order", "GET", path, retryable=True), Order.model_validate)

    def find_order(self, lookup: OrderLookup) -> Order:
        from minted_gateway.minted.models.orders import Order  # noqa: PLC0415 - its own models only

        call = _Call("find_order", "POST", self.config.paths.order_lookup, retryable=True, body=self._wire(lookup))
        return self._call(call, Order.model_validate)

    def find_orders(self, lookup: OrderLookup) -> list[Order]:
        """Get Order (Alternative) read tolerantly: one order (as published) or an array of them (the
        envelope allows one; a split buy is several orders under one external_id). None found: 404."""
        from minted_gateway.minted.models.orders import Order  # noqa: PLC0415 - its own models only

        call = _Call("find_order", "POST", self.config.paths.order_lookup, retryable=True, body=self._wire(lookup))
        orders = self._call(call, _one_or_many(Order))
        if not orders:
            raise errors.MintedNotFoundError("find_order", "Minted answered an empty list of orders", status=200)
        return orders

    def list_orders(self, query: OrdersQuery | None = None) -> OrdersPage:
        from minted_gateway.minted.models.lookups import OrdersPage, OrdersQuery  # noqa: PLC0415 - its own models only

        params = (query or OrdersQuery()).to_params()
        call = _Call("list_orders", "GET", self.config.paths.orders, retryable=True, params=params)
        return self._call(call, OrdersPage.model_validate)

    def order_statuses(self) -> list[OrderStatus]:
        from minted_gateway.minted.models.lookups import OrderStatus  # noqa: PLC0415 - its own models only

        call = _Call("order_statuses", "GET", self.config.paths.order_statuses, retryable=True)
        return self._call(call, _list_of(OrderStatus))

    # ------------------------------------------------------------------ legal
    def legal_documents(self) -> list[LegalDocumentSummary]:
        from minted_gateway.minted.models.legal import LegalDocumentSummary  # noqa: PLC0415 - its own models only

        call = _Call("legal", "POST", self.config.paths.legal, retryable=True, body={})
        return self._call(call, _list_of(LegalDocumentSummary))

    def legal_document(self, document_type: str, customer_external_id: str | None = None) -> LegalDocument:
        from minted_gateway.minted.models.legal import LegalDocument  # noqa: PLC0415 - its own models only

        body = {"type": document_type}
        if customer_external_id:
            body["customer_external_id"] = customer_external_id
        call = _Call("legal", "POST", self.config.paths.legal, retryable=True, body=body)
        return self._call(call, LegalDocument.model_validate)

    # ------------------------------------------------------------------ customers
    def create_customer(self, profile: CustomerProfile) -> Customer:
        from minted_gateway.minted.models.customers import Customer  # noqa: PLC0415 - its own models only

        call = _Call("create_customer", "POST", self.config.paths.customers, body=self._wire(profile))
        return self._call(call, Customer.model_validate)

    def update_customer(self, external_id: str, update: CustomerUpdate) -> Customer:
        from minted_gateway.minted.models.customers import Customer  # noqa: PLC0415 - its own models only

        path = self.config.paths.customer.format(external_id=_segment(external_id))
        # A field set to null on purpose is sent as null: Minted clears it (a left-out field stays as it is).
        cleared = {name: None for name in update.model_fields_set if getattr(update, name) is None}
        body = {**self._wire(update), **cleared}
        return self._call(_Call("update_customer", "PATCH", path, body=body), Customer.model_validate)

    def get_customer(self, external_id: str) -> Customer:
        from minted_gateway.minted.models.customers import Customer  # noqa: PLC0415 - its own models only

        path = self.config.paths.customer.format(external_id=_segment(external_id))
        return self._call(_Call("get_customer", "GET", path, retryable=True), Customer.model_validate)

    def customer_balance(self, external_id: str) -> list[Balance]:
        from minted_gateway.minted.models.customers import Balance, a_metal_wallet  # noqa: PLC0415 - its own models only

        path = self.config.paths.customer_balance.format(external_id=_segment(external_id))
        return self._call(_Call("customer_balance", "GET", path, retryable=True),
                          _readable_entries_of(Balance, a_metal_wallet))  # fmt: skip

    def renew(self) -> None:
        """After a SnapStart restore, what must be this copy's own: its connections (the snapshot's
        sockets are dead, or another copy's), its Digest nonce count, the secret it read (it may have
        rotated) and the jitter's seed (copies would back off in step)."""
        self._session.close()  # closes the pools; the session opens new connections when next used
        self._auth.forget()
        forget = getattr(self._credentials, "forget", None)
        if forget is not None:
            forget()
        self._random.seed()

    # ------------------------------------------------------------------ transport
    def _secret(self, force_refresh: bool) -> PartnerCredentials:
        return self._credentials.get(force_refresh=force_refresh)

    def _wire(self, model: BaseModel) -> dict[str, Any]:
        payload: dict[str, Any] = model.model_dump(mode="python", exclude_none=True, by_alias=True)
        _format_birthdates(payload, self.config.birthdate_format)
        return payload

    def _call(self, call: _Call, parse: Callable[[Any], T]) -> T:
        attempts = self.config.read_attempts if call.retryable else 1
        for attempt in range(1, attempts + 1):
            try:
                return _parsed(call, parse, self._timed_send(call))
            except _RETRYABLE_ERRORS as exc:
                delay = self._retry_delay(attempt, exc) if call.retryable and attempt < attempts else None
                if delay is None:
                    raise
                self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_delay(self, attempt: int, exc: errors.MintedError) -> float | None:
        """Full-jitter backoff, or Minted's Retry-After; None when it would not fit the budget."""
        delay = self._random.uniform(0, min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1)))
        if isinstance(exc, errors.MintedRateLimitedError) and exc.retry_after is not None:
            if exc.retry_after > Decimal(str(self.config.max_retry_after)):
                return None
            delay = max(delay, float(exc.retry_after))
        if self._deadline is not None and self._clock() + delay + self.config.min_time_for_a_call >= self._deadline:
            return None
        return delay

    def _timeouts(self, operation: str) -> tuple[float, float]:
        connect, read = self.config.connect_timeout, self.config.read_timeout
        if self._deadline is not None:
            left = self._deadline - self._clock()
            if left <= self.config.min_time_for_a_call:
                raise errors.MintedTimeoutError(operation, "no time left in the caller's budget; nothing was sent")
            connect, read = min(connect, left), min(read, left)
        return connect, read

    def _timed_send(self, call: _Call) -> Any:
        """Each attempt's duration and outcome, kept for the invocation's call metrics."""
        started = time.perf_counter()
        try:
            answer = self._send(call)
        except errors.MintedError as exc:
            call_timings.minted(call.operation, call_timings.outcome_of(exc), started)
            raise
        call_timings.minted(call.operation, "ok", started)
        return answer

    def _send(self, call: _Call) -> Any:
        credentials = self._credentials.get()
        headers = {
            "x-client-id": credentials.client_id,
            "api-version": call.api_version or self.config.api_version,
            "Accept-Language": self.config.accept_language,
            "Accept": "application/json",
        }
        body = None
        if call.body is not None:
            body = jsonutil.dumps(call.body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            response = self._session.request(
                call.method,
                credentials.base_url + call.path,
                params=call.params,
                data=body,
                headers=headers,
                auth=self._auth,
                timeout=self._timeouts(call.operation),
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout:
            raise errors.MintedTimeoutError(call.operation, "could not connect in time; nothing was sent") from None
        except requests.exceptions.Timeout:
            if call.places_order:
                raise errors.MintedOutcomeUnknownError(
                    call.operation, "no answer in time after the order was sent", cause="timeout"
                ) from None
            raise errors.MintedTimeoutError(call.operation, "no answer in time") from None
        except requests.exceptions.RequestException as exc:
            if call.places_order and not _never_sent(exc):
                raise errors.MintedOutcomeUnknownError(
                    call.operation, "the connection was lost after the order was sent", cause="connection lost"
                ) from None
            raise errors.MintedUnavailableError(call.operation, f"connection failed ({type(exc).__name__})") from None
        return _unwrap(call, response)


class _Meaning(NamedTuple):
    """What one kind of Minted answer means: for a read, and for a call that places an order."""

    read: type[errors.MintedError]
    order: type[errors.MintedError]


# Minted's answers and what they mean, in one table (docs/client.md, "Errors"). Minted publishes no
# error body and writes its messages in the request's Accept-Language, so answers are told apart by
# status and by the fields an error names, never by their text. A refusal (400/422) is refined by
# its fields in _refusal(). A status not listed is not understood, and is read on the side that can
# never buy twice: for a buy or sell "the order may exist" (it is looked up, never sent again).
_ANSWERS: dict[int, _Meaning] = {
    400: _Meaning(errors.MintedValidationError, errors.MintedValidationError),
    422: _Meaning(errors.MintedValidationError, errors.MintedValidationError),
    401: _Meaning(errors.MintedBadCredentialsError, errors.MintedBadCredentialsError),  # refused before acting
    403: _Meaning(errors.MintedForbiddenError, errors.MintedForbiddenError),
    404: _Meaning(errors.MintedNotFoundError, errors.MintedOutcomeUnknownError),  # not a published buy answer
    429: _Meaning(errors.MintedRateLimitedError, errors.MintedRateLimitedError),  # refused before acting
}
_SERVER_ERROR = _Meaning(errors.MintedUnavailableError, errors.MintedOutcomeUnknownError)  # 5xx
_NOT_UNDERSTOOD = _Meaning(errors.MintedBadResponseError, errors.MintedOutcomeUnknownError)


def _unwrap(call: _Call, response: requests.Response) -> Any:
    """The envelope's ``data`` on success; otherwise the error ``_ANSWERS`` gives the status."""
    status = response.status_code
    body = _json_or_none(response)
    envelope = body if isinstance(body, dict) else {}
    if 200 <= status < 300:
        if "data" in envelope and envelope.get("success") is not False:
            return envelope["data"]
        raise _error(
            call, _NOT_UNDERSTOOD, "the answer is empty, not JSON or not the envelope", status, cause="malformed answer"
        )
    message = str(envelope.get("message") or response.reason or "no message")
    meaning = _ANSWERS.get(status) or (_SERVER_ERROR if status >= 500 else _NOT_UNDERSTOOD)
    if meaning is _NOT_UNDERSTOOD:
        message = f"unexpected status: {message}"
    kind = meaning.order if call.places_order else meaning.read
    if kind is errors.MintedValidationError:
        raise _refusal(call.operation, message, status, envelope.get("errors"))
    if kind is errors.MintedBadCredentialsError:
        raise errors.MintedBadCredentialsError(call.operation, "Minted refused the partner credentials", status=status)
    if kind is errors.MintedRateLimitedError:
        raise errors.MintedRateLimitedError(call.operation, message, retry_after=_retry_after(response))
    raise _error(call, meaning, message, status, cause=f"HTTP {status}")


def _error(call: _Call, meaning: _Meaning, message: str, status: int, *, cause: str) -> errors.MintedError:
    kind = meaning.order if call.places_order else meaning.read
    if kind is errors.MintedOutcomeUnknownError:
        return errors.MintedOutcomeUnknownError(call.operation, message, cause=cause, status=status)
    return kind(call.operation, message, status=status)


def _refusal(operation: str, message: str, status: int, raw_errors: Any) -> errors.MintedValidationError:
    """A 400/422, told apart by the fields it names (the message is in the caller's language)."""
    field_errors: dict[str, list[str]] = {}
    if isinstance(raw_errors, dict):
        for field, texts in raw_errors.items():
            field_errors[str(field)] = [str(t) for t in texts] if isinstance(texts, list) else [str(texts)]
    kind = errors.MintedValidationError
    if "price_token" in field_errors:
        kind = errors.MintedPriceTokenError
    elif field_errors and all(field == "payment" or field.startswith("payment.") for field in field_errors):
        kind = errors.MintedCardDeclinedError
    elif field_errors and all(field == "customer" or field.startswith("customer.") for field in field_errors):
        # Only the inline customer is refused: Minted cannot create this customer from it (New Customer).
        kind = errors.MintedNewCustomerError
    return kind(operation, message, status=status, field_errors=field_errors)


def _parsed(call: _Call, parse: Callable[[Any], T], data: Any) -> T:
    try:
        return parse(data)
    except ValidationError as exc:
        # Only field paths: the values may be personal data.
        fields = ", ".join(sorted({".".join(str(p) for p in e["loc"]) or "data" for e in exc.errors()})[:10])
        if call.places_order:
            raise errors.MintedOutcomeUnknownError(
                call.operation, f"answer lacks fields: {fields}", cause="malformed answer"
            ) from None
        raise errors.MintedBadResponseError(call.operation, f"answer lacks fields: {fields}") from None


M = TypeVar("M", bound=BaseModel)


def _delivery_result(data: Any) -> OrderResult:
    from minted_gateway.minted.models.orders import Order, OrderResult  # noqa: PLC0415 - its own models only

    if isinstance(data, dict) and (isinstance(data.get("guid"), str) or isinstance(data.get("order_code"), str)):
        order = Order.model_validate(data)
        return OrderResult(
            order_code=[order.order_code] if order.order_code else [],
            guid=[order.guid] if order.guid else [],
            price=order.price,
            total=order.total,
            order_at=order.order_at,
            orders=[order],
        )
    return OrderResult.model_validate(data)


@functools.cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _one_or_many(model: type[M]) -> Callable[[Any], list[M]]:
    """A parser for one ``model`` object or a JSON array of them."""
    many = _list_of(model)

    def parse(data: Any) -> list[M]:
        return many(data) if isinstance(data, list) else [model.model_validate(data)]

    return parse


def _list_of(model: type[M]) -> Callable[[Any], list[M]]:
    """A parser for a JSON array of ``model`` (its adapter is built once, on first use)."""

    def parse(data: Any) -> list[M]:
        return _list_adapter(model).validate_python(data)

    return parse


@functools.cache
def _readable_entries_adapter(model: type[BaseModel], must_read: Callable[[Any], bool]) -> TypeAdapter[list[Any]]:
    from minted_gateway.minted.models.base import each_readable  # noqa: PLC0415 - with the models

    return TypeAdapter(Annotated[list[model], each_readable(model, must_read=must_read)])  # type: ignore[valid-type]


def _readable_entries_of(model: type[M], must_read: Callable[[Any], bool]) -> Callable[[Any], list[M]]:
    """A parser for a JSON array of ``model`` that leaves out an entry Minted wrote unreadably unless
    ``must_read`` says the answer is nothing without it (a metal we sell): a price of a product we do not
    trade is not. Not for orders: an order left out of a lookup could be bought again."""

    def parse(data: Any) -> list[M]:
        return _readable_entries_adapter(model, must_read).validate_python(data)

    return parse


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return jsonutil.loads(response.content)
    except ValueError:
        return None


# A safety bound: a longer wait Minted asks for is read as this one (it becomes our own Retry-After, an int).
MAX_RETRY_AFTER_SECONDS = Decimal(3600)


def _retry_after(response: requests.Response) -> Decimal | None:
    """Seconds (a number, or an HTTP date), within 0 and MAX_RETRY_AFTER_SECONDS; None when unreadable.
    A number past the JSON bounds (``Infinity``, ``1e999999999``) is unreadable, not a 500 or a huge int."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = jsonutil.parse_decimal(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" reads as no zone: the date is UTC all the same
            when = when.replace(tzinfo=UTC)
        seconds = Decimal(str(round((when - datetime.now(UTC)).total_seconds(), 3)))
    return min(max(seconds, Decimal(0)), MAX_RETRY_AFTER_SECONDS)


def _never_sent(exc: BaseException) -> bool:
    """True when the connection was never opened (refused, unresolvable): the request did not leave."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | NameResolutionError):
            return True
        if isinstance(current, BaseException):
            stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None), *current.args])
    return False


def _segment(value: str) -> str:
    """A path segment that cannot become another path (``a/b`` and ``..`` stay one segment)."""
    return quote(value, safe="")


def _format_birthdates(payload: dict[str, Any], fmt: str) -> None:
    for holder in (payload, payload.get("customer")):
        if isinstance(holder, dict) and hasattr(holder.get("birthdate"), "strftime"):
            holder["birthdate"] = holder["birthdate"].strftime(fmt)
