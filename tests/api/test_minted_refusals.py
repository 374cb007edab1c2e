"""Minted's refusals as callers see them: our stable code and English message, whatever language
Minted writes in (MintedLanguage, tr by default), with Minted's own text beside them as upstream_message."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from local import api_docs
from minted_gateway import errors, runtime
from tests.api.test_sell import hold, sell, sell_quote
from tests.stack import Api, customer

MINTED_WORDS = {
    "tr": ("Parametre Hatası", "Bakiye bu miktar için yeterli değil."),
    "en": ("Parameter Error", "The balance is not enough for this amount."),
}


@pytest.fixture(params=["tr", "en", None])
def language(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """MINTED_LANGUAGE as the template sets it (None: left out, Minted's own default, tr)."""
    if request.param:
        monkeypatch.setenv("MINTED_LANGUAGE", request.param)
    else:
        monkeypatch.delenv("MINTED_LANGUAGE", raising=False)
    runtime.reset()
    yield request.param or "tr"
    monkeypatch.undo()
    runtime.reset()


def test_a_minted_refusal_is_our_code_and_english_with_minteds_words_alongside(
    api: Api, order_id: str, language: str
) -> None:
    hold(api, "2")
    response = api.post("/orders", sell(order_id, sell_quote(api, "5")["price_token"], amount="5"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "order_rejected"
    assert error["message"] == "Minted refused the order; see details."
    said, field_said = MINTED_WORDS[language]
    assert error["upstream_message"] == said
    assert [detail["upstream_message"] for detail in error["details"]] == [field_said]
    assert all(detail["message"].isascii() for detail in error["details"])
    # The stored refusal replays the same words.
    again = api.post("/orders", sell(order_id, sell_quote(api, "5")["price_token"], amount="5"))
    assert again.json()["error"]["upstream_message"] == said


def test_a_customer_minted_refuses_is_our_code_and_english_with_minteds_words_alongside(
    api: Api, language: str
) -> None:
    api.minted.rules(email_format=True)  # Minted refuses what our settings (off) let through
    person = {**customer("cust-refused-1"), "email": "not-an-address"}
    person.pop("birthdate")
    response = api.post("/customers", person)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "customer_rejected" and error["message"].isascii()
    assert error["upstream_message"] == MINTED_WORDS[language][0]
    assert [detail["field"] for detail in error["details"]] == ["email"]
    assert error["details"][0]["message"].isascii() and error["details"][0]["upstream_message"]


def test_docs_api_md_lists_every_code_a_minted_refusal_can_have() -> None:
    text = api_docs.API_DOC.read_text(encoding="utf-8")
    section = text[text.index("## Minted's refusals") :]
    section = section[: section.index("\n## ", 1)]
    listed = set(re.findall(r"^\| [^|]+ \| `(\d{3}) (\w+)`", section, flags=re.MULTILINE))
    assert {code for _, code in listed} == set(errors.MINTED_REFUSAL_CODES)
