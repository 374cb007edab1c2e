"""The caller as the functions read it from what API Gateway's authorizer passed on (payload v2)."""

from __future__ import annotations

from typing import Any

import pytest

from minted_gateway.caller import PARTNER, Caller, caller_of
from minted_gateway.errors import CustomerMismatch, NotFound, PartnerForbidden
from tests.stack import load_event


def with_authorizer(authorizer: dict[str, Any]) -> dict[str, Any]:
    event = load_event("buy/post_orders.json")
    event["requestContext"]["authorizer"] = authorizer
    return event


def test_a_jwt_caller_is_its_subject_and_client_and_a_customer_claim_binds_it() -> None:
    claims = {"sub": "user-1", "client_id": "app", "minted_customer": "cust-a", "scope": "minted/orders.write"}
    caller = caller_of(with_authorizer({"jwt": {"claims": claims, "scopes": ["minted/orders.write"]}}))
    assert caller == Caller(sub="user-1", client_id="app", customer="cust-a") and caller.bound
    assert caller_of(with_authorizer({"jwt": {"claims": {"sub": "s", "azp": "web"}}})).client_id == "web"


def test_a_jwt_naming_no_caller_or_binding_to_no_customer_is_refused() -> None:
    for claims in ({}, {"scope": "minted/orders.read"}, {"sub": ""}, {"minted_customer": "cust-a"},
                   {"sub": "u", "minted_customer": ""}, {"sub": "u", "minted_customer": None},
                   {"client_id": "app", "minted_customer": "\t"}):  # fmt: skip
        with pytest.raises(PartnerForbidden):
            caller_of(with_authorizer({"jwt": {"claims": claims}}))
    assert caller_of(with_authorizer({"jwt": {"claims": {"azp": "web"}}})) == Caller(client_id="web")
    assert caller_of(with_authorizer({"jwt": {"claims": {"client_id": "app", "minted_customer": "0"}}})).bound


def test_an_iam_caller_is_its_principal_arn_and_acts_for_any_customer() -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/partner-backend/session"
    caller = caller_of(with_authorizer({"iam": {"userArn": arn, "accountId": "123456789012"}}))
    assert caller == Caller(principal=arn) and not caller.bound
    caller.act_for("anyone")
    caller.act_for(None)


def test_no_authorizer_is_the_partner_and_records_no_caller() -> None:
    event = load_event("buy/post_orders.json")
    del event["requestContext"]["authorizer"]
    assert caller_of(event) == PARTNER and PARTNER.recorded() is None


def test_a_bound_caller_acts_reads_and_sees_for_its_customer_only() -> None:
    caller = Caller(sub="u", customer="cust-a")
    caller.act_for("cust-a")
    caller.read_customer("cust-a")
    caller.see_order("cust-a")
    for refused in ("cust-b", None):
        with pytest.raises(CustomerMismatch):
            caller.act_for(refused)
    with pytest.raises(CustomerMismatch):
        caller.read_customer("cust-b")
    for hidden in ("cust-b", None):
        with pytest.raises(NotFound):
            caller.see_order(hidden)


def test_headers_and_bodies_name_no_caller() -> None:
    event = load_event("buy/post_orders.json")
    event["headers"]["x-minted-customer"] = "cust-b"
    event["body"] = '{"minted_customer": "cust-b"}'
    assert caller_of(event).customer is None
