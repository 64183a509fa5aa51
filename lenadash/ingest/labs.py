"""The lab reader: a long or wide lab export to one coded row per result, then to canonical results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pandas as pd

from lenadash.ingest.coded import Coded
from lenadash.ingest.columns import ROLE_NAMES
from lenadash.ingest.layout import (
    PERCENTAGE,
    WideColumn,
    lab_layout,
    take_units_row,
    wide_roles,
)
from lenadash.ingest.normalise import normalise
from lenadash.ingest.problems import Problems, cat
from lenadash.ingest.tables import read_table, report_malformed

LAB_FIELDS = ("mrn", "name", "loinc", "value", "unit", "ref_range", "ref_low", "ref_high", "flag", "status")
_LONG_KEY = ("mrn", "when", "name", "loinc", "value", "unit")  # what makes two long rows worth comparing in full


@dataclass
class LabImport:
    results: pd.DataFrame
    problems: pd.DataFrame
    shape: str
    column_map: dict[str, str]
    delimiter: str
    encoding: str
    rows_read: int
    conversions: pd.DataFrame

    @property
    def errors(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "warning"]

    @property
    def rows_rejected(self) -> int:
        """Rows (lines) with at least one error: counted once however many problems they have."""
        return int(self.problems.loc[self.problems["severity"] == "error", "line"].nunique())


def read_labs(data: bytes | BinaryIO, *, file_name: str = "") -> LabImport:
    """Read a lab export (long or wide; CSV/TSV, any common encoding) into canonical results.

    Values are converted to each analyte's canonical unit (docs/architecture.md, DOMAIN.md §6);
    every row lands in `results` or appears in `problems` (errors reject the row, warnings keep it).
    In `results`, a missing loinc/flag/status is NA (the file gave none) and a missing ref_low/
    ref_high is NaN (no range: grading falls back to its default range). Raises UnrecognisedFile
    when the columns cannot be recognised.
    """
    table = read_table(data, file_name=file_name)
    df, lines = table.df, table.lines
    shape, col_map, wide_cols = lab_layout(list(df.columns))
    roles = {r: c for c, r in col_map.items() if r in ROLE_NAMES and r != "ignored"}
    problems = Problems(file_name)
    report_malformed(table, problems)
    rows_read = len(df) + len(table.malformed)
    if shape == "long":
        rows, colnames, lines = _long_results(df, lines, roles, problems)
    else:
        if take_units_row(df, roles, wide_cols):
            rows_read -= 1
            df, lines = df.iloc[1:].reset_index(drop=True), lines[1:]
            col_map.update(wide_roles(wide_cols))
        rows, colnames, lines = _wide_results(df, lines, roles, wide_cols, problems)
    del df
    del table.df  # the coded columns hold everything needed; free the parsed text early
    results, conversions = normalise(rows, lines, colnames, problems, delimiter=table.delimiter)
    return LabImport(
        results=results,
        problems=problems.frame(),
        shape=shape,
        column_map=col_map,
        delimiter=table.delimiter,
        encoding=table.encoding,
        rows_read=rows_read,
        conversions=conversions,
    )


# --- duplicates ------------------------------------------------------------------------------


def first_of_duplicates(df: pd.DataFrame, key: list[np.ndarray], lines: np.ndarray, problems: Problems) -> np.ndarray:
    """Mask of rows to keep: exact duplicate rows collapse to the first (a warning names both lines).

    `key` holds integer codes of the identifying columns: only rows that share them are compared
    in full, so a large clean file costs a few integer hashes.
    """
    n = len(df)
    if n < 2:
        return np.ones(n, bool)
    maybe = pd.Series(_combined_codes(key, n)).duplicated(keep=False).to_numpy()
    if not maybe.any():
        return np.ones(n, bool)
    sub = df.loc[maybe]
    dup = sub.duplicated(keep="first").to_numpy()
    if not dup.any():
        return np.ones(n, bool)
    group = sub.groupby(list(sub.columns), sort=False, dropna=False).ngroup().to_numpy()
    first_line = pd.Series(lines[maybe]).groupby(group).transform("min").to_numpy()
    problems.add(
        line=lines[maybe][dup],
        column="",
        value="",
        reason="duplicate row",
        message=cat("Row is identical to line ", first_line[dup], "; imported once."),
        hint="Nothing to fix; the export repeats this row.",
        severity="warning",
    )
    keep = np.ones(n, bool)
    keep[np.flatnonzero(maybe)[dup]] = False
    return keep


def _combined_codes(key: list[np.ndarray], n: int) -> np.ndarray:
    """One int64 per row that is equal exactly when all the key codes are equal."""
    combined = np.zeros(n, dtype=np.int64)
    span = 1  # combined < span; re-factorize only when the next column would overflow int64
    for codes in key:
        width = int(codes.max()) + 1 if len(codes) else 1
        if span * width >= 2**62:
            combined, uniq = pd.factorize(combined)
            span = max(len(uniq), 1)
        combined = combined.astype(np.int64) * width + codes
        span *= width
    return combined


# --- long files: one row per result ----------------------------------------------------------


def collection_when(df: pd.DataFrame, roles: dict[str, str]) -> tuple[pd.Series, str]:
    """The collection date text of each row (date + time when the time has its own column), and its column name."""
    when = df[roles["datetime"]]
    column = roles["datetime"]
    if roles.get("time"):
        when = when.str.strip() + " " + df[roles["time"]].str.strip()
        column += " + " + roles["time"]
    return when, column


def _long_results(
    df: pd.DataFrame, lines: np.ndarray, roles: dict[str, str], problems: Problems
) -> tuple[dict[str, Coded], dict[str, str], np.ndarray]:
    rows, colnames = _long_rows(df, roles)
    keep = first_of_duplicates(df, [rows[f].codes for f in _LONG_KEY], lines, problems)
    if not keep.all():
        rows = {f: c.select(keep) for f, c in rows.items()}
        lines = lines[keep]
    return rows, colnames, lines


def _long_rows(df: pd.DataFrame, roles: dict[str, str]) -> tuple[dict[str, Coded], dict[str, str]]:
    n = len(df)
    rows: dict[str, Coded] = {}
    colnames: dict[str, str] = {}
    for f in LAB_FIELDS:
        c = roles.get(f)
        rows[f] = Coded.of(df[c]) if c else Coded.constant(n)
        colnames[f] = c or ""
    when, colnames["when"] = collection_when(df, roles)
    rows["when"] = Coded.of(when)
    rows["value_col"] = Coded.constant(n, colnames["value"])
    return rows, colnames


# --- wide files: one row per draw, a column per test -----------------------------------------


def _wide_results(
    df: pd.DataFrame, lines: np.ndarray, roles: dict[str, str], wide_cols: dict[str, WideColumn], problems: Problems
) -> tuple[dict[str, Coded], dict[str, str], np.ndarray]:
    key_cols = [c for c in (roles.get("mrn"), roles.get("datetime"), roles.get("time")) if c]
    keep = first_of_duplicates(df, [Coded.of(df[c]).codes for c in key_cols], lines, problems)
    df, lines = df.loc[keep].reset_index(drop=True), lines[keep]
    return _wide_rows(df, roles, wide_cols, lines, problems)


def _report_untracked_columns(wide_cols: dict[str, WideColumn], problems: Problems) -> None:
    for col, spec in wide_cols.items():
        if spec.measure is not None:
            continue
        if spec.reason == PERCENTAGE:
            msg = "This column holds percentages of the differential, not absolute counts; not imported."
            hint = "Export the absolute count (e.g. 'Neutrophils, absolute' in 10^9/L) instead of the percentage."
        else:
            msg = "This column is not one of the tests lenadash tracks; not imported."
            hint = (
                "Nothing to fix if the test is not needed. If it is WBC, ANC, lymphocytes, Hgb, platelets "
                "or a CMP test under another name, rename the column (e.g. 'ANC (10^9/L)')."
            )
        problems.add(line=[1], column=col, value=col, reason=spec.reason, message=msg, hint=hint, severity="warning")


def _stack_tests(df: pd.DataFrame, tests: list[tuple[str, WideColumn]]) -> tuple[np.ndarray, np.ndarray, Coded]:
    """The filled cells of the test columns, draw by draw: (draw row, test index, coded cell text) per result."""
    if not tests:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, Coded(empty, pd.Series([""], dtype="str"))
    row_parts, value_codes, value_uniques, test_index = [], [], [], []
    offset = 0
    for t, (col, _) in enumerate(tests):
        cells = Coded.of(df[col])
        present = np.flatnonzero(~cells.blank)
        row_parts.append(present)
        value_codes.append(cells.codes[present] + offset)
        value_uniques.append(cells.uniques)
        offset += len(cells.uniques)
        test_index.append(np.full(len(present), t, dtype=np.intp))
    row = np.concatenate(row_parts)
    order = np.argsort(row, kind="stable")
    value = Coded(np.concatenate(value_codes)[order], pd.concat(value_uniques, ignore_index=True))
    return row[order], np.concatenate(test_index)[order], value


def _report_empty_draws(
    row: np.ndarray, n: int, lines: np.ndarray, tests: list[tuple[str, WideColumn]], problems: Problems
) -> None:
    """A draw (row) without a value in any test column would vanish: report it."""
    empty = np.ones(n, dtype=bool)
    empty[row] = False
    if tests and empty.any():
        problems.add(
            line=lines[empty],
            column="",
            value="",
            reason="no result",
            message="The row has no value in any test column; nothing imported from it.",
            hint="Nothing to fix if no test was done for this draw; otherwise fill in the values.",
        )


def _wide_rows(
    df: pd.DataFrame, roles: dict[str, str], wide_cols: dict[str, WideColumn], lines: np.ndarray, problems: Problems
) -> tuple[dict[str, Coded], dict[str, str], np.ndarray]:
    """One row per draw and a column per test -> one row per (draw, test); empty cells = not measured."""
    _report_untracked_columns(wide_cols, problems)
    when, when_col = collection_when(df, roles)
    mrn_c, when_c = Coded.of(df[roles["mrn"]]), Coded.of(when)
    tests = [(col, spec) for col, spec in wide_cols.items() if spec.measure is not None]
    row, per_test, value = _stack_tests(df, tests)
    _report_empty_draws(row, len(df), lines, tests, problems)

    def per_test_column(values: list[str]) -> Coded:
        return Coded(per_test, pd.Series(values if values else [""], dtype="str"))

    rows = {
        "mrn": Coded(mrn_c.codes[row], mrn_c.uniques),
        "when": Coded(when_c.codes[row], when_c.uniques),
        "value": value,
        "name": per_test_column([spec.name for _, spec in tests]),
        "unit": per_test_column([spec.unit for _, spec in tests]),
        "loinc": per_test_column([spec.loinc or "" for _, spec in tests]),
        "value_col": per_test_column([col for col, _ in tests]),
    }
    for f in ("ref_range", "ref_low", "ref_high", "flag", "status"):
        rows[f] = Coded.constant(len(row))
    colnames = {f: "" for f in LAB_FIELDS}
    colnames.update(mrn=roles["mrn"], when=when_col)
    return rows, colnames, lines[row]
