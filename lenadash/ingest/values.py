"""Result values: numbers, comparators, glued flags and units, reference ranges, decimal commas; per distinct text."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lenadash.ingest.coded import Coded
from lenadash.ingest.columns import is_known_unit

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_VALUE_RE = re.compile(
    r"^(?P<cmp><=|>=|=<|=>|<|>|≤|≥)?\s*(?P<num>" + _NUMBER + r")\s*"
    r"(?P<flag>[*!]+|\(\s*[A-Za-z]{1,8}\s*\)|(?:HH|LL|H|L|A|AA|C|N|HIGH|LOW|ABN|ABNORMAL|CRIT|CRITICAL|PANIC)\b)?"
    r"\s*[*!]*\s*$",
    re.IGNORECASE,
)
_VALUE_UNIT_RE = re.compile(
    r"^(?P<cmp><=|>=|=<|=>|<|>|≤|≥)?\s*(?P<num>" + _NUMBER + r")\s*(?P<unit>[^\s\d<>][^\s]*|10\S+)$"
)
_COMPARATORS = {"<=": "<=", ">=": ">=", "=<": "<=", "=>": ">=", "<": "<", ">": ">", "≤": "<=", "≥": ">="}
_NO_RESULT = re.compile(
    r"^(cancel+ed|canceled|cancelled|cx|tnp|test not performed|not performed|not done|nd|qns|"
    r"quantity not sufficient|insufficient sample|pending|in progress|see below|deleted|"
    r"specimen rejected|rejected|hemoly[sz]ed|clotted|lost|n/?a|--+|-|\.)$",
    re.IGNORECASE,
)
EPIC_TEXT_SENTINEL = 9999999.0  # Epic puts 9999999 in the numeric column of text results
VALUE_KINDS = ("", "blank", "no result", "sentinel", "text")  # "" is a number

_RANGE_RE = re.compile(r"^\(?\s*(?P<lo>" + _NUMBER + r")\s*(?:-|–|—|to|\.\.|bis|à|a)\s*(?P<hi>" + _NUMBER + r")\s*\)?")
_ONE_SIDED_RE = re.compile(r"^\(?\s*(?P<op><=|>=|<|>|≤|≥)\s*(?P<num>" + _NUMBER + r")")


def parse_values(text: pd.Series, *, decimal_comma: bool) -> pd.DataFrame:
    """Split distinct result texts into comparator, number and glued flag; classify the rest.

    Returns one row per text: value (float, NaN when no number), comparator, flag (None when
    none), kind ("" a number, "blank", "no result", "sentinel", "text"), and unit ("" unless the
    cell carries a known unit after the number, as in `150 K/uL`).
    """
    text = text.reset_index(drop=True)
    norm = _without_group_separators(text, decimal_comma=decimal_comma)
    value = pd.to_numeric(norm, errors="coerce").astype("float64")
    comparator = pd.Series("", index=text.index, dtype=object)
    flag = pd.Series(None, index=text.index, dtype=object)
    unit = pd.Series("", index=text.index, dtype=object)
    # each step fills, in place, the rows the steps before it could not read
    _read_comparator_and_flag(norm, value, comparator, flag)
    _read_unit_in_cell(norm, value, comparator, unit)
    kind = _value_kinds(text, value)
    return pd.DataFrame({"value": value, "comparator": comparator, "flag": flag, "kind": kind, "unit": unit})


def _without_group_separators(text: pd.Series, *, decimal_comma: bool) -> pd.Series:
    if decimal_comma:  # `1.234,5` and `150.000`: dots before three digits are thousands groups
        return text.str.replace(r"(?<=\d)\.(?=\d{3}(?:[^\d]|$))", "", regex=True).str.replace(",", ".", regex=False)
    return text.str.replace(r"(?<=\d),(?=\d{3}(?:\D|$))", "", regex=True)


def _read_comparator_and_flag(norm: pd.Series, value: pd.Series, comparator: pd.Series, flag: pd.Series) -> None:
    """`<0.5`, `5.2 H`, `12*`: the number, its comparator and a flag glued to it."""
    rest = value.isna() & (norm != "")
    if not rest.any():
        return
    ex = norm[rest].str.extract(_VALUE_RE)
    got = ex["num"].notna()
    value[ex.index[got]] = pd.to_numeric(ex.loc[got, "num"], errors="coerce").to_numpy(dtype="float64")
    comparator[ex.index[got]] = [_COMPARATORS.get(c, "") for c in ex.loc[got, "cmp"].fillna("")]
    fl = ex.loc[got, "flag"].dropna().str.strip("() ").str.upper().str[:8]
    flag[fl.index] = fl.to_numpy(dtype=object)


def _read_unit_in_cell(norm: pd.Series, value: pd.Series, comparator: pd.Series, unit: pd.Series) -> None:
    """A unit written into the result cell: `150 K/uL`, `<0.5 x10^9/L` (known unit spellings only)."""
    rest = value.isna() & (norm != "")
    if not rest.any():
        return
    ex = norm[rest].str.extract(_VALUE_UNIT_RE)
    known = ex["num"].notna() & ex["unit"].fillna("").map(is_known_unit)
    idx = ex.index[known.to_numpy(dtype=bool)]
    value[idx] = pd.to_numeric(ex.loc[idx, "num"], errors="coerce").to_numpy(dtype="float64")
    comparator[idx] = [_COMPARATORS.get(c, "") for c in ex.loc[idx, "cmp"].fillna("")]
    unit[idx] = ex.loc[idx, "unit"].to_numpy(dtype=object)


def _value_kinds(text: pd.Series, value: pd.Series) -> pd.Series:
    """VALUE_KINDS per text; sentinels and infinities lose their number (set to NaN in `value`)."""
    kind = pd.Series("", index=text.index, dtype=object)
    kind[text == ""] = "blank"
    nan = value.isna() & (text != "")
    kind[nan] = "text"
    kind[nan & text.str.match(_NO_RESULT)] = "no result"
    sentinel = value == EPIC_TEXT_SENTINEL
    kind[sentinel] = "sentinel"
    value[sentinel | ~np.isfinite(value.fillna(0.0))] = np.nan
    kind[(kind == "") & value.isna()] = "text"
    return kind


def parse_number_column(coded: Coded, *, decimal_comma: bool) -> np.ndarray:
    """A plain number per row (NaN for text or a comparator such as `<150`)."""
    parsed = parse_values(coded.uniques, decimal_comma=decimal_comma)
    return coded.take(parsed["value"].where(parsed["comparator"] == "").to_numpy(dtype="float64"))


def parse_range(text: pd.Series, *, decimal_comma: bool) -> pd.DataFrame:
    """Distinct reference-range texts (`3.5-5.0`, `<150`, `>60`) -> low, high (NaN when absent), ok."""
    text = text.reset_index(drop=True)
    if decimal_comma:
        text = text.str.replace(r"(?<=\d),(?=\d)", ".", regex=True)
    low = pd.Series(np.nan, index=text.index)
    high = pd.Series(np.nan, index=text.index)
    two = text.str.extract(_RANGE_RE)
    got = two["lo"].notna()
    low[got] = pd.to_numeric(two.loc[got, "lo"]).to_numpy(dtype="float64")
    high[got] = pd.to_numeric(two.loc[got, "hi"]).to_numpy(dtype="float64")
    one = text[~got].str.extract(_ONE_SIDED_RE)
    has = one["num"].notna()
    upper = has & one["op"].isin(["<", "<=", "≤"])
    lower = has & one["op"].isin([">", ">=", "≥"])
    high[one.index[upper]] = pd.to_numeric(one.loc[upper, "num"]).to_numpy(dtype="float64")
    low[one.index[lower]] = pd.to_numeric(one.loc[lower, "num"]).to_numpy(dtype="float64")
    ok = (text == "") | got
    ok[one.index[has]] = True
    return pd.DataFrame({"low": low, "high": high, "ok": ok})


def decimal_comma(text: pd.Series, delimiter: str) -> bool:
    """Whether a column writes decimals with a comma, decided from all its distinct values.

    Semicolon/tab files: when values look like `5,2`. Comma files (the value then quoted): when
    some comma is followed by other than exactly three digits (`"5,2"`) and no value is written
    with thousands groups (`"150,000"`); otherwise commas there are thousands separators.
    """
    if delimiter != ",":
        return bool(text.str.match(r"^\s*[<>]?=?\s*-?\d+,\d+").any())
    decimal_like = text.str.match(r"^\s*[<>]?=?\s*-?\d+,(?:\d{1,2}|\d{4,})(?:\D|$)").any()
    thousands_like = text.str.match(r"^\s*[<>]?=?\s*-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:\D|$)").any()
    return bool(decimal_like and not thousands_like)
