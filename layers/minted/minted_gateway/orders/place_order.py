"""Place an order exactly once per external_id (design.md, "Exactly-once buys").

The ledger row is claimed before Minted is called. A retry with the same payload replays the
stored outcome; a different payload is a conflict; a retry while the first is in flight is told to
wait; an attempt whose answer was lost is settled by looking the order up at Minted before any
second buy, and Minted's own duplicate check on external_id stands behind that. An order a lookup
finds is adopted only when it is the one asked for (``matching``); otherwise the row is FOREIGN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from minted_gateway.caller import PARTNER, Caller
from minted_gateway.errors import (
    REJECTIONS,
    GatewayError,
    OrderConflict,
    OrderInProgress,
    QuoteCurrencyMismatch,
    QuoteUnknown,
    from_minted,
)
from minted_gateway.minted import errors as minted_errors
from minted_gateway.minted.models.buy import BuyRequest, SellRequest
from minted_gateway.orders.fingerprint import Fingerprinter
from minted_gateway.orders.ledger import LedgerConflict, OrderLedger
from minted_gateway.orders.limits import OrderLimits, Priced, as_priced
from minted_gateway.orders.lookup import every_order
from minted_gateway.orders.order_book import OrderBook, utcnow
from minted_gateway.orders.record import (
    EVERY_ORDER,
    PARTNER_WALLET_KEY,
    HistoryEntry,
    Line,
    OrderRecord,
    Rejection,
    State,
    listing_time,
)
from minted_gateway.orders.requests import Purchase, PurchaseSide

if TYPE_CHECKING:  # a buy loads neither the delivery's nor the lookups' models (its cold start)
    from minted_gateway.minted.models.delivery import DeliveryRequest
    from minted_gateway.minted.models.lookups import OrderLookup, OrdersPage, OrdersQuery
    from minted_gateway.minted.models.orders import Order, OrderResult
    from minted_gateway.prices.quote_book import QuoteBook

# The limits count what is bought and sold (a card buy as a cash buy); a delivery moves grams already held.
LIMITED_SIDES: tuple[PurchaseSide, ...] = ("buy", "sell")


class MintedOrders(Protocol):
    """What the order use cases need of Minted."""

    def buy(self, request: BuyRequest) -> OrderResult: ...

    def sell(self, request: SellRequest) -> OrderResult: ...

    def create_delivery(self, request: DeliveryRequest) -> OrderResult: ...

    def find_order(self, lookup: OrderLookup) -> Order: ...

    def find_orders(self, lookup: OrderLookup) -> list[Order]: ...

    def get_order(self, external_id: str) -> Order: ...

    def list_orders(self, query: OrdersQuery | None = None) -> OrdersPage: ...


class Placeable(Protocol):
    """An order PlaceOrder places: a buy or sell (``OrderRequest``), or a delivery (no price token)."""

    @property
    def external_id(self) -> str: ...

    @property
    def price_token(self) -> str | None: ...

    def purchase(self) -> Purchase: ...

    def to_minted(self) -> BuyRequest | SellRequest | DeliveryRequest: ...

    def redact(self, text: str) -> str: ...  # the order's personal values out of a text that is kept


class OrderOutcome(NamedTuple):
    record: OrderRecord
    replayed: bool = False  # answered from the ledger; Minted was not called
    resolved: bool = False  # an earlier uncertain attempt was settled by a lookup at Minted

    @property
    def foreign(self) -> bool:
        return self.record.state is State.FOREIGN


def new_record(
    purchase: Purchase, fingerprinter: Fingerprinter, stamp: str, *, note: str, **fields: Any
) -> OrderRecord:
    """A first ledger row for ``purchase``: what operations need of it, nothing of the customer but their id."""
    return OrderRecord(
        external_id=purchase.external_id,
        version=1,
        request_hash=fingerprinter.purchase(purchase),
        mode=purchase.mode,
        side=purchase.side,
        currency=purchase.currency,
        customer_external_id=purchase.customer_external_id,
        lines=[Line(sku=item.sku, amount=item.amount) for item in purchase.items],
        created_at=stamp,
        updated_at=stamp,
        history=[HistoryEntry(at=stamp, state=fields["state"], note=note)],
        payment_type="card" if purchase.card_token else None,
        wallet=purchase.customer_external_id or PARTNER_WALLET_KEY,
        listed=EVERY_ORDER,
        listed_at=f"{listing_time(stamp)}#{purchase.external_id}",
        **fields,
    )


class PlaceOrder:
    def __init__(
        self,
        ledger: OrderLedger,
        minted: MintedOrders,
        fingerprinter: Fingerprinter,
        *,
        claim_seconds: int,
        limits: OrderLimits | None = None,
        quotes: Callable[[], QuoteBook | None] | None = None,
        foreign_tokens_refused: Callable[[], bool] = lambda: False,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._limits = limits
        self._quotes = quotes
        self._foreign_tokens_refused = foreign_tokens_refused
        self._book = OrderBook(ledger, now)
        self._ledger = ledger
        self._minted = minted
        self._fingerprinter = fingerprinter
        self._claim = timedelta(seconds=claim_seconds)
        self._now = now

    def __call__(
        self, request: Placeable, *, owner: str | None = None, quote: Priced | None = None, caller: Caller = PARTNER
    ) -> OrderOutcome:
        """Place ``request`` once; ``owner`` names the buy workflow execution placing it, if one is, and
        ``quote`` the prices its own quote step locked (the limits value the order at them). ``caller`` is
        recorded on the row it claims, and a caller bound to a customer buys for that customer only."""
        purchase = request.purchase()  # made once: the claim, the limits and the checks all read it
        caller.act_for(purchase.customer_external_id)  # before the claim: nothing is written
        token = self._fingerprinter.token(request.price_token) if request.price_token else None
        now = self._now()
        fresh = self._new_record(purchase, token, now, owner, caller)
        stored = self._ledger.claim(fresh)
        if stored is None:
            # Checked after the claim, so that a replay stays one DynamoDB request; a refusal releases it.
            self._check_quote_currency(request, fresh, release=True)
            return self._send(fresh, request, purchase, quote)
        if stored.request_hash != fresh.request_hash:
            raise OrderConflict("This external_id was already used for a different order.")
        if self._limits is not None:  # a give-back that failed when the row was refused is tried again
            self._limits.give_back(stored)
        if stored.state in (State.SUBMITTED, State.FOREIGN):
            return OrderOutcome(stored, replayed=True)
        if stored.state is State.REJECTED and not (stored.awaits_new_quote and token != stored.token_hash):
            return OrderOutcome(stored, replayed=True)  # (its hold went back with the rejection)
        if stored.state is State.RECEIVED and not stored.claim_is_stale(now):
            wait = max(1, math.ceil(stored.claim_expires_at - now.timestamp()))
            raise OrderInProgress("This order is being placed right now; retry shortly.", retry_after=min(wait, 5))
        # UNKNOWN, NOT_PLACED, a dead claim, or a refused token retried with a new quote: look up, then buy.
        self._check_quote_currency(request, fresh)
        sent_before = stored.sent_at is not None  # an earlier attempt was sent (None: each was refused first)
        return self._settle(self._reclaim(stored, token, now), request, purchase, may_buy=True, quote=quote,
                            sent_before=sent_before)  # fmt: skip

    def _check_quote_currency(self, request: Placeable, record: OrderRecord, *, release: bool = False) -> None:
        """Minted buys in the quote's currency whatever the order names: an order naming another currency
        than the quote this gateway issued is refused, always. A token the gateway did not issue (or no
        longer knows) is refused only with the partner setting QuoteCurrencyMustMatch on, else left to Minted.
        An order without a quote (a delivery) has nothing to check."""
        quotes = self._quotes() if self._quotes is not None and request.price_token else None
        if quotes is None or request.price_token is None:
            return
        try:
            quoted = quotes.currency_of(request.price_token)
            if quoted is None and self._foreign_tokens_refused():
                raise QuoteUnknown(
                    "This gateway did not issue this price token (or it has expired), so the order's currency cannot "
                    "be checked against the quote's: ask POST /quotes for a quote. Nothing was sent.",
                    details=[{"field": "price_token", "message": "not a quote this gateway issued"}],
                )
            if quoted is not None and quoted != record.currency:
                raise QuoteCurrencyMismatch(
                    f"The quote is in {quoted} and this order in {record.currency} (TRY when currency is left out): "
                    f"quote in {record.currency}, or name {quoted} as the order's currency. Nothing was sent.",
                    details=[{"field": "currency", "message": f"the quote's currency is {quoted}"}],
                )
        except GatewayError:
            if release:
                self._ledger.release_claim(record)
            raise

    def _new_record(
        self, purchase: Purchase, token: str | None, now: datetime, owner: str | None = None, caller: Caller = PARTNER
    ) -> OrderRecord:
        return new_record(
            purchase,
            self._fingerprinter,
            now.isoformat(),
            state=State.RECEIVED,
            claim_expires_at=math.ceil((now + self._claim).timestamp()),
            sent_at=math.floor(now.timestamp()),
            token_hash=token,
            workflow_owner=owner,
            caller=caller.recorded(),
            note="claimed",
        )

    def _reclaim(self, stored: OrderRecord, token: str | None, now: datetime) -> OrderRecord:
        changes = {
            "state": State.RECEIVED,
            "claim_expires_at": math.ceil((now + self._claim).timestamp()),
            "sent_at": math.floor(now.timestamp()),
            "token_hash": token,
            "rejection": None,
        }
        note = f"retry claimed after {stored.state}" + (" with a new quote" if token != stored.token_hash else "")
        try:
            return self._ledger.update(stored, changes, self._book.entry(State.RECEIVED, note))
        except LedgerConflict:
            raise OrderInProgress("Another attempt at this order is running; retry shortly.", retry_after=1) from None

    def _send(
        self,
        record: OrderRecord,
        request: Placeable,
        purchase: Purchase,
        quote: Priced | None = None,
        *,
        sent_before: bool = False,
    ) -> OrderOutcome:
        record = self._hold(record, purchase, quote, sent_before=sent_before)
        try:
            minted_request = request.to_minted()
        except GatewayError as exc:  # what it needs could not be had (a delivery's customer, from Minted): not sent
            self._not_sent(record, f"not placed: {exc.code}", sent_before=sent_before)
            raise
        try:
            if isinstance(minted_request, BuyRequest):  # a card buy too
                result = self._minted.buy(minted_request)
            elif isinstance(minted_request, SellRequest):
                result = self._minted.sell(minted_request)
            else:
                result = self._minted.create_delivery(minted_request)
        except minted_errors.MintedOutcomeUnknownError as exc:
            return OrderOutcome(self._book.unknown(record, exc.cause))
        except (minted_errors.MintedValidationError, minted_errors.MintedForbiddenError) as exc:
            if isinstance(exc, minted_errors.MintedValidationError) and "external_id" in exc.field_errors:
                # Minted already has this external_id: an earlier attempt got through, or a stranger's order.
                return self._settle(record, request, purchase, may_buy=False, quote=quote)
            return OrderOutcome(self._reject(record, from_minted(exc), request))
        except minted_errors.MintedError as exc:
            # Refused connection, 429, credentials, no time left: the buy did not reach Minted's books.
            error = from_minted(exc).masked(request.redact)  # Minted's words in the answer: never personal
            self._book.write(record, {"state": State.NOT_PLACED, "claim_expires_at": 0}, f"not placed: {error.code}")
            raise error from None
        return OrderOutcome(self._book.submitted(record, result, "accepted by Minted"))

    def _reject(self, record: OrderRecord, error: GatewayError, request: Placeable) -> OrderRecord:
        assert type(error) in REJECTIONS.values()  # noqa: S101 - from_minted maps 422/403 to these only
        error.masked(request.redact)  # kept on the row, replayed, raised to the workflow: never personal
        rejection = Rejection(code=error.code, message=error.message, details=error.details,
                              upstream_message=error.upstream_message)  # fmt: skip
        changes = {"state": State.REJECTED, "rejection": rejection.model_dump(exclude_none=True), "claim_expires_at": 0}
        return self._book.write(record, changes, f"rejected by Minted: {error.code}")

    def _hold(self, record: OrderRecord, purchase: Purchase, quote: Priced | None, *, sent_before: bool) -> OrderRecord:
        """Check the limits and reserve the order's part of the day before Minted is asked; refused,
        the claim becomes NOT_PLACED (as every refusal before Minted is) and nothing stays reserved."""
        if self._limits is None or purchase.side not in LIMITED_SIDES:
            return record
        order = quote or as_priced(purchase.side, purchase.currency, [(i.sku, i.amount) for i in purchase.items])
        try:
            self._limits.hold_for(order, purchase.customer_external_id, record)
        except GatewayError as exc:
            note = f"not placed: {exc.code}" + (f" ({exc.details[0].get('limit')})" if exc.details else "")
            self._not_sent(record, note, sent_before=sent_before)
            raise
        return record

    def _not_sent(self, record: OrderRecord, note: str, *, sent_before: bool) -> None:
        """Refused before Minted was asked: the claim becomes NOT_PLACED."""
        changes: dict[str, Any] = {"state": State.NOT_PLACED, "claim_expires_at": 0}
        if not sent_before:
            # Nothing was ever sent: no lookup for the reconciler to make, on the first attempt or on a
            # retry of one refused the same way (a retry after a send keeps its sent_at, as the earlier
            # attempt's buy may still land).
            changes["sent_at"] = None
        self._book.write(record, changes, note)

    def _settle(
        self,
        record: OrderRecord,
        request: Placeable,
        purchase: Purchase,
        *,
        may_buy: bool,
        quote: Priced | None = None,
        sent_before: bool = True,
    ) -> OrderOutcome:
        """Look the order up at Minted; buy only when Minted has none and ``may_buy``."""
        try:
            found = every_order(self._minted, record)  # a split buy is several orders: every one is kept
        except minted_errors.MintedNotFoundError:
            if may_buy:
                return self._send(record, request, purchase, quote, sent_before=sent_before)
            return OrderOutcome(self._book.unknown(record, "Minted reports a duplicate but its lookup finds none"))
        except minted_errors.MintedError as exc:
            return OrderOutcome(self._book.unknown(record, f"lookup failed ({type(exc).__name__})"))
        return OrderOutcome(self._book.settled(record, found, "found at Minted by lookup"), resolved=True)
