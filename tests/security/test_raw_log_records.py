"""Across the whole run: no record our loggers made holds the test customer's personal data, looked for
as the code wrote it (before the redaction filter, which knows no name or birthdate by its shape)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import RUN
from tests.stack import customer

_PERSON = customer()
PERSONAL = [
    str(_PERSON[field]) for field in ("identity_number", "firstname", "lastname", "email", "phone", "birthdate")
]
PERSONAL += ["31-12-1990", "31.12.1990", "31/12/1990", "905322808035"]  # other ways to write the date and phone
OURS = ("minted-gateway", "minted_gateway")


@pytest.mark.whole_run
def test_no_raw_record_of_the_whole_run_holds_the_test_customers_personal_data() -> None:
    ours = [record for record in RUN.raw_records if json.loads(record).get("name", "").startswith(OURS)]
    assert ours, "our loggers made no record: the scan would prove nothing"
    found = [(value, record[:300]) for record in ours for value in PERSONAL if value in record]
    assert not found, found
