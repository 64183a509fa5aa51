"""Tolerant readers of the assess JSON the pages shape: dates, CTCAE grades and the latest draw."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd


def as_date(value: Any) -> dt.date | None:
    """ISO text / Timestamp / date -> date; None, "" and NaT -> None."""
    if value is None or value == "" or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(ts) else ts.date()


def required_date(value: Any) -> dt.date:
    """`as_date` of a date the data always has (a draw's date, an open biopsy's due date)."""
    date = as_date(value)
    assert date is not None, f"not a date: {value!r}"
    return date


def grade_or_none(grade: Any) -> int | None:
    """A CTCAE grade as 0-4 (5 shows as 4, the worst colour); None when not graded (None, NaN, NA, text)."""
    if grade is None or (isinstance(grade, float) and np.isnan(grade)) or grade is pd.NA:
        return None
    try:
        return min(int(grade), 4)
    except (TypeError, ValueError):
        return None


def last_draw(patient: dict) -> dict:
    """The patient's latest assessed draw; {} when there is none."""
    draws = patient.get("draws") or []
    return draws[-1] if draws else {}
