"""The Minted sandbox as a WSGI app: Minted's partner endpoints plus a control API under /_sandbox/."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from dataclasses import asdict, replace
from decimal import Decimal
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from local.minted_sandbox import jsonbody, shapes
from local.minted_sandbox import legal as legal_texts
from local.minted_sandbox.cards import CARDS
from local.minted_sandbox.digest import DigestVerifier, Verdict
from local.minted_sandbox.faults import Fault, FaultBoard
from local.minted_sandbox.language import in_language, language
from local.minted_sandbox.rules import SandboxError
from local.minted_sandbox.state import ALL_ENDPOINTS, RULES, STATUS_NAMES, SandboxSettings, SandboxState, format_time

_MALFORMED = b'{"data": {"order_code": ["'
_PARTIAL = b'{"data": {"guid": null}, "success": true, "code": 0, "message": ""}'  # the envelope, lacking fields


class Sandbox:
    """Everything one running sandbox holds; ``reset`` starts it over with its first settings."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.initial = settings
        self.faults = FaultBoard()
        self.reset()

    def reset(self) -> None:
        self.state = SandboxState(replace(self.initial))
        s = self.state.settings
        self.verifier = DigestVerifier(
            realm=s.realm, algorithms=s.algorithms, nonce_ttl=s.nonce_ttl_seconds, clock=self.state.clock.now
        )
        self.verifier.next_nonce = s.next_nonce
        self.faults.clear()


def envelope(data: Any, status: int = 200) -> Response:
    body = {"data": data, "success": True, "code": 0, "message": ""}
    return Response(jsonbody.dumps(body), status=status, mimetype="application/json")


def control_envelope(data: Any) -> Response:
    """Control API answers hold settings and counters (floats allowed), never money."""
    body = {"data": data, "success": True, "code": 0, "message": ""}
    return Response(json.dumps(body, default=_setting_value), mimetype="application/json")


def _setting_value(value: object) -> object:
    if isinstance(value, Decimal):  # a setting such as the spread: a plain JSON number
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a control answer")


def _echoing_refusal(status: int) -> Response:
    """A refusal that quotes what the customer sent: the gateway must keep such text out of what it stores."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    # An order's customer block, or a Create or Update Customer body, which is the customer itself.
    block, prefix = (body["customer"], "customer.") if isinstance(body.get("customer"), dict) else (body, "")
    email, identity, phone = block.get("email"), block.get("identity_number"), block.get("phone")
    errors = {f"{prefix}email": [f"The email {email} has already been taken."]} if email else {}
    if phone:
        errors[f"{prefix}phone"] = [f"{phone} is not a phone number Minted can reach."]
    if block.get("tax_office"):  # a company's
        errors[f"{prefix}tax_office"] = [f"{block['tax_office']} is not a tax office Minted knows."]
    message = f"Injected fault: HTTP {status} for {identity}"
    payment = body.get("payment") if isinstance(body.get("payment"), dict) else {}
    if payment:  # a card buy's: its CVV, card and IP quoted as readily
        cvv, card, ip = payment.get("card_cvv"), payment.get("card_token"), payment.get("customer_ip")
        errors["payment.card_cvv"] = [f"The CVV {cvv} does not match the card {card} (from {ip})."]
        message += f", paying with {card} (CVV {cvv})"
    return error_envelope(status, message, errors)


def error_envelope(status: int, message: str, errors: dict[str, list[str]] | None = None) -> Response:
    """Minted's error envelope (contract 2.3), its texts in the request's Accept-Language (tr by default)."""
    lang = language(request.headers.get("Accept-Language")) if request.path.startswith("/partner/") else "en"
    body: dict[str, Any] = {"data": None, "success": False, "code": status, "message": in_language(message, lang)}
    if errors:
        body["errors"] = {field: [in_language(text, lang) for text in texts] for field, texts in errors.items()}
    return Response(jsonbody.dumps(body), status=status, mimetype="application/json")


def create_app(settings: SandboxSettings | None = None) -> Flask:
    sandbox = Sandbox(settings or SandboxSettings())
    app = Flask("minted_sandbox")
    app.extensions["sandbox"] = sandbox

    def state() -> SandboxState:
        return sandbox.state

    def body() -> dict[str, Any]:
        raw = request.get_data()
        if not raw:
            return {}
        try:
            parsed = jsonbody.loads(raw)
        except ValueError:
            raise SandboxError(422, "Parameter Error", {"body": ["The body must be valid JSON."]}) from None
        if not isinstance(parsed, dict):
            raise SandboxError(422, "Parameter Error", {"body": ["The body must be a JSON object."]})
        return parsed

    @app.errorhandler(SandboxError)
    def _sandbox_error(exc: SandboxError) -> Response:
        return error_envelope(exc.status, exc.message, exc.errors)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return error_envelope(exc.code or 500, exc.description or exc.name)

    # ------------------------------------------------------------------ auth, counters and faults
    @app.before_request
    def _guard() -> Response | None:
        if not request.path.startswith("/partner/"):
            return None
        endpoint = request.endpoint or "unknown"
        counters = state().counters
        with state().lock:
            counters.bump(counters.requests, endpoint)
            counters.enter(endpoint)
            counters.enter(ALL_ENDPOINTS)  # every partner request at once: what a rate limit would see
            g.in_flight = endpoint
        settings = state().settings
        verdict = sandbox.verifier.verify(
            request.headers.get("Authorization"),
            method=request.method,
            uri=request.environ.get("RAW_URI") or request.full_path.rstrip("?"),
            username=settings.username,
            password=settings.password,
        )
        if verdict is not Verdict.OK:
            with state().lock:
                counters.bump(counters.unauthorized, endpoint)
            response = error_envelope(401, "Unauthorized")
            for value in sandbox.verifier.challenges(stale=verdict is Verdict.STALE):
                response.headers.add("WWW-Authenticate", value)
            return response
        g.authentication_info = sandbox.verifier.authentication_info(request.headers.get("Authorization", ""))
        if not request.headers.get("x-client-id"):  # the Buy page marks it required
            return error_envelope(422, "Parameter Error", {"x-client-id": ["The x-client-id header is required."]})
        fault = sandbox.faults.take(endpoint)
        g.fault = fault
        if fault is None:
            return None
        with state().lock:
            counters.bump(counters.faults_applied, endpoint)
        if fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        if fault.drop == "before_commit":
            _drop_connection()
            return error_envelope(503, "dropped")  # never reaches the client
        if fault.status is not None and fault.echo:
            return _echoing_refusal(fault.status)
        if fault.status is not None:
            response = error_envelope(fault.status, f"Injected fault: HTTP {fault.status}")
            if fault.status == 429:
                response.headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
            return response
        return None

    @app.teardown_request
    def _left(_exc: BaseException | None) -> None:
        endpoint = g.pop("in_flight", None)
        if endpoint is not None:
            with state().lock:
                state().counters.leave(endpoint)
                state().counters.leave(ALL_ENDPOINTS)

    @app.after_request
    def _after_commit(response: Response) -> Response:
        if request.path.startswith("/partner/"):  # its work is done: a test waiting for it may look now
            with state().lock:
                state().counters.bump(state().counters.finished, request.endpoint or "unknown")
        if g.get("authentication_info"):
            response.headers["Authentication-Info"] = g.authentication_info
        fault: Fault | None = g.get("fault")
        if fault is None or response.status_code == 401:
            return response
        if fault.drop == "after_commit":
            _drop_connection()
        elif fault.body == "malformed":
            response.set_data(_MALFORMED)
        elif fault.body == "partial":
            response.set_data(_PARTIAL)
        elif fault.body == "empty":
            response.set_data(b"")
        return response

    # ------------------------------------------------------------------ Minted's endpoints
    @app.post("/partner/pricefix", endpoint="pricefix")
    def pricefix() -> Response:
        if request.headers.get("api-version") != "3":
            raise SandboxError(422, "Parameter Error", {"api-version": ["The api-version header must be 3."]})
        return envelope(state().pricefix(body()))

    @app.get("/partner/prices", endpoint="prices")
    def prices() -> Response:
        return envelope(state().product_prices(request.args.get("currency", "TRY")))

    @app.post("/partner/order/digital/buy", endpoint="buy")
    def buy() -> Response:
        return _order_response(state().place_order(body(), "Buy"))

    @app.post("/partner/order/digital/sell", endpoint="sell")
    def sell() -> Response:
        return _order_response(state().place_order(body(), "Sell"))

    def _order_response(orders: list[Any]) -> Response:
        views = [state().order_view(order, "lookup") for order in orders]
        return envelope(shapes.buy_answer(views, format_time(orders[0].created_at, "order_response")))

    @app.post("/partner/delivery/create", endpoint="delivery")
    def delivery() -> Response:
        order = state().create_delivery(body())
        return envelope(shapes.delivery_answer(state().order_view(order, "iso")))

    @app.get("/partner/order/<path:external_id>", endpoint="get_order")
    def get_order(external_id: str) -> Response:
        order = state().order(external_id=external_id)
        style = "lookup" if order.card is not None else "iso"  # the card Get Order page's DD-MM-YYYY HH:MM
        return envelope(shapes.get_order_answer(state().order_view(order, style)))

    @app.post("/partner/order", endpoint="find_order")
    def find_order() -> Response:
        payload = body()
        keys = {k: payload[k] for k in ("guid", "order_code", "external_id") if payload.get(k)}
        if len(keys) != 1 or not all(isinstance(v, str) for v in keys.values()):
            raise SandboxError(
                422, "Parameter Error", {"external_id": ["Give exactly one of guid, order_code or external_id."]}
            )
        if "external_id" in keys and state().settings.lookup_lists_every_order:
            every = state().orders_of(keys["external_id"]) or [state().order(**keys)]  # none: the usual 404
            return envelope([shapes.find_order_answer(state().order_view(o, "lookup")) for o in every])
        order = state().order(**keys)
        return envelope(shapes.find_order_answer(state().order_view(order, "lookup")))

    @app.get("/partner/orders", endpoint="list_orders")
    def list_orders() -> Response:
        return envelope(state().list_orders(request.args.to_dict(), request.host_url.rstrip("/")))

    @app.get("/partner/order-statuses", endpoint="order_statuses")
    def order_statuses() -> Response:
        return envelope([{"id": i + 1, "name": name} for i, name in enumerate(STATUS_NAMES)])

    @app.post("/partner/legal", endpoint="legal")
    def legal() -> Response:
        return envelope(state().legal(body(), request.host_url.rstrip("/")))

    @app.post("/partner/customer", endpoint="create_customer")
    def create_customer() -> Response:
        return envelope(state().create_customer(body()))

    @app.patch("/partner/customer/<external_id>", endpoint="update_customer")
    def update_customer(external_id: str) -> Response:
        return envelope(state().update_customer(external_id, body()))

    @app.get("/partner/customer/<external_id>", endpoint="get_customer")
    def get_customer(external_id: str) -> Response:
        return envelope(state().customer_view(external_id))

    @app.get("/partner/balance/customer/<external_id>", endpoint="customer_balance")
    def customer_balance(external_id: str) -> Response:
        return envelope(state().balance_view(external_id))

    # The legal documents' pdf_url: public, as a link handed to a customer would be.
    @app.get("/legal/<doc_type>.pdf")
    def legal_pdf(doc_type: str) -> Response:
        if doc_type not in legal_texts.DOCUMENTS:
            return error_envelope(404, "Not Found")
        return Response(legal_texts.pdf(doc_type), mimetype="application/pdf")

    # ------------------------------------------------------------------ control API (no Digest)
    @app.get("/_sandbox/health")
    def health() -> Response:
        return control_envelope({"status": "ok"})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        sandbox.reset()
        return control_envelope({"reset": True})

    @app.route("/_sandbox/clock", methods=["GET", "POST"])
    def clock() -> Response:
        s = state().settings
        if request.method == "POST":
            payload = body()
            if "advance_seconds" in payload:
                state().clock.offset += float(Decimal(str(payload["advance_seconds"])))
            if "completion_delay_seconds" in payload:
                delay = payload["completion_delay_seconds"]
                s.completion_delay_seconds = None if delay is None else float(delay)
            if "pending_after_seconds" in payload:
                s.pending_after_seconds = float(payload["pending_after_seconds"])
            if "token_ttl_seconds" in payload:
                s.token_ttl_seconds = int(payload["token_ttl_seconds"])
            if "card_settle_seconds" in payload:
                s.card_settle_seconds = float(payload["card_settle_seconds"])
            if "delivery_step_seconds" in payload:
                step = payload["delivery_step_seconds"]
                s.delivery_step_seconds = None if step is None else float(step)
        return control_envelope(
            {
                "offset_seconds": state().clock.offset,
                "completion_delay_seconds": s.completion_delay_seconds,
                "pending_after_seconds": s.pending_after_seconds,
                "token_ttl_seconds": s.token_ttl_seconds,
                "card_settle_seconds": s.card_settle_seconds,
                "delivery_step_seconds": s.delivery_step_seconds,
            }
        )

    @app.route("/_sandbox/market", methods=["GET", "POST"])
    def market() -> Response:
        """``{"spot": {"GAU": 2500}}`` moves spots (TRY per gram; the spread follows); ``"frozen": true``
        stops the random walk, so prices move only when set."""
        market = state().market
        if request.method == "POST":
            payload = body()
            with state().lock:
                try:
                    for sku, spot in (payload.get("spot") or {}).items():
                        market.set_spot(str(sku), Decimal(str(spot)))
                except (ValueError, ArithmeticError) as exc:
                    return error_envelope(422, str(exc))
                if "frozen" in payload:
                    market.frozen = bool(payload["frozen"])
        return control_envelope({"frozen": market.frozen, "spot": {k: str(v) for k, v in market.spots().items()}})

    @app.route("/_sandbox/faults", methods=["GET", "POST", "DELETE"])
    def faults() -> Response:
        if request.method == "POST":
            payload = body()
            sandbox.faults.set(str(payload.get("endpoint", "")), Fault.parse(payload), queue=bool(payload.get("queue")))
        elif request.method == "DELETE":
            sandbox.faults.clear()
        return control_envelope(sandbox.faults.as_dict())

    @app.get("/_sandbox/cards")
    def known_cards() -> Response:
        """The stored cards the sandbox knows, by token, and how each one's payment goes."""
        return control_envelope({token: {"card_number": c.number, "card_association": c.association,
                                         "outcome": c.outcome, "error_code": c.error_code}
                                 for token, c in CARDS.items()})  # fmt: skip

    @app.get("/_sandbox/counters")
    def counters() -> Response:
        with state().lock:
            return control_envelope(state().counters.as_dict())

    @app.post("/_sandbox/credentials")
    def credentials() -> Response:
        payload = body()
        if not payload.get("username") or not payload.get("password"):
            raise SandboxError(422, "Parameter Error", {"password": ["username and password are required"]})
        state().settings.username = str(payload["username"])
        state().settings.password = str(payload["password"])
        return control_envelope({"rotated": True})

    @app.route("/_sandbox/digest", methods=["GET", "POST"])
    def digest() -> Response:
        verifier = sandbox.verifier
        if request.method == "POST":
            payload = body()
            if "nonce_ttl_seconds" in payload:
                verifier.nonce_ttl = float(payload["nonce_ttl_seconds"])
            if "algorithms" in payload:
                verifier.algorithms = tuple(str(a).upper() for a in payload["algorithms"])
            if payload.get("forget_nonces"):
                verifier.forget_nonces()
            if "realm" in payload:
                verifier.realm = state().settings.realm = str(payload["realm"])
            if "next_nonce" in payload:
                verifier.next_nonce = state().settings.next_nonce = bool(payload["next_nonce"])
        return control_envelope(
            {
                "nonce_ttl_seconds": verifier.nonce_ttl,
                "algorithms": list(verifier.algorithms),
                "realm": verifier.realm,
                "next_nonce": verifier.next_nonce,
            }
        )

    @app.route("/_sandbox/rules", methods=["GET", "POST"])
    def rules_view() -> Response:
        """Turn on (or off) the rules Minted does not publish; a reset restores the defaults."""
        s = state().settings
        if request.method == "POST":
            payload = body()
            unknown = sorted(set(payload) - set(RULES))
            if unknown:
                problems = {name: [f"not one of {', '.join(RULES)}"] for name in unknown}
                raise SandboxError(422, "Parameter Error", problems)
            for name, value in payload.items():
                setattr(s, name, bool(value))
        return control_envelope({name: getattr(s, name) for name in RULES})

    @app.route("/_sandbox/settings", methods=["GET", "POST"])
    def settings_view() -> Response:
        if request.method == "POST":
            payload = body()
            for name in ("split_orders", "lookup_lists_every_order", "accept_repeated_external_id"):
                if name in payload:
                    setattr(state().settings, name, bool(payload[name]))
        s = asdict(state().settings)
        s.pop("password")
        return control_envelope(s)

    return app


def _drop_connection() -> None:
    """Close the client's socket so it sees the connection die, as on a network failure."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
