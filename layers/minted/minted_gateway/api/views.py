"""What the API answers: JSON-ready dicts (Decimal kept) built from the use cases' results."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from minted_gateway.api.http import REPLAY_HEADER, json_response
from minted_gateway.errors import REJECTIONS, ForeignOrder, OrderRejected
from minted_gateway.validation import SKUS_FOR_SALE

if TYPE_CHECKING:  # only for the signatures: a function imports just the use cases it runs
    from minted_gateway.api.router import Response
    from minted_gateway.customers.balances import Balances, WalletBalance
    from minted_gateway.minted.models import Customer, LegalDocument, LegalDocumentSummary, Order
    from minted_gateway.orders.get_order import OrderView
    from minted_gateway.orders.history import HistoryPage
    from minted_gateway.orders.place_order import OrderOutcome
    from minted_gateway.orders.record import HistoryEntry, Line, OrderRecord, PlacedOrder
    from minted_gateway.orders.workflow import Execution, WorkflowRequest
    from minted_gateway.prices.get_prices import PricesView
    from minted_gateway.prices.quotes import Quote

SUBMITTED, REJECTED, FOREIGN = "SUBMITTED", "REJECTED", "FOREIGN"  # record states, by value (State is a StrEnum)


# "2026-01-02T03:04:05.678901+00:00", the ledger's own form: the order history shows ~6 a row.
_WRITTEN_IN_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", re.ASCII).fullmatch


def timestamp(value: str | datetime | None) -> str | None:
    """The API's one convention for time: ISO 8601 in UTC with its offset, to the millisecond.

    Minted answers in Istanbul time (+03:00) and the ledger writes UTC; a partner compares them as is.
    """
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if isinstance(value, str) and _WRITTEN_IN_UTC(value) and value[11:13] < "24":  # 24:00 is the next day
        return value[:23] + "+00:00"  # as the ledger writes UTC (read above, so a time): cut to the millisecond
    if moment.tzinfo is None:  # never written so; read as UTC rather than fail an answer
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _set_fields(part: Line | PlacedOrder | HistoryEntry) -> dict[str, Any]:
    """``part.model_dump(exclude_none=True)`` of a flat part of a ledger row (no nested model, alias or
    serializer: the values as validated, in field order), without pydantic's serializer: the order
    history does this a few times per row (tests/api/test_order_views.py holds it to model_dump)."""
    return {name: value for name, value in part.__dict__.items() if value is not None}


def order_body(record: OrderRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": record.external_id,
        "state": record.state.value,
        "side": record.side,
        "status": record.status,
        "status_read_at": timestamp(record.status_read_at),
        "final": record.is_final,
        "mode": record.mode,
        "customer_external_id": record.customer_external_id,
        "currency": record.currency,
        "items": [_set_fields(line) for line in record.lines],
        "price": record.price,
        "total": record.total,
        "order_codes": record.order_codes,
        "guids": record.guids,
        "orders": [_set_fields(order) for order in record.orders],
        "order_at": timestamp(record.order_at),
        "created_at": timestamp(record.created_at),
        "updated_at": timestamp(record.updated_at),
        "history": [{**_set_fields(entry), "at": timestamp(entry.at)} for entry in record.history],
    }
    if record.payment_type:
        body["payment_type"] = record.payment_type
        body["payment"] = record.payment
        body["payment_cost"] = record.payment_cost
    if record.tracking:
        body["delivery"] = record.tracking
    if record.rejection:
        body["rejection"] = record.rejection.model_dump(exclude_none=True)
    if record.workflow_error:
        body["workflow_error"] = record.workflow_error
        body["workflow_execution"] = record.workflow_execution
    return body


def foreign_error(record: OrderRecord) -> ForeignOrder:
    """The answer for an external_id under which Minted holds another order (its row says what differs)."""
    return ForeignOrder(
        "Minted holds a different order under this external_id; it is not shown as yours and nothing was bought. "
        "Use another external_id.",
        details=[{"field": "external_id", "message": "Minted holds a different order under this id"}],
    )


def foreign_response(record: OrderRecord, headers: dict[str, str] | None = None) -> Response[str]:
    error = foreign_error(record)
    return json_response(error.status, {"error": {**error.body()["error"], "order": order_body(record)}}, headers)


def minted_order_body(order: Order) -> dict[str, Any]:
    """An order Minted knows that was not placed through this gateway (no ledger row)."""
    body: dict[str, Any] = {
        "external_id": order.external_id,
        "state": None,
        "status": order.status_name,
        "final": order.is_terminal,
        "currency": order.currency_code,
        "items": [
            {"sku": i.sku, "amount": i.amount, "unit_price": i.price, "total": i.total}
            for i in order.items
            if i.sku and i.amount is not None
        ],
        "price": order.price,
        "total": order.total,
        "order_codes": [order.order_code] if order.order_code else [],
        "guids": [order.guid] if order.guid else [],
        "order_at": timestamp(order.order_at),
        "source": "minted",
    }
    if order.payment is not None:
        body["payment"] = order.payment.model_dump(exclude_none=True)
        body["payment_cost"] = order.payment_cost
    if order.delivery is not None:
        body["delivery"] = order.delivery.model_dump(exclude_none=True)
    return body


def order_view_body(view: OrderView, *, show_caller: bool = False) -> dict[str, Any]:
    """``show_caller``: who placed the order (the partner's own callers see it; a customer's token does not)."""
    if view.record is None:
        assert view.minted_order is not None  # noqa: S101 - GetOrder returns one or the other
        return {**minted_order_body(view.minted_order), "refreshed": view.refreshed, "stale": view.stale}
    body = {**order_body(view.record), "refreshed": view.refreshed, "stale": view.stale}
    if show_caller:
        body["caller"] = view.record.caller.model_dump(exclude_none=True) if view.record.caller else None
    return body


def orders_page_body(page: HistoryPage, limit: int) -> dict[str, Any]:
    return {
        "orders": [order_body(record) for record in page.orders],
        "next_cursor": page.next.cursor() if page.next else None,
        "limit": limit,
    }


def outcome_status(outcome: OrderOutcome) -> int:
    state = outcome.record.state
    if state == SUBMITTED:
        return 200 if outcome.replayed or outcome.resolved else 201
    if state == REJECTED:
        rejection = outcome.record.rejection
        return REJECTIONS.get(rejection.code if rejection else "", OrderRejected).status
    if state == FOREIGN:
        return ForeignOrder.status
    return 202  # UNKNOWN (or a claim the ledger could not update): accepted, outcome being settled


def outcome_response(outcome: OrderOutcome) -> Response[str]:
    record = outcome.record
    headers = {"Location": f"/orders/{record.external_id}"}
    if outcome.replayed:
        headers[REPLAY_HEADER] = "true"
    status = outcome_status(outcome)
    if record.state == FOREIGN:
        return foreign_response(record, headers)
    if record.state == REJECTED and record.rejection:
        body: dict[str, Any] = {
            "error": {**record.rejection.model_dump(exclude_none=True), "order": order_body(record)}
        }
        return json_response(status, body, headers)
    if status == 202:
        headers["Retry-After"] = "2"
    return json_response(status, order_body(record), headers)


def outcome_task_result(outcome: OrderOutcome) -> dict[str, Any]:
    return {**order_body(outcome.record), "replayed": outcome.replayed, "resolved": outcome.resolved}


def prices_body(view: PricesView) -> dict[str, Any]:
    snapshot = view.snapshot
    return {
        "currency": snapshot.currency,
        "as_of": timestamp(snapshot.as_of),
        "age_seconds": view.age_seconds,
        "source": view.source,
        "refreshed": view.source == "minted",
        "stale": view.stale,
        # Minted prices every product; quotes and orders take only these.
        "prices": [
            {**price.model_dump(exclude_none=True), "for_sale": price.sku in SKUS_FOR_SALE} for price in snapshot.prices
        ],
    }


def quote_body(quote: Quote) -> dict[str, Any]:
    return {
        "side": quote.side,
        "price_token": quote.price_token,
        "expires_at": timestamp(quote.expires_at),
        "expires_in_seconds": quote.expires_in_seconds,
        "currency": quote.currency,
        "mode": quote.mode,
        "lines": [
            {"sku": l.sku, "amount": l.amount, "unit_price": l.unit_price, "line_total": l.line_total}
            for l in quote.lines  # noqa: E741
        ],
        "total": quote.total,
    }


def legal_list_body(documents: list[LegalDocumentSummary]) -> dict[str, Any]:
    return {"documents": [d.model_dump() for d in documents]}


def legal_body(document: LegalDocument) -> dict[str, Any]:
    data = document.model_dump()
    data["updated_at"] = timestamp(document.updated_at)
    return data


def workflow_started_body(request: WorkflowRequest, execution: Execution) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": request.external_id,
        "execution_name": execution.name,
        "execution_arn": execution.arn,
        "status": execution.status,
        "started_at": timestamp(execution.started_at),
    }
    if execution.error:
        body["error"] = execution.error
    return body


def wallet_body(wallet: WalletBalance) -> dict[str, Any]:
    return {
        "sku": wallet.sku,
        "currency_code": wallet.currency_code,
        "currency_id": wallet.currency_id,
        "is_cash": wallet.is_cash,
        "balance": wallet.balance,
        "blocked": wallet.blocked,
        "soft_blocked": wallet.soft_blocked,
        "available": wallet.available,
    }


def balances_body(balances: Balances) -> dict[str, Any]:
    return {
        "customer_external_id": balances.customer_external_id,
        "as_of": timestamp(balances.as_of),
        "balances": [wallet_body(wallet) for wallet in balances.wallets],
    }


def customer_body(customer: Customer) -> dict[str, Any]:
    """What Minted returns for the customer, wallets with their skus and available amounts."""
    from minted_gateway.customers.balances import wallet_balance  # noqa: PLC0415 - only the customers function

    body = customer.model_dump(exclude={"wallets", "birthdate"})
    body["birthdate"] = customer.birthdate.isoformat() if customer.birthdate else None
    body["wallets"] = [wallet_body(wallet_balance(wallet)) for wallet in customer.wallets]
    return body
