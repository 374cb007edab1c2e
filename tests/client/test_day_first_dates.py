"""Minted's day-first times ("31-05-2023 03:16") are read without strptime when padded: the same
datetime, or the same refusal, as strptime over Minted's formats gives."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from minted_gateway.minted.models.base import _NAIVE_FORMATS, ISTANBUL, parse_minted_datetime


def _as_strptime_reads(text: str) -> Any:
    for fmt in _NAIVE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=ISTANBUL)
        except ValueError:
            continue
    return "refused"


def _as_read(text: str) -> Any:
    try:
        return parse_minted_datetime(text)
    except ValueError:
        return "refused"


def test_a_day_first_time_reads_as_strptime_read_it() -> None:
    fields = ["00", "01", "09", "12", "13", "24", "29", "31", "59", "60", "7"]
    years, hours, seconds = ["2024", "2023", "0000", "202"], ["00", "23", "24", "3"], ["", ":45", ":60", ":5"]
    combos = itertools.product(fields, fields, years, hours, ["16", "60"], seconds)
    texts = [f"{d}-{m}-{y} {h}:{mi}{s}" for d, m, y, h, mi, s in combos]
    differ = [text for text in texts if _as_read(text) != _as_strptime_reads(text)]
    assert differ == [] and _as_read("31-05-2023 03:16:45") == datetime(2023, 5, 31, 3, 16, 45, tzinfo=ISTANBUL)
