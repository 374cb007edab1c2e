"""Minted's input rules as the sandbox enforces them (contract sections 4, 7 and 9).

Written apart from the gateway's own validation on purpose: the sandbox stands in for Minted, so
a mistake in our validators must not be mirrored here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# Order ids and a buy's customer id: no rule published; a published order id has 50 characters
# (contract 9.5), so 1-64 letters, digits, "-", "_" and ".", not dots alone.
EXTERNAL_ID = re.compile(r"^(?!\.\.?$)[A-Za-z0-9._-]{1,64}$")
EXTERNAL_ID_TEXT = "must be 1 to 64 letters, digits, -, _ or ."
# The Create Customer page does publish 3-40 characters for a customer's external_id (contract 7).
CUSTOMER_PAGE_ID = re.compile(r"^[A-Za-z0-9_-]{3,40}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCIES = ("GBP", "TRY", "USD", "EUR")


class SandboxError(Exception):
    """An error answer in Minted's envelope (contract 2.3)."""

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}


class FieldErrors:
    """Collects every offending field, then fails once, as Minted's 422 does."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, text: str) -> None:
        self.errors.setdefault(field, []).append(text)

    def check(self, message: str = "Parameter Error") -> None:
        if self.errors:
            raise SandboxError(422, message, self.errors)


def is_valid_identity_number(value: Any) -> bool:
    """T.C. Kimlik No.: 11 digits, no leading zero, two check digits."""
    if not isinstance(value, str) or not re.fullmatch(r"[1-9]\d{10}", value):
        return False
    digits = [int(ch) for ch in value]
    odd_sum = digits[0] + digits[2] + digits[4] + digits[6] + digits[8]
    even_sum = digits[1] + digits[3] + digits[5] + digits[7]
    tenth = (odd_sum * 7 - even_sum) % 10
    return digits[9] == tenth and digits[10] == sum(digits[:10]) % 10


def normalise_phone(value: Any) -> str | None:
    """E.164 (``+905322808035``) from the spellings Minted's samples use, or None."""
    if not isinstance(value, str):
        return None
    compact = re.sub(r"[\s().-]", "", value)
    return compact if re.fullmatch(r"\+[1-9]\d{7,14}", compact) else None


def parse_birthdate(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            born = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        return born if date(1900, 1, 1) <= born <= date.today() else None
    return None


def _decimal(value: Any) -> Decimal | None:
    """A finite number from JSON (int, Decimal or numeric string), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def grams(value: Any) -> Decimal | None:
    """A positive amount with at most 3 decimal places, or None."""
    amount = _decimal(value)
    if amount is None or amount <= 0 or amount.as_tuple().exponent < -3:  # type: ignore[operator]
        return None
    return amount


def money(value: Any) -> Decimal | None:
    amount = _decimal(value)
    return amount if amount is not None and amount > 0 else None


def name_ok(value: Any) -> bool:
    return isinstance(value, str) and 3 <= len(value.strip()) <= 40


def validate_person(
    body: dict[str, Any],
    errors: FieldErrors,
    prefix: str,
    *,
    required: bool,
    name_lengths: bool,
    phone_e164: bool,
    email_format: bool,
) -> dict[str, Any]:
    """Check a customer's personal fields; returns the profile to keep.

    Minted's Buy page publishes only which fields are required; the Create Customer page adds 3-40
    characters for names. Every other form (E.164, an email's shape, names on a buy) is a sandbox
    setting (``SandboxSettings``), so the sandbox never refuses what Minted may accept.
    """
    profile: dict[str, Any] = {}
    for field in ("firstname", "lastname"):
        value = body.get(field)
        if value in (None, ""):
            if required:
                errors.add(f"{prefix}{field}", f"The {field} field is required.")
        elif not isinstance(value, str) or (name_lengths and not name_ok(value)):
            errors.add(f"{prefix}{field}", f"The {field} must be between 3 and 40 characters.")
        else:
            profile[field] = value.strip()
    middle = body.get("middlename")
    if middle not in (None, ""):  # contract 9.6: empty means absent
        if isinstance(middle, str) and (name_ok(middle) or not name_lengths):
            profile["middlename"] = middle.strip()
        else:
            errors.add(f"{prefix}middlename", "The middlename must be between 3 and 40 characters.")
    email = body.get("email")
    if email in (None, ""):
        if required:
            errors.add(f"{prefix}email", "The email field is required.")
    elif not isinstance(email, str) or (email_format and not EMAIL.match(email)):
        errors.add(f"{prefix}email", "The email must be a valid email address.")
    else:
        profile["email"] = email
    phone = body.get("phone")
    if phone in (None, ""):
        if required:
            errors.add(f"{prefix}phone", "The phone field is required.")
    elif not isinstance(phone, str):
        errors.add(f"{prefix}phone", "The phone field is required.")
    elif not phone_e164:
        profile["phone"] = phone
    elif (normalised := normalise_phone(phone)) is None:
        errors.add(f"{prefix}phone", "The phone must be a number in E.164 format.")
    else:
        profile["phone"] = normalised
    if body.get("gender") not in (None, "", "M", "F"):
        errors.add(f"{prefix}gender", "The gender must be M or F.")
    elif body.get("gender"):
        profile["gender"] = body["gender"]
    if body.get("birthdate") not in (None, ""):
        born = parse_birthdate(body["birthdate"])
        if born is None:
            errors.add(f"{prefix}birthdate", "The birthdate is not a valid date.")
        else:
            profile["birthdate"] = born.isoformat()
    return profile


def identity_number_ok(value: Any, *, check_digits: bool) -> bool:
    """Any non-empty text (contract 9.16); the T.C. Kimlik No. check digits only when asked."""
    if not isinstance(value, str) or not value.strip():
        return False
    return is_valid_identity_number(value) if check_digits else True
