"""Input rules for what partners send us (contract sections 4 and 9), as pydantic types.

Every message names the rule, never the value: values here are personal data.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_-]{3,40}$"
ExternalId = Annotated[str, StringConstraints(pattern=EXTERNAL_ID_PATTERN)]
SKUS_FOR_SALE = ("GAU", "GAG", "GPT")


def _identity_number(value: str) -> str:
    """T.C. Kimlik No.: 11 digits, the first not 0; digit 10 and 11 are check digits."""
    if not re.fullmatch(r"[1-9][0-9]{10}", value):
        raise ValueError("must be 11 digits and not start with 0")
    d = [int(c) for c in value]
    if (sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10 != d[9] or sum(d[:10]) % 10 != d[10]:
        raise ValueError("check digits do not match: not a valid T.C. Kimlik No.")
    return value


def _phone(value: str) -> str:
    compact = re.sub(r"[\s().-]", "", value)
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", compact):
        raise ValueError("must be an international number in E.164 form, such as +905322808035")
    return compact


def _email(value: str) -> str:
    if len(value) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", value):
        raise ValueError("must be an email address")
    return value


def _birthdate(value: date) -> date:
    if not date(1900, 1, 1) <= value <= date.today():
        raise ValueError("must be a real date of birth, not in the future")
    return value


def _empty_as_none(value: object) -> object:
    return None if value == "" else value


IdentityNumber = Annotated[str, AfterValidator(_identity_number)]
Phone = Annotated[str, AfterValidator(_phone)]
Email = Annotated[str, AfterValidator(_email)]
Birthdate = Annotated[date, AfterValidator(_birthdate)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=40)]
OptionalName = Annotated[PersonName | None, BeforeValidator(_empty_as_none)]
Grams = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3)]
Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
