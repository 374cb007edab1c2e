"""What the sandbox remembers: price tokens, orders, customers, balances, and the order clock.

Every public method takes the lock, so concurrent requests see Minted's rules hold (a token buys
once, an external_id orders once).
"""

from __future__ import annotations

import math
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from local.minted_sandbox import cards, legal, rules
from local.minted_sandbox.market import PRODUCTS, PRODUCTS_BY_ID, TRY_PER_UNIT, Market, Quote, grams_for, round_money
from local.minted_sandbox.rules import FieldErrors, SandboxError

ISTANBUL = timezone(timedelta(hours=3))
STATUS_NAMES = [
    "Created", "Pending", "Processing", "Cancelled", "Completed", "Preparing",
    "Packed", "Shipped", "Transferring", "Refunding", "Refunded", "Payment Confirmed",
]  # fmt: skip
STATUS_IDS = {name: index + 1 for index, name in enumerate(STATUS_NAMES)}
PARTNER_WALLET = "__partner__"


@dataclass
class SandboxSettings:
    username: str = "partner"
    password: str = "sandbox-password"  # noqa: S105 - the sandbox's documented default
    realm: str = "minted-sandbox"
    algorithms: tuple[str, ...] = ("SHA-256", "MD5")
    nonce_ttl_seconds: float = 300.0
    token_ttl_seconds: int = 240
    pending_after_seconds: float = 0.5
    completion_delay_seconds: float | None = 2.0  # None: orders stay Pending
    # A buy of several items makes one order per item (Minted's answer has order_code[] and guid[]);
    # Get Order by external_id then shows the first of them.
    split_orders: bool = False
    # Get Order (Alternative) by external_id answers with a JSON array of every order under it (the
    # envelope allows object|array; Minted publishes one object). Off unless a test turns it on.
    lookup_lists_every_order: bool = False
    # A buy or sell under an external_id Minted already holds is accepted as one more order (Minted does
    # not publish that it refuses a repeated id): only the gateway's own lookup-first then stands
    # between a retry and a second buy. Off unless a test turns it on.
    accept_repeated_external_id: bool = False
    spread: Decimal = Decimal("0.015")
    seed: int | None = None
    # Digest: after each accepted request, send Authentication-Info nextnonce and retire the nonce.
    next_nonce: bool = False
    # Rules Minted's pages do not publish (docs/sandbox.md): each off unless a test turns it on.
    identity_check_digits: bool = False  # a T.C. Kimlik No.'s check digits
    phone_e164: bool = False  # phones must be E.164 (and are kept normalised)
    buy_name_lengths: bool = False  # 3-40 character names on a buy (published for Create Customer only)
    email_format: bool = False  # an email must look like name@host.tld
    currency_must_match_token: bool = False  # a buy's currency_code must be its price token's
    # Minted's Sell page has no customer: the wallet a sell moves is the one its Price Fix named (contract 5).
    sell_customer_from_price_fix: bool = False
    # Card buys (cards.py): a pending payment settles this long after the buy; the cost Minted adds.
    card_settle_seconds: float = 2.0
    card_payment_cost: Decimal = Decimal(10)  # the published card order shows payment_cost 10
    # Deliveries move Created -> Preparing -> Packed -> Shipped -> Completed, one step this often (None: stay Created).
    delivery_step_seconds: float | None = 1.0
    delivery_charge: Decimal = Decimal("150")  # a delivery order's total: its charge, not the metal's value


# The settings a test may change through POST /_sandbox/rules.
RULES = ("identity_check_digits", "phone_e164", "buy_name_lengths", "email_format", "currency_must_match_token",
         "sell_customer_from_price_fix")  # fmt: skip


class Clock:
    """Wall time plus an offset that tests can advance (expire tokens, nonces, complete orders)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)


@dataclass
class PriceToken:
    token: str
    currency: str
    quotes: dict[str, Quote]
    expires_at: float
    is_total: bool
    total: Decimal | None
    customer_external_id: str | None
    used: bool = False


@dataclass
class StoredOrder:
    guid: str
    order_code: str
    external_id: str
    type: str
    currency: str
    created_at: float
    lines: list[dict[str, Any]]
    price: Decimal
    customer_key: str
    card: cards.Card | None = None  # a card buy's card
    payment: dict[str, str] | None = None  # its payment's ids, and what Minted echoes (the CVV, the IP)
    reversed: bool = False  # a pending payment that failed: the grams it credited were taken back


DELIVERY_STEPS = ("Created", "Preparing", "Packed", "Shipped", "Completed")


ALL_ENDPOINTS = "*"  # in_flight and most_at_once over every partner endpoint together


@dataclass
class Counters:
    requests: dict[str, int] = field(default_factory=dict)
    unauthorized: dict[str, int] = field(default_factory=dict)
    orders_created: dict[str, int] = field(default_factory=dict)
    faults_applied: dict[str, int] = field(default_factory=dict)
    finished: dict[str, int] = field(default_factory=dict)  # requests whose work is done (answered or dropped)
    in_flight: dict[str, int] = field(default_factory=dict)  # requests being served right now
    most_at_once: dict[str, int] = field(default_factory=dict)  # the high-water mark of in_flight

    def bump(self, bucket: dict[str, int], key: str) -> None:
        bucket[key] = bucket.get(key, 0) + 1

    def enter(self, key: str) -> None:
        self.bump(self.in_flight, key)
        self.most_at_once[key] = max(self.most_at_once.get(key, 0), self.in_flight[key])

    def leave(self, key: str) -> None:
        self.in_flight[key] = self.in_flight.get(key, 1) - 1

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "requests": dict(self.requests),
            "unauthorized": dict(self.unauthorized),
            "orders_created": dict(self.orders_created),
            "faults_applied": dict(self.faults_applied),
            "finished": dict(self.finished),
            "in_flight": dict(self.in_flight),
            "most_at_once": dict(self.most_at_once),
        }


class SandboxState:
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.clock = Clock()
        self.lock = threading.RLock()
        self.market = Market(spread=settings.spread, seed=settings.seed)
        self.counters = Counters()
        self.tokens: dict[str, PriceToken] = {}
        self.orders: dict[str, StoredOrder] = {}  # by external_id: a buy's first order
        self.more_orders: list[StoredOrder] = []  # a split buy's other orders
        self.customers: dict[str, dict[str, Any]] = {}
        self.balances: dict[str, dict[str, Decimal]] = {}

    # ------------------------------------------------------------------ prices
    def pricefix(self, body: dict[str, Any]) -> dict[str, Any]:
        errors = FieldErrors()
        if body.get("type") != "digital":
            errors.add("type", "The type must be digital.")
        currency = body.get("currency") or "TRY"
        if currency not in rules.CURRENCIES:
            errors.add("currency", "The selected currency is invalid.")
        total = None
        customer_id = body.get("customer_external_id")
        if body.get("total") is not None:
            total = rules.money(body["total"])
            if total is None:
                errors.add("total", "The total must be a number greater than 0.")
            if not customer_id:
                errors.add("customer_external_id", "The customer_external_id field is required when total is present.")
        if customer_id is not None and not (isinstance(customer_id, str) and rules.EXTERNAL_ID.match(customer_id)):
            errors.add("customer_external_id", "The customer_external_id format is invalid.")
        errors.check()
        with self.lock:
            self.market.tick()
            quotes = self.market.quotes(currency)
            token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
            ttl = self.settings.token_ttl_seconds
            expires = self.clock.now() + ttl
            self.tokens[token] = PriceToken(token, currency, quotes, expires, total is not None, total, customer_id)
        prices = []
        for quote in quotes.values():
            entry = quote.as_dict()
            entry["buy_amount"] = grams_for(total, quote.buy) if total is not None else None
            prices.append(entry)
        return {
            "token": token,
            "expires_at": datetime.fromtimestamp(expires, ISTANBUL).isoformat(timespec="seconds"),
            "expire_ttl": ttl - 1,
            "is_total_price": total is not None,
            "total": total,
            "currency": currency,
            "prices": prices,
        }

    def product_prices(self, currency: str) -> list[dict[str, Any]]:
        if currency not in rules.CURRENCIES:
            raise SandboxError(422, "Parameter Error", {"currency": ["The selected currency is invalid."]})
        with self.lock:
            self.market.tick()
            quotes = self.market.quotes(currency)
        updated = self.clock.now_dt().astimezone(ISTANBUL).isoformat(timespec="seconds")
        return [
            {
                "product_id": q.product_id,
                "sku": q.sku,
                "name": PRODUCTS[q.sku].name,
                "currency": currency,
                "spot_price": q.spot,
                "buy_price": q.buy,
                "sell_price": q.sell,
                "updated_at": updated,
            }
            for q in quotes.values()
        ]

    # ------------------------------------------------------------------ buy and sell
    def place_order(self, body: dict[str, Any], kind: str) -> list[StoredOrder]:
        """Validate a buy or sell fully, then commit it: token used, order stored, balances moved."""
        errors = FieldErrors()
        with self.lock:
            token = self._check_token(body.get("price_token"), errors)
            external_id = body.get("external_id")
            if not isinstance(external_id, str) or not rules.EXTERNAL_ID.match(external_id):
                errors.add("external_id", f"The external_id {rules.EXTERNAL_ID_TEXT}")
            elif external_id in self.orders and not self.settings.accept_repeated_external_id:
                errors.add("external_id", "The external_id has already been taken.")
            currency = body.get("currency_code")
            if currency is None and kind == "Buy" and ("payment_type" in body or "payment" in body):
                currency = "GBP"  # the card buy page: currency_code defaults to GBP
            if currency is not None and currency not in rules.CURRENCIES:
                errors.add("currency_code", "The selected currency_code is invalid.")
            elif (
                self.settings.currency_must_match_token and token is not None and currency not in (None, token.currency)
            ):
                errors.add("currency_code", "The currency_code does not match the price token.")
            lines = self._check_items(body.get("items"), token, kind, errors)
            card: cards.Card | None = None
            kept: dict[str, str] = {}
            if kind == "Buy" and ("payment_type" in body or "payment" in body):
                card, kept = cards.check_payment(body, errors)
                if body.get("customer") is None:
                    errors.add("customer", "The customer field is required.")
            named = body.get("customer")
            if kind == "Sell" and self.settings.sell_customer_from_price_fix:  # the body's customer is ignored
                named = {"external_id": token.customer_external_id} if token and token.customer_external_id else None
            customer_key, new_customer = self._check_customer(named, kind, errors)
            _check_token_customer(token, customer_key, errors)
            if kind == "Sell" and not errors.errors:
                self._check_balance(customer_key, lines, errors)
            errors.check(
                "Parameter Error (New Customer)"
                if new_customer is not None and _only_customer(errors)
                else "Parameter Error"
            )
            if token is None:  # unreachable: a missing token is a field error above
                raise SandboxError(422, "Parameter Error", {"price_token": ["The price_token is invalid."]})
            token.used = True
            if new_customer is not None:
                self.customers[new_customer["external_id"]] = new_customer
            external_id = str(external_id)
            split = self.settings.split_orders and len(lines) > 1
            orders = [
                StoredOrder(
                    guid=str(uuid.uuid4()).upper(),
                    order_code="".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)),
                    external_id=external_id,
                    type=kind,
                    currency=token.currency,
                    created_at=self.clock.now(),
                    lines=part,
                    price=round_money(sum((line["total"] for line in part), Decimal(0))),
                    customer_key=customer_key,
                    card=card,
                    payment={**kept, **cards.new_payment_ids()} if card else None,
                )
                for part in ([[line] for line in lines] if split else [lines])
            ]
            repeated = external_id in self.orders  # only with accept_repeated_external_id: the first stays first
            if not repeated:
                self.orders[external_id] = orders[0]
            self.more_orders += orders if repeated else orders[1:]
            wallet = self.balances.setdefault(customer_key, {})
            sign = 1 if kind == "Buy" else -1
            if card is not None and card.outcome == "failed":
                sign = 0  # a declined card buys nothing
            for line in lines:
                wallet[line["sku"]] = wallet.get(line["sku"], Decimal(0)) + sign * line["amount"]
            self.counters.bump(self.counters.orders_created, kind.lower())
            if card is not None:
                self.counters.bump(self.counters.orders_created, "card_buy")
            return orders

    # ------------------------------------------------------------------ delivery
    def create_delivery(self, body: dict[str, Any]) -> StoredOrder:
        """Delivery - Create (Pay With Cash): whole grams of one sku out of the customer's wallet."""
        errors = FieldErrors()
        customer = body.get("customer")
        customer_id = None
        if not isinstance(customer, dict):
            errors.add("customer", "The customer field is required.")
        else:
            for name in ("external_id", "firstname", "lastname", "phone", "email"):
                if not isinstance(customer.get(name), str) or not customer[name].strip():
                    errors.add(f"customer.{name}", f"The customer.{name} field is required.")
            customer_id = customer.get("external_id")
        external_id = body.get("external_id")
        sku = body.get("sku")
        product = PRODUCTS.get(sku) if isinstance(sku, str) else None
        if product is None or not product.tradable:
            errors.add("sku", "The selected sku is invalid.")
        amount = body.get("amount")
        if type(amount) is not int or amount <= 0:  # the page types it integer: whole grams
            errors.add("amount", "The amount must be a whole number of grams greater than 0.")
        _check_address(body.get("address"), errors)
        with self.lock:
            if not isinstance(external_id, str) or not rules.EXTERNAL_ID.match(external_id):
                errors.add("external_id", f"The external_id {rules.EXTERNAL_ID_TEXT}")
            elif external_id in self.orders:
                errors.add("external_id", "The external_id has already been taken.")
            if isinstance(customer_id, str) and customer_id and customer_id not in self.customers:
                errors.add("customer.external_id", "The selected customer.external_id is invalid.")
            self._settle_payments()
            wallet = self.balances.get(str(customer_id), {})
            if (
                not errors.errors
                and product is not None
                and isinstance(amount, int)
                and wallet.get(product.sku, Decimal(0)) < amount
            ):
                errors.add("amount", "The balance is not enough for this amount.")
            errors.check()
            assert product is not None and isinstance(amount, int)  # noqa: S101 - checked above
            quote = self.market.quotes("TRY")[product.sku]
            line = {"product": product, "sku": product.sku, "amount": Decimal(amount), "spot": quote.spot,
                    "price": Decimal(0), "total": Decimal(0)}  # fmt: skip
            order = StoredOrder(
                guid=str(uuid.uuid4()).upper(),
                order_code="".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)),
                external_id=str(external_id),
                type="Delivery",
                currency="TRY",
                created_at=self.clock.now(),
                lines=[line],
                price=self.settings.delivery_charge,
                customer_key=str(customer_id),
            )
            self.orders[order.external_id] = order
            wallet[product.sku] = wallet.get(product.sku, Decimal(0)) - amount
            self.balances[str(customer_id)] = wallet
            self.counters.bump(self.counters.orders_created, "delivery")
            return order

    def _settle_payments(self) -> None:
        """A pending card payment that has failed by now takes back the grams its buy credited."""
        now = self.clock.now()
        for order in [*self.orders.values(), *self.more_orders]:
            card = order.card
            if card is None or order.reversed or card.outcome != "pending-failed":
                continue
            if now >= order.created_at + self.settings.card_settle_seconds:
                wallet = self.balances.setdefault(order.customer_key, {})
                for line in order.lines:
                    wallet[line["sku"]] = wallet.get(line["sku"], Decimal(0)) - line["amount"]
                order.reversed = True

    def _check_token(self, value: Any, errors: FieldErrors) -> PriceToken | None:
        if not value:
            errors.add("price_token", "The price_token field is required.")
            return None
        token = self.tokens.get(value) if isinstance(value, str) else None
        if token is None:
            errors.add("price_token", "The price_token is invalid.")
        elif token.used:
            errors.add("price_token", "The price_token has already been used.")
        elif self.clock.now() >= token.expires_at:
            errors.add("price_token", "The price_token has expired.")
        else:
            return token
        return None

    def _check_items(
        self, items: Any, token: PriceToken | None, kind: str, errors: FieldErrors
    ) -> list[dict[str, Any]]:
        if not isinstance(items, list) or not items:
            errors.add("items", "The items field is required.")
            return []
        lines = []
        for index, item in enumerate(items):
            where = f"items.{index}"
            if not isinstance(item, dict):
                errors.add(where, "Each item must be an object.")
                continue
            product = PRODUCTS.get(item.get("sku")) or PRODUCTS_BY_ID.get(item.get("product_id"))  # type: ignore[arg-type]
            if product is None:
                errors.add(f"{where}.sku", "The selected sku is invalid.")
            elif not product.tradable:
                errors.add(f"{where}.sku", f"{product.sku} cannot be traded digitally.")
            amount = rules.grams(item.get("amount"))
            if amount is None:
                errors.add(f"{where}.amount", "The amount must be greater than 0 with at most 3 decimals.")
            if product is None or amount is None or token is None:
                continue
            quote = token.quotes[product.sku]
            if token.is_total and token.total is not None and amount > grams_for(token.total, quote.buy):
                errors.add(f"{where}.amount", "The amount is more than the fixed total buys.")
            unit = quote.buy if kind == "Buy" else quote.sell
            lines.append(
                {
                    "product": product,
                    "sku": product.sku,
                    "amount": amount,
                    "spot": quote.spot,
                    "price": unit,
                    "total": round_money(amount * unit),
                }
            )
        return lines

    def _check_customer(self, customer: Any, kind: str, errors: FieldErrors) -> tuple[str, dict[str, Any] | None]:
        """The wallet the order moves, and a customer to create with it (B2B2C, new to Minted)."""
        if customer is None:
            return PARTNER_WALLET, None  # B2B: the partner's own wallet
        if not isinstance(customer, dict):
            errors.add("customer", "The customer must be an object.")
            return PARTNER_WALLET, None
        external_id = customer.get("external_id")
        if not isinstance(external_id, str) or not rules.EXTERNAL_ID.match(external_id):
            errors.add("customer.external_id", "The customer.external_id format is invalid.")
            return PARTNER_WALLET, None
        if external_id in self.customers:
            return external_id, None
        if kind == "Sell":
            errors.add("customer.external_id", "The customer is unknown.")
            return external_id, None
        s = self.settings
        profile = rules.validate_person(
            customer, errors, "customer.", required=True, name_lengths=s.buy_name_lengths, phone_e164=s.phone_e164,
            email_format=s.email_format,
        )  # fmt: skip
        identity = customer.get("identity_number")
        if identity in (None, ""):
            errors.add("customer.identity_number", "The identity_number field is required.")
        elif not rules.identity_number_ok(identity, check_digits=s.identity_check_digits):
            errors.add("customer.identity_number", "The identity_number is not a valid T.C. Kimlik No.")
        return external_id, {"external_id": external_id, "identity_number": identity, **profile}

    def _check_balance(self, customer_key: str, lines: list[dict[str, Any]], errors: FieldErrors) -> None:
        self._settle_payments()
        wallet = self.balances.get(customer_key, {})
        needed: dict[str, Decimal] = {}
        for index, line in enumerate(lines):
            needed[line["sku"]] = needed.get(line["sku"], Decimal(0)) + line["amount"]
            if needed[line["sku"]] > wallet.get(line["sku"], Decimal(0)):
                errors.add(f"items.{index}.amount", "The balance is not enough for this amount.")

    # ------------------------------------------------------------------ orders
    def payment_state(self, order: StoredOrder) -> str | None:
        """A card order's payment: its card's outcome, or ``pending`` until it settles."""
        card = order.card
        if card is None:
            return None
        if card.pending and self.clock.now() < order.created_at + self.settings.card_settle_seconds:
            return "pending"
        return card.final_state

    def status_of(self, order: StoredOrder) -> str:
        age = self.clock.now() - order.created_at
        if order.type == "Delivery":
            step = self.settings.delivery_step_seconds
            return DELIVERY_STEPS[0 if step is None else min(int(age // step), len(DELIVERY_STEPS) - 1)]
        payment = self.payment_state(order)
        if payment == "failed":
            return "Cancelled"
        if payment == "pending":
            return "Pending" if age >= self.settings.pending_after_seconds else "Created"
        if order.card is not None and order.card.pending:  # paid once it settled: the clock runs from then
            age -= self.settings.card_settle_seconds
        delay = self.settings.completion_delay_seconds
        if delay is not None and age >= delay:
            return "Completed"
        return "Pending" if age >= self.settings.pending_after_seconds else "Created"

    def orders_of(self, external_id: str) -> list[StoredOrder]:
        """Every order under ``external_id``: a buy's first, then a split buy's others."""
        with self.lock:
            first = self.orders.get(external_id)
            return [first, *(o for o in self.more_orders if o.external_id == external_id)] if first else []

    def order(self, **key: str) -> StoredOrder:
        with self.lock:
            ((field_name, value),) = key.items()
            if field_name == "external_id":
                found = self.orders.get(value)
            else:
                every = [*self.orders.values(), *self.more_orders]
                found = next((o for o in every if getattr(o, field_name) == value), None)
        if found is None:
            raise SandboxError(404, "Order not found.")
        return found

    def order_view(self, order: StoredOrder, date_style: str) -> dict[str, Any]:
        status = self.status_of(order)
        rate = TRY_PER_UNIT[order.currency]
        view = self._order_fields(order, status, rate, date_style)
        if order.card is not None and order.payment is not None:
            view["payment_type"] = "credit-card"  # the Order Schema's spelling
            view["payment_cost"] = self.settings.card_payment_cost
            state = self.payment_state(order) or "pending"
            view["payment"] = cards.payment_view(order.card, order.payment, state, order.external_id, order.price)
        if order.type == "Delivery":
            shipped = (
                DELIVERY_STEPS.index(status) >= DELIVERY_STEPS.index("Shipped") if status in DELIVERY_STEPS else False
            )
            code = f"MNT{order.order_code}"
            url = f"https://cargo.example.com/track/{code}"
            view["delivery"] = {"cargo_tracking_number": code if shipped else None,
                                "cargo_tracking_url": url if shipped else None}  # fmt: skip
        return view

    def _order_fields(self, order: StoredOrder, status: str, rate: Decimal, date_style: str) -> dict[str, Any]:
        return {
            "guid": order.guid,
            "order_code": order.order_code,
            "external_id": order.external_id,
            "type": order.type,
            "price": order.price,
            "tax": Decimal(0),
            "total": order.price,
            "payment_cost": Decimal(0),
            "currency_code": order.currency,
            "currency_rate": rate,
            "currency_total": round_money(order.price * rate),
            "status_id": STATUS_IDS[status],
            "status_name": status,
            "order_at": format_time(order.created_at, date_style),
            "payment_type": "cash",
            "items": [
                {
                    "product_id": line["product"].product_id,
                    "sku": line["sku"],
                    "product_name": line["product"].name,
                    "spot_price": line["spot"],
                    "price": line["price"],
                    "tax_rate": 0,
                    "tax": 0,
                    "amount": line["amount"],
                    "total": line["total"],
                }
                for line in order.lines
            ],
            "customer": self._customer_on_order(order.customer_key),
            "description": ", ".join(f"{line['amount']}gr - #{line['sku']}" for line in order.lines),
        }

    def _customer_on_order(self, key: str) -> dict[str, Any] | None:
        customer = self.customers.get(key)
        if customer is None:
            return None
        names = [customer.get("firstname"), customer.get("middlename"), customer.get("lastname")]
        return {
            "external_id": customer["external_id"],
            "firstname": customer.get("firstname"),
            "middlename": customer.get("middlename") or "",
            "lastname": customer.get("lastname"),
            "fullname": " ".join(n for n in names if n),
            "email": customer.get("email"),
            "phone": customer.get("phone"),
            "gender": customer.get("gender"),
            "identity_number": customer.get("identity_number"),
            "birthdate": customer.get("birthdate"),
        }

    def list_orders(self, query: dict[str, str], base_url: str) -> dict[str, Any]:
        errors = FieldErrors()
        page = _int_param(query, "page", 1, errors, low=1)
        per_page = _int_param(query, "total", 10, errors, low=5, high=30)
        sort_by = query.get("sortBy", "created_at")
        if sort_by not in ("type", "total", "customer_external_id", "created_at"):
            errors.add("sortBy", "The selected sortBy is invalid.")
        sort_type = query.get("sortType", "desc")
        if sort_type not in ("asc", "desc"):
            errors.add("sortType", "The selected sortType is invalid.")
        statuses: set[int] = set()
        if query.get("status"):
            try:
                statuses = {int(part) for part in query["status"].split(",")}
            except ValueError:
                errors.add("status", "The status must be a list of status ids.")
        start = _date_param(query, "startDate", errors)
        end = _date_param(query, "endDate", errors)
        errors.check()
        with self.lock:
            orders = [*self.orders.values(), *self.more_orders]
        selected = []
        for order in orders:
            day = datetime.fromtimestamp(order.created_at, ISTANBUL).date()
            if query.get("customer_external_id") and order.customer_key != query["customer_external_id"]:
                continue
            if query.get("sku") and all(line["sku"] != query["sku"] for line in order.lines):
                continue
            if statuses and STATUS_IDS[self.status_of(order)] not in statuses:
                continue
            if (start and day < start) or (end and day > end):
                continue
            selected.append(order)
        sort_keys = {
            "type": lambda o: o.type,
            "total": lambda o: o.price,
            "customer_external_id": lambda o: o.customer_key,
            "created_at": lambda o: o.created_at,
        }
        selected.sort(key=sort_keys.get(sort_by, sort_keys["created_at"]), reverse=sort_type == "desc")
        total = len(selected)
        last_page = max(1, math.ceil(total / per_page))
        chunk = selected[(page - 1) * per_page : page * per_page]
        path = f"{base_url}/partner/orders"

        def url(number: int) -> str | None:
            return f"{path}?page={number}" if 1 <= number <= last_page else None

        links = [{"url": url(page - 1), "label": "&laquo; Previous", "active": False}]
        links += [{"url": url(n), "label": str(n), "active": n == page} for n in range(1, last_page + 1)]
        links.append({"url": url(page + 1), "label": "Next &raquo;", "active": False})
        first_index = (page - 1) * per_page + 1
        return {
            "current_page": page,
            "data": [self.order_view(o, "list") for o in chunk],
            "first_page_url": url(1),
            "from": first_index if chunk else None,
            "last_page": last_page,
            "last_page_url": url(last_page),
            "links": links,
            "next_page_url": url(page + 1),
            "path": path,
            "per_page": per_page,
            "prev_page_url": url(page - 1),
            "to": first_index + len(chunk) - 1 if chunk else None,
            "total": total,
        }

    # ------------------------------------------------------------------ customers
    def create_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        errors = FieldErrors()
        external_id = body.get("external_id")
        if not isinstance(external_id, str) or not rules.CUSTOMER_PAGE_ID.match(external_id):
            errors.add("external_id", "The external_id must be 3 to 40 letters, digits, - or _.")
        profile = self._person(body, errors)
        company = body.get("account_type") == "company"
        identity = body.get("identity_number")
        if company:
            if not (isinstance(identity, str) and len(identity) == 10 and identity.isdigit()):
                errors.add("identity_number", "A company's identity_number is its 10-digit tax number.")
            if not body.get("tax_office"):
                errors.add("tax_office", "The tax_office field is required for a company.")
        elif identity not in (None, "") and not rules.identity_number_ok(
            identity, check_digits=self.settings.identity_check_digits
        ):
            errors.add("identity_number", "The identity_number is not a valid T.C. Kimlik No.")
        with self.lock:
            if isinstance(external_id, str) and external_id in self.customers:
                errors.add("external_id", "The external_id has already been taken.")
            errors.check()
            customer = {"external_id": external_id, "identity_number": identity or None, **profile}
            if company:
                customer.update(account_type="company", tax_office=body.get("tax_office"))
            self.customers[str(external_id)] = customer
            return self.customer_view(str(external_id))

    def update_customer(self, external_id: str, body: dict[str, Any]) -> dict[str, Any]:
        errors = FieldErrors()
        profile = self._person(body, errors)
        with self.lock:
            if external_id not in self.customers:
                raise SandboxError(404, "Customer not found.")
            errors.check()
            self.customers[external_id].update(profile)
            # [DECIDED] Minted publishes no way to clear a field: a middlename sent as null clears it
            # ("" is absent, contract 9.6, and leaves it), as the gateway's PATCH sends it.
            if "middlename" in body and body["middlename"] is None:
                self.customers[external_id].pop("middlename", None)
            return self.customer_view(external_id)

    def _person(self, body: dict[str, Any], errors: FieldErrors) -> dict[str, Any]:
        """Create and Update Customer: the customer page publishes 3-40 character names."""
        s = self.settings
        return rules.validate_person(
            body, errors, "", required=False, name_lengths=True, phone_e164=s.phone_e164, email_format=s.email_format
        )

    def customer_view(self, external_id: str) -> dict[str, Any]:
        with self.lock:
            customer = self.customers.get(external_id)
            if customer is None:
                raise SandboxError(404, "Customer not found.")
            return {
                **customer,
                "account_type": customer.get("account_type", "individual"),
                "wallets": self.balance_view(external_id),
            }

    def balance_view(self, external_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._settle_payments()
            if external_id not in self.customers:
                raise SandboxError(404, "Customer not found.")
            wallet = self.balances.get(external_id, {})
            name = " ".join(
                filter(
                    None, [self.customers[external_id].get("firstname"), self.customers[external_id].get("lastname")]
                )
            )
            return [
                {
                    "customer_external_id": external_id,
                    "name": name,
                    "currency_id": product.product_id,
                    "currency_code": sku,
                    "currency_symbol": sku,
                    "is_cash": False,
                    "balance": wallet.get(sku, Decimal(0)),
                    "blocked": Decimal(0),
                    "real_balance": wallet.get(sku, Decimal(0)),
                    "soft_blocked_amount": Decimal(0),
                }
                for sku, product in PRODUCTS.items()
                if product.tradable
            ]

    # ------------------------------------------------------------------ legal
    def legal(self, body: dict[str, Any], base_url: str) -> Any:
        doc_type = body.get("type")
        if doc_type in (None, ""):
            return [legal.summary(t) for t in legal.DOCUMENTS]
        if doc_type not in legal.DOCUMENTS:
            raise SandboxError(
                422, "Parameter Error", {"type": [f"The type must be one of {', '.join(legal.DOCUMENTS)}."]}
            )
        return legal.document(doc_type, base_url)


def format_time(epoch: float, style: str) -> str:
    """Minted's date formats differ by endpoint (contract 2.4); the sandbox sends each of them."""
    local = datetime.fromtimestamp(epoch, ISTANBUL)
    if style == "order_response":
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if style == "lookup":
        return local.strftime("%d-%m-%Y %H:%M")
    if style == "list":
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return local.isoformat(timespec="seconds")


def _check_token_customer(token: PriceToken | None, customer_key: str, errors: FieldErrors) -> None:
    """Price Fix publishes customer_external_id as required in total mode: that token is the customer's."""
    if token is not None and token.is_total and token.customer_external_id != customer_key:
        errors.add("price_token", "The price_token was fixed for another customer.")


_ADDRESS_FIELDS = ("fullname", "city", "county", "district", "address")


def _check_address(address: Any, errors: FieldErrors) -> None:
    """Delivery's ``address {billing, shipping}`` as published (company_name may be empty)."""
    if not isinstance(address, dict):
        errors.add("address", "The address field is required.")
        return
    for part, extra in (("billing", ("invoice_type",)), ("shipping", ())):
        block = address.get(part)
        if not isinstance(block, dict):
            errors.add(f"address.{part}", f"The address.{part} field is required.")
            continue
        for name in (*_ADDRESS_FIELDS, *extra):
            if not isinstance(block.get(name), str) or not block[name].strip():
                errors.add(f"address.{part}.{name}", f"The address.{part}.{name} field is required.")


def _only_customer(errors: FieldErrors) -> bool:
    return all(name.startswith("customer.") for name in errors.errors)


def _int_param(
    query: dict[str, str], name: str, default: int, errors: FieldErrors, *, low: int, high: int | None = None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.add(name, f"The {name} must be an integer.")
        return default
    if value < low or (high is not None and value > high):
        errors.add(
            name, f"The {name} must be between {low} and {high}." if high else f"The {name} must be at least {low}."
        )
        return default
    return value


def _date_param(query: dict[str, str], name: str, errors: FieldErrors) -> Any:
    raw = query.get(name)
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        errors.add(name, f"The {name} must be a date in YYYY-MM-DD format.")
        return None
