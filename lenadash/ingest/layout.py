"""The lab file's layout: long (one row per result) or wide (one row per draw, a column per test)."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from lenadash.errors import UnrecognisedFile
from lenadash.ingest.columns import (
    columns_found,
    expected_message,
    is_known_unit,
    map_columns,
    split_header,
)
from lenadash.vocab import units
from lenadash.vocab.analytes import MEASURE_ANALYTE

PERCENTAGE = "percentage, not a count"


class WideColumn(NamedTuple):
    """A wide file's test column: the test name and unit read from its header, and what they mean."""

    name: str
    unit: str
    measure: str | None  # None: not a test lenadash tracks (see reason)
    loinc: str | None
    reason: str


def lab_layout(columns: list[str]) -> tuple[str, dict[str, str], dict[str, WideColumn]]:
    """Decide long/wide; returns (shape, column_map, wide test columns by file column).

    Raises UnrecognisedFile naming what is missing (patient, collection date, test results).
    """
    mapping = map_columns(columns)
    roles = {r: c for c, r in mapping.items() if r != "ignored"}
    # a lone "Time" column without a date cannot place a result
    long = "value" in roles and ("name" in roles or "loinc" in roles)
    wide_cols = {} if long else _test_columns(columns, mapping)
    _refuse_unless_complete(columns, roles, long, wide_cols)
    if long:
        return "long", dict(mapping), {}
    return "wide", {**mapping, **wide_roles(wide_cols)}, wide_cols


def _test_columns(columns: list[str], mapping: dict[str, str]) -> dict[str, WideColumn]:
    """Every column without a role, read as a test; none when not one of them is a tracked test."""
    wide_cols: dict[str, WideColumn] = {}
    for col in columns:
        if col in mapping:
            continue
        name, unit = split_header(col)
        measure, loinc, _implied, reason = units.identify(name)
        if unit == "%" and measure is not None:
            measure, reason = None, PERCENTAGE
        wide_cols[col] = WideColumn(name, unit, measure, loinc, reason)
    if not any(spec.measure is not None for spec in wide_cols.values()):
        return {}
    return wide_cols


def _refuse_unless_complete(
    columns: list[str], roles: dict[str, str], long: bool, wide_cols: dict[str, WideColumn]
) -> None:
    missing = []
    if "mrn" not in roles:
        missing.append("a patient column (MRN, Patient ID, PID, patient_id)")
    if "datetime" not in roles:
        missing.append(
            "a collection date column (Collected, Collection Date/Time, Specimen Taken, Sample date, "
            "collected_at, effectiveDateTime, or Date + Time)"
        )
    if not long and not wide_cols:
        missing.append(
            "test results: either test name + result columns (Component/Test/analyte + Result/Value) "
            "or one column per test (WBC, ANC, Hgb, PLT, Creatinine, ...)"
        )
    if missing:
        known = [*roles.values(), *(c for c, spec in wide_cols.items() if spec.measure is not None)]
        found = columns_found(columns, header_seen="mrn" in roles or "datetime" in roles, known=known)
        raise UnrecognisedFile(
            "The lab file's columns were not recognised. Missing: "
            + "; ".join(missing)
            + f". Columns found: {found}. Lenadash {expected_message('labs')}. Rename the columns in the "
            "export (or the spreadsheet header) and upload again."
        )


def wide_roles(wide_cols: dict[str, WideColumn]) -> dict[str, str]:
    """The column_map entries of a wide file's test columns: `result:<analyte>` or `ignored (<reason>)`."""
    return {
        col: f"result:{MEASURE_ANALYTE[spec.measure]}" if spec.measure else f"ignored ({spec.reason})"
        for col, spec in wide_cols.items()
    }


def take_units_row(df: pd.DataFrame, roles: dict[str, str], wide_cols: dict[str, WideColumn]) -> bool:
    """A wide file may carry the units in the first row under the header (`;g/L;G/L;...`).

    When that row has no patient and every filled test cell is a known unit, its units are
    used for test columns whose header has none; returns True if the row was such a units row.
    """
    if not len(df):
        return False
    first = df.iloc[0]
    tests = [c for c, spec in wide_cols.items() if spec.measure is not None]
    cells = {c: str(first[c]).strip() for c in tests}
    filled = {c: u for c, u in cells.items() if u}
    if str(first[roles["mrn"]]).strip() or not filled:
        return False
    if not all(is_known_unit(u) or u == "%" for u in filled.values()):
        return False
    for col, unit in filled.items():
        spec = wide_cols[col]
        if not spec.unit:
            measure, reason = (None, PERCENTAGE) if unit == "%" else (spec.measure, spec.reason)
            wide_cols[col] = spec._replace(unit=unit, measure=measure, reason=reason)
    return True
