"""Minted's words without a customer's own values, before they are kept (a ledger row's refusal, a
workflow's error): a validator that quotes its input would otherwise put the customer there.

A value is found however Minted may have written it back: in any letter case, with its spaces
as any run of spaces, a number (a phone, an identity number) with any punctuation between its
digits or, for a phone, without its country code, and a date in the usual day-month-year and
year-month-day layouts. Values under 3 characters are left: they would blank out ordinary words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

MASK = "[personal data]"
MIN_CHARS = 3
NUMBER_PUNCTUATION = r"[\s().\-/+]"
NATIONAL_DIGITS = 10  # a phone number without its country code (+90 532 ... as 0532 ... or 532 ...)
DATE_SEPARATOR = r"[\s./\-]"


def without_personal_values(text: str, values: Iterable[str | None], dates: Iterable[date] = ()) -> str:
    """``text`` with each of ``values`` and ``dates`` replaced by [personal data]."""
    patterns = [pattern for value in values if value for pattern in _value_patterns(value)]
    patterns += [pattern for day in dates for pattern in _date_patterns(day)]
    if not patterns:
        return text
    longest_first = sorted(set(patterns), key=len, reverse=True)
    return re.sub("|".join(longest_first), MASK, text, flags=re.IGNORECASE)


def _value_patterns(value: str) -> list[str]:
    value = value.strip()
    if len(value) < MIN_CHARS:
        return []
    digits = re.sub(r"\D", "", value)
    if digits and not re.sub(NUMBER_PUNCTUATION, "", value).isdigit():
        digits = ""  # text with digits in it (an address): matched as text
    if len(digits) >= MIN_CHARS:
        between = NUMBER_PUNCTUATION + "*"
        patterns = [between.join(digits)]
        if len(digits) > NATIONAL_DIGITS:
            patterns.append(between.join(digits[-NATIONAL_DIGITS:]))
        return patterns
    return [r"\s+".join(re.escape(word) for word in value.split())]


def _date_patterns(day: date) -> list[str]:
    d, m, y = rf"0?{day.day}", rf"0?{day.month}", str(day.year)
    return [DATE_SEPARATOR.join((y, m, d)), DATE_SEPARATOR.join((d, m, y))]
