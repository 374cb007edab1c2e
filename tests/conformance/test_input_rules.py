"""Rules Minted does not publish are partner settings, off by default, each listed in docs/decisions.md."""

from __future__ import annotations

import pytest

from local.template import load_template
from minted_gateway.settings import InputRules, Settings, SettingsError
from tests.conformance.examples import ROOT

# template parameter -> the environment variable it sets (a field of InputRules or Settings)
PARAMETERS = {
    "IdentityNumberCheckDigits": "IDENTITY_NUMBER_CHECK_DIGITS",
    "PhoneE164": "PHONE_E164",
    "BuyerNameLengths": "BUYER_NAME_LENGTHS",
    "EmailFormat": "EMAIL_FORMAT",
    "QuoteCurrencyMustMatch": "QUOTE_CURRENCY_MUST_MATCH",
    "MintedBirthdateFormat": "MINTED_BIRTHDATE_FORMAT",
}


def test_every_unpublished_rule_is_a_template_parameter_off_by_default_and_documented() -> None:
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    decisions = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    rule_variables = {name.upper() for name in InputRules.model_fields}
    assert rule_variables | {"MINTED_BIRTHDATE_FORMAT"} == set(PARAMETERS.values())
    for parameter, variable in PARAMETERS.items():
        assert variables[variable] == {"Ref": parameter}
        assert f"`{parameter}`" in decisions, f"docs/decisions.md does not list {parameter}"
        if variable in rule_variables:
            assert template["Parameters"][parameter]["Default"] == "false"
    assert template["Parameters"]["MintedBirthdateFormat"]["Default"] == "YYYY-MM-DD"


def test_the_rules_and_the_birthdate_format_come_from_the_environment() -> None:
    assert InputRules.from_env({}) == InputRules()
    assert not any(InputRules().model_dump().values())
    assert InputRules.from_env({"IDENTITY_NUMBER_CHECK_DIGITS": "true"}).identity_number_check_digits
    with pytest.raises(SettingsError, match="PHONE_E164"):
        InputRules.from_env({"PHONE_E164": "sometimes"})
    base = {"STAGE": "dev", "ORDERS_TABLE": "o", "PRICES_TABLE": "p", "PARTNER_SECRET_ID": "s",
            "LEDGER_KEY_SECRET_ID": "k"}  # fmt: skip
    assert Settings.from_env(base).minted_birthdate_strftime == "%Y-%m-%d"
    assert Settings.from_env({**base, "MINTED_BIRTHDATE_FORMAT": "DD-MM-YYYY"}).minted_birthdate_strftime == "%d-%m-%Y"
