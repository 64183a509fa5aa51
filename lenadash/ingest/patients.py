"""The patients reader: patients.csv (one row per treatment course) to the patients contract."""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import pandas as pd

from lenadash.ingest.coded import Coded
from lenadash.ingest.dates import birth_dates, today
from lenadash.ingest.sheets import Sheet, TableImport, as_dates, none_for_missing
from lenadash.ingest.values import parse_values
from lenadash.vocab.course import (
    CAPSULE_MG,
    DEFAULT_COMBINATION,
    DEFAULT_SCHEDULE,
    INDICATIONS,
    SCHEDULES,
)
from lenadash.vocab.frames import PATIENT_COLUMNS, field_words

_REQUIRED = ("mrn", "sex", "birth_date", "indication", "start_date", "starting_dose_mg")
_INDICATION_ALIASES: dict[str, str] = {
    **{code.lower(): code for code in INDICATIONS},
    "mm maint": "MM_MAINT",
    "mm maintenance": "MM_MAINT",
    "maintenance": "MM_MAINT",
    "mm-maint": "MM_MAINT",
    "multiple myeloma": "MM",
    "myeloma": "MM",
    "mds del(5q)": "MDS",
    "del(5q) mds": "MDS",
    "del5q mds": "MDS",
    "mantle cell lymphoma": "MCL",
    "follicular lymphoma": "FL",
    "marginal zone lymphoma": "MZL",
}
_SCHEDULE_ALIASES = {
    "21/28": "21/28",
    "28/28": "28/28",
    "21 of 28": "21/28",
    "d1-21": "21/28",
    "days 1-21": "21/28",
    "21/7": "21/28",
    "continuous": "28/28",
    "daily": "28/28",
    "28 of 28": "28/28",
}
_YES = {"yes", "y", "true", "1", "ja", "oui", "x"}
_NO = {"no", "n", "false", "0", "nein", "non", ""}
_SEX = {
    "f": "F",
    "female": "F",
    "w": "F",
    "weiblich": "F",
    "femme": "F",
    "m": "M",
    "male": "M",
    "männlich": "M",
    "maennlich": "M",
    "homme": "M",
}
_MAX_WEIGHT_KG = 500  # above any adult's weight: a typo or another unit
_CAPSULES_TEXT = ", ".join(f"{mg:g}" for mg in CAPSULE_MG[:-1]) + f" or {CAPSULE_MG[-1]:g}"  # "2.5, 5, ... or 25"
_SCHEDULES_TEXT = " or ".join(SCHEDULES)


def read_patients(data: bytes | BinaryIO, *, file_name: str = "") -> TableImport:
    """Read patients.csv (one row per treatment course) into the patients contract.

    Fields are validated against DOMAIN.md §1 (indications, capsule strengths, schedules);
    blank optional fields take the defaults in docs/architecture.md. None in combination/menses
    means "not given". Raises UnrecognisedFile when required columns are missing.
    """
    sheet = Sheet.read(data, file_name=file_name, kind="patients", fields=tuple(PATIENT_COLUMNS), required=_REQUIRED)
    mrn = sheet["mrn"]
    sheet.check(
        mrn,
        mrn.uniques != "",
        name="mrn",
        reason="missing patient",
        message="The row has no MRN.",
        hint="Fill in the MRN or delete the row.",
    )
    sheet.check_text()
    sex = _sex(sheet)
    birth = sheet.dates(sheet["birth_date"], name="birth_date", plausible=birth_dates(today()))
    start_c = sheet["start_date"]
    start = sheet.dates(start_c, name="start_date")
    weight = _weight_kg(sheet)
    indication = _indication(sheet)
    dose = _starting_dose_mg(sheet)
    schedule = _schedule(sheet, indication)
    combination = _combination(sheet, indication)
    flags = {name: _yes_no(sheet, name) for name in ("reproductive_potential", "dialysis")}
    menses = _menses(sheet)
    _reject_start_before_birth(sheet, birth, start, start_c)
    rows = pd.DataFrame(
        {
            "mrn": mrn.column(slice(None)),
            "name": sheet["name"].column(slice(None)),
            "sex": sex,
            "birth_date": as_dates(birth),
            "weight_kg": weight,
            "indication": indication,
            "start_date": as_dates(start),
            "starting_dose_mg": dose,
            "schedule": schedule,
            "combination": combination,
            "reproductive_potential": flags["reproductive_potential"],
            "menses": menses,
            "dialysis": flags["dialysis"],
            "line": sheet.lines,
        }
    )
    _reject_repeated_courses(sheet, rows, start_c)
    return sheet.result(_contract_types(rows.loc[~sheet.bad].reset_index(drop=True)))


def _sex(sheet: Sheet) -> np.ndarray:
    sex_c = sheet["sex"]
    sex_u = sex_c.uniques.str.lower().map(_SEX)
    sheet.check(
        sex_c,
        sex_u.notna(),
        name="sex",
        reason="invalid sex",
        message="The sex is not F or M.",
        hint="Write F or M (needed for creatinine clearance and REMS pregnancy testing).",
    )
    return sex_c.take(sex_u.to_numpy(dtype=object))


def _weight_kg(sheet: Sheet) -> np.ndarray:
    """Weight in kg (`72,5` and `72.5 kg` read too); NaN when blank."""
    weight_c = sheet["weight_kg"]
    wv = parse_values(weight_c.uniques.str.replace(r"\s*kg$", "", regex=True), decimal_comma=True)
    w_ok = (weight_c.uniques == "") | (
        wv["value"].between(0, _MAX_WEIGHT_KG, inclusive="neither") & (wv["comparator"] == "")
    )
    sheet.check(
        weight_c,
        w_ok,
        name="weight_kg",
        reason="invalid weight",
        message="The weight is not a number of kg.",
        hint="Enter the weight in kg, e.g. 72.5 (leave blank if unknown).",
    )
    return weight_c.take(wv["value"].where(w_ok & (weight_c.uniques != "")).to_numpy(dtype="float64"))


def _indication(sheet: Sheet) -> np.ndarray:
    """The indication code (vocab.course.INDICATIONS), from the code or a common name."""
    return sheet.choice("indication", _INDICATION_ALIASES, INDICATIONS, reason="unknown indication")


def _starting_dose_mg(sheet: Sheet) -> np.ndarray:
    dose_c = sheet["starting_dose_mg"]
    dv = parse_values(dose_c.uniques.str.replace(r"\s*mg$", "", regex=True, case=False), decimal_comma=True)
    d_ok = dv["value"].isin(CAPSULE_MG) & (dv["comparator"] == "")
    sheet.check(
        dose_c,
        d_ok,
        name="starting_dose_mg",
        reason="invalid dose",
        message="The starting dose is not a capsule strength.",
        hint=f"Use a capsule strength in mg: {_CAPSULES_TEXT}.",
    )
    return dose_c.take(dv["value"].to_numpy(dtype="float64"))


def _schedule(sheet: Sheet, indication: np.ndarray) -> np.ndarray:
    """The schedule key; blank takes the indication's default (vocab.course.DEFAULT_SCHEDULE)."""
    sched_c = sheet["schedule"]
    sched_u = (
        sched_c.uniques.str.lower()
        .str.replace(" ", "", regex=False)
        .map(lambda s: _SCHEDULE_ALIASES.get(s) or _SCHEDULE_ALIASES.get(s.replace("of", " of ")))
    )
    sched_u = sched_u.mask(sched_c.uniques == "", "")  # blank: the indication's default, below
    sheet.check(
        sched_c,
        sched_u.notna(),
        name="schedule",
        reason="invalid schedule",
        message=f"The schedule is not {_SCHEDULES_TEXT}.",
        hint="Write 21/28 (days 1-21 of 28) or 28/28 (continuous), or leave blank for the indication's default.",
    )
    schedule = sched_c.take(sched_u.fillna("").to_numpy(dtype=object))
    return np.where(schedule == "", [DEFAULT_SCHEDULE.get(i, "") if i else "" for i in indication], schedule)


def _combination(sheet: Sheet, indication: np.ndarray) -> np.ndarray:
    """The combination partner as written; blank takes the indication's default (None when it has none)."""
    comb_c = sheet["combination"]
    combination = comb_c.take(comb_c.uniques.to_numpy(dtype=object))
    defaults = np.array([DEFAULT_COMBINATION.get(i) if i else None for i in indication], dtype=object)
    return np.where(combination == "", defaults, combination)


def _yes_no(sheet: Sheet, name: str) -> np.ndarray:
    """True for yes; blank means no."""
    c = sheet[name]
    low = c.uniques.str.lower()
    sheet.check(
        c,
        low.isin(_YES | _NO),
        name=name,
        reason="invalid value",
        message=f"The {field_words(name)} value is not yes or no.",
        hint="Write yes or no (blank means no).",
    )
    return c.where(low.isin(_YES))


def _menses(sheet: Sheet) -> np.ndarray:
    men_c = sheet["menses"]
    men_u = men_c.uniques.str.lower()
    sheet.check(
        men_c,
        men_u.isin(["regular", "irregular", ""]),
        name="menses",
        reason="invalid value",
        message="The menses value is not regular or irregular.",
        hint="Write regular or irregular (REMS test interval), or leave blank.",
    )
    return men_c.take(men_u.where(men_u != "").to_numpy(dtype=object))


def _reject_start_before_birth(sheet: Sheet, birth: np.ndarray, start: np.ndarray, start_c: Coded) -> None:
    with np.errstate(invalid="ignore"):
        before = ~np.isnat(birth) & ~np.isnat(start) & (start < birth)
    if before.any():
        sheet.problems.add(
            line=sheet.lines[before],
            column=sheet.col("start_date"),
            value=start_c.rows(before),
            reason="start before birth",
            message="The start date is before the birth date.",
            hint="Check both dates (US files: MM/DD/YYYY).",
        )
        sheet.bad |= before


def _reject_repeated_courses(sheet: Sheet, rows: pd.DataFrame, start_c: Coded) -> None:
    """The same course (MRN, start date, indication) twice: exact repeats collapse, conflicting ones are rejected."""
    key = rows["mrn"].astype(str) + "|" + rows["start_date"].astype(str) + "|" + rows["indication"].astype(str)
    dup_key = key.duplicated(keep="first").to_numpy() & ~sheet.bad
    if not dup_key.any():
        return
    same = rows.drop(columns="line").astype(str).duplicated(keep="first").to_numpy()
    exact = dup_key & same
    conflict = dup_key & ~same
    if exact.any():
        sheet.problems.add(
            line=sheet.lines[exact],
            column="",
            value="",
            reason="duplicate row",
            message="The same course appears twice; imported once.",
            hint="Nothing to fix.",
            severity="warning",
        )
    if conflict.any():
        sheet.problems.add(
            line=sheet.lines[conflict],
            column=sheet.col("start_date"),
            value=start_c.rows(conflict),
            reason="duplicate course",
            message="Another row has the same MRN, indication and start date with different details.",
            hint="Keep one row per course; delete or correct the other.",
        )
    sheet.bad |= dup_key


def _contract_types(rows: pd.DataFrame) -> pd.DataFrame:
    for c in ("mrn", "name", "indication", "schedule"):
        rows[c] = rows[c].astype("str")
    for c in ("sex", "combination", "menses", "birth_date", "start_date"):
        rows[c] = none_for_missing(rows[c])
    for c in ("weight_kg", "starting_dose_mg"):
        rows[c] = rows[c].astype("float64")
    for c in ("reproductive_potential", "dialysis"):
        rows[c] = rows[c].astype(bool)
    return rows[PATIENT_COLUMNS + ["line"]]
