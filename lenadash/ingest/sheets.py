"""The small sheet: a patients or events file read field by field, with its checks, problems and rejected rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd

from lenadash.ingest.cells import reject_bad_text, warn_look_alikes
from lenadash.ingest.coded import Coded
from lenadash.ingest.columns import require, table_columns
from lenadash.ingest.dates import Plausible, course_dates, dates_of, reject_implausible, today
from lenadash.ingest.problems import Problems
from lenadash.ingest.tables import Table, read_table, report_malformed
from lenadash.vocab.frames import field_words

# Fields whose cells are free text (a patient's name, a note), where a line break is allowed.
FREE_TEXT = frozenset({"name", "detail", "combination"})


@dataclass
class TableImport:
    rows: pd.DataFrame
    problems: pd.DataFrame
    rows_read: int
    column_map: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8"

    @property
    def rows_rejected(self) -> int:
        """Rows (lines) with at least one error: counted once however many problems they have."""
        return int(self.problems.loc[self.problems["severity"] == "error", "line"].nunique())


class Sheet:
    """A patients or events file: coded access to its fields (absent optional fields read as blank),
    the problems found so far and the mask of rejected rows."""

    def __init__(self, table: Table, found: dict[str, str], file_name: str):
        self.table, self.found = table, found
        self.df, self.lines, self.n = table.df, table.lines, len(table.df)
        self.problems = Problems(file_name)
        report_malformed(table, self.problems)
        self.bad = np.zeros(self.n, dtype=bool)
        self.rejected_cells: dict[str, np.ndarray] = {}  # per field: rows whose cell failed check_text

    @classmethod
    def read(
        cls, data: bytes | BinaryIO, *, file_name: str, kind: str, fields: tuple[str, ...], required: tuple[str, ...]
    ) -> Sheet:
        """Read the file and find its fields; raises UnrecognisedFile when a required one is missing."""
        table = read_table(data, file_name=file_name)
        found = table_columns(table.df, fields)
        require(found, required, table.df, kind, file_name)
        return cls(table, found, file_name)

    def __getitem__(self, field_name: str) -> Coded:
        col = self.found.get(field_name)
        return Coded.of(self.df[col]) if col else Coded.constant(self.n)

    def col(self, field_name: str) -> str:
        """The file column of a field, for problem reports (the field name when the file has none)."""
        return self.found.get(field_name, field_name)

    def check(self, coded: Coded, per_unique_ok, *, name: str, reason: str, message: str, hint: str) -> None:
        """Reject rows whose distinct value fails `per_unique_ok` (one bool per distinct value).

        The message names the field and the rule, never the cell (the problems table's `value` keeps it).
        """
        fail = ~coded.where(per_unique_ok) & ~self.rejected(name)
        if fail.any():
            self.problems.add(
                line=self.lines[fail],
                column=self.col(name),
                value=coded.rows(fail),
                reason=reason,
                message=message,
                hint=hint,
            )
            self.bad |= fail

    def choice(self, name: str, aliases: dict[str, str], allowed: tuple[str, ...], *, reason: str) -> np.ndarray:
        """A coded field's canonical code per row, from the code itself or a common name in `aliases`
        (matched lower-case, with `_` and space alike); rows with neither are rejected with `reason`."""
        coded = self[name]
        codes = (
            coded.uniques.str.lower()
            .str.replace("_", " ")
            .map(lambda s: aliases.get(s) or aliases.get(s.replace(" ", "_")))
        )
        self.check(
            coded,
            codes.notna(),
            name=name,
            reason=reason,
            message=f"The {field_words(name)} is not one lenadash knows.",
            hint="Use one of: " + ", ".join(allowed) + ".",
        )
        return coded.take(codes.to_numpy(dtype=object))

    def rejected(self, field_name: str) -> np.ndarray:
        """The rows whose cell of this field was rejected by `check_text` (not to be read or reported again)."""
        return self.rejected_cells.get(field_name, np.zeros(self.n, dtype=bool))

    def check_text(self) -> None:
        """Before any field is read: reject cells the database cannot store or no reader should parse (too
        long, control characters, unsafe MRN) in every field the file has; warn on look-alike MRNs."""
        for name in self.found:
            coded = self[name]
            rejected = reject_bad_text(
                coded,
                field=name,
                lines=self.lines,
                column=lambda _mask, n=name: self.col(n),
                problems=self.problems,
                free_text=name in FREE_TEXT,
            )
            self.rejected_cells[name] = rejected
            self.bad |= rejected
        if "mrn" in self.found:
            mrn = self["mrn"]
            warn_look_alikes(
                mrn.select(~self.bad), lines=self.lines[~self.bad], column=self.col("mrn"), problems=self.problems
            )

    def dates(self, coded: Coded, *, name: str, plausible: Plausible | None = None) -> np.ndarray:
        """Dates of a coded column (format per column), rejecting unreadable, empty or implausible ones
        (outside `plausible`, by default 1900-2200); datetime64[us]."""
        per, notes = dates_of(coded.uniques)
        when = coded.take(per)
        skip = self.rejected(name)
        when[skip] = np.datetime64("NaT")  # reported by check_text already
        self.bad |= reject_implausible(
            when,
            plausible or course_dates(today()),
            words=name.replace("_", " "),
            hint="Check the date in the source system: a 4-digit year is read as written, and a placeholder "
            "date (1900-01-01) is not a date.",
            lines=self.lines,
            column=self.col(name),
            values=coded.rows,
            problems=self.problems,
        )
        nat = np.isnat(when) & ~skip
        if np.any(nat):
            shown = coded.rows(nat)
            self.problems.add(
                line=self.lines[nat],
                column=self.col(name),
                value=shown,
                reason="unreadable date",
                message=np.where(
                    shown == "", f"The {field_words(name)} is empty.", f"The {field_words(name)} could not be read."
                ),
                hint="Use a date like 2026-01-19 (ISO), 01/19/2026 (US) or 19.01.2026.",
            )
            self.bad |= nat
        for note in notes:
            self.problems.add(
                line=self.lines[:1],
                column=self.col(name),
                value="",
                reason="ambiguous date",
                message=note[0].upper() + note[1:] + ".",
                hint="Check one row against the source.",
                severity="warning",
            )
        return when

    def drop_repeats(self, rows: pd.DataFrame, *, what: str) -> None:
        """Reject exact repeats of an earlier accepted row (a warning: the first is imported)."""
        dup = rows.drop(columns="line").astype(str).duplicated(keep="first").to_numpy() & ~self.bad
        if dup.any():
            self.problems.add(
                line=self.lines[dup],
                column="",
                value="",
                reason="duplicate row",
                message=f"The same {what} appears twice; imported once.",
                hint="Nothing to fix.",
                severity="warning",
            )
            self.bad |= dup

    def result(self, rows: pd.DataFrame) -> TableImport:
        """The accepted rows, the problems, and how the file was read."""
        table = self.table
        return TableImport(
            rows=rows,
            problems=self.problems.frame(),
            rows_read=self.n + len(table.malformed),
            column_map={v: k for k, v in self.found.items()},
            delimiter=table.delimiter,
            encoding=table.encoding,
        )


def none_for_missing(s: pd.Series) -> pd.Series:
    """object column whose missing entries are None (the contracts' `str|None`, `date`)."""
    out = s.astype(object)
    return out.where(out.notna(), None)


def as_dates(when: np.ndarray) -> np.ndarray:
    return np.array([None if np.isnat(w) else pd.Timestamp(w).date() for w in when], dtype=object)
