"""Column roles: which file column is the patient, the date, the test, the result, ... in any common export."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lenadash.errors import UnrecognisedFile
from lenadash.ingest.dates import dates_of
from lenadash.vocab import units
from lenadash.vocab.frames import PATIENT_OPTIONAL, PATIENT_REQUIRED

# --- lab file columns ------------------------------------------------------------------------
# File column names (folded by col_key) -> role. Sources: Epic Clarity/Cerner result extracts,
# HL7 v2 OBX field names, FHIR Observation flattened paths, and hand-made spreadsheets.

ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "mrn": (
        "mrn",
        "patient id",
        "pid",
        "patientid",
        "patient mrn",
        "medical record number",
        "mrn number",
        "patient number",
        "pat id",
        "subject",
        "subject reference",
        "patient identifier",
        "patienten id",
        "patientennummer",
        "record number",
        "hospital number",
        "patient reference",
        "person id",
    ),
    "datetime": (
        "collection date time",
        "collection datetime",
        "collected",
        "collected at",
        "specimen taken",
        "collection date",
        "sample date",
        "effectivedatetime",
        "effective datetime",
        "effective date time",
        "draw date",
        "drawn",
        "specimen collected",
        "collected date",
        "collection dt",
        "specimen date",
        "specimen collection date",
        "observation date",
        "observation datetime",
        "obx 14",
        "datetime",
        "date time",
        "sample taken",
        "sample collected",
        "abnahmedatum",
        "entnahmedatum",
        "abnahme",
        "date prelevement",
        "afnamedatum",
        "result date",
        "date collected",
        "date",
        "draw datetime",
        "datum",
        "datum afname",
        "date de prelevement",
        "fecha",
        "sample datetime",
        "specimen datetime",
        "taken",
    ),
    "time": ("time", "collection time", "sample time", "draw time", "uhrzeit", "abnahmezeit", "heure"),
    "name": (
        "component",
        "test",
        "test name",
        "analyte",
        "component name",
        "test description",
        "observation",
        "code text",
        "code display",
        "code coding 0 display",
        "code coding display",
        "lab test",
        "parameter",
        "result name",
        "obx 3",
        "analysis",
        "analyse",
        "untersuchung",
        "examen",
        "bepaling",
        "item",
        "lab component",
        "test code",
        "component id",
    ),
    "loinc": ("loinc", "loinc code", "code", "loinc num", "code coding 0 code", "code coding code", "loinc id"),
    "value": (
        "result",
        "value",
        "valuequantity value",
        "result value",
        "observation value",
        "obx 5",
        "wert",
        "ergebnis",
        "resultat",
        "résultat",
        "uitslag",
        "numeric result",
        "value numeric",
        "result text",
    ),
    "unit": (
        "units",
        "unit",
        "uom",
        "valuequantity unit",
        "valuequantity code",
        "result unit",
        "einheit",
        "unite",
        "unité",
        "eenheid",
        "obx 6",
        "result units",
        "reference unit",
    ),
    "ref_range": (
        "reference range",
        "ref range",
        "reference interval",
        "normal range",
        "range",
        "referenzbereich",
        "norm",
        "normbereich",
        "referencerange text",
        "reference",
        "ref interval",
        "obx 7",
        "normal values",
        "valeurs de reference",
        "referentiewaarden",
    ),
    "ref_low": (
        "ref low",
        "low",
        "reference low",
        "normal low",
        "referencerange low value",
        "referencerange 0 low value",
        "lower limit",
        "ref lower",
        "low normal",
        "range low",
        "ref min",
        "untere grenze",
    ),
    "ref_high": (
        "ref high",
        "high",
        "reference high",
        "normal high",
        "referencerange high value",
        "referencerange 0 high value",
        "upper limit",
        "ref upper",
        "high normal",
        "range high",
        "ref max",
        "obere grenze",
    ),
    "flag": (
        "flag",
        "abnormal flag",
        "abnormal",
        "interpretation",
        "abn flag",
        "result flag",
        "abnormal flags",
        "interpretation code",
        "obx 8",
        "flags",
    ),
    "status": ("result status", "status", "observation status", "obx 11", "resultstatus"),
    # never stored; recognised so that a wide file does not report them as unknown tests
    "ignored": (
        "patient name",
        "name",
        "first name",
        "last name",
        "given name",
        "family name",
        "surname",
        "dob",
        "birth date",
        "date of birth",
        "sex",
        "gender",
        "age",
        "comment",
        "comments",
        "note",
        "notes",
        "order id",
        "order number",
        "accession",
        "accession number",
        "specimen",
        "specimen id",
        "location",
        "ordering provider",
        "provider",
        "department",
        "encounter",
        "visit",
        "lab",
        "performing lab",
        "panel",
        "order",
        "source",
        "resulted",
        "result time",
        "verified",
        "id",
        "row",
        "#",
    ),
}
_ROLE_OF: dict[str, str] = {name: role for role, names in ROLE_NAMES.items() for name in names}
KNOWN_UNIT_KEYS = frozenset(key[1] for key in units.FACTORS)
_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*(?:[\(\[](?P<unit>[^\)\]]*)[\)\]]|,\s*(?P<unit2>[^,]+))\s*$")


def col_key(name: str) -> str:
    """A column name folded for lookup: lower case, no BOM, brackets and `_-./:` as single spaces."""
    s = str(name).replace("\ufeff", "").strip().lower()
    s = re.sub(r"[\[\]]", " ", s)
    s = re.sub(r"[_\-./:]+", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def is_known_unit(text: str) -> bool:
    return units.unit_key(text) in KNOWN_UNIT_KEYS


def split_header(header: str) -> tuple[str, str]:
    """Split a wide-file header such as `Hb (g/L)`, `PLT [10^9/L]` or `WBC, K/uL` into (name, unit).

    The bracketed or comma part counts as a unit only when it is a known unit spelling (or `%`);
    so `Neutrophils, absolute` and `Lymphocytes (abs)` stay whole names.
    """
    text = str(header).strip()
    m = _HEADER_UNIT.match(text)
    if m and m.group("name"):
        unit = ((m.group("unit") if m.group("unit") is not None else m.group("unit2")) or "").strip()
        if is_known_unit(unit) or unit == "%" or not unit:
            return m.group("name").strip(), unit
    return text, ""


def map_columns(columns: list[str]) -> dict[str, str]:
    """file column -> role. When several columns fit one role, the name listed first in
    ROLE_NAMES wins (so `Collection Date` beats `Result Date`), then the leftmost column."""
    best: dict[str, tuple[int, int, str]] = {}
    mapping: dict[str, str] = {}
    for position, col in enumerate(columns):
        key = col_key(col)
        role = _ROLE_OF.get(key)
        if role is None:
            continue
        if role == "ignored":
            mapping[col] = role
            continue
        rank = (ROLE_NAMES[role].index(key), position, col)
        if role not in best or rank < best[role]:
            best[role] = rank
    for role, (_, _, col) in best.items():
        mapping[col] = role
    return {col: mapping[col] for col in columns if col in mapping}


def expected_message(kind: str) -> str:
    """What lenadash expects of a `labs`, `patients` or `events` file, for the UnrecognisedFile message."""
    if kind == "labs":
        return (
            "expected a patient column (MRN / Patient ID), a collection date (Collected / Collection Date/Time "
            "/ collected_at / effectiveDateTime), and either test + result columns (Component / Test / "
            "analyte / LOINC, Result / Value, optional Units, Reference Range) for one row per result, or one "
            "column per test (WBC, ANC, Hgb, PLT, ... with the unit in the header, e.g. `Hb (g/L)`) for one "
            "row per draw"
        )
    if kind == "patients":
        return "expected columns: " + ", ".join(PATIENT_REQUIRED) + " (optional: " + ", ".join(PATIENT_OPTIONAL) + ")"
    return "expected columns: mrn, date, event, value (optional: detail)"


# --- patients and events file columns --------------------------------------------------------

# file column (folded by col_key) -> field; the contract names themselves are always accepted
_TABLE_COLUMN_ALIASES: dict[str, str] = {
    "patient id": "mrn",
    "pid": "mrn",
    "patientid": "mrn",
    "patient mrn": "mrn",
    "medical record number": "mrn",
    "patient name": "name",
    "full name": "name",
    "gender": "sex",
    "dob": "birth_date",
    "date of birth": "birth_date",
    "birth date": "birth_date",
    "birthdate": "birth_date",
    "weight": "weight_kg",
    "weight kg": "weight_kg",
    "weight (kg)": "weight_kg",
    "body weight": "weight_kg",
    "diagnosis": "indication",
    "start date": "start_date",
    "start": "start_date",
    "treatment start": "start_date",
    "course start": "start_date",
    "starting dose": "starting_dose_mg",
    "starting dose mg": "starting_dose_mg",
    "dose mg": "starting_dose_mg",
    "starting dose (mg)": "starting_dose_mg",
    "start dose": "starting_dose_mg",
    "dose": "starting_dose_mg",
    "reproductive potential": "reproductive_potential",
    "frcp": "reproductive_potential",
    "event date": "date",
    "event type": "event",
    "kind": "event",
    "type": "event",
    "result": "value",
    "details": "detail",
    "comment": "detail",
    "note": "detail",
    "notes": "detail",
}

EVENT_FIELDS = ("mrn", "date", "event", "value", "detail")


def table_columns(df: pd.DataFrame, fields: tuple[str, ...]) -> dict[str, str]:
    """field -> file column, by contract name or alias (first match wins)."""
    found: dict[str, str] = {}
    for col in df.columns:
        key = col_key(col)
        fld = key.replace(" ", "_") if key.replace(" ", "_") in fields else _TABLE_COLUMN_ALIASES.get(key)
        if fld in fields and fld not in found:
            found[fld] = col
    return found


_NUMBER = re.compile(r"^[<>]?=?\s*[-+]?\d+(?:[.,]\d+)?$")


def _looks_like_data(columns: list[str]) -> bool:
    """A "header" with a date or a number in it is a data row (the file has no header row)."""
    names = pd.Series(columns, dtype="str").fillna("").str.strip()
    if names.str.match(_NUMBER).any():
        return True
    return bool((~np.isnat(dates_of(names)[0])).any())


def columns_found(columns, *, header_seen: bool, known=()) -> str:
    """The file's columns for a refusal message.

    Without a recognised patient or date column, and with a date or a number among the names, the header
    row is missing and the "names" would be the first row's patient data: then only lenadash's own words
    among them (`known`: a test name) are shown and the others counted.
    """
    columns = list(columns)
    if not columns:
        return "none"
    if header_seen or not _looks_like_data(columns):
        return ", ".join(f"'{c}'" for c in columns)
    shown = [c for c in columns if c in set(known)]
    hidden = len(columns) - len(shown)
    text = ", ".join(f"'{c}'" for c in shown)
    return (text + " and " if text else "") + (
        f"{hidden} not recognised (not shown: without a header row they would be the first row's patient data)"
    )


def require(found: dict[str, str], required: tuple[str, ...], df: pd.DataFrame, kind: str, file_name: str) -> None:
    """Raise UnrecognisedFile naming the missing required fields, the columns found and those expected."""
    missing = [f for f in required if f not in found]
    if missing:
        cols = columns_found(df.columns, header_seen="mrn" in found, known=found.values())
        raise UnrecognisedFile(
            f"The {kind} file {file_name + ' ' if file_name else ''}lacks the column(s) {', '.join(missing)}. "
            f"Columns found: {cols}; lenadash {expected_message(kind)}. Add or rename the columns and upload again."
        )
