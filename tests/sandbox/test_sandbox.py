"""The sandbox's own rules, driven over HTTP with requests' stock Digest client (not ours)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from local.minted_sandbox.control import SandboxControl
from local.minted_sandbox.rules import is_valid_identity_number, normalise_phone
from minted_gateway import jsonutil
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER, VALID_TCKN
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


class Minted:
    """Raw calls to the sandbox as any Digest-speaking client would make them."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.auth = HTTPDigestAuth(SANDBOX_USER, SANDBOX_PASSWORD)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        # English, so the rules' texts can be read here; the Turkish default has its own test.
        headers = {"api-version": "3" if path.endswith("pricefix") else "2", "x-client-id": "web",
                   "Accept-Language": "en", **kw.pop("headers", {})}  # fmt: skip
        data = jsonutil.dumps(body) if body is not None else None
        if data:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, self.base_url + path, data=data, headers=headers, timeout=5, **kw)

    def data(self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any) -> Any:
        response = self.call(method, path, body, **kw)
        assert response.status_code == 200, response.text
        envelope = jsonutil.loads(response.content)
        assert envelope["success"] is True and envelope["code"] == 0
        return envelope["data"]

    def token(self, **body: Any) -> str:
        token: str = self.data("POST", "/partner/pricefix", {"type": "digital", **body})["token"]
        return token

    def buy(self, external_id: str, *, sku: str = "GAU", amount: Any = Decimal(1), **extra: Any) -> requests.Response:
        body = {"price_token": self.token(), "external_id": external_id, "items": [{"sku": sku, "amount": amount}]}
        return self.call("POST", "/partner/order/digital/buy", {**body, **extra})


@pytest.fixture
def minted(sandbox: SandboxControl) -> Minted:
    return Minted(sandbox.base_url)


def errors_of(response: requests.Response) -> dict[str, list[str]]:
    envelope = response.json()
    assert envelope["success"] is False and envelope["data"] is None and envelope["code"] == response.status_code
    assert envelope["message"]
    errors: dict[str, list[str]] = envelope.get("errors", {})
    return errors


def test_no_or_wrong_credentials_get_a_digest_challenge(sandbox: SandboxControl) -> None:
    bare = requests.get(sandbox.base_url + "/partner/order-statuses", timeout=5)
    assert bare.status_code == 401
    challenge = bare.headers["WWW-Authenticate"]
    assert 'realm="minted-sandbox"' in challenge and 'qop="auth"' in challenge
    assert "algorithm=SHA-256" in challenge and "algorithm=MD5" in challenge
    wrong = requests.get(
        sandbox.base_url + "/partner/order-statuses", auth=HTTPDigestAuth(SANDBOX_USER, "nope"), timeout=5
    )
    assert wrong.status_code == 401


def test_a_replayed_nonce_count_is_refused(sandbox: SandboxControl, minted: Minted) -> None:
    first = minted.call("GET", "/partner/order-statuses")
    assert first.status_code == 200
    replay = requests.get(
        sandbox.base_url + "/partner/order-statuses",
        headers={"Authorization": first.request.headers["Authorization"]},
        timeout=5,
    )
    assert replay.status_code == 401


def test_an_expired_nonce_is_answered_stale(sandbox: SandboxControl, minted: Minted) -> None:
    first = minted.call("GET", "/partner/order-statuses")
    sandbox.digest(nonce_ttl_seconds=10)
    sandbox.clock(advance_seconds=11)
    header = first.request.headers["Authorization"]
    # Same nonce, next count, recomputed: right password, old nonce.
    auth = HTTPDigestAuth(SANDBOX_USER, SANDBOX_PASSWORD)
    auth.init_per_thread_state()
    nonce = re.search(r'nonce="([^"]+)"', header).group(1)  # type: ignore[union-attr]
    realm_opaque = dict(re.findall(r'(realm|opaque)="([^"]+)"', header))
    auth._thread_local.chal = {"realm": realm_opaque["realm"], "nonce": nonce, "qop": "auth", "algorithm": "MD5",
                               "opaque": realm_opaque.get("opaque")}  # fmt: skip
    auth._thread_local.last_nonce, auth._thread_local.nonce_count = nonce, 5
    url = sandbox.base_url + "/partner/order-statuses"
    stale = requests.get(url, headers={"Authorization": auth.build_digest_header("GET", url)}, timeout=5)
    assert stale.status_code == 401 and "stale=true" in stale.headers["WWW-Authenticate"]


def test_price_token_lives_240_seconds_and_buys_once(sandbox: SandboxControl, minted: Minted) -> None:
    fix = minted.data("POST", "/partner/pricefix", {"type": "digital", "currency": "EUR"})
    assert fix["expire_ttl"] == 239 and fix["currency"] == "EUR"
    gold = next(p for p in fix["prices"] if p["sku"] == "GAU")
    assert gold["sell_price"] < gold["spot_price"] < gold["buy_price"]
    body = {"price_token": fix["token"], "external_id": "tok-1", "items": [{"sku": "GAU", "amount": 1}]}
    sandbox.clock(advance_seconds=239)
    assert minted.call("POST", "/partner/order/digital/buy", body).status_code == 200
    again = minted.call("POST", "/partner/order/digital/buy", {**body, "external_id": "tok-2"})
    assert errors_of(again)["price_token"] == ["The price_token has already been used."]
    late = {**body, "price_token": minted.token(), "external_id": "tok-3"}
    sandbox.clock(advance_seconds=240)
    assert errors_of(minted.call("POST", "/partner/order/digital/buy", late))["price_token"] == [
        "The price_token has expired."
    ]


def test_pricefix_needs_api_version_3_and_digital_type(minted: Minted) -> None:
    response = minted.http.post(
        minted.base_url + "/partner/pricefix", json={"type": "digital"}, headers={"x-client-id": "web"}, timeout=5
    )
    assert response.status_code == 422 and "api-version" in errors_of(response)
    bad = minted.call("POST", "/partner/pricefix", {"type": "physical", "total": -5, "currency": "JPY"})
    assert set(errors_of(bad)) == {"type", "total", "currency", "customer_external_id"}


def test_buy_validation_names_every_field_and_writes_nothing(sandbox: SandboxControl, minted: Minted) -> None:
    body = {
        "price_token": minted.token(),
        "external_id": "not an id!",
        "currency_code": "JPY",
        "items": [
            {"sku": "GAU", "amount": Decimal("0.0001")},
            {"sku": "ZZZ", "amount": 1},
            {"sku": "GPD", "amount": 1},
        ],
    }
    response = minted.call("POST", "/partner/order/digital/buy", body)
    assert response.status_code == 422
    assert set(errors_of(response)) == {"external_id", "currency_code", "items.0.amount", "items.1.sku", "items.2.sku"}
    assert sandbox.orders_created() == 0
    # The token was not spent by the refused buy.
    fixed = {**body, "external_id": "fixed-1", "currency_code": "TRY", "items": [{"sku": "GAU", "amount": 1}]}
    assert minted.call("POST", "/partner/order/digital/buy", fixed).status_code == 200


def test_product_id_is_accepted_in_place_of_sku(minted: Minted) -> None:
    body = {
        "price_token": minted.token(),
        "external_id": "by-product-id",
        "items": [{"product_id": 3000002, "amount": 2}],
    }
    order = minted.data("POST", "/partner/order/digital/buy", body)["orders"][0]
    assert order["items"][0]["sku"] == "GAG"


PERSON = {"firstname": "Ali", "lastname": "Veli", "email": "a@example.com", "phone": "+90 532 280 80 35",
          "identity_number": VALID_TCKN, "middlename": ""}  # fmt: skip


def test_total_mode_caps_the_grams(minted: Minted) -> None:
    fix = minted.data("POST", "/partner/pricefix", {"type": "digital", "total": 1000, "customer_external_id": "c-1"})
    gold = next(p for p in fix["prices"] if p["sku"] == "GAU")
    body = {
        "price_token": fix["token"],
        "external_id": "total-1",
        "items": [{"sku": "GAU", "amount": gold["buy_amount"] + 1}],
        "customer": {"external_id": "c-1", **PERSON},
    }
    assert "items.0.amount" in errors_of(minted.call("POST", "/partner/order/digital/buy", body))
    ok = {**body, "items": [{"sku": "GAU", "amount": gold["buy_amount"]}]}
    assert minted.data("POST", "/partner/order/digital/buy", ok)["total"] <= 1000


def test_new_customer_error_is_its_own_message(minted: Minted) -> None:
    response = minted.buy("nc-1", customer={"external_id": "cust-x", "firstname": "Ali"})
    assert response.json()["message"] == "Parameter Error (New Customer)"
    assert {"customer.lastname", "customer.email", "customer.phone", "customer.identity_number"} <= set(
        errors_of(response)
    )


def test_a_known_customer_needs_only_their_id(sandbox: SandboxControl, minted: Minted) -> None:
    sandbox.rules(phone_e164=True)
    assert minted.buy("known-1", customer={"external_id": "cust-k", **PERSON}).status_code == 200
    again = minted.buy("known-2", customer={"external_id": "cust-k"})
    assert again.json()["data"]["orders"][0]["customer"] is None  # as in Minted's published Buy answer
    customer = minted.data("GET", "/partner/order/known-2")["customer"]
    assert customer["phone"] == "+905322808035" and customer["fullname"] == "Ali Veli"


def test_buys_and_sells_move_balances(minted: Minted) -> None:
    person = {"external_id": "cust-b", "firstname": "Ali", "lastname": "Veli", "email": "a@example.com",
              "phone": "+905322808035", "identity_number": VALID_TCKN}  # fmt: skip
    minted.buy("bal-1", amount=Decimal("2.5"), customer=person)
    sell = {"price_token": minted.token(), "external_id": "bal-2", "customer": {"external_id": "cust-b"},
            "items": [{"sku": "GAU", "amount": Decimal("1.25")}]}  # fmt: skip
    sold = minted.data("POST", "/partner/order/digital/sell", sell)["orders"][0]
    assert sold["type"] == "Sell" and sold["items"][0]["price"] < sold["items"][0]["spot_price"]
    balances = {b["currency_code"]: b["balance"] for b in minted.data("GET", "/partner/balance/customer/cust-b")}
    assert balances == {"GAU": Decimal("1.25"), "GAG": 0, "GPT": 0}


def test_orders_list_validates_its_query(minted: Minted) -> None:
    response = minted.call("GET", "/partner/orders", params={"total": 100, "sortBy": "x", "startDate": "2024/01/01"})
    assert set(errors_of(response)) == {"total", "sortBy", "startDate"}


def test_orders_list_filters_by_status_and_date(sandbox: SandboxControl, minted: Minted) -> None:
    sandbox.clock(pending_after_seconds=0, completion_delay_seconds=5)
    minted.buy("st-1")
    sandbox.clock(advance_seconds=6)
    minted.buy("st-2")
    pending = minted.data("GET", "/partner/orders", params={"status": "2"})
    completed = minted.data("GET", "/partner/orders", params={"status": "5"})
    assert [o["external_id"] for o in pending["data"]] == ["st-2"]
    assert [o["external_id"] for o in completed["data"]] == ["st-1"]
    assert minted.data("GET", "/partner/orders", params={"endDate": "2000-01-01"})["total"] == 0


def test_faults_are_validated_counted_and_cleared(sandbox: SandboxControl, minted: Minted) -> None:
    bad = requests.post(sandbox.base_url + "/_sandbox/faults", json={"endpoint": "nope", "drop": "sideways"}, timeout=5)
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"drop"}
    sandbox.fault("*", status=503, times=1)
    assert minted.call("GET", "/partner/order-statuses").status_code == 503
    assert minted.call("GET", "/partner/order-statuses").status_code == 200
    assert minted.call("GET", "/partner/prices").status_code == 503  # each endpoint got its own fault
    sandbox.clear_faults()
    assert minted.call("GET", "/partner/prices").status_code == 200


def test_a_repeated_external_id_is_refused_unless_the_sandbox_accepts_it(
    sandbox: SandboxControl, minted: Minted
) -> None:
    """Minted does not publish that it refuses a repeated external_id: with the setting on, the sandbox
    takes a second buy under the id as one more order (the first stays the one Get Order shows)."""
    first = minted.buy("twice-1")
    assert first.status_code == 200
    assert "external_id" in errors_of(minted.buy("twice-1"))
    assert sandbox.settings(accept_repeated_external_id=True)["accept_repeated_external_id"] is True
    assert minted.buy("twice-1").status_code == 200
    assert sandbox.orders_created() == 2
    shown = minted.data("GET", "/partner/order/twice-1")
    assert shown["order_code"] == first.json()["data"]["order_code"][0]
    sandbox.reset()
    assert sandbox.settings()["accept_repeated_external_id"] is False


def test_a_slow_request_is_finished_once_it_has_committed(sandbox: SandboxControl, minted: Minted) -> None:
    sandbox.fault("buy", latency_ms=1000, times=1)
    assert sandbox.idle()
    buying = threading.Thread(target=minted.buy, args=("slow-1",))
    buying.start()
    try:
        wait_until(lambda: sandbox.requests_to("buy") == 1)
        wait_until(sandbox.idle)
        assert sandbox.orders_created() == 1
    finally:
        buying.join()


def test_rate_limit_fault_sends_retry_after(sandbox: SandboxControl, minted: Minted) -> None:
    sandbox.fault("prices", status=429, retry_after=3)
    response = minted.call("GET", "/partner/prices")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"


def test_reset_forgets_everything(sandbox: SandboxControl, minted: Minted) -> None:
    minted.buy("reset-1")
    sandbox.fault("prices", status=500)
    sandbox.reset()
    assert sandbox.counters() == {"requests": {}, "unauthorized": {}, "orders_created": {}, "faults_applied": {},
                                  "finished": {}, "in_flight": {}, "most_at_once": {}}  # fmt: skip
    assert Minted(sandbox.base_url).call("GET", "/partner/order/reset-1").status_code == 404


@pytest.mark.parametrize(
    ("number", "valid"),
    [(VALID_TCKN, True), ("10000000145", False), ("01234567890", False), ("1000000014", False), ("1000000014a", False)],
)
def test_identity_number_check_digits(number: str, valid: bool) -> None:
    assert is_valid_identity_number(number) is valid


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+90 532 280 80 35", "+905322808035"),
        ("+90 (532) 280-80-35", "+905322808035"),
        ("05322808035", None),
        ("+0123", None),
    ],
)
def test_phone_normalisation(raw: str, e164: str | None) -> None:
    assert normalise_phone(raw) == e164


def test_the_documented_command_starts_it_on_a_chosen_port() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.minted_sandbox", "--port", "0"],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'layers' / 'minted'}:{ROOT}", "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", banner).group(0)  # type: ignore[union-attr]
        assert requests.get(url + "/_sandbox/health", timeout=5).json()["data"] == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=10)


# ---------------------------------------------------------------- what the page says, and nothing more
def test_messages_are_turkish_by_default_and_english_on_request(minted: Minted) -> None:
    body = {"price_token": "X" * 32, "external_id": "lang-1", "items": [{"sku": "GAU", "amount": 1}]}
    turkish = minted.call("POST", "/partner/order/digital/buy", body, headers={"Accept-Language": "tr"})
    default = minted.call("POST", "/partner/order/digital/buy", body, headers={"Accept-Language": ""})
    english = minted.call("POST", "/partner/order/digital/buy", body)
    assert turkish.json() == default.json()
    assert turkish.json()["message"] == "Parametre Hatası" and english.json()["message"] == "Parameter Error"
    assert errors_of(turkish) == {"price_token": ["price_token geçersiz."]}
    assert errors_of(english) == {"price_token": ["The price_token is invalid."]}


def test_x_client_id_is_required(sandbox: SandboxControl, minted: Minted) -> None:
    response = minted.call("GET", "/partner/order-statuses", headers={"x-client-id": ""})
    assert response.status_code == 422 and set(errors_of(response)) == {"x-client-id"}


def test_a_total_mode_token_buys_only_for_the_customer_it_was_fixed_for(minted: Minted) -> None:
    fix = minted.data("POST", "/partner/pricefix", {"type": "digital", "total": 1000, "customer_external_id": "c-1"})
    items = [{"sku": "GAU", "amount": Decimal("0.1")}]
    body = {"price_token": fix["token"], "external_id": "total-other", "items": items}
    for customer in ({"external_id": "c-2", **PERSON}, None):
        refused = minted.call("POST", "/partner/order/digital/buy", {**body, "customer": customer})
        assert errors_of(refused) == {"price_token": ["The price_token was fixed for another customer."]}
    mine = minted.call("POST", "/partner/order/digital/buy", {**body, "customer": {"external_id": "c-1", **PERSON}})
    assert mine.status_code == 200


def test_the_published_customer_is_accepted_unless_the_check_digit_rule_is_on(
    sandbox: SandboxControl, minted: Minted
) -> None:
    published = {"external_id": "MTD0018232", "firstname": "Al", "lastname": "Gülbilge", "email": "m@x",
                 "phone": "0532 280 80 35", "identity_number": "12345677938"}  # fmt: skip
    assert sandbox.rules() == dict.fromkeys(
        ("identity_check_digits", "phone_e164", "buy_name_lengths", "email_format", "currency_must_match_token",
         "sell_customer_from_price_fix"), False
    )  # fmt: skip
    sandbox.rules(identity_check_digits=True, phone_e164=True, buy_name_lengths=True, email_format=True)
    refused = minted.buy("rules-1", customer=published)
    assert refused.json()["message"] == "Parameter Error (New Customer)"
    assert set(errors_of(refused)) == {f"customer.{f}" for f in ("identity_number", "phone", "firstname", "email")}
    sandbox.reset()  # the rules are off again
    assert minted.buy("rules-1", customer=published).status_code == 200


def test_an_order_id_of_the_published_length_is_accepted(minted: Minted) -> None:
    long_id = "1699255128879-05ee3052-47fe-4747-adff-2cde45d8d9ec"
    assert minted.buy(long_id).status_code == 200
    assert minted.data("GET", f"/partner/order/{long_id}")["external_id"] == long_id
    assert set(errors_of(minted.buy("x" * 65))) == {"external_id"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/partner/order/digital/buy", {"external_id": "not an id!", "currency_code": "JPY",
                                                 "items": [{"sku": "ZZZ", "amount": 0}, {"sku": "GPD", "amount": 1}, 5],
                                                 "customer": {"external_id": "c-9", "gender": "X", "birthdate": "x"}}),
        ("POST", "/partner/pricefix", {"type": "physical", "total": -1, "currency": "JPY"}),
        ("POST", "/partner/order", {"guid": "a", "order_code": "b"}),
        ("GET", "/partner/order/no-such-order", None),
        ("POST", "/partner/customer", {"external_id": "x", "account_type": "company", "firstname": "Al"}),
        ("GET", "/partner/orders?total=100&page=0&sortBy=x&sortType=y&status=a&startDate=2024/01/01", None),
    ],
)  # fmt: skip
def test_every_refusal_names_the_same_fields_in_both_languages_and_its_texts_are_turkish_by_default(
    sandbox: SandboxControl, minted: Minted, method: str, path: str, body: dict[str, Any] | None
) -> None:
    if path == "/partner/customer":
        sandbox.rules(identity_check_digits=True)
    english = minted.call(method, path, body)
    turkish = minted.call(method, path, body, headers={"Accept-Language": "tr-TR,tr;q=0.9"})
    assert english.status_code == turkish.status_code >= 400
    en, tr = english.json(), turkish.json()
    assert set(en.get("errors", {})) == set(tr.get("errors", {}))
    untranslated = [text for texts in en.get("errors", {}).values() for text in texts if text in str(tr)]
    assert en["message"] != tr["message"] and untranslated == []
