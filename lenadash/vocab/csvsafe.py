"""CSV exports a spreadsheet opens as data: a text cell that would start a formula is prefixed with '."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

# OWASP "CSV injection": a cell starting with one of these is read as a formula (=HYPERLINK(...),
# +cmd|..., @SUM(...)) by Excel, LibreOffice and Google Sheets; tab and carriage return can hide one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def cell(value: Any) -> Any:
    """`value` safe for a CSV cell: text that starts like a formula gets a leading apostrophe (shown by
    no spreadsheet, read as text by all); a plain number written as text (-2.5, +1e3) stays a number;
    anything that is not text is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` with every text cell and column header guarded (cell)."""
    guarded = df.copy()
    for column in guarded.columns:
        if guarded[column].dtype == object or pd.api.types.is_string_dtype(guarded[column]):
            guarded[column] = guarded[column].map(cell)
    guarded.columns = [cell(c) if isinstance(c, str) else c for c in guarded.columns]
    return guarded


def to_csv(df: pd.DataFrame) -> str:
    """`df` as CSV text (no index) with formula cells guarded: the one way lenadash writes a table export."""
    return frame(df).to_csv(index=False, lineterminator="\n")
