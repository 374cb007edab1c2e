"""Customers and balances over real HTTP: the local API, the handlers in-process, the sandbox as Minted."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from minted_gateway import jsonutil
from tests.conftest import VALID_TCKN
from tests.stack import Api, order


def new_id() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


def person(external_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "external_id": external_id,
        "firstname": "Ayşe",
        "lastname": "Yılmaz",
        "email": "ayse.yilmaz@example.com",
        "phone": "+905322808035",
        "gender": "F",
        "identity_number": VALID_TCKN,
        "birthdate": "1990-12-31",
    }
    body.update(overrides)
    return body


def company(external_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"external_id": external_id, "account_type": "company", "firstname": "Altın", "lastname": "Ticaret",
            "email": "info@example.com", "identity_number": "1234567890", "tax_office": "Kadıköy"}  # fmt: skip
    body.update(overrides)
    return body


def json_of(response: Any) -> Any:
    return jsonutil.loads(response.text)


def test_a_customer_is_created_at_minted_and_read_back(api: Api) -> None:
    external_id = new_id()
    created = api.post("/customers", person(external_id))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"/customers/{external_id}"
    body = json_of(created)
    assert (body["external_id"], body["firstname"], body["identity_number"]) == (external_id, "Ayşe", VALID_TCKN)
    assert body["birthdate"] == "1990-12-31" and body["account_type"] == "individual"
    assert {w["sku"] for w in body["wallets"]} >= {"GAU", "GAG", "GPT"}
    read = api.get(f"/customers/{external_id}")
    assert read.status_code == 200 and json_of(read) == body
    assert api.minted.served("create_customer") == 1


def test_creating_the_same_customer_twice_creates_one_and_answers_the_same(api: Api) -> None:
    external_id = new_id()
    first = api.post("/customers", person(external_id))
    again = api.post("/customers", person(external_id, phone="+90 532 280 80 35"))  # Minted's spacing is no difference
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert json_of(again) == json_of(first)


def test_a_storm_of_identical_creates_leaves_one_customer(api: Api) -> None:
    external_id = new_id()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: api.post("/customers", person(external_id)).status_code, range(16)))
    assert statuses.count(201) == 1 and statuses.count(200) == 15


def test_another_customer_under_a_taken_id_is_a_conflict_that_changes_nothing(api: Api) -> None:
    external_id = new_id()
    assert api.post("/customers", person(external_id)).status_code == 201
    response = api.post("/customers", person(external_id, lastname="Başkası", email="other@example.com"))
    assert response.status_code == 409
    error = json_of(response)["error"]
    assert error["code"] == "customer_conflict"
    assert {d["field"] for d in error["details"]} == {"lastname", "email"}
    assert "Başkası" not in response.text and "other@example.com" not in response.text
    assert json_of(api.get(f"/customers/{external_id}"))["lastname"] == "Yılmaz"


def test_a_lost_answer_to_a_create_is_settled_by_looking_the_customer_up(api: Api) -> None:
    external_id = new_id()
    api.minted.fault("create_customer", drop="after_commit", times=1)
    response = api.post("/customers", person(external_id))
    assert response.status_code == 201, response.text
    assert json_of(response)["external_id"] == external_id
    assert api.minted.served("create_customer") == 1


def test_a_create_minted_could_not_take_is_503_and_a_retry_creates_it(api: Api) -> None:
    external_id = new_id()
    api.minted.fault("create_customer", drop="before_commit", times=1)
    first = api.post("/customers", person(external_id))
    assert first.status_code == 503 and json_of(first)["error"]["code"] == "upstream_unavailable"
    assert api.post("/customers", person(external_id)).status_code == 201


def test_a_company_needs_a_tax_office_and_a_ten_digit_tax_number(api: Api) -> None:
    created = api.post("/customers", company(new_id()))
    assert created.status_code == 201, created.text
    assert (json_of(created)["account_type"], json_of(created)["tax_office"]) == ("company", "Kadıköy")
    for bad, field in ((company(new_id(), identity_number="12345"), "identity_number"),
                       (company(new_id(), identity_number=VALID_TCKN), "identity_number"),
                       ({k: v for k, v in company(new_id()).items() if k != "tax_office"}, "tax_office")):  # fmt: skip
        refused = api.post("/customers", bad)
        assert refused.status_code == 422
        assert field in {d["field"] for d in json_of(refused)["error"]["details"]}
    assert api.minted.served("create_customer") == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [({"external_id": "ab"}, "external_id"), ({"external_id": "a" * 41}, "external_id"),
     ({"external_id": "has.dot"}, "external_id"), ({"firstname": "Al"}, "firstname"),
     ({"lastname": "x" * 41}, "lastname"), ({"middlename": "Zo"}, "middlename"), ({"gender": "X"}, "gender"),
     ({"unknown": 1}, "unknown")],
)  # fmt: skip
def test_what_create_customer_publishes_is_enforced_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = api.post("/customers", {**person(new_id()), **change})
    assert response.status_code == 422
    assert field in {d["field"] for d in json_of(response)["error"]["details"]}
    assert api.minted.requests_to("create_customer") == 0


def test_names_need_not_be_turkish_numbers_or_e164_unless_the_partner_asks(api: Api) -> None:
    response = api.post("/customers", person(new_id(), identity_number="GB-PASSPORT-1", phone="020 7946 0000"))
    assert response.status_code == 201, response.text


def test_a_customer_is_changed_at_minted(api: Api) -> None:
    external_id = new_id()
    assert api.post("/customers", person(external_id)).status_code == 201
    response = api.http.patch(f"{api.url}/customers/{external_id}", json={"lastname": "Demir"}, timeout=30)
    assert response.status_code == 200, response.text
    assert (json_of(response)["lastname"], json_of(response)["firstname"]) == ("Demir", "Ayşe")
    assert json_of(api.get(f"/customers/{external_id}"))["lastname"] == "Demir"


@pytest.mark.parametrize("status", [422, 400, 500])
def test_minted_quoting_the_customer_in_a_refusal_is_answered_without_their_values(api: Api, status: int) -> None:
    """Found by a hostile-input review: a create or a change that Minted refused came back with Minted's text
    as it was, the customer's email, phone and identity number in it (a buy's refusal never carried them)."""
    external_id = new_id()
    api.minted.fault("create_customer", status=status, echo=True, times=1)
    refused = api.post("/customers", person(external_id))
    assert refused.status_code >= 400 and "upstream_message" in refused.text, refused.text
    assert api.post("/customers", person(external_id)).status_code == 201
    api.minted.fault("update_customer", status=status, echo=True, times=1)
    changed = api.http.patch(f"{api.url}/customers/{external_id}", timeout=30,
                             json={"email": "a.new.address@example.org", "phone": "+90 533 111 22 33"})  # fmt: skip
    assert changed.status_code >= 400 and "upstream_message" in changed.text, changed.text
    assert "[personal data]" in refused.text and ("[personal data]" in changed.text or status == 500)
    for answer in (refused.text, changed.text):  # a 500's Minted error names no field: nothing quoted but the id
        for value in ("ayse.yilmaz@example.com", VALID_TCKN, "a.new.address@example.org", "533 111 22 33",
                      "5331112233"):  # fmt: skip
            assert value not in answer, answer


def test_minted_quoting_a_companys_tax_office_is_answered_without_it(api: Api) -> None:
    """Found by a data-protection review: the masking left a company's tax office out."""
    api.minted.fault("create_customer", status=422, echo=True, times=1)
    refused = api.post("/customers", company(new_id(), tax_office="Kanarya Vergi Dairesi"))
    assert refused.status_code == 422 and "tax_office" in refused.text, refused.text
    assert "Kanarya" not in refused.text and "[personal data] is not a tax office" in refused.text


@pytest.mark.parametrize("changes", [{}, {"lastname": None}, {"middlename": ""}, {"email": None, "phone": None}])
def test_a_change_that_changes_nothing_is_refused_before_minted(api: Api, changes: dict[str, Any]) -> None:
    """Found by a security review: an empty change was sent, and Minted's answer (the whole customer, identity
    number and balances) came back, to a token that may change customers but not read them."""
    external_id = new_id()
    assert api.post("/customers", person(external_id)).status_code == 201
    before = api.minted.served("update_customer")
    writer = api.as_caller(scopes=["minted/customers.write"])
    response = writer.http.patch(f"{api.url}/customers/{external_id}", json=changes, timeout=30)
    assert response.status_code == 422, response.text
    assert json_of(response)["error"]["details"][0]["field"] == "body" and VALID_TCKN not in response.text
    assert api.minted.served("update_customer") == before
    cleared = api.http.patch(f"{api.url}/customers/{external_id}", json={"middlename": None}, timeout=30)
    assert cleared.status_code == 200, cleared.text  # null clears a middlename: a change


def test_an_unknown_customer_is_404_everywhere(api: Api) -> None:
    missing = new_id()
    assert api.get(f"/customers/{missing}").status_code == 404
    assert api.get(f"/customers/{missing}/balances").status_code == 404
    patched = api.http.patch(f"{api.url}/customers/{missing}", json={"lastname": "Demir"}, timeout=30)
    assert patched.status_code == 404 and json_of(patched)["error"]["code"] == "not_found"


def test_balances_show_what_the_customer_bought_as_exact_grams_with_the_sku(api: Api) -> None:
    external_id = new_id()
    assert api.post("/customers", person(external_id)).status_code == 201
    buy = order(f"bal-{uuid.uuid4().hex[:10]}", api.quote(amount="2"), amount="2", customer=person(external_id))
    assert api.post("/orders", buy).status_code == 201
    response = api.get(f"/customers/{external_id}/balances")
    assert response.status_code == 200, response.text
    body = json_of(response)
    assert body["customer_external_id"] == external_id and body["as_of"].endswith("+00:00")
    gold = next(w for w in body["balances"] if w["sku"] == "GAU")
    assert (gold["balance"], gold["blocked"], gold["available"]) == (Decimal("2"), Decimal("0"), Decimal("2"))
    assert not isinstance(gold["balance"], str | float)  # an exact JSON number, never a float or a string
    assert all(w["balance"] == 0 for w in body["balances"] if w["sku"] != "GAU")
    assert "Ayşe" not in response.text  # Minted's balance lines carry the name; ours do not


def test_no_customer_data_reaches_the_ledger(api: Api) -> None:
    external_id = new_id()
    assert api.post("/customers", person(external_id, email="ledger.scan@example.org")).status_code == 201
    scan = api.dynamodb.scan(TableName=api.stack.env["ORDERS_TABLE"])
    assert external_id not in str(scan) and "ledger.scan@example.org" not in str(scan)


def test_the_customer_events_are_served(api: Api) -> None:
    """events/customers, as `sam local invoke CustomersFunction -e` would send them, in order."""
    from local.gateway import invoke
    from local.template import functions_of
    from tests.stack import load_event

    function = functions_of()["CustomersFunction"]
    statuses = [
        invoke(function, load_event(f"customers/{name}.json"))["statusCode"]
        for name in ("post_customers", "patch_customer", "get_customer", "get_balances", "post_customers")
    ]
    assert statuses == [201, 200, 200, 200, 409]  # the last: the event's lastname is no longer Minted's


def test_the_document_names_the_customer_operations_with_examples(api: Api) -> None:
    document = api.get("/openapi.json").json()
    operations = {op["operationId"]: op for path in document["paths"].values() for op in path.values()}
    assert {"createCustomer", "updateCustomer", "getCustomer", "getCustomerBalances"} <= set(operations)
    body = operations["createCustomer"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    examples = document["components"]["schemas"][body]["examples"]
    assert {example.get("account_type", "individual") for example in examples} == {"individual", "company"}
    for example in examples:  # each example is a request the API takes
        assert api.post("/customers", example).status_code == 201


def test_a_customer_body_that_is_not_json_is_refused_before_minted(api: Api) -> None:
    response = api.http.patch(f"{api.url}/customers/cust-0001", data="a=1",
                              headers={"Content-Type": "text/plain"}, timeout=30)  # fmt: skip
    assert response.status_code == 415
    assert api.minted.counters()["requests"] == {}


@pytest.mark.parametrize(
    "changes",
    [{}, {"lastname": None}, {"middlename": ""}, {"middlename": "", "email": None}, {"middlename": None},
     {"lastname": "Demir"}, {"lastname": None, "gender": "F"}, {"birthdate": "1990-12-31"}],
)  # fmt: skip
def test_the_document_refuses_exactly_the_changes_that_change_nothing(changes: dict[str, Any]) -> None:
    """The document's ``not`` names every field and agrees with the model, so a client generated from it
    (and schemathesis) sends no change the gateway refuses as empty."""
    import jsonschema
    from pydantic import ValidationError

    from minted_gateway.customers.requests import _NOTHING_CHANGED, CustomerChanges

    assert set(_NOTHING_CHANGED["properties"]) == set(CustomerChanges.model_fields)
    try:
        CustomerChanges.model_validate(changes)
        refused = False
    except ValidationError:
        refused = True
    assert refused == jsonschema.Draft202012Validator(_NOTHING_CHANGED).is_valid(changes)


@pytest.mark.parametrize(
    ("field", "value"),
    [("firstname", "\u200b\u200b\u200b"), ("lastname", "\u2066\u2069\u200d"), ("email", "\u200b"),
     ("phone", "\ufeff"), ("identity_number", "\u00ad"), ("lastname", "Yıl\u202emaz"), ("firstname", "Ayşe\u200d"),
     # ... and what a code review found the first rule missed: fillers, blank braille, a letter mark, C1 controls
     ("firstname", "\u3164\u3164\u3164"), ("lastname", "\u2800\u2800\u2800"), ("lastname", "\u061cAli"),
     ("firstname", "Ay\x9bşe")],
)  # fmt: skip
def test_personal_text_of_invisible_characters_or_with_a_direction_override_is_refused(
    api: Api, field: str, value: str
) -> None:
    """Found by a hostile-input review: names, an email, a phone and an identity number made only of zero-width
    characters registered a customer at Minted (and bought for them), and U+202E (which shows a name reversed)
    was taken anywhere."""
    before = api.minted.served("create_customer"), api.minted.served("buy")
    made = api.post("/customers", person(new_id(), **{field: value}))
    bought = api.post("/orders", order(new_id(), api.quote(), customer=person(new_id(), **{field: value})))
    for refused in (made, bought):
        assert refused.status_code == 422, refused.text
        assert [d["field"] for d in json_of(refused)["error"]["details"]] in ([field], [f"customer.{field}"])
    assert (api.minted.served("create_customer"), api.minted.served("buy")) == before


def test_joiners_and_marks_inside_a_name_are_kept() -> None:
    """Persian and Indic names join letters with ZWNJ/ZWJ, and Arabic or Hebrew text carries direction marks."""
    from minted_gateway.customers.requests import CustomerChanges

    for name in ("Mohammad\u200cReza", "محمد\u200cرضا", "Ali \u200fAhmed", "Zoë"):
        assert CustomerChanges.model_validate({"lastname": name}).lastname == name


@pytest.mark.parametrize("held", [None, "", "individual", "INDIVIDUAL", "person"])
def test_a_person_created_again_is_the_same_customer_whatever_minted_answers_for_their_account_type(
    held: str | None,
) -> None:
    """Minted publishes account_type "company" only: a person's create sends none, and whatever Minted
    answers for a person's (nothing, "", a word of its own) is not another customer; "company" is."""
    from minted_gateway.customers.manage import differing_fields
    from minted_gateway.customers.requests import NewCustomer
    from minted_gateway.minted.models.customers import Customer

    asked = person("cust-acct")
    profile = NewCustomer.model_validate(asked).to_minted()
    answered = {**{k: v for k, v in asked.items() if k != "account_type"}, "account_type": held}
    assert differing_fields(profile, Customer.model_validate(answered)) == []
    assert differing_fields(profile, Customer.model_validate({**answered, "account_type": "company"})) == [
        "account_type"
    ]
