"""The lab normalisation: coded raw text per result to canonical results (analyte, value in its unit, range, flag).

One pass of named steps over shared per-row masks. Each step decides per distinct value (test
name, unit, result text) and broadcasts to the rows, so a million rows cost a few numpy takes.
Rows rejected for their patient or date (`row_bad`) are still checked for value problems, so a
row reports everything wrong with it at once; a row rejected for its value (`bad`) is not
checked further.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from lenadash.ingest.cells import reject_bad_text, warn_look_alikes
from lenadash.ingest.coded import Coded
from lenadash.ingest.dates import collection_dates, dates_of, reject_implausible, today
from lenadash.ingest.layout import PERCENTAGE
from lenadash.ingest.problems import Problems, cat
from lenadash.ingest.values import (
    VALUE_KINDS,
    decimal_comma,
    parse_number_column,
    parse_range,
    parse_values,
)
from lenadash.vocab import units
from lenadash.vocab.analytes import (
    ANALYTES,
    LABEL,
    MEASURE_ANALYTE,
    PLAUSIBLE_RANGE,
    USUAL_RANGE,
)
from lenadash.vocab.frames import LAB_COLUMNS

_CANCELLED_STATUS = re.compile(r"^(cancel+ed|canceled|entered[- ]in[- ]error|deleted|x|d|nullified)$", re.IGNORECASE)
_MEASURES = tuple(MEASURE_ANALYTE)
_MEASURE_INDEX = {m: i for i, m in enumerate(_MEASURES)}
# per measure index (-1 = unmapped, the last entry)
_ANALYTE_OF = pd.array([MEASURE_ANALYTE[m] for m in _MEASURES] + [None], dtype="str")
_CANON_OF = np.array([units.canonical_unit(m) for m in _MEASURES] + [""], dtype=object)
_LOW_OF = np.array([PLAUSIBLE_RANGE[MEASURE_ANALYTE[m]][0] for m in _MEASURES] + [np.nan])
_HIGH_OF = np.array([PLAUSIBLE_RANGE[MEASURE_ANALYTE[m]][1] for m in _MEASURES] + [np.nan])
_USUAL_LOW_OF = np.array([USUAL_RANGE[MEASURE_ANALYTE[m]][0] for m in _MEASURES] + [np.nan])
_USUAL_HIGH_OF = np.array([USUAL_RANGE[MEASURE_ANALYTE[m]][1] for m in _MEASURES] + [np.nan])
# per measure index: the test in lenadash's words (vocab.analytes.LABEL), never the name the file wrote
_LABEL_OF = np.array([LABEL[MEASURE_ANALYTE[m]] for m in _MEASURES] + ["test"], dtype=object)
_UNIT_HINT_OF = np.array(["Use one of: " + ", ".join(units.units_for(m)) + "." for m in _MEASURES] + [""], dtype=object)
_RANGE_SCALE_TOLERANCE = 5.0  # a lab's own range is within 5x of the usual one; unit mix-ups are 10x-1000x

# result kinds without a number: (kind, reason, message, hint). Messages never quote a cell: the problems
# table's `value` column keeps it for the clinician (a result can be free text with a name in it).
_NO_NUMBER = (
    ("blank", "no result", "The result is empty.", "Delete the row, or fill in the result if the test was done."),
    (
        "no result",
        "no result",
        "The test has no result (cancelled or not performed).",
        "Nothing to fix; the row is skipped. Delete it to silence this message.",
    ),
    (
        "sentinel",
        "non-numeric result",
        "9999999 is the placeholder some systems use for a text result.",
        "Look up the text result in the lab system; enter a number if there is one.",
    ),
    (
        "text",
        "non-numeric result",
        "The result is not a number (text, or a number with words around it).",
        "Enter the result as a number (e.g. 5.2, <0.5); text results cannot be graded.",
    ),
)


@dataclass
class _Tests:
    """What each row's test is, decided once per distinct (name, LOINC) pair."""

    pair: np.ndarray  # per row: its (name, LOINC) pair
    measure: np.ndarray  # per pair: index into _MEASURES, -1 when not a tracked test
    reason: np.ndarray  # per pair: why it is not tracked (units.identify)
    implied_unit: np.ndarray  # per pair: the unit its name or LOINC implies, "" when none
    loinc: pd.api.extensions.ExtensionArray  # per pair: the LOINC code, NA when none known
    label: np.ndarray  # per pair: the name as written, else the LOINC (for messages and raw_name)
    ambiguous: np.ndarray  # per pair: a name used both for percentages and for counts

    def label_of(self, mask) -> np.ndarray:
        return self.label[self.pair[mask]]


@dataclass
class _Units:
    """The unit each row is read in and its factor to the canonical unit, once per distinct (test, unit) combination."""

    combo: np.ndarray  # per row: its (test pair, unit) combination
    measure: np.ndarray  # per combination: index into _MEASURES, -1 when not a tracked test
    raw: np.ndarray  # per combination: the unit as written
    blank: np.ndarray  # no unit written
    implied: np.ndarray  # the unit the test name implies
    ambiguous: np.ndarray  # no unit can be assumed: the name is used for percentages and counts
    assumed: np.ndarray  # no unit: the canonical one is assumed (withdrawn if implausible)
    canon: np.ndarray  # the canonical unit
    used: np.ndarray  # the unit the value is read in
    factor: np.ndarray  # to the canonical unit, NaN when the unit is not known for the test

    def canon_of(self, mask) -> np.ndarray:
        return self.canon[self.combo[mask]]


@dataclass
class _Normalising:
    """The shared state of one normalisation: inputs, the per-row masks, and the arrays the steps build.

    Arrays are per row unless the step says otherwise; `tests` and `unit_combos` hold per-distinct tables.
    """

    rows: dict[str, Coded]
    lines: np.ndarray
    cn: dict[str, str]  # field -> file column ("" when the file has none)
    problems: Problems
    delimiter: str
    row_bad: np.ndarray = field(init=False)  # rejected for its patient or date
    cell_bad: np.ndarray = field(init=False)  # rejected for a cell of its test, result or unit (control, length)
    when_bad: np.ndarray = field(init=False)  # rejected for its collection date cell (control characters)
    bad: np.ndarray = field(init=False)  # rejected for its test or value
    known: np.ndarray = field(init=False)  # a tracked test
    keep: np.ndarray = field(init=False)  # accepted (set once all checks ran)
    mrn: Coded = field(init=False)
    when: np.ndarray = field(init=False)
    tests: _Tests = field(init=False)
    decimal_comma: bool = field(init=False)
    parsed: pd.DataFrame = field(init=False)  # parse_values per distinct result text
    unit_cells: Coded = field(init=False)  # the unit cell, or the unit written in the result cell
    unit_combos: _Units = field(init=False)
    measure_idx: np.ndarray = field(init=False)
    factor: np.ndarray = field(init=False)
    value_raw: np.ndarray = field(init=False)  # as written
    value: np.ndarray = field(init=False)  # in the canonical unit
    implausible: np.ndarray = field(init=False)
    ref_low: np.ndarray = field(init=False)  # in the result's unit as written
    ref_high: np.ndarray = field(init=False)

    def label_of(self, mask) -> np.ndarray:
        """The tracked test of the masked rows in lenadash's words (ANC, Platelets), for messages."""
        return _LABEL_OF[self.tests.measure[self.tests.pair[mask]]]

    def column_of(self, f: str, mask) -> np.ndarray | str:
        """The file column a problem is in: the field's column, or in wide files the test's own column."""
        return self.cn.get(f) or self.rows["value_col"].rows(mask)


def normalise(
    rows: dict[str, Coded], lines: np.ndarray, cn: dict[str, str], problems: Problems, *, delimiter: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shared core: coded raw text columns -> canonical results and unit conversions; problems appended."""
    s = _Normalising(rows, lines, cn, problems, delimiter)
    _identify_patients(s)
    _check_cells(s)
    _read_collection_dates(s)
    _identify_tests(s)
    _read_results(s)
    _skip_cancelled(s)
    _convert_units(s)
    _check_units(s)
    _check_plausibility(s)
    _check_assumed_units(s)
    s.bad |= s.row_bad  # joined only now: a row without patient or date still had its value checked
    s.keep = ~s.bad
    _same_key_in_one_file(s)
    _read_reference_ranges(s)
    _drop_ranges_on_another_scale(s)
    return _results(s), _conversions(s)


# --- patient and date ------------------------------------------------------------------------


def _identify_patients(s: _Normalising) -> None:
    raw = s.rows["mrn"]
    s.mrn = Coded(raw.codes, raw.uniques.str.replace(r"^Patient/", "", regex=True))  # FHIR references
    s.row_bad = s.mrn.blank
    if s.row_bad.any():
        s.problems.add(
            line=s.lines[s.row_bad],
            column=s.cn["mrn"],
            value="",
            reason="missing patient",
            message="The row has no patient identifier (MRN).",
            hint=f"Fill in the MRN in column '{s.cn['mrn']}' or delete the row.",
        )


# Every text cell of a result, checked before it is parsed: (field, the stored field whose length
# applies, or "" when the database does not store it as text; the cell in a message's words).
_CELLS = (
    ("mrn", "mrn", "MRN"),
    ("when", "", "collection date cell"),
    ("name", "raw_name", "test name cell"),
    ("loinc", "loinc", "LOINC cell"),
    ("value", "raw_value", "result cell"),
    ("unit", "raw_unit", "unit cell"),
    ("ref_range", "", "reference range cell"),
    ("ref_low", "", "reference range cell"),
    ("ref_high", "", "reference range cell"),
    ("flag", "", "flag cell"),
    ("status", "status", "status cell"),
)


def _check_cells(s: _Normalising) -> None:
    """Cells the database cannot store, or that hold control characters, reject their row before any cell is
    parsed (one problem per cell, so a result `1.2<ESC>` is a control character, not a non-numeric result);
    look-alike MRNs are warned (docs/import.md). A bad MRN or date cell still lets the value be checked;
    a bad cell of the test, result or unit ends that row's checks (`cell_bad`)."""
    s.cell_bad = np.zeros(len(s.lines), dtype=bool)
    for f, stored, words in _CELLS:
        bad = reject_bad_text(
            s.rows[f] if f != "mrn" else s.mrn,
            field=f,
            lines=s.lines,
            column=lambda mask, f=f: s.column_of(f, mask),
            problems=s.problems,
            stored_as=stored,
            words=words,
        )
        if f == "when":
            s.when_bad = bad
        if f in ("mrn", "when"):
            s.row_bad = s.row_bad | bad
        else:
            s.cell_bad = s.cell_bad | bad
    ok = ~s.row_bad & ~s.cell_bad
    warn_look_alikes(s.mrn.select(ok), lines=s.lines[ok], column=s.cn["mrn"], problems=s.problems)


def _read_collection_dates(s: _Normalising) -> None:
    """Collection dates, the format decided per column; a note where the order of day and month is a guess."""
    when_c, lines = s.rows["when"], s.lines
    when_u, notes = dates_of(when_c.uniques)
    s.when = when_c.take(when_u)
    s.when[s.when_bad] = np.datetime64("NaT")  # reported already; not read
    nat = np.isnat(s.when) & ~s.when_bad
    if nat.any():
        raw_when = when_c.rows(nat)
        s.problems.add(
            line=lines[nat],
            column=s.cn["when"],
            value=raw_when,
            reason="unreadable date",
            message=np.where(
                raw_when == "",
                "The row has no collection date.",
                "The collection date could not be read.",
            ),
            hint="Use a date like 2026-01-19 08:30 (ISO), 01/19/2026 8:30 AM (US) or 19.01.2026 08:30.",
        )
        s.row_bad = s.row_bad | nat
    s.row_bad = s.row_bad | reject_implausible(
        s.when,
        collection_dates(today()),
        words="collection date",
        hint="Check the date in the source system: a 4-digit year is read as written, and a result "
        "cannot be collected after tomorrow.",
        lines=lines,
        column=s.cn["when"],
        values=when_c.rows,
        problems=s.problems,
    )
    for note in notes:
        first = lines[~nat][:1] if (~nat).any() else lines[:1]
        s.problems.add(
            line=first,
            column=s.cn["when"],
            value="",
            reason="ambiguous date",
            message=note[0].upper() + note[1:] + ".",
            hint="Check one result against the lab system.",
            severity="warning",
        )


# --- test ------------------------------------------------------------------------------------


def _combine(a: np.ndarray, b: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of distinct (a, b) pairs, with each pair's a- and b-code."""
    width = max(width, 1)
    codes, uniq = pd.factorize(a.astype(np.int64) * width + b)
    uniq = np.asarray(uniq, dtype=np.int64)
    return np.asarray(codes, dtype=np.intp), uniq // width, uniq % width


def _tests_of(name: Coded, loinc: Coded) -> _Tests:
    """The test of each row: by LOINC where known, else by name (units.identify), once per distinct pair."""
    pair, p_name, p_loinc = _combine(name.codes, loinc.codes, len(loinc.uniques))
    names = name.uniques.to_numpy(dtype=object)[p_name]
    loincs = loinc.uniques.to_numpy(dtype=object)[p_loinc]
    idents = [units.identify(a, b) for a, b in zip(names, loincs)]
    return _Tests(
        pair=pair,
        measure=np.array([_MEASURE_INDEX[t[0]] if t[0] else -1 for t in idents], dtype=np.intp),
        reason=np.array([t[3] for t in idents], dtype=object),
        implied_unit=np.array([t[2] or "" for t in idents], dtype=object),
        loinc=pd.array([t[1] for t in idents], dtype="str"),
        label=np.where(names != "", names, loincs),
        ambiguous=np.array([units.name_key(a) in units.AMBIGUOUS_NAMES for a in names], dtype=bool),
    )


def _identify_tests(s: _Normalising) -> None:
    """Reject percentages of the differential and tests lenadash does not track."""
    s.tests = tests = _tests_of(s.rows["name"], s.rows["loinc"])
    name_col = s.cn["name"] or s.cn["loinc"]
    pct = (tests.reason == PERCENTAGE)[tests.pair] & ~s.cell_bad
    unknown = (tests.reason == "unknown analyte")[tests.pair] & ~s.cell_bad
    if pct.any():
        s.problems.add(
            line=s.lines[pct],
            column=name_col or s.rows["value_col"].rows(pct),
            value=tests.label_of(pct),
            reason=PERCENTAGE,
            message="The test is a share of the white cells (a differential percentage), not an absolute count; "
            "not imported.",
            hint="Export the absolute count (e.g. 'Neutrophils, absolute' in 10^9/L); percentages are not used.",
        )
    if unknown.any():
        s.problems.add(
            line=s.lines[unknown],
            column=name_col or s.rows["value_col"].rows(unknown),
            value=tests.label_of(unknown),
            reason="unknown analyte",
            message=f"The test is not one of the {len(ANALYTES)} tests lenadash tracks; not imported.",
            hint=(
                "Nothing to fix if the test is not needed (e.g. MCV, RDW). If it is WBC, ANC, "
                "lymphocytes, Hgb, platelets or a CMP test under another name, use that name or its LOINC."
            ),
        )
    s.bad = pct | unknown | s.cell_bad
    s.known = ~s.bad


# --- result value ----------------------------------------------------------------------------


def _read_results(s: _Normalising) -> None:
    """Parse each distinct result text once; reject empty, cancelled and text results."""
    value_c = s.rows["value"]
    s.decimal_comma = decimal_comma(value_c.uniques, s.delimiter)
    s.parsed = parse_values(value_c.uniques, decimal_comma=s.decimal_comma)
    kind = value_c.take(s.parsed["kind"].map(VALUE_KINDS.index).to_numpy(dtype=np.int8))
    for k, reason, message, hint in _NO_NUMBER:
        m = (kind == VALUE_KINDS.index(k)) & s.known
        if m.any():
            shown = value_c.rows(m)
            s.problems.add(
                line=s.lines[m],
                column=s.column_of("value", m),
                value=shown,
                reason=reason,
                message=message,
                hint=hint,
            )
            s.bad |= m


def _skip_cancelled(s: _Normalising) -> None:
    status_c = s.rows["status"]
    cancelled = status_c.where(status_c.uniques.str.match(_CANCELLED_STATUS)) & ~s.bad
    if cancelled.any():
        shown = status_c.rows(cancelled)
        s.problems.add(
            line=s.lines[cancelled],
            column=s.cn["status"],
            value=shown,
            reason="no result",
            message="The result status says there is no valid result (cancelled, deleted or entered in error).",
            hint="Nothing to fix; the row is skipped.",
        )
        s.bad |= cancelled


# --- unit ------------------------------------------------------------------------------------


def _unit_column(unit_c: Coded, value_c: Coded, parsed: pd.DataFrame) -> Coded:
    """The unit cell, or where it is empty the unit written in the result cell (`150 K/uL`)."""
    in_value = parsed["unit"].to_numpy(dtype=object) != ""
    if not in_value.any():
        return unit_c
    from_value = value_c.where(in_value) & unit_c.blank
    if not from_value.any():
        return unit_c
    unit_text = np.where(
        from_value,
        value_c.take(parsed["unit"].to_numpy(dtype=object)),
        unit_c.take(unit_c.uniques.to_numpy(dtype=object)),
    )
    return Coded.of(pd.Series(unit_text, dtype="str"))


def _units_of(tests: _Tests, unit_c: Coded) -> _Units:
    """Once per distinct (test, unit): the unit used (as written, implied by the test, or assumed) and its factor."""
    combo, c_pair, c_unit = _combine(tests.pair, unit_c.codes, len(unit_c.uniques))
    raw = unit_c.uniques.to_numpy(dtype=object)[c_unit]
    measure = tests.measure[c_pair]
    implied = tests.implied_unit[c_pair]
    blank = raw == ""
    ambiguous = tests.ambiguous[c_pair]
    assumed = blank & (implied == "") & (measure >= 0) & ~ambiguous
    canon = _CANON_OF[measure]
    used = np.where(blank & (implied != ""), implied, np.where(assumed, canon, raw))
    factor = np.array([units.factor(_MEASURES[m], u) if m >= 0 else None for m, u in zip(measure, used)], dtype=object)
    factor = np.array([np.nan if f is None else f for f in factor], dtype="float64")
    return _Units(
        combo=combo,
        measure=measure,
        raw=raw,
        blank=blank,
        implied=implied,
        ambiguous=ambiguous,
        assumed=assumed,
        canon=canon,
        used=used,
        factor=factor,
    )


def _convert_units(s: _Normalising) -> None:
    s.unit_cells = _unit_column(s.rows["unit"], s.rows["value"], s.parsed)
    s.unit_combos = u = _units_of(s.tests, s.unit_cells)
    s.measure_idx = u.measure[u.combo]
    s.factor = u.factor[u.combo]
    s.value_raw = s.rows["value"].take(s.parsed["value"].to_numpy(dtype="float64"))
    s.value = np.round(s.value_raw * s.factor, 9)  # drop float noise from the factor (88.4 * (1/88.4))


def _check_units(s: _Normalising) -> None:
    """Reject % units, unit-less results of ambiguous names, and units not known for the test."""
    u, lines = s.unit_combos, s.lines
    label_of = s.label_of
    unit_pct = (u.raw == "%")[u.combo] & s.known & ~s.bad
    if unit_pct.any():
        s.problems.add(
            line=lines[unit_pct],
            column=s.column_of("unit", unit_pct),
            value=s.unit_cells.rows(unit_pct),
            reason=PERCENTAGE,
            message=cat(
                "The ",
                label_of(unit_pct),
                " result is in %, a share of the white cells, not an absolute count; not imported.",
            ),
            hint="Export the absolute count (10^9/L); percentages are not used.",
        )
        s.bad |= unit_pct
    no_unit_amb = (u.blank & (u.implied == "") & u.ambiguous)[u.combo] & s.known & ~s.bad
    if no_unit_amb.any():
        s.problems.add(
            line=lines[no_unit_amb],
            column=s.column_of("unit", no_unit_amb),
            value="",
            reason="unknown unit",
            message=cat(
                "The ",
                label_of(no_unit_amb),
                " result has no unit, and its test name is used both for percentages and for counts.",
            ),
            hint="Add the unit (10^9/L or K/uL for a count; % rows are not imported).",
        )
        s.bad |= no_unit_amb
    unk_unit = s.known & ~u.blank[u.combo] & np.isnan(s.factor) & ~s.bad
    if unk_unit.any():
        shown = s.unit_cells.rows(unk_unit)
        s.problems.add(
            line=lines[unk_unit],
            column=s.column_of("unit", unk_unit),
            value=shown,
            reason="unknown unit",
            message=cat("The unit is not one known for ", label_of(unk_unit), "."),
            hint=_UNIT_HINT_OF[s.measure_idx[unk_unit]],
        )
        s.bad |= unk_unit


# --- plausibility ----------------------------------------------------------------------------


def _check_plausibility(s: _Normalising) -> None:
    """Reject values impossible in the canonical unit (analytes.PLAUSIBILITY), suggesting the likely unit."""
    lo = _LOW_OF[s.measure_idx]
    hi = _HIGH_OF[s.measure_idx]
    with np.errstate(invalid="ignore"):
        s.implausible = ~s.bad & ~np.isnan(s.value) & ((s.value < lo) | (s.value > hi))
    if not s.implausible.any():
        return
    idx = np.flatnonzero(s.implausible)
    rv, ru = s.rows["value"].rows(idx), s.unit_cells.rows(idx)
    lab, can = s.label_of(idx), s.unit_combos.canon_of(idx)
    blank_unit = s.unit_combos.blank[s.unit_combos.combo]
    s.problems.add(
        line=s.lines[idx],
        column=s.column_of("value", idx),
        value=cat(rv, np.where(ru != "", " ", ""), ru),
        reason="implausible value",
        message=np.array(
            [
                f"The {lab[j]} result{'' if ru[j] else ' (no unit)'} is outside the possible range "
                f"{lo[i]:g}-{hi[i]:g} {can[j]} once converted."
                for j, i in enumerate(idx)
            ],
            dtype=object,
        ),
        hint=np.array(
            [_unit_hint(_MEASURES[s.measure_idx[i]], s.value_raw[i], ru[j], blank_unit[i]) for j, i in enumerate(idx)],
            dtype=object,
        ),
    )
    s.bad |= s.implausible


@lru_cache(maxsize=65536)
def _unit_hint(measure: str, raw: float, unit_used: str | None, blank: bool) -> str:
    """Suggest the unit under which an implausible value would be plausible."""
    analyte = MEASURE_ANALYTE[measure]
    lo, hi = PLAUSIBLE_RANGE[analyte]
    given = units.unit_key(unit_used)
    for unit, f in units.units_for(measure).items():
        if units.unit_key(unit) == given:
            continue
        if lo <= raw * f <= hi and f != 1.0:
            if blank:
                return f"The value looks like {unit}; add the unit to the export."
            return f"The value looks like {unit}, not the unit given; correct the unit."
    if raw < 0:
        return "A negative result is impossible; check the value in the lab system."
    return "Check the value and its unit in the lab system."


def _check_assumed_units(s: _Normalising) -> None:
    """Withdraw an assumed unit from a whole test when any of its unit-less results is implausible; warn otherwise.

    A unit is assumed per test, not per row: if any unit-less result of this test is implausible in
    the canonical unit (e.g. platelets written per uL), none of its unit-less results is trusted.
    """
    u, label_of = s.unit_combos, s.label_of
    assumed = u.assumed[u.combo]
    doubtful_combo = np.zeros(len(u.measure), dtype=bool)
    doubtful_combo[u.combo[s.implausible & assumed]] = True
    withdrawn = assumed & doubtful_combo[u.combo] & ~s.bad
    if withdrawn.any():
        s.problems.add(
            line=s.lines[withdrawn],
            column=s.column_of("unit", withdrawn),
            value="",
            reason="unknown unit",
            message=cat(
                "The ",
                label_of(withdrawn),
                " result has no unit; other unit-less results of this test in the file are not in ",
                u.canon_of(withdrawn),
                ", so no unit can be assumed.",
            ),
            hint="Add the unit to the export (see the implausible-value rows of this test for the likely one).",
        )
        s.bad |= withdrawn
    warn = assumed & ~s.bad & ~s.row_bad
    if warn.any():
        s.problems.add(
            line=s.lines[warn],
            column=s.column_of("unit", warn),
            value="",
            reason="assumed unit",
            message=cat(
                "The ",
                label_of(warn),
                " result has no unit; read as ",
                u.canon_of(warn),
                ", where the value is plausible.",
            ),
            hint="Add the unit to the export to be certain.",
            severity="warning",
        )


# --- reference range -------------------------------------------------------------------------


def _read_reference_ranges(s: _Normalising) -> None:
    """The lab's own range: a range column (`3.5-5.0`), overridden by separate low/high columns where filled."""
    ref_c, rows = s.rows["ref_range"], s.rows
    comma = s.decimal_comma or decimal_comma(ref_c.uniques, s.delimiter)
    rr = parse_range(ref_c.uniques, decimal_comma=comma)
    s.ref_low = ref_c.take(rr["low"].to_numpy(dtype="float64"))
    s.ref_high = ref_c.take(rr["high"].to_numpy(dtype="float64"))
    if s.cn.get("ref_low"):
        v = parse_number_column(rows["ref_low"], decimal_comma=s.decimal_comma)
        s.ref_low = np.where(np.isnan(v), s.ref_low, v)
    if s.cn.get("ref_high"):
        v = parse_number_column(rows["ref_high"], decimal_comma=s.decimal_comma)
        s.ref_high = np.where(np.isnan(v), s.ref_high, v)
    bad_range = ref_c.where(~rr["ok"].to_numpy(dtype=bool)) & s.keep
    if bad_range.any():
        shown = ref_c.rows(bad_range)
        s.problems.add(
            line=s.lines[bad_range],
            column=s.cn["ref_range"],
            value=shown,
            reason="unreadable reference range",
            message="The reference range could not be read; the default range is used.",
            hint="Write ranges as 3.5-5.0, <150 or >60.",
            severity="warning",
        )


def _range_text(low: float, high: float) -> str:
    if np.isnan(low):
        return f"<{high:g}"
    if np.isnan(high):
        return f">{low:g}"
    return f"{low:g}-{high:g}"


def _drop_ranges_on_another_scale(s: _Normalising) -> None:
    """Drop a range on another scale than its result (Hgb 125 g/L beside "12.0-16.0"), which would mis-grade
    every value: compared, after conversion, with the analyte's usual range; dropped when 5x off."""
    with np.errstate(invalid="ignore", divide="ignore"):
        conv_low, conv_high = s.ref_low * s.factor, s.ref_high * s.factor
        usual_low, usual_high = _USUAL_LOW_OF[s.measure_idx], _USUAL_HIGH_OF[s.measure_idx]
        ratio = np.where(~np.isnan(conv_high) & (usual_high > 0), conv_high / usual_high, conv_low / usual_low)
        off_scale = (
            s.keep & ~np.isnan(ratio) & ((ratio > _RANGE_SCALE_TOLERANCE) | (ratio < 1 / _RANGE_SCALE_TOLERANCE))
        )
    if not off_scale.any():
        return
    idx = np.flatnonzero(off_scale)
    shown = np.array([_range_text(s.ref_low[i], s.ref_high[i]) for i in idx], dtype=object)
    s.problems.add(
        line=s.lines[idx],
        column=s.cn["ref_range"] or s.cn["ref_low"] or s.cn["ref_high"],
        value=shown,
        reason="reference range on another scale",
        message=cat(
            "The reference range does not fit the ",
            s.label_of(idx),
            " result in the unit given (another scale); the default range is used for grading.",
        ),
        hint="Export the range in the same unit as the result.",
        severity="warning",
    )
    s.ref_low = np.where(off_scale, np.nan, s.ref_low)
    s.ref_high = np.where(off_scale, np.nan, s.ref_high)


_CORRECTION_STATUS = r"(?i)correct|amend|revis"


def _same_key_in_one_file(s: _Normalising) -> None:
    """Rows of one (patient, test, collection time) in one file: the last line is current (as the store keeps
    it). An earlier row with the same value is imported once (warning); an earlier row with another value is
    kept as history and warned about, unless the last row's status says it is a correction."""
    idx = np.flatnonzero(s.keep)
    if len(idx) < 2:
        return
    when_code, when_u = pd.factorize(s.when[idx])
    test = s.mrn.codes[idx].astype(np.int64) * (int(s.measure_idx.max(initial=0)) + 1) + s.measure_idx[idx]
    combined = test * max(len(when_u), 1) + when_code  # < 2**63 for any file that fits in memory
    shared = pd.Series(combined).duplicated(keep=False).to_numpy()
    if not shared.any():
        return
    idx, group = idx[shared], pd.factorize(combined[shared])[0]
    rows = pd.DataFrame({"v": np.round(s.value[idx], 9), "line": s.lines[idx], "at": idx})
    last = rows.groupby(group).transform("last")
    earlier = rows["line"].to_numpy() != last["line"].to_numpy()
    same = earlier & (rows["v"].to_numpy() == last["v"].to_numpy())
    corrected = s.rows["status"].uniques.str.contains(_CORRECTION_STATUS, regex=True).to_numpy(dtype=bool)
    announced = corrected[s.rows["status"].codes[last["at"].to_numpy()]]
    # a preliminary result (HL7 OBX-11 P, FHIR preliminary) is expected to be replaced by its final one
    preliminary = s.rows["status"].uniques.str.match(r"(?i)prelim").to_numpy(dtype=bool)
    other = earlier & ~same & ~announced & ~preliminary[s.rows["status"].codes[idx]]
    _report_same_key(s, idx[same], last["line"].to_numpy()[same], idx[other], last["line"].to_numpy()[other])


def _report_same_key(s: _Normalising, repeat: np.ndarray, repeat_last, other: np.ndarray, other_last) -> None:
    s.problems.add(
        line=s.lines[repeat],
        column="",
        value="",
        reason="duplicate row",
        message=cat("Line ", repeat_last, " has the same result (test, collection time and value); imported once."),
        hint="Nothing to fix; the export repeats this result.",
        severity="warning",
    )
    s.keep[repeat] = False
    s.bad[repeat] = True
    s.problems.add(
        line=s.lines[other],
        column=s.column_of("value", other),
        value=s.rows["value"].rows(other),
        reason="conflicting result",
        message=cat(
            "Line ",
            other_last,
            " has another value for the same test, patient and collection time; that later line is the "
            "current result and this one is kept as history.",
        ),
        hint="If this line is the right one, delete the later line (or correct its time) and upload again.",
        severity="warning",
    )


# --- the frames out --------------------------------------------------------------------------


def _flags(s: _Normalising) -> pd.Series:
    """The flag column, else a flag glued to the value (`5.2 H`)."""
    keep, value_c = s.keep, s.rows["value"]
    glued = pd.Series(pd.array(s.parsed["flag"].to_numpy(dtype=object), dtype="str").take(value_c.codes[keep]))
    flag = s.rows["flag"].column(keep, blank_as_na=True).str.strip("() ").str[:8]
    return flag.where(flag.notna(), glued)


def _results(s: _Normalising) -> pd.DataFrame:
    """The accepted rows in the labs contract (vocab.frames.LAB_COLUMNS)."""
    keep, value_c = s.keep, s.rows["value"]
    kept_pairs = s.tests.pair[keep]
    results = pd.DataFrame(
        {
            "mrn": s.mrn.column(keep),
            "collected_at": s.when[keep],
            "analyte": pd.Series(_ANALYTE_OF.take(s.measure_idx[keep]), dtype="str"),
            "value": s.value[keep],
            "unit": pd.Series(pd.array(s.unit_combos.canon, dtype="str").take(s.unit_combos.combo[keep]), dtype="str"),
            "comparator": pd.Series(
                pd.array(s.parsed["comparator"].to_numpy(dtype=object), dtype="str").take(value_c.codes[keep]),
                dtype="str",
            ),
            "raw_value": value_c.column(keep),
            "raw_unit": s.unit_cells.column(keep),
            "raw_name": pd.Series(pd.array(s.tests.label, dtype="str").take(kept_pairs), dtype="str"),
            "loinc": pd.Series(s.tests.loinc.take(kept_pairs), dtype="str"),
            "ref_low": np.round(s.ref_low * s.factor, 9)[keep],
            "ref_high": np.round(s.ref_high * s.factor, 9)[keep],
            "flag": _flags(s).astype("str"),
            "status": s.rows["status"].column(keep, blank_as_na=True),
            "line": s.lines[keep].astype("int64"),
        }
    )
    results["collected_at"] = results["collected_at"].astype("datetime64[us]")
    return results[LAB_COLUMNS]


def _conversions(s: _Normalising) -> pd.DataFrame:
    """How many accepted results each (analyte, unit as read) conversion carried, with its factor."""
    u = s.unit_combos
    counts = np.bincount(u.combo[s.keep], minlength=len(u.measure))
    used = counts > 0
    conversions = pd.DataFrame(
        {
            "analyte": pd.array([str(_ANALYTE_OF[m]) for m in u.measure[used]], dtype="str"),
            "raw_unit": pd.array(list(u.used[used]), dtype="str"),
            "unit": pd.array(list(u.canon[used]), dtype="str"),
            "factor": u.factor[used],
            "count": counts[used].astype("int64"),
        }
    )
    return conversions.groupby(["analyte", "raw_unit", "unit", "factor"], sort=True)["count"].sum().reset_index()
