"""The problems table: every reason the importer reports, and the collector that builds one frame of them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lenadash.vocab.analytes import ANALYTES
from lenadash.vocab.course import INDICATIONS
from lenadash.vocab.frames import PROBLEM_COLUMNS


def _listed(items) -> str:
    """`a, b or c`, as the reasons and hints write a closed list."""
    items = [str(i) for i in items]
    return ", ".join(items[:-1]) + " or " + items[-1]


# Every problem reason the importer reports (stable keys; docs/import.md explains each with its fix).
REASONS: dict[str, str] = {
    "missing patient": "the row has no MRN",
    "unreadable date": "a date that cannot be read, or none",
    "implausible date": "a collection date before 1990 or after tomorrow, a birth date before 1900-01-02, "
    "over 110 years ago or in the future, or another date outside 1900-2200 (4-digit years are read as written)",
    "ambiguous date": "slash dates read as US MM/DD/YYYY because no day above 12 decides (warning)",
    "non-numeric result": "a text result, or Epic's 9999999 placeholder for one",
    "no result": "cancelled / not performed / empty result, or a cancelled / entered-in-error status",
    "unknown unit": "a unit not known for the test, or no unit where the test name does not tell",
    "unknown analyte": f"a test that is not one of the {len(ANALYTES)} lenadash tracks (e.g. MCV)",
    "percentage, not a count": "a differential percentage (Neutrophils %) instead of an absolute count",
    "implausible value": "a value impossible in its unit (e.g. PLT 150000 without a unit, Hgb 125 g/dL)",
    "assumed unit": "no unit given; the canonical unit was assumed because the value is plausible (warning)",
    "unreadable reference range": "a reference range that cannot be read; the default range is used (warning)",
    "reference range on another scale": "a range that does not fit the result's unit (e.g. g/dL range beside g/L); "
    "the default range is used (warning)",
    "conflicting result": "the same test, patient and collection time with another value on a later line of the "
    "file that is not marked corrected; the later line is current, this one kept as history (warning)",
    "duplicate row": "an exact repeat of an earlier row, or the same result (test, time, value) again; "
    "imported once (warning)",
    "unreadable message": "HL7 / FHIR: a message, segment or resource that cannot be read (broken MSH, invalid JSON, "
    "a segment outside any message); its results are not imported",
    "not a result message": "HL7 / FHIR: a message that is not ORU^R01, or a resource that is not an Observation, "
    "skipped (warning)",
    "malformed row": "a row with more fields than the header (an unquoted delimiter inside a value)",
    "text too long": "a cell longer than the database stores (e.g. MRN over 64, name over 200, detail over 500)",
    "control character": "a cell holding NUL or another control character (the database refuses NUL)",
    "unsafe MRN": "an MRN starting with =, +, - or @, or holding <, >, ` or quotes (formula or markup injection)",
    "look-alike MRN": "an MRN that differs from another in the file only by case, full-width forms or invisible "
    "characters; imported as written (warning)",
    "invalid sex": "patients: sex is not F or M",
    "invalid weight": "patients: weight is not a number of kg",
    "unknown indication": "patients: indication is not " + _listed(INDICATIONS),
    "invalid dose": "patients: starting dose is not a capsule strength",
    "invalid schedule": "patients: schedule is not 21/28 or 28/28",
    "invalid value": "patients/events: a yes/no, menses or event value that cannot be read",
    "start before birth": "patients: the start date is before the birth date",
    "duplicate course": "patients: the same MRN, indication and start date twice with different details",
    "unknown event": "events: the event is not one of models.EVENT_KINDS",
    "value ignored": "events: a value given for an event whose date is all it says (marrow_biopsy_planned, "
    "missed_period); the row is imported without it (warning)",
}


def cat(*parts) -> np.ndarray:
    """Element-wise string concatenation of scalars and equal-length arrays (problem rows only)."""
    n = max((len(p) for p in parts if not isinstance(p, str)), default=1)
    out = np.full(n, "", dtype=object)
    for p in parts:
        out = out + (p if isinstance(p, str) else np.array([str(x) for x in p], dtype=object))
    return out


def _object_column(x, n: int) -> np.ndarray:
    """A problem field as one object per problem row: a Series or array as given, a scalar repeated."""
    if isinstance(x, pd.Series):
        return x.astype(object).to_numpy()
    if isinstance(x, np.ndarray):
        return x.astype(object)
    return np.full(n, x, dtype=object)


class Problems:
    """Accumulates problem rows as column arrays; one frame at the end.

    The frame is sorted by line and severity with a stable sort, so problems of one line keep
    the order in which the readers reported them.
    """

    def __init__(self, file_name: str):
        self.file_name = file_name
        self.parts: list[pd.DataFrame] = []

    def add(self, *, line, column, value, reason: str, message, hint, severity: str = "error") -> None:
        if reason not in REASONS or severity not in ("error", "warning"):
            raise AssertionError(f"undocumented problem reason {reason!r} / severity {severity!r}")
        line = np.atleast_1d(np.asarray(line, dtype=np.int64))
        n = len(line)
        if n == 0:
            return
        self.parts.append(
            pd.DataFrame(
                {
                    "file": self.file_name,
                    "line": line,
                    "column": _object_column(column, n),
                    "value": _object_column(value, n),
                    "reason": reason,
                    "message": _object_column(message, n),
                    "hint": _object_column(hint, n),
                    "severity": severity,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return empty_problems()
        out = pd.concat(self.parts, ignore_index=True)
        for c in ("file", "column", "value", "reason", "message", "hint", "severity"):
            out[c] = out[c].fillna("").astype(str).astype("str")
        out["line"] = out["line"].astype("int64")
        out = out.sort_values(["line", "severity"], kind="stable").reset_index(drop=True)
        return out[PROBLEM_COLUMNS]


def empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "line" else "str") for c in PROBLEM_COLUMNS})
