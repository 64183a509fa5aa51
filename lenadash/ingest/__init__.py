"""Lab, patient and event file import: bytes in, canonical DataFrames and a table of problems out."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import BinaryIO

import numpy as np
import pandas as pd

from lenadash.vocab import units
from lenadash.vocab.analytes import MEASURE_ANALYTE, PLAUSIBLE_RANGE, USUAL_RANGE
from lenadash.vocab.course import EVENT_KINDS, INDICATIONS
from lenadash.errors import UnrecognisedFile  # noqa: F401  (re-exported)

PROBLEM_COLUMNS = ["file", "line", "column", "value", "reason", "message", "hint", "severity"]
LAB_COLUMNS = [
    "mrn", "collected_at", "analyte", "value", "unit", "comparator", "raw_value", "raw_unit", "raw_name",
    "loinc", "ref_low", "ref_high", "flag", "status", "line",
]


# Every problem reason the importer reports (stable keys; docs/import.md explains each with its fix).
REASONS: dict[str, str] = {
    "missing patient": "the row has no MRN",
    "unreadable date": "a date that cannot be read, or none",
    "ambiguous date": "slash dates read as US MM/DD/YYYY because no day above 12 decides (warning)",
    "non-numeric result": "a text result, or Epic's 9999999 placeholder for one",
    "no result": "cancelled / not performed / empty result, or a cancelled / entered-in-error status",
    "unknown unit": "a unit not known for the test, or no unit where the test name does not tell",
    "unknown analyte": "a test that is not one of the 19 lenadash tracks (e.g. MCV)",
    "percentage, not a count": "a differential percentage (Neutrophils %) instead of an absolute count",
    "implausible value": "a value impossible in its unit (e.g. PLT 150000 without a unit, Hgb 125 g/dL)",
    "assumed unit": "no unit given; the canonical unit was assumed because the value is plausible (warning)",
    "unreadable reference range": "a reference range that cannot be read; the default range is used (warning)",
    "reference range on another scale": "a range that does not fit the result's unit (e.g. g/dL range beside g/L); "
                                        "the default range is used (warning)",
    "duplicate row": "an exact repeat of an earlier row; imported once (warning)",
    "malformed row": "a row with more fields than the header (an unquoted delimiter inside a value)",
    "invalid sex": "patients: sex is not F or M",
    "invalid weight": "patients: weight is not a number of kg",
    "unknown indication": "patients: indication is not MM, MM_MAINT, MDS, MCL, FL or MZL",
    "invalid dose": "patients: starting dose is not a capsule strength",
    "invalid schedule": "patients: schedule is not 21/28 or 28/28",
    "invalid value": "patients/events: a yes/no, menses or event value that cannot be read",
    "start before birth": "patients: the start date is before the birth date",
    "duplicate course": "patients: the same MRN, indication and start date twice with different details",
    "unknown event": "events: the event is not one of models.EVENT_KINDS",
}


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


@dataclass
class TableImport:
    rows: pd.DataFrame
    problems: pd.DataFrame
    rows_read: int
    column_map: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8"


# --- column roles ----------------------------------------------------------------------------
# File column names (folded by _col_key) -> role. Sources: Epic Clarity/Cerner result extracts,
# HL7 v2 OBX field names, FHIR Observation flattened paths, and hand-made spreadsheets.

_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "mrn": (
        "mrn", "patient id", "pid", "patientid", "patient mrn", "medical record number", "mrn number",
        "patient number", "pat id", "subject", "subject reference", "patient identifier", "patienten id",
        "patientennummer", "record number", "hospital number", "patient reference", "person id",
    ),
    "datetime": (
        "collection date time", "collection datetime", "collected", "collected at", "specimen taken",
        "collection date", "sample date", "effectivedatetime", "effective datetime", "effective date time",
        "draw date", "drawn", "specimen collected", "collected date", "collection dt", "specimen date",
        "specimen collection date", "observation date", "observation datetime", "obx 14", "datetime",
        "date time", "sample taken", "sample collected", "abnahmedatum", "entnahmedatum", "abnahme",
        "date prelevement", "afnamedatum", "result date", "date collected", "date", "draw datetime", "datum",
        "datum afname", "date de prelevement", "fecha", "sample datetime", "specimen datetime", "taken",
    ),
    "time": ("time", "collection time", "sample time", "draw time", "uhrzeit", "abnahmezeit", "heure"),
    "name": (
        "component", "test", "test name", "analyte", "component name", "test description", "observation",
        "code text", "code display", "code coding 0 display", "code coding display", "lab test", "parameter",
        "result name", "obx 3", "analysis", "analyse", "untersuchung", "examen", "bepaling", "item",
        "lab component", "test code", "component id",
    ),
    "loinc": ("loinc", "loinc code", "code", "loinc num", "code coding 0 code", "code coding code", "loinc id"),
    "value": (
        "result", "value", "valuequantity value", "result value", "observation value", "obx 5", "wert",
        "ergebnis", "resultat", "résultat", "uitslag", "numeric result", "value numeric", "result text",
    ),
    "unit": (
        "units", "unit", "uom", "valuequantity unit", "valuequantity code", "result unit", "einheit",
        "unite", "unité", "eenheid", "obx 6", "result units", "reference unit",
    ),
    "ref_range": (
        "reference range", "ref range", "reference interval", "normal range", "range", "referenzbereich",
        "norm", "normbereich", "referencerange text", "reference", "ref interval", "obx 7", "normal values",
        "valeurs de reference", "referentiewaarden",
    ),
    "ref_low": (
        "ref low", "low", "reference low", "normal low", "referencerange low value", "referencerange 0 low value",
        "lower limit", "ref lower", "low normal", "range low", "ref min", "untere grenze",
    ),
    "ref_high": (
        "ref high", "high", "reference high", "normal high", "referencerange high value",
        "referencerange 0 high value", "upper limit", "ref upper", "high normal", "range high", "ref max",
        "obere grenze",
    ),
    "flag": ("flag", "abnormal flag", "abnormal", "interpretation", "abn flag", "result flag", "abnormal flags",
             "interpretation code", "obx 8", "flags"),
    "status": ("result status", "status", "observation status", "obx 11", "resultstatus"),
    # never stored; recognised so that a wide file does not report them as unknown tests
    "ignored": (
        "patient name", "name", "first name", "last name", "given name", "family name", "surname",
        "dob", "birth date", "date of birth", "sex", "gender", "age", "comment", "comments", "note", "notes",
        "order id", "order number", "accession", "accession number", "specimen", "specimen id",
        "location", "ordering provider", "provider", "department", "encounter", "visit", "lab", "performing lab",
        "panel", "order", "source", "resulted", "result time", "verified", "id", "row", "#",
    ),
}
_ROLE_OF: dict[str, str] = {name: role for role, names in _ROLE_NAMES.items() for name in names}


def _col_key(name: str) -> str:
    s = str(name).replace("\ufeff", "").strip().lower()
    s = re.sub(r"[\[\]]", " ", s)
    s = re.sub(r"[_\-./:]+", " ", s)
    return re.sub(r"\s+", " ", s).strip()


_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*(?:[\(\[](?P<unit>[^\)\]]*)[\)\]]|,\s*(?P<unit2>[^,]+))\s*$")


def _split_header(header: str) -> tuple[str, str]:
    """Split a wide-file header such as `Hb (g/L)`, `PLT [10^9/L]` or `WBC, K/uL` into (name, unit).

    The bracketed or comma part counts as a unit only when it is a known unit spelling (or `%`);
    so `Neutrophils, absolute` and `Lymphocytes (abs)` stay whole names.
    """
    text = str(header).strip()
    m = _HEADER_UNIT.match(text)
    if m and m.group("name"):
        unit = ((m.group("unit") if m.group("unit") is not None else m.group("unit2")) or "").strip()
        if units.unit_key(unit) in _KNOWN_UNIT_KEYS or unit == "%" or not unit:
            return m.group("name").strip(), unit
    return text, ""


_KNOWN_UNIT_KEYS = frozenset(key[1] for key in units.FACTORS)


# --- reading bytes ---------------------------------------------------------------------------


def as_bytes(data: bytes | BinaryIO | str) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    if hasattr(data, "getvalue"):
        return data.getvalue()
    if hasattr(data, "seek"):
        data.seek(0)
    return data.read()


def _decode(data: bytes) -> tuple[bytes, str, str]:
    """Return (utf-8 bytes for the parser, encoding name as reported, decoded text head)."""
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            text = data.decode(enc)
            return text.encode("utf-8"), enc, text[:65536]
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        enc = "utf-8-sig"
    else:
        enc = "utf-8"
    try:
        data.decode("utf-8")
        return data, enc, data[:65536].decode("utf-8", errors="ignore")
    except UnicodeDecodeError:
        # Windows-1252 exports (e.g. `µmol/L`, `×10^9/L`); latin-1 if cp1252 leaves bytes undefined
        try:
            text = data.decode("cp1252")
            enc = "cp1252"
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            enc = "latin-1"
        return text.encode("utf-8"), enc, text[:65536]


def _sniff(head: str) -> tuple[str, int]:
    """Pick the delimiter and the header's physical line index (0-based) from the file's head.

    The header is the first record with at least as many fields as most records (so a title line
    above the header is skipped); the delimiter is the one that splits the most records alike.
    """
    if len(head) >= 65536 and "\n" in head:
        head = head[: head.rfind("\n") + 1]  # the last line of the head may be cut
    best: tuple[tuple[int, int, int], str, int] | None = None
    for delim in (",", ";", "\t", "|"):
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=delim)
        records: list[tuple[int, int]] = []  # (field count, physical line index where the record starts)
        start = 0
        try:
            for row in reader:
                records.append((len(row) if any(c.strip() for c in row) else 0, start))
                start = reader.line_num
                if len(records) >= 40:
                    break
        except csv.Error:
            continue
        nonblank = [c for c, _ in records if c > 0]
        if not nonblank:
            continue
        modal = max(set(nonblank), key=nonblank.count)
        if modal < 2:
            continue
        header = next((i for i, (c, _) in enumerate(records) if c >= modal), 0)
        score = (nonblank.count(modal), modal, -header)
        if best is None or score > best[0]:
            best = (score, delim, records[header][1])
    if best is None:
        lines = head.split("\n")
        return ",", next((i for i, line in enumerate(lines) if line.strip()), 0)
    return best[1], best[2]


_NOT_CSV = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)"),
    (b"%PDF", "a PDF document"),
)
_BLANK_LINE = re.compile(rb"\n[ \t,;|]*\r?\n")


@dataclass
class _Table:
    df: pd.DataFrame  # every column str, blank lines removed
    lines: np.ndarray  # physical line of each row (1-based)
    delimiter: str
    encoding: str
    header_line: int  # physical line of the header (1-based)
    malformed: list[tuple[int, int]] = field(default_factory=list)  # (line, fields) of over-long rows
    header_fields: int = 0


def _read_table(data: bytes | BinaryIO | str, *, file_name: str) -> _Table:
    raw = as_bytes(data)
    if not raw.strip():
        raise UnrecognisedFile(f"{file_name or 'the file'} is empty. Export the results as CSV and upload again.")
    for magic, kind in _NOT_CSV:
        if raw.startswith(magic):
            raise UnrecognisedFile(
                f"{file_name or 'The file'} is {kind}, not a CSV/text export. Open it and save it as CSV "
                "(comma- or semicolon-separated), then upload the CSV."
            )
    utf8, encoding, head = _decode(raw)
    delimiter, header_idx = _sniff(head)
    df = None
    if not _BLANK_LINE.search(utf8):
        # the multithreaded Arrow parser (fast, no Python object per cell); it skips blank lines and
        # rejects ragged rows, so files with those take the C parser below, which keeps line numbers
        try:
            df = pd.read_csv(io.BytesIO(utf8), sep=delimiter, dtype=str, keep_default_na=False, na_values=[],
                             skiprows=header_idx, encoding="utf-8", engine="pyarrow")
        except (pd.errors.ParserError, ValueError, TypeError):
            df = None
    if df is None:
        try:
            df = pd.read_csv(
                io.BytesIO(utf8), sep=delimiter, dtype=str, na_filter=False, keep_default_na=False,
                skip_blank_lines=False, skiprows=header_idx, encoding="utf-8", index_col=False, engine="c",
            )
        except pd.errors.ParserError:
            # rows with more fields than the header (e.g. an unquoted comma in a name): read record by
            # record so that those rows are reported and the others imported
            return _read_records(utf8, delimiter, header_idx, encoding, file_name)
        except (pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise UnrecognisedFile(
                f"{file_name or 'The file'} could not be read as a table ({exc}). Export it as CSV and upload again."
            ) from exc
    df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    n = len(df)
    physical = utf8.count(b"\n") + (0 if utf8.endswith(b"\n") else 1)
    if physical - header_idx - 1 == n or (physical - header_idx - 1 == n + 1 and utf8.endswith(b"\n\n")):
        lines = np.arange(header_idx + 2, header_idx + 2 + n, dtype=np.int64)
    else:  # quoted values spanning lines, or bare CR line ends: count records the slow way (rare)
        starts: list[int] = []
        try:
            reader = csv.reader(io.StringIO(utf8.decode("utf-8"), newline=""), delimiter=delimiter)
            previous = 0
            for _ in reader:
                starts.append(previous + 1)
                previous = reader.line_num
        except csv.Error:
            starts = []
        data_starts = [line for line in starts if line > header_idx + 1]
        if len(data_starts) < n:
            data_starts = list(range(header_idx + 2, header_idx + 2 + n))
        lines = np.asarray(data_starts[:n], dtype=np.int64)
    if n and _BLANK_LINE.search(utf8):
        blank = np.ones(n, dtype=bool)
        for col in df.columns:
            blank &= (df[col].str.strip() == "").to_numpy(dtype=bool, na_value=True)
        if blank.any():
            df = df.loc[~blank].reset_index(drop=True)
            lines = lines[~blank]
    return _Table(df, lines, delimiter, encoding, header_idx + 1)


def _read_records(utf8: bytes, delimiter: str, header_idx: int, encoding: str, file_name: str) -> _Table:
    """Slow, forgiving reader for ragged files: long rows become `malformed row` problems."""
    reader = csv.reader(io.StringIO(utf8.decode("utf-8"), newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    malformed: list[tuple[int, int]] = []
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if start <= header_idx:
                continue
            if header is None:
                header = [c.replace("\ufeff", "").strip() for c in record]
                continue
            if not any(c.strip() for c in record):
                continue
            if len(record) > len(header):
                malformed.append((start, len(record)))
                continue
            rows.append(record + [""] * (len(header) - len(record)))
            lines.append(start)
    except csv.Error as exc:
        raise UnrecognisedFile(f"{file_name or 'The file'} could not be read as a table ({exc}).") from exc
    if header is None:
        raise UnrecognisedFile(f"{file_name or 'The file'} has no header row.")
    df = pd.DataFrame(rows, columns=header, dtype="str") if rows else pd.DataFrame(
        {c: pd.Series([], dtype="str") for c in header})
    table = _Table(df, np.asarray(lines, dtype=np.int64), delimiter, encoding, header_idx + 1)
    table.malformed = malformed
    table.header_fields = len(header)
    return table


def _report_malformed(table: _Table, problems: "_Problems") -> None:
    if table.malformed:
        got = np.array([n for _, n in table.malformed])
        problems.add(
            line=[line for line, _ in table.malformed], column="", value=got.astype(str), reason="malformed row",
            message=_cat("The row has ", got, f" fields but the header has {table.header_fields}; not imported."),
            hint=(f"A value probably contains the delimiter '{table.delimiter}' without double quotes (e.g. a name "
                  "written LAST, FIRST); quote it or export again."),
        )


# --- vectorised helpers ----------------------------------------------------------------------


class _Coded:
    """A text column as integer codes into its distinct (stripped) values.

    Lab exports repeat a few distinct names, units, dates and values over many rows, so all Python
    work runs once per distinct value and is broadcast back with a numpy take.
    """

    __slots__ = ("codes", "uniques")

    def __init__(self, codes: np.ndarray, uniques: pd.Series):
        self.codes = codes
        self.uniques = uniques

    @classmethod
    def of(cls, s: pd.Series | np.ndarray) -> "_Coded":
        codes, uniq = pd.factorize(s, use_na_sentinel=False)
        text = pd.Series(np.asarray(uniq, dtype=object), dtype="str").fillna("").str.strip()
        return cls(np.asarray(codes, dtype=np.intp), text.reset_index(drop=True))

    @classmethod
    def constant(cls, n: int, text: str = "") -> "_Coded":
        return cls(np.zeros(n, dtype=np.intp), pd.Series([text], dtype="str"))

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, per_unique) -> np.ndarray:
        """Broadcast an array with one entry per distinct value to one entry per row."""
        arr = np.asarray(per_unique)
        return arr[self.codes] if len(self.codes) else arr[:0]

    def where(self, predicate: pd.Series | np.ndarray) -> np.ndarray:
        return self.take(np.asarray(predicate, dtype=bool))

    def rows(self, mask) -> np.ndarray:
        """The (stripped) text of the selected rows, for problem reports."""
        return self.uniques.to_numpy(dtype=object)[self.codes[mask]]

    def column(self, mask, *, blank_as_na: bool = False) -> pd.Series:
        """The selected rows as a `str` Series (Arrow take: no Python object per row)."""
        uniq = self.uniques
        if blank_as_na:
            uniq = uniq.where(uniq != "")
        return pd.Series(uniq.array.take(self.codes[mask]), dtype="str")

    @property
    def blank(self) -> np.ndarray:
        return self.where(self.uniques == "")


# --- dates -----------------------------------------------------------------------------------

_TIME = (
    r"(?:(?:[T\s]+|\s*,\s*)(?P<H>\d{1,2})[:h](?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ap>[AaPp]\.?[Mm]\.?)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)?"
)
_DATE_PATTERNS = {
    "iso": re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME + r"$"),
    "slash": re.compile(r"^(?P<a>\d{1,2})[/-](?P<b>\d{1,2})[/-](?P<y>\d{4}|\d{2})" + _TIME + r"$"),
    "dot": re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})" + _TIME + r"$"),
    "hl7": re.compile(
        r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?(?:\.\d+)?)?"
        r"(?:[+-]\d{4})?$"
    ),
    "dmy_name": re.compile(r"^(?P<d>\d{1,2})[-\s](?P<mon>[A-Za-zäé]{3,9})\.?[-\s](?P<y>\d{4}|\d{2})" + _TIME + r"$"),
    "mdy_name": re.compile(r"^(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})" + _TIME + r"$"),
}
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "mär": 3, "apr": 4, "may": 5, "mai": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12, "dez": 12, "fév": 2, "fev": 2, "avr": 4, "jui": 7,
    "aoû": 8, "aou": 8, "déc": 12, "mrt": 3, "mei": 5,
}


def _extract(text: pd.Series, pattern: re.Pattern) -> pd.DataFrame:
    """Named groups of `pattern` for the rows of `text` that match it (index kept).

    Uses Arrow's vectorised RE2 engine when the pattern allows it, else Python's `re`.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(text.to_numpy(dtype=object), type=pa.string())
        res = pc.extract_regex(arr, pattern=pattern.pattern)
        valid = res.is_valid().to_numpy(zero_copy_only=False)
        cols = {name: pc.struct_field(res, name).to_numpy(zero_copy_only=False) for name in res.type.names}
        out = pd.DataFrame(cols, index=text.index)[valid]
        return out.replace("", np.nan).astype(object)
    except Exception:  # noqa: BLE001 - RE2 rejects some Python patterns; fall back to re
        ex = text.str.extract(pattern)
        return ex[text.str.match(pattern).to_numpy(dtype=bool, na_value=False)]


def _two_digit_year(y: pd.Series) -> pd.Series:
    this_year = dt.date.today().year
    y = y.copy()
    short = y < 100
    y[short] = np.where(2000 + y[short] <= this_year + 1, 2000 + y[short], 1900 + y[short])
    return y


def parse_dates(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Parse a column of date/datetime text into naive datetime64 (NaT where unreadable).

    The format is decided per column from all its values: ISO, US MM/DD/YYYY, day-first
    DD.MM.YYYY, DD/MM/YYYY when some first part exceeds 12, HL7 YYYYMMDD[HHMM], `19-Jan-2026`.
    A slash column where every day and month is <= 12 is read as US, and a note says so.
    Time-zone offsets are dropped: times are kept as the wall-clock time written in the file.
    Returns (datetimes aligned to `values`, notes for the user).
    """
    coded = _Coded.of(values)
    parsed, notes = _dates_of(coded.uniques)
    return pd.Series(coded.take(parsed), index=values.index, dtype="datetime64[us]"), notes


def _dates_of(u: pd.Series) -> tuple[np.ndarray, list[str]]:
    """One datetime64[us] per distinct text in `u` (NaT where unreadable), plus notes."""
    u = u.reset_index(drop=True)
    parts = {k: pd.Series(np.nan, index=u.index, dtype="float64") for k in ("y", "m", "d", "H", "M", "S")}
    pm = pd.Series(False, index=u.index)
    am = pd.Series(False, index=u.index)
    notes: list[str] = []
    done = pd.Series(False, index=u.index)
    for kind, pattern in _DATE_PATTERNS.items():
        todo = u[~done & (u != "")]
        if todo.empty:
            break
        ex = _extract(todo, pattern)
        if ex.empty:
            continue
        idx = ex.index
        if kind == "slash":
            a = ex["a"].astype(float)
            b = ex["b"].astype(float)
            day_first = (a > 12).sum() > (b > 12).sum()
            if not (a > 12).any() and not (b > 12).any():
                notes.append(
                    "dates like 01/02/2026 were read as US month/day/year (MM/DD/YYYY) because no day "
                    "above 12 shows the order; if they are day-first, export ISO dates (2026-02-01)"
                )
            parts["d"][idx] = (a if day_first else b).to_numpy()
            parts["m"][idx] = (b if day_first else a).to_numpy()
        elif kind in ("dmy_name", "mdy_name"):
            parts["d"][idx] = ex["d"].astype(float).to_numpy()
            parts["m"][idx] = ex["mon"].str.lower().str[:3].map(_MONTHS).astype(float).to_numpy()
        else:
            parts["d"][idx] = ex["d"].astype(float).to_numpy()
            parts["m"][idx] = ex["m"].astype(float).to_numpy()
        parts["y"][idx] = ex["y"].astype(float).to_numpy()
        for k in ("H", "M", "S"):
            if k in ex:
                parts[k][idx] = ex[k].astype(float).to_numpy()
        if "ap" in ex:
            ap = ex["ap"].fillna("").str.lower().str[:1]
            pm[idx] = (ap == "p").to_numpy()
            am[idx] = (ap == "a").to_numpy()
        done[idx] = True
    y = _two_digit_year(parts["y"])
    hour = parts["H"].fillna(0)
    bad_ampm = (pm | am) & ((hour < 1) | (hour > 12))
    hour = hour.where(~pm | (hour == 12), hour + 12).where(~(am & (hour == 12)), 0)
    frame = pd.DataFrame({
        "year": y, "month": parts["m"], "day": parts["d"], "hour": hour,
        "minute": parts["M"].fillna(0), "second": parts["S"].fillna(0),
    })
    valid = done & frame.notna().all(axis=1) & ~bad_ampm & (frame["hour"] < 24) & (frame["minute"] < 60)
    valid &= (frame["second"] < 60) & frame["year"].between(1900, 2200) & frame["month"].between(1, 12)
    valid &= frame["day"].between(1, 31)
    out = np.full(len(u), np.datetime64("NaT"), dtype="datetime64[us]")
    if valid.any():
        got = pd.to_datetime(frame[valid].astype("int64"), errors="coerce")
        out[valid.to_numpy()] = got.to_numpy(dtype="datetime64[us]")
    return out, notes


# --- values ----------------------------------------------------------------------------------

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


def _parse_values(text: pd.Series, *, decimal_comma: bool) -> pd.DataFrame:
    """Split distinct result texts into comparator, number and glued flag; classify the rest.

    Returns one row per text: value (float, NaN when no number), comparator, flag (None when
    none), kind ("" a number, "blank", "no result", "sentinel", "text"), and unit ("" unless the
    cell carries a known unit after the number, as in `150 K/uL`).
    """
    text = text.reset_index(drop=True)
    if decimal_comma:  # `1.234,5` and `150.000`: dots before three digits are thousands groups
        norm = text.str.replace(r"(?<=\d)\.(?=\d{3}(?:[^\d]|$))", "", regex=True).str.replace(",", ".", regex=False)
    else:
        norm = text.str.replace(r"(?<=\d),(?=\d{3}(?:\D|$))", "", regex=True)
    value = pd.to_numeric(norm, errors="coerce").astype("float64")
    comparator = pd.Series("", index=text.index, dtype=object)
    flag = pd.Series(None, index=text.index, dtype=object)
    rest = value.isna() & (norm != "")
    if rest.any():
        ex = norm[rest].str.extract(_VALUE_RE)
        got = ex["num"].notna()
        value[ex.index[got]] = pd.to_numeric(ex.loc[got, "num"], errors="coerce").to_numpy(dtype="float64")
        comparator[ex.index[got]] = [_COMPARATORS.get(c, "") for c in ex.loc[got, "cmp"].fillna("")]
        fl = ex.loc[got, "flag"].dropna().str.strip("() ").str.upper().str[:8]
        flag[fl.index] = fl.to_numpy(dtype=object)
    unit = pd.Series("", index=text.index, dtype=object)
    rest = value.isna() & (norm != "")
    if rest.any():  # a unit written into the result cell: `150 K/uL`, `<0.5 x10^9/L`
        ex = norm[rest].str.extract(_VALUE_UNIT_RE)
        known = ex["num"].notna() & ex["unit"].fillna("").map(lambda u: units.unit_key(u) in _KNOWN_UNIT_KEYS)
        idx = ex.index[known.to_numpy(dtype=bool)]
        value[idx] = pd.to_numeric(ex.loc[idx, "num"], errors="coerce").to_numpy(dtype="float64")
        comparator[idx] = [_COMPARATORS.get(c, "") for c in ex.loc[idx, "cmp"].fillna("")]
        unit[idx] = ex.loc[idx, "unit"].to_numpy(dtype=object)
    kind = pd.Series("", index=text.index, dtype=object)
    kind[text == ""] = "blank"
    nan = value.isna() & (text != "")
    kind[nan] = "text"
    kind[nan & text.str.match(_NO_RESULT)] = "no result"
    sentinel = value == EPIC_TEXT_SENTINEL
    kind[sentinel] = "sentinel"
    value[sentinel | ~np.isfinite(value.fillna(0.0))] = np.nan
    kind[(kind == "") & value.isna()] = "text"
    return pd.DataFrame({"value": value, "comparator": comparator, "flag": flag, "kind": kind, "unit": unit})


def _parse_number_column(coded: _Coded, *, decimal_comma: bool) -> np.ndarray:
    parsed = _parse_values(coded.uniques, decimal_comma=decimal_comma)
    return coded.take(parsed["value"].where(parsed["comparator"] == "").to_numpy(dtype="float64"))


_RANGE_RE = re.compile(
    r"^\(?\s*(?P<lo>" + _NUMBER + r")\s*(?:-|–|—|to|\.\.|bis|à|a)\s*(?P<hi>" + _NUMBER + r")\s*\)?"
)
_ONE_SIDED_RE = re.compile(r"^\(?\s*(?P<op><=|>=|<|>|≤|≥)\s*(?P<num>" + _NUMBER + r")")


def _parse_range(text: pd.Series, *, decimal_comma: bool) -> pd.DataFrame:
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


def _decimal_comma(text: pd.Series, delimiter: str) -> bool:
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


# --- problems --------------------------------------------------------------------------------


class _Problems:
    """Accumulates problem rows as column arrays; one frame at the end."""

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

        def col(x):
            if isinstance(x, pd.Series):
                return x.astype(object).to_numpy()
            if isinstance(x, np.ndarray):
                return x.astype(object)
            return np.full(n, x, dtype=object)

        self.parts.append(pd.DataFrame({
            "file": self.file_name, "line": line, "column": col(column), "value": col(value),
            "reason": reason, "message": col(message), "hint": col(hint), "severity": severity,
        }))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return _empty_problems()
        out = pd.concat(self.parts, ignore_index=True)
        for c in ("file", "column", "value", "reason", "message", "hint", "severity"):
            out[c] = out[c].fillna("").astype(str).astype("str")
        out["line"] = out["line"].astype("int64")
        out = out.sort_values(["line", "severity"], kind="stable").reset_index(drop=True)
        return out[PROBLEM_COLUMNS]


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame({
        c: pd.Series([], dtype="int64" if c == "line" else "str") for c in PROBLEM_COLUMNS
    })


# --- column mapping --------------------------------------------------------------------------


def _map_columns(columns: list[str]) -> dict[str, str]:
    """file column -> role. When several columns fit one role, the name listed first in
    _ROLE_NAMES wins (so `Collection Date` beats `Result Date`), then the leftmost column."""
    best: dict[str, tuple[int, int, str]] = {}
    mapping: dict[str, str] = {}
    for position, col in enumerate(columns):
        key = _col_key(col)
        role = _ROLE_OF.get(key)
        if role is None:
            continue
        if role == "ignored":
            mapping[col] = role
            continue
        rank = (_ROLE_NAMES[role].index(key), position, col)
        if role not in best or rank < best[role]:
            best[role] = rank
    for role, (_, _, col) in best.items():
        mapping[col] = role
    return {col: mapping[col] for col in columns if col in mapping}


def _expected_message(kind: str) -> str:
    if kind == "labs":
        return (
            "expected a patient column (MRN / Patient ID), a collection date (Collected / Collection Date/Time "
            "/ collected_at / effectiveDateTime), and either test + result columns (Component / Test / "
            "analyte / LOINC, Result / Value, optional Units, Reference Range) for one row per result, or one "
            "column per test (WBC, ANC, Hgb, PLT, ... with the unit in the header, e.g. `Hb (g/L)`) for one "
            "row per draw"
        )
    if kind == "patients":
        return "expected columns: " + ", ".join(_PATIENT_REQUIRED) + " (optional: " + ", ".join(_PATIENT_OPTIONAL) + ")"
    return "expected columns: mrn, date, event, value (optional: detail)"


# --- labs ------------------------------------------------------------------------------------


def _lab_layout(columns: list[str]) -> tuple[str, dict[str, str], dict[str, tuple[str, str, str | None, str | None, str]]]:
    """Decide long/wide; returns (shape, column_map, wide analyte columns {col: (name, unit, measure, loinc, reason)})."""
    mapping = _map_columns(columns)
    roles = {r: c for c, r in mapping.items() if r != "ignored"}
    has_patient = "mrn" in roles
    has_date = "datetime" in roles
    # a lone "Time" column without a date cannot place a result
    long = "value" in roles and ("name" in roles or "loinc" in roles)
    wide_cols: dict[str, tuple[str, str, str | None, str | None, str]] = {}
    if not long:
        for col in columns:
            if col in mapping:
                continue
            name, unit = _split_header(col)
            measure, loinc, implied, reason = units.identify(name)
            if unit == "%" and measure is not None:
                measure, reason = None, "percentage, not a count"
            wide_cols[col] = (name, unit, measure, loinc, reason)
        recognised = [c for c, v in wide_cols.items() if v[2] is not None]
        if not recognised:
            wide_cols = {}
    missing = []
    if not has_patient:
        missing.append("a patient column (MRN, Patient ID, PID, patient_id)")
    if not has_date:
        missing.append("a collection date column (Collected, Collection Date/Time, Specimen Taken, Sample date, "
                       "collected_at, effectiveDateTime, or Date + Time)")
    if not long and not wide_cols:
        missing.append("test results: either test name + result columns (Component/Test/analyte + Result/Value) "
                       "or one column per test (WBC, ANC, Hgb, PLT, Creatinine, ...)")
    if missing:
        found = ", ".join(f"'{c}'" for c in columns) or "none"
        raise UnrecognisedFile(
            "The lab file's columns were not recognised. Missing: " + "; ".join(missing)
            + f". Columns found: {found}. Lenadash {_expected_message('labs')}. Rename the columns in the "
            "export (or the spreadsheet header) and upload again."
        )
    if long:
        col_map = {c: r for c, r in mapping.items()}
        return "long", col_map, {}
    col_map = dict(mapping)
    for col, (_, _, measure, _, reason) in wide_cols.items():
        col_map[col] = f"result:{MEASURE_ANALYTE[measure]}" if measure else f"ignored ({reason})"
    return "wide", col_map, wide_cols


def read_labs(data: bytes | BinaryIO, *, file_name: str = "") -> LabImport:
    """Read a lab export (long or wide; CSV/TSV, any common encoding) into canonical results.

    Values are converted to each analyte's canonical unit (docs/architecture.md, DOMAIN.md §6);
    every row lands in `results` or appears in `problems` (errors reject the row, warnings keep it).
    In `results`, a missing loinc/flag/status is NA (the file gave none) and a missing ref_low/
    ref_high is NaN (no range: grading falls back to its default range). Raises UnrecognisedFile
    when the columns cannot be recognised.
    """
    table = _read_table(data, file_name=file_name)
    df = table.df
    shape, col_map, wide_cols = _lab_layout(list(df.columns))
    roles = {r: c for c, r in col_map.items() if r in _ROLE_NAMES and r != "ignored"}
    problems = _Problems(file_name)
    _report_malformed(table, problems)
    lines = table.lines
    rows_read = len(df) + len(table.malformed)
    if shape == "long":
        rows, colnames = _long_rows(df, roles)
        key = [rows[f].codes for f in ("mrn", "when", "name", "loinc", "value", "unit")]
        keep = _duplicate_rows(df, key, lines, problems)
        if not keep.all():
            rows = {f: _Coded(c.codes[keep], c.uniques) for f, c in rows.items()}
            lines = lines[keep]
    else:
        if _take_units_row(df, roles, wide_cols):
            rows_read -= 1
            df, lines = df.iloc[1:].reset_index(drop=True), lines[1:]
            for col, (_, _, measure, _, reason) in wide_cols.items():
                col_map[col] = f"result:{MEASURE_ANALYTE[measure]}" if measure else f"ignored ({reason})"
        key_cols = [c for c in (roles.get("mrn"), roles.get("datetime"), roles.get("time")) if c]
        keep = _duplicate_rows(df, [_Coded.of(df[c]).codes for c in key_cols], lines, problems)
        df, lines = df.loc[keep].reset_index(drop=True), lines[keep]
        rows, colnames, lines = _wide_rows(df, roles, wide_cols, lines, problems)
    del df
    table.df = None  # the coded columns hold everything needed; free the parsed text early
    results, conversions = _normalise(rows, lines, colnames, problems, delimiter=table.delimiter)
    return LabImport(
        results=results, problems=problems.frame(), shape=shape, column_map=col_map,
        delimiter=table.delimiter, encoding=table.encoding, rows_read=rows_read, conversions=conversions,
    )


def _duplicate_rows(df: pd.DataFrame, key: list[np.ndarray], lines: np.ndarray, problems: _Problems) -> np.ndarray:
    """Mask of rows to keep: exact duplicate rows collapse to the first (a warning names both lines).

    `key` holds integer codes of the identifying columns: only rows that share them are compared
    in full, so a large clean file costs a few integer hashes.
    """
    n = len(df)
    if n < 2:
        return np.ones(n, bool)
    combined = np.zeros(n, dtype=np.int64)
    span = 1  # combined < span; re-factorize only when the next column would overflow int64
    for codes in key:
        width = int(codes.max()) + 1 if len(codes) else 1
        if span * width >= 2**62:
            combined, uniq = pd.factorize(combined)
            span = max(len(uniq), 1)
        combined = combined.astype(np.int64) * width + codes
        span *= width
    maybe = pd.Series(combined).duplicated(keep=False).to_numpy()
    if not maybe.any():
        return np.ones(n, bool)
    sub = df.loc[maybe]
    dup = sub.duplicated(keep="first").to_numpy()
    if not dup.any():
        return np.ones(n, bool)
    group = sub.groupby(list(sub.columns), sort=False, dropna=False).ngroup().to_numpy()
    first_line = pd.Series(lines[maybe]).groupby(group).transform("min").to_numpy()
    problems.add(
        line=lines[maybe][dup], column="", value="", reason="duplicate row",
        message=_cat("Row is identical to line ", first_line[dup], "; imported once."),
        hint="Nothing to fix; the export repeats this row.", severity="warning",
    )
    keep = np.ones(n, bool)
    keep[np.flatnonzero(maybe)[dup]] = False
    return keep


_LAB_FIELDS = ("mrn", "name", "loinc", "value", "unit", "ref_range", "ref_low", "ref_high", "flag", "status")


def _take_units_row(df: pd.DataFrame, roles: dict[str, str], wide_cols: dict) -> int:
    """A wide file may carry the units in the first row under the header (`;g/L;G/L;...`).

    When that row has no patient and every filled test cell is a known unit, its units are
    used for test columns whose header has none; returns 1 if the row was such a units row.
    """
    if not len(df):
        return 0
    first = df.iloc[0]
    tests = [c for c, v in wide_cols.items() if v[2] is not None]
    cells = {c: str(first[c]).strip() for c in tests}
    filled = {c: u for c, u in cells.items() if u}
    if str(first[roles["mrn"]]).strip() or not filled:
        return 0
    if not all(units.unit_key(u) in _KNOWN_UNIT_KEYS or u == "%" for u in filled.values()):
        return 0
    for col, unit in filled.items():
        name, header_unit, measure, loinc, reason = wide_cols[col]
        if not header_unit:
            if unit == "%":
                measure, reason = None, "percentage, not a count"
            wide_cols[col] = (name, unit, measure, loinc, reason)
    return 1


def _long_rows(df: pd.DataFrame, roles: dict[str, str]) -> tuple[dict[str, _Coded], dict[str, str]]:
    n = len(df)
    rows: dict[str, _Coded] = {}
    colnames: dict[str, str] = {}
    for f in _LAB_FIELDS:
        c = roles.get(f)
        rows[f] = _Coded.of(df[c]) if c else _Coded.constant(n)
        colnames[f] = c or ""
    when = df[roles["datetime"]]
    colnames["when"] = roles["datetime"]
    if roles.get("time"):
        when = when.str.strip() + " " + df[roles["time"]].str.strip()
        colnames["when"] += " + " + roles["time"]
    rows["when"] = _Coded.of(when)
    rows["value_col"] = _Coded.constant(n, colnames["value"])
    return rows, colnames


def _wide_rows(df, roles, wide_cols, lines, problems: _Problems):
    """One row per draw and a column per test -> one row per (draw, test); empty cells = not measured."""
    for col, (name, unit, measure, loinc, reason) in wide_cols.items():
        if measure is not None:
            continue
        if reason == "percentage, not a count":
            msg = f"Column '{col}' holds percentages of the differential, not absolute counts; not imported."
            hint = "Export the absolute count (e.g. 'Neutrophils, absolute' in 10^9/L) instead of the percentage."
        else:
            msg = f"Column '{col}' is not one of the tests lenadash tracks; not imported."
            hint = ("Nothing to fix if the test is not needed. If it is WBC, ANC, lymphocytes, Hgb, platelets "
                    "or a CMP test under another name, rename the column (e.g. 'ANC (10^9/L)').")
        problems.add(line=[1], column=col, value=col, reason=reason, message=msg, hint=hint, severity="warning")
    when = df[roles["datetime"]]
    when_col = roles["datetime"]
    if roles.get("time"):
        when = when.str.strip() + " " + df[roles["time"]].str.strip()
        when_col += " + " + roles["time"]
    mrn_c, when_c = _Coded.of(df[roles["mrn"]]), _Coded.of(when)
    tests = [(col, spec) for col, spec in wide_cols.items() if spec[2] is not None]
    row_parts, value_codes, value_uniques, test_index = [], [], [], []
    offset = 0
    for t, (col, _) in enumerate(tests):
        cells = _Coded.of(df[col])
        present = np.flatnonzero(~cells.blank)
        row_parts.append(present)
        value_codes.append(cells.codes[present] + offset)
        value_uniques.append(cells.uniques)
        offset += len(cells.uniques)
        test_index.append(np.full(len(present), t, dtype=np.intp))
    row = np.concatenate(row_parts) if tests else np.zeros(0, dtype=np.intp)
    order = np.argsort(row, kind="stable")
    row = row[order]
    per_test = np.concatenate(test_index)[order] if tests else np.zeros(0, dtype=np.intp)

    def per_test_column(values: list[str]) -> _Coded:
        return _Coded(per_test, pd.Series(values if values else [""], dtype="str"))

    rows = {
        "mrn": _Coded(mrn_c.codes[row], mrn_c.uniques),
        "when": _Coded(when_c.codes[row], when_c.uniques),
        "value": _Coded(np.concatenate(value_codes)[order] if tests else per_test,
                        pd.concat(value_uniques, ignore_index=True) if tests else pd.Series([""], dtype="str")),
        "name": per_test_column([spec[0] for _, spec in tests]),
        "unit": per_test_column([spec[1] for _, spec in tests]),
        "loinc": per_test_column([spec[3] or "" for _, spec in tests]),
        "value_col": per_test_column([col for col, _ in tests]),
    }
    n = len(order)
    for f in ("ref_range", "ref_low", "ref_high", "flag", "status"):
        rows[f] = _Coded.constant(n)
    colnames = {f: "" for f in _LAB_FIELDS}
    colnames.update(mrn=roles["mrn"], when=when_col)
    return rows, colnames, lines[row]


_CANCELLED_STATUS = re.compile(r"^(cancel+ed|canceled|entered[- ]in[- ]error|deleted|x|d|nullified)$", re.I)
_MEASURES = tuple(MEASURE_ANALYTE)
_MEASURE_INDEX = {m: i for i, m in enumerate(_MEASURES)}
# per measure index (-1 = unmapped, the last entry)
_ANALYTE_OF = pd.array([MEASURE_ANALYTE[m] for m in _MEASURES] + [None], dtype="str")
_CANON_OF = np.array([units.canonical_unit(m) for m in _MEASURES] + [""], dtype=object)
_LOW_OF = np.array([PLAUSIBLE_RANGE[MEASURE_ANALYTE[m]][0] for m in _MEASURES] + [np.nan])
_HIGH_OF = np.array([PLAUSIBLE_RANGE[MEASURE_ANALYTE[m]][1] for m in _MEASURES] + [np.nan])
_KINDS = ("", "blank", "no result", "sentinel", "text")
_USUAL_LOW_OF = np.array([USUAL_RANGE[MEASURE_ANALYTE[m]][0] for m in _MEASURES] + [np.nan])
_USUAL_HIGH_OF = np.array([USUAL_RANGE[MEASURE_ANALYTE[m]][1] for m in _MEASURES] + [np.nan])
_RANGE_SCALE_TOLERANCE = 5.0  # a lab's own range is within 5x of the usual one; unit mix-ups are 10x-1000x


def _range_text(low: float, high: float) -> str:
    if np.isnan(low):
        return f"<{high:g}"
    if np.isnan(high):
        return f">{low:g}"
    return f"{low:g}-{high:g}"


def _cat(*parts) -> np.ndarray:
    """Element-wise string concatenation of scalars and equal-length arrays (problem rows only)."""
    n = max((len(p) for p in parts if not isinstance(p, str)), default=1)
    out = np.full(n, "", dtype=object)
    for p in parts:
        out = out + (p if isinstance(p, str) else np.array([str(x) for x in p], dtype=object))
    return out


def _combine(a: np.ndarray, b: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of distinct (a, b) pairs, with each pair's a- and b-code."""
    width = max(width, 1)
    codes, uniq = pd.factorize(a.astype(np.int64) * width + b)
    uniq = np.asarray(uniq, dtype=np.int64)
    return np.asarray(codes, dtype=np.intp), uniq // width, uniq % width


def _normalise(rows: dict[str, _Coded], lines: np.ndarray, cn: dict[str, str], problems: _Problems, *,
               delimiter: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shared core: coded raw text columns -> canonical results; problems appended."""
    n = len(lines)
    vcol = rows["value_col"]

    def where_col(f: str, mask) -> np.ndarray | str:
        return cn.get(f) or vcol.rows(mask)  # wide files: the test's own column

    # patient
    mrn = _Coded(rows["mrn"].codes, rows["mrn"].uniques.str.replace(r"^Patient/", "", regex=True))
    row_bad = mrn.blank
    if row_bad.any():
        problems.add(line=lines[row_bad], column=cn["mrn"], value="", reason="missing patient",
                     message="The row has no patient identifier (MRN).",
                     hint=f"Fill in the MRN in column '{cn['mrn']}' or delete the row.")

    # collection date (format decided per column)
    when_u, notes = _dates_of(rows["when"].uniques)
    when = rows["when"].take(when_u)
    nat = np.isnat(when)
    if nat.any():
        raw_when = rows["when"].rows(nat)
        problems.add(
            line=lines[nat], column=cn["when"], value=raw_when, reason="unreadable date",
            message=np.where(raw_when == "", "The row has no collection date.",
                             _cat("Collection date '", raw_when, "' could not be read.")),
            hint="Use a date like 2026-01-19 08:30 (ISO), 01/19/2026 8:30 AM (US) or 19.01.2026 08:30.",
        )
        row_bad = row_bad | nat
    for note in notes:
        first = lines[~nat][:1] if (~nat).any() else lines[:1]
        problems.add(line=first, column=cn["when"], value="", reason="ambiguous date",
                     message=note[0].upper() + note[1:] + ".", hint="Check one result against the lab system.",
                     severity="warning")

    # analyte: LOINC where known, else the name (units.identify), once per distinct pair
    name, loinc_c = rows["name"], rows["loinc"]
    pcodes, p_name, p_loinc = _combine(name.codes, loinc_c.codes, len(loinc_c.uniques))
    names_u = name.uniques.to_numpy(dtype=object)[p_name]
    loincs_u = loinc_c.uniques.to_numpy(dtype=object)[p_loinc]
    idents = [units.identify(a, b) for a, b in zip(names_u, loincs_u)]
    m_u = np.array([_MEASURE_INDEX[t[0]] if t[0] else -1 for t in idents], dtype=np.intp)
    reason_u = np.array([t[3] for t in idents], dtype=object)
    implied_u = np.array([t[2] or "" for t in idents], dtype=object)
    loinc_u = pd.array([t[1] for t in idents], dtype="str")
    label_u = np.where(names_u != "", names_u, loincs_u)
    ambiguous_u = np.array([units.name_key(a) in units.AMBIGUOUS_NAMES for a in names_u], dtype=bool)
    label = lambda mask: label_u[pcodes[mask]]  # noqa: E731
    name_col = cn["name"] or cn["loinc"]
    pct = (reason_u == "percentage, not a count")[pcodes] if n else np.zeros(0, bool)
    unknown = (reason_u == "unknown analyte")[pcodes] if n else np.zeros(0, bool)
    if pct.any():
        problems.add(line=lines[pct], column=name_col or vcol.rows(pct), value=label(pct),
                     reason="percentage, not a count",
                     message=_cat("'", label(pct), "' is a percentage of the white cells, not an absolute count; "
                                  "not imported."),
                     hint="Export the absolute count (e.g. 'Neutrophils, absolute' in 10^9/L); percentages are not used.")
    if unknown.any():
        problems.add(line=lines[unknown], column=name_col or vcol.rows(unknown), value=label(unknown),
                     reason="unknown analyte",
                     message=_cat("'", label(unknown), "' is not one of the 19 tests lenadash tracks; not imported."),
                     hint=("Nothing to fix if the test is not needed (e.g. MCV, RDW). If it is WBC, ANC, "
                           "lymphocytes, Hgb, platelets or a CMP test under another name, use that name or its LOINC."))
    bad = pct | unknown  # bad for value reasons; row_bad for patient/date reasons (both reported)
    known = ~bad

    # result value, once per distinct text
    value_c = rows["value"]
    dec = _decimal_comma(value_c.uniques, delimiter)
    pv = _parse_values(value_c.uniques, decimal_comma=dec)
    kind = value_c.take(pv["kind"].map(_KINDS.index).to_numpy(dtype=np.int8))
    for k, reason_, msg, hint in (
        ("blank", "no result", "The result is empty.",
         "Delete the row, or fill in the result if the test was done."),
        ("no result", "no result", "The test has no result (cancelled or not performed).",
         "Nothing to fix; the row is skipped. Delete it to silence this message."),
        ("sentinel", "non-numeric result", "9999999 is the placeholder some systems use for a text result.",
         "Look up the text result in the lab system; enter a number if there is one."),
        ("text", "non-numeric result", None,
         "Enter the result as a number (e.g. 5.2, <0.5); text results cannot be graded."),
    ):
        m = (kind == _KINDS.index(k)) & known
        if m.any():
            shown = value_c.rows(m)
            problems.add(line=lines[m], column=where_col("value", m), value=shown, reason=reason_,
                         message=msg if msg else _cat("Result '", shown, "' is not a number."), hint=hint)
            bad |= m
    status_c = rows["status"]
    cancelled = status_c.where(status_c.uniques.str.match(_CANCELLED_STATUS)) & ~bad
    if cancelled.any():
        shown = status_c.rows(cancelled)
        problems.add(line=lines[cancelled], column=cn["status"], value=shown, reason="no result",
                     message=_cat("Result status '", shown, "' means there is no valid result."),
                     hint="Nothing to fix; the row is skipped.")
        bad |= cancelled

    # unit -> factor, once per distinct (test, unit) combination
    unit_c = rows["unit"]
    in_value = pv["unit"].to_numpy(dtype=object) != ""
    if in_value.any():  # `150 K/uL` in the result cell: that unit, where the unit cell is empty
        from_value = value_c.where(in_value) & unit_c.blank
        if from_value.any():
            unit_text = np.where(from_value, value_c.take(pv["unit"].to_numpy(dtype=object)), unit_c.take(
                unit_c.uniques.to_numpy(dtype=object)))
            unit_c = _Coded.of(pd.Series(unit_text, dtype="str"))
    ucodes, u_pair, u_unit = _combine(pcodes, unit_c.codes, len(unit_c.uniques))
    raw_unit_u = unit_c.uniques.to_numpy(dtype=object)[u_unit]
    cm = m_u[u_pair]
    c_implied = implied_u[u_pair]
    c_blank = raw_unit_u == ""
    c_amb = ambiguous_u[u_pair]
    c_assumed = c_blank & (c_implied == "") & (cm >= 0) & ~c_amb
    c_canon = _CANON_OF[cm]
    c_used = np.where(c_blank & (c_implied != ""), c_implied, np.where(c_assumed, c_canon, raw_unit_u))
    c_factor = np.array([
        (units.factor(_MEASURES[m], u) if m >= 0 else None) for m, u in zip(cm, c_used)], dtype=object)
    c_factor = np.array([np.nan if f is None else f for f in c_factor], dtype="float64")
    measure_idx = cm[ucodes] if n else np.zeros(0, np.intp)
    factor = c_factor[ucodes] if n else np.zeros(0)
    blank_unit = c_blank[ucodes] if n else np.zeros(0, bool)
    assumed = c_assumed[ucodes] if n else np.zeros(0, bool)
    canon = lambda mask: c_canon[ucodes[mask]]  # noqa: E731
    value_raw = value_c.take(pv["value"].to_numpy(dtype="float64"))
    value = np.round(value_raw * factor, 9)  # drop float noise from the factor (88.4 * (1/88.4))

    unit_pct = (raw_unit_u == "%")[ucodes] & known & ~bad if n else np.zeros(0, bool)
    if unit_pct.any():
        problems.add(line=lines[unit_pct], column=where_col("unit", unit_pct), value=unit_c.rows(unit_pct),
                     reason="percentage, not a count",
                     message=_cat("'", label(unit_pct), "' is in %, a share of the white cells, not an absolute "
                                  "count; not imported."),
                     hint="Export the absolute count (10^9/L); percentages are not used.")
        bad |= unit_pct
    no_unit_amb = (c_blank & (c_implied == "") & c_amb)[ucodes] & known & ~bad if n else np.zeros(0, bool)
    if no_unit_amb.any():
        problems.add(line=lines[no_unit_amb], column=where_col("unit", no_unit_amb), value="", reason="unknown unit",
                     message=_cat("'", label(no_unit_amb), "' has no unit, and this name is used both for "
                                  "percentages and for counts."),
                     hint="Add the unit (10^9/L or K/uL for a count; % rows are not imported).")
        bad |= no_unit_amb
    unk_unit = known & ~blank_unit & np.isnan(factor) & ~bad
    if unk_unit.any():
        hint_of = np.array(["Use one of: " + ", ".join(units.units_for(m)) + "." for m in _MEASURES] + [""],
                           dtype=object)
        shown = unit_c.rows(unk_unit)
        problems.add(line=lines[unk_unit], column=where_col("unit", unk_unit), value=shown, reason="unknown unit",
                     message=_cat("Unit '", shown, "' is not known for '", label(unk_unit), "'."),
                     hint=hint_of[measure_idx[unk_unit]])
        bad |= unk_unit

    # plausibility, in the canonical unit (analytes.PLAUSIBILITY)
    lo = _LOW_OF[measure_idx]
    hi = _HIGH_OF[measure_idx]
    with np.errstate(invalid="ignore"):
        implausible = ~bad & ~np.isnan(value) & ((value < lo) | (value > hi))
    if implausible.any():
        idx = np.flatnonzero(implausible)
        rv, ru, lab, can = value_c.rows(idx), unit_c.rows(idx), label(idx), canon(idx)
        problems.add(
            line=lines[idx], column=where_col("value", idx), value=_cat(rv, np.where(ru != "", " ", ""), ru),
            reason="implausible value",
            message=np.array([
                f"'{lab[j]}' {rv[j]} " + (str(ru[j]) if ru[j] else "(no unit)")
                + f" is outside the possible range {lo[i]:g}-{hi[i]:g} {can[j]}." for j, i in enumerate(idx)],
                dtype=object),
            hint=np.array([_unit_hint(_MEASURES[measure_idx[i]], value_raw[i], ru[j], blank_unit[i])
                           for j, i in enumerate(idx)], dtype=object))
        bad |= implausible
    # a unit is assumed per test, not per row: if any unit-less result of this test is implausible in
    # the canonical unit (e.g. platelets written per uL), none of its unit-less results is trusted
    doubtful_combo = np.zeros(len(cm), dtype=bool)
    doubtful_combo[ucodes[implausible & assumed]] = True
    withdrawn = assumed & doubtful_combo[ucodes] & ~bad if n else np.zeros(0, bool)
    if withdrawn.any():
        problems.add(line=lines[withdrawn], column=where_col("unit", withdrawn), value="", reason="unknown unit",
                     message=_cat("No unit for '", label(withdrawn), "' ", value_c.rows(withdrawn),
                                  "; other unit-less results of this test in the file are not in ",
                                  canon(withdrawn), ", so no unit can be assumed."),
                     hint="Add the unit to the export (see the implausible-value rows of this test for the likely one).")
        bad |= withdrawn
    warn_assumed = assumed & ~bad & ~row_bad
    if warn_assumed.any():
        problems.add(line=lines[warn_assumed], column=where_col("unit", warn_assumed), value="",
                     reason="assumed unit",
                     message=_cat("No unit for '", label(warn_assumed), "' ", value_c.rows(warn_assumed),
                                  "; read as ", canon(warn_assumed), ", where the value is plausible."),
                     hint="Add the unit to the export to be certain.", severity="warning")
    bad |= row_bad
    keep = ~bad

    # reference ranges, converted with the result's own factor
    ref_c = rows["ref_range"]
    rr = _parse_range(ref_c.uniques, decimal_comma=dec or _decimal_comma(ref_c.uniques, delimiter))
    ref_low = ref_c.take(rr["low"].to_numpy(dtype="float64"))
    ref_high = ref_c.take(rr["high"].to_numpy(dtype="float64"))
    if cn.get("ref_low"):
        v = _parse_number_column(rows["ref_low"], decimal_comma=dec)
        ref_low = np.where(np.isnan(v), ref_low, v)
    if cn.get("ref_high"):
        v = _parse_number_column(rows["ref_high"], decimal_comma=dec)
        ref_high = np.where(np.isnan(v), ref_high, v)
    bad_range = ref_c.where(~rr["ok"].to_numpy(dtype=bool)) & keep
    if bad_range.any():
        shown = ref_c.rows(bad_range)
        problems.add(line=lines[bad_range], column=cn["ref_range"], value=shown,
                     reason="unreadable reference range",
                     message=_cat("Reference range '", shown, "' could not be read; the default range is used."),
                     hint="Write ranges as 3.5-5.0, <150 or >60.", severity="warning")
    # a range on another scale than its result (Hgb 125 g/L beside "12.0-16.0") would mis-grade every
    # value: compared, after conversion, with the analyte's usual range; dropped when 5x off
    with np.errstate(invalid="ignore", divide="ignore"):
        conv_low, conv_high = ref_low * factor, ref_high * factor
        usual_low, usual_high = _USUAL_LOW_OF[measure_idx], _USUAL_HIGH_OF[measure_idx]
        ratio = np.where(~np.isnan(conv_high) & (usual_high > 0), conv_high / usual_high, conv_low / usual_low)
        off_scale = keep & ~np.isnan(ratio) & ((ratio > _RANGE_SCALE_TOLERANCE) | (ratio < 1 / _RANGE_SCALE_TOLERANCE))
    if off_scale.any():
        idx = np.flatnonzero(off_scale)
        shown = np.array([_range_text(ref_low[i], ref_high[i]) for i in idx], dtype=object)
        problems.add(line=lines[idx], column=cn["ref_range"] or cn["ref_low"] or cn["ref_high"], value=shown,
                     reason="reference range on another scale",
                     message=_cat("Reference range ", shown, " does not fit '", label(idx), "' in ",
                                  unit_c.rows(idx), "; the default range is used for grading."),
                     hint="Export the range in the same unit as the result.", severity="warning")
        ref_low = np.where(off_scale, np.nan, ref_low)
        ref_high = np.where(off_scale, np.nan, ref_high)

    # flag: the flag column, else a flag glued to the value (`5.2 H`)
    glued = pd.Series(pd.array(pv["flag"].to_numpy(dtype=object), dtype="str").take(value_c.codes[keep]))
    flag = rows["flag"].column(keep, blank_as_na=True).str.strip("() ").str[:8]
    flag = flag.where(flag.notna(), glued)

    kept_pairs = pcodes[keep]
    results = pd.DataFrame({
        "mrn": mrn.column(keep),
        "collected_at": when[keep],
        "analyte": pd.Series(_ANALYTE_OF.take(measure_idx[keep]), dtype="str"),
        "value": value[keep],
        "unit": pd.Series(pd.array(c_canon, dtype="str").take(ucodes[keep]), dtype="str"),
        "comparator": pd.Series(pd.array(pv["comparator"].to_numpy(dtype=object), dtype="str")
                                .take(value_c.codes[keep]), dtype="str"),
        "raw_value": value_c.column(keep),
        "raw_unit": unit_c.column(keep),
        "raw_name": pd.Series(pd.array(label_u, dtype="str").take(kept_pairs), dtype="str"),
        "loinc": pd.Series(loinc_u.take(kept_pairs), dtype="str"),
        "ref_low": np.round(ref_low * factor, 9)[keep],
        "ref_high": np.round(ref_high * factor, 9)[keep],
        "flag": flag.astype("str"),
        "status": status_c.column(keep, blank_as_na=True),
        "line": lines[keep].astype("int64"),
    })
    results["collected_at"] = results["collected_at"].astype("datetime64[us]")

    counts = np.bincount(ucodes[keep], minlength=len(cm))
    used = counts > 0
    conversions = pd.DataFrame({
        "analyte": pd.array([str(_ANALYTE_OF[m]) for m in cm[used]], dtype="str"),
        "raw_unit": pd.array(list(c_used[used]), dtype="str"),
        "unit": pd.array(list(c_canon[used]), dtype="str"),
        "factor": c_factor[used],
        "count": counts[used].astype("int64"),
    })
    conversions = (conversions.groupby(["analyte", "raw_unit", "unit", "factor"], sort=True)["count"].sum()
                   .reset_index())
    return results[LAB_COLUMNS], conversions


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
            return f"The value looks like {unit}, not {unit_used}; correct the unit."
    if raw < 0:
        return "A negative result is impossible; check the value in the lab system."
    return "Check the value and its unit in the lab system."


# --- patients (treatment courses) and events --------------------------------------------------

_PATIENT_REQUIRED = ("mrn", "name", "sex", "birth_date", "weight_kg", "indication", "start_date", "starting_dose_mg")
_PATIENT_OPTIONAL = ("schedule", "combination", "reproductive_potential", "menses", "dialysis")
PATIENT_COLUMNS = list(_PATIENT_REQUIRED + _PATIENT_OPTIONAL)
EVENT_COLUMNS = ["mrn", "date", "event", "value", "detail", "temperature_c", "grade", "result", "dose_mg", "is_hold",
                 "agent"]

# file column (folded by _col_key) -> field; the contract names themselves are always accepted
_TABLE_COLUMN_ALIASES: dict[str, str] = {
    "patient id": "mrn", "pid": "mrn", "patientid": "mrn", "patient mrn": "mrn", "medical record number": "mrn",
    "patient name": "name", "full name": "name",
    "gender": "sex",
    "dob": "birth_date", "date of birth": "birth_date", "birth date": "birth_date", "birthdate": "birth_date",
    "weight": "weight_kg", "weight kg": "weight_kg", "weight (kg)": "weight_kg", "body weight": "weight_kg",
    "diagnosis": "indication",
    "start date": "start_date", "start": "start_date", "treatment start": "start_date", "course start": "start_date",
    "starting dose": "starting_dose_mg", "starting dose mg": "starting_dose_mg", "dose mg": "starting_dose_mg",
    "starting dose (mg)": "starting_dose_mg", "start dose": "starting_dose_mg", "dose": "starting_dose_mg",
    "reproductive potential": "reproductive_potential", "frcp": "reproductive_potential",
    "event date": "date", "event type": "event", "kind": "event", "type": "event", "result": "value",
    "details": "detail", "comment": "detail", "note": "detail", "notes": "detail",
}

_INDICATION_ALIASES: dict[str, str] = {
    **{code.lower(): code for code in INDICATIONS},
    "mm maint": "MM_MAINT", "mm maintenance": "MM_MAINT", "maintenance": "MM_MAINT", "mm-maint": "MM_MAINT",
    "multiple myeloma": "MM", "myeloma": "MM", "mds del(5q)": "MDS", "del(5q) mds": "MDS", "del5q mds": "MDS",
    "mantle cell lymphoma": "MCL", "follicular lymphoma": "FL", "marginal zone lymphoma": "MZL",
}
_DEFAULT_SCHEDULE = {"MM": "21/28", "MCL": "21/28", "FL": "21/28", "MZL": "21/28", "MM_MAINT": "28/28", "MDS": "28/28"}
_DEFAULT_COMBINATION = {"MM": "dexamethasone", "FL": "rituximab", "MZL": "rituximab"}  # DOMAIN.md §1
CAPSULE_MG = (2.5, 5.0, 10.0, 15.0, 20.0, 25.0)  # DOMAIN.md §1 capsules
_SCHEDULE_ALIASES = {"21/28": "21/28", "28/28": "28/28", "21 of 28": "21/28", "d1-21": "21/28", "days 1-21": "21/28",
                     "21/7": "21/28", "continuous": "28/28", "daily": "28/28", "28 of 28": "28/28"}
_YES = {"yes", "y", "true", "1", "ja", "oui", "x"}
_NO = {"no", "n", "false", "0", "nein", "non", ""}
_SEX = {"f": "F", "female": "F", "w": "F", "weiblich": "F", "femme": "F", "m": "M", "male": "M", "männlich": "M",
        "maennlich": "M", "homme": "M"}


def _table_columns(df: pd.DataFrame, fields: tuple[str, ...]) -> dict[str, str]:
    """field -> file column, by contract name or alias (first match wins)."""
    found: dict[str, str] = {}
    for col in df.columns:
        key = _col_key(col)
        fld = key.replace(" ", "_") if key.replace(" ", "_") in fields else _TABLE_COLUMN_ALIASES.get(key)
        if fld in fields and fld not in found:
            found[fld] = col
    return found


def _require(found: dict[str, str], required: tuple[str, ...], df: pd.DataFrame, kind: str, file_name: str) -> None:
    missing = [f for f in required if f not in found]
    if missing:
        cols = ", ".join(f"'{c}'" for c in df.columns) or "none"
        raise UnrecognisedFile(
            f"The {kind} file {file_name + ' ' if file_name else ''}lacks the column(s) {', '.join(missing)}. "
            f"Columns found: {cols}; lenadash {_expected_message(kind)}. Add or rename the columns and upload again."
        )


class _Fields:
    """Coded access to a small table's fields (absent optional fields read as blank)."""

    def __init__(self, df: pd.DataFrame, found: dict[str, str]):
        self.df, self.found, self.n = df, found, len(df)

    def __getitem__(self, field_name: str) -> _Coded:
        col = self.found.get(field_name)
        return _Coded.of(self.df[col]) if col else _Coded.constant(self.n)

    def col(self, field_name: str) -> str:
        return self.found.get(field_name, field_name)


def _dates(coded: _Coded, *, fields: _Fields, name: str, lines, problems: _Problems, bad: np.ndarray,
           required: bool = True) -> np.ndarray:
    """Dates of a coded column (format per column), reporting unreadable ones; returns datetime64[us]."""
    per, notes = _dates_of(coded.uniques)
    when = coded.take(per)
    nat = np.isnat(when) & (~coded.blank if not required else True)
    if np.any(nat):
        shown = coded.rows(nat)
        problems.add(line=lines[nat], column=fields.col(name), value=shown, reason="unreadable date",
                     message=np.where(shown == "", f"{name} is empty.", _cat(f"{name} '", shown, "' could not be read.")),
                     hint="Use a date like 2026-01-19 (ISO), 01/19/2026 (US) or 19.01.2026.")
        bad |= nat
    for note in notes:
        problems.add(line=lines[:1], column=fields.col(name), value="", reason="ambiguous date",
                     message=note[0].upper() + note[1:] + ".", hint="Check one row against the source.",
                     severity="warning")
    return when


def _none_for_missing(s: pd.Series) -> pd.Series:
    """object column whose missing entries are None (the contracts' `str|None`, `date`)."""
    out = s.astype(object)
    return out.where(out.notna(), None)


def _as_dates(when: np.ndarray) -> np.ndarray:
    return np.array([None if np.isnat(w) else pd.Timestamp(w).date() for w in when], dtype=object)


def _check(coded: _Coded, per_unique_ok, *, fields: _Fields, name: str, lines, problems: _Problems,
           bad: np.ndarray, reason: str, message: str, hint: str) -> None:
    """Report rows whose distinct value fails `per_unique_ok` (one bool per distinct value)."""
    fail = ~coded.where(per_unique_ok)
    if fail.any():
        shown = coded.rows(fail)
        problems.add(line=lines[fail], column=fields.col(name), value=shown, reason=reason,
                     message=_cat(message.split("{}")[0], shown, message.split("{}")[1] if "{}" in message else ""),
                     hint=hint)
        bad |= fail


def read_patients(data: bytes | BinaryIO, *, file_name: str = "") -> TableImport:
    """Read patients.csv (one row per treatment course) into the patients contract.

    Fields are validated against DOMAIN.md §1 (indications, capsule strengths, schedules);
    blank optional fields take the defaults in docs/architecture.md. None in combination/menses
    means "not given". Raises UnrecognisedFile when required columns are missing.
    """
    table = _read_table(data, file_name=file_name)
    df, lines = table.df, table.lines
    found = _table_columns(df, tuple(PATIENT_COLUMNS))
    _require(found, ("mrn", "sex", "birth_date", "indication", "start_date", "starting_dose_mg"), df, "patients",
             file_name)
    f = _Fields(df, found)
    problems = _Problems(file_name)
    _report_malformed(table, problems)
    n = len(df)
    bad = np.zeros(n, dtype=bool)
    ctx = dict(fields=f, lines=lines, problems=problems, bad=bad)

    mrn = f["mrn"]
    _check(mrn, mrn.uniques != "", name="mrn", reason="missing patient", message="The row has no MRN{}.",
           hint="Fill in the MRN or delete the row.", **ctx)
    sex_c = f["sex"]
    sex_u = sex_c.uniques.str.lower().map(_SEX)
    _check(sex_c, sex_u.notna(), name="sex", reason="invalid sex", message="Sex '{}' is not F or M.",
           hint="Write F or M (needed for creatinine clearance and REMS pregnancy testing).", **ctx)
    birth_c = f["birth_date"]
    birth = _dates(birth_c, name="birth_date", **ctx)
    start_c = f["start_date"]
    start = _dates(start_c, name="start_date", **ctx)
    weight_c = f["weight_kg"]
    wv = _parse_values(weight_c.uniques.str.replace(r"\s*kg$", "", regex=True), decimal_comma=True)
    w_ok = (weight_c.uniques == "") | (wv["value"].between(0, 500, inclusive="neither") & (wv["comparator"] == ""))
    _check(weight_c, w_ok, name="weight_kg", reason="invalid weight", message="Weight '{}' is not a number of kg.",
           hint="Enter the weight in kg, e.g. 72.5 (leave blank if unknown).", **ctx)
    weight = weight_c.take(wv["value"].where(w_ok & (weight_c.uniques != "")).to_numpy(dtype="float64"))
    ind_c = f["indication"]
    ind_u = ind_c.uniques.str.lower().str.replace("_", " ").map(
        lambda s: _INDICATION_ALIASES.get(s) or _INDICATION_ALIASES.get(s.replace(" ", "_")))
    _check(ind_c, ind_u.notna(), name="indication", reason="unknown indication",
           message="Indication '{}' is not known.", hint="Use one of: " + ", ".join(INDICATIONS) + ".", **ctx)
    indication = ind_c.take(ind_u.to_numpy(dtype=object))
    dose_c = f["starting_dose_mg"]
    dv = _parse_values(dose_c.uniques.str.replace(r"\s*mg$", "", regex=True, case=False), decimal_comma=True)
    d_ok = dv["value"].isin(CAPSULE_MG) & (dv["comparator"] == "")
    _check(dose_c, d_ok, name="starting_dose_mg", reason="invalid dose",
           message="Starting dose '{}' is not a capsule strength.",
           hint="Use a capsule strength in mg: 2.5, 5, 10, 15, 20 or 25.", **ctx)
    dose = dose_c.take(dv["value"].to_numpy(dtype="float64"))
    sched_c = f["schedule"]
    sched_u = sched_c.uniques.str.lower().str.replace(" ", "", regex=False).map(
        lambda s: _SCHEDULE_ALIASES.get(s) or _SCHEDULE_ALIASES.get(s.replace("of", " of ")))
    sched_u = sched_u.mask(sched_c.uniques == "", "")  # blank: the indication's default, below
    _check(sched_c, sched_u.notna(), name="schedule", reason="invalid schedule",
           message="Schedule '{}' is not 21/28 or 28/28.",
           hint="Write 21/28 (days 1-21 of 28) or 28/28 (continuous), or leave blank for the indication's default.",
           **ctx)
    schedule = sched_c.take(sched_u.fillna("").to_numpy(dtype=object))
    schedule = np.where(schedule == "", [_DEFAULT_SCHEDULE.get(i, "") if i else "" for i in indication], schedule)
    comb_c = f["combination"]
    combination = comb_c.take(comb_c.uniques.to_numpy(dtype=object))
    combination = np.where(combination == "", [_DEFAULT_COMBINATION.get(i) if i else None for i in indication],
                           combination)
    flags = {}
    for name in ("reproductive_potential", "dialysis"):
        c = f[name]
        low = c.uniques.str.lower()
        _check(c, low.isin(_YES | _NO), name=name, reason="invalid value", message=f"{name} '{{}}' is not yes or no.",
               hint="Write yes or no (blank means no).", **ctx)
        flags[name] = c.where(low.isin(_YES))
    men_c = f["menses"]
    men_u = men_c.uniques.str.lower()
    _check(men_c, men_u.isin(["regular", "irregular", ""]), name="menses", reason="invalid value",
           message="Menses '{}' is not regular or irregular.",
           hint="Write regular or irregular (REMS test interval), or leave blank.", **ctx)
    menses = men_c.take(men_u.where(men_u != "").to_numpy(dtype=object))
    # start before birth
    with np.errstate(invalid="ignore"):
        before = ~np.isnat(birth) & ~np.isnat(start) & (start < birth)
    if before.any():
        problems.add(line=lines[before], column=f.col("start_date"), value=start_c.rows(before),
                     reason="start before birth", message="The start date is before the birth date.",
                     hint="Check both dates (US files: MM/DD/YYYY).")
        bad |= before
    sex = sex_c.take(sex_u.to_numpy(dtype=object))
    rows = pd.DataFrame({
        "mrn": mrn.column(slice(None)),
        "name": f["name"].column(slice(None)),
        "sex": sex,
        "birth_date": _as_dates(birth),
        "weight_kg": weight,
        "indication": indication,
        "start_date": _as_dates(start),
        "starting_dose_mg": dose,
        "schedule": schedule,
        "combination": combination,
        "reproductive_potential": flags["reproductive_potential"],
        "menses": menses,
        "dialysis": flags["dialysis"],
        "line": lines,
    })
    # the same course twice: exact repeats collapse, conflicting ones are rejected
    key = rows["mrn"].astype(str) + "|" + rows["start_date"].astype(str) + "|" + rows["indication"].astype(str)
    dup_key = key.duplicated(keep="first").to_numpy() & ~bad
    if dup_key.any():
        same = rows.drop(columns="line").astype(str).duplicated(keep="first").to_numpy()
        exact = dup_key & same
        conflict = dup_key & ~same
        if exact.any():
            problems.add(line=lines[exact], column="", value="", reason="duplicate row",
                         message="The same course appears twice; imported once.", hint="Nothing to fix.",
                         severity="warning")
        if conflict.any():
            problems.add(line=lines[conflict], column=f.col("start_date"), value=start_c.rows(conflict),
                         reason="duplicate course",
                         message="Another row has the same MRN, indication and start date with different details.",
                         hint="Keep one row per course; delete or correct the other.")
        bad |= dup_key
    rows = rows.loc[~bad].reset_index(drop=True)
    for c in ("mrn", "name", "indication", "schedule"):
        rows[c] = rows[c].astype("str")
    for c in ("sex", "combination", "menses", "birth_date", "start_date"):
        rows[c] = _none_for_missing(rows[c])
    for c in ("weight_kg", "starting_dose_mg"):
        rows[c] = rows[c].astype("float64")
    for c in ("reproductive_potential", "dialysis"):
        rows[c] = rows[c].astype(bool)
    return TableImport(rows=rows[PATIENT_COLUMNS + ["line"]], problems=problems.frame(), rows_read=n + len(table.malformed),
                       column_map={v: k for k, v in found.items()}, delimiter=table.delimiter,
                       encoding=table.encoding)


_EVENT_ALIASES: dict[str, str] = {
    **{k: k for k in EVENT_KINDS},
    "temperature": "fever", "temp": "fever", "febrile": "fever",
    "transfusion": "platelet_transfusion", "platelet transfusion": "platelet_transfusion",
    "plt transfusion": "platelet_transfusion", "platelets transfusion": "platelet_transfusion",
    "tox": "toxicity", "adverse event": "toxicity", "ae": "toxicity",
    "pregnancy test": "pregnancy_test", "pregnancy": "pregnancy_test", "hcg": "pregnancy_test",
    "bone marrow biopsy": "marrow_biopsy", "marrow biopsy": "marrow_biopsy", "bmb": "marrow_biopsy",
    "bone marrow": "marrow_biopsy", "dose change": "dose_change", "dose": "dose_change",
    "vte prophylaxis": "thromboprophylaxis", "anticoagulation": "thromboprophylaxis",
    "thrombosis prophylaxis": "thromboprophylaxis",
}
_HOLD_WORDS = {"hold", "held", "interrupt", "interrupted", "pause", "paused", "stop", "stopped"}
_PREGNANCY = {"negative": "negative", "neg": "negative", "-": "negative", "negativ": "negative",
              "positive": "positive", "pos": "positive", "+": "positive", "positiv": "positive"}
FEVER_C = (30.0, 45.0)  # plausible body temperature, degrees C; above 50 the value is read as Fahrenheit


def read_events(data: bytes | BinaryIO, *, file_name: str = "") -> TableImport:
    """Read events.csv (mrn, date, event, value[, detail]) into the events contract.

    Each event kind's value is parsed (models.EVENT_KINDS): fever in C (F > 50 converted),
    toxicity grade 1-5, pregnancy test negative/positive, dose change in mg or `hold`,
    thromboprophylaxis agent. NaN/NA/None in parsed columns mean "not this kind of event".
    """
    table = _read_table(data, file_name=file_name)
    df, lines = table.df, table.lines
    fields = ("mrn", "date", "event", "value", "detail")
    found = _table_columns(df, fields)
    _require(found, ("mrn", "date", "event"), df, "events", file_name)
    f = _Fields(df, found)
    problems = _Problems(file_name)
    _report_malformed(table, problems)
    n = len(df)
    bad = np.zeros(n, dtype=bool)
    ctx = dict(fields=f, lines=lines, problems=problems, bad=bad)
    mrn = f["mrn"]
    _check(mrn, mrn.uniques != "", name="mrn", reason="missing patient", message="The row has no MRN{}.",
           hint="Fill in the MRN or delete the row.", **ctx)
    when = _dates(f["date"], name="date", **ctx)
    ev_c = f["event"]
    ev_u = ev_c.uniques.str.lower().str.replace("_", " ").map(
        lambda s: _EVENT_ALIASES.get(s) or _EVENT_ALIASES.get(s.replace(" ", "_")))
    _check(ev_c, ev_u.notna(), name="event", reason="unknown event", message="Event '{}' is not known.",
           hint="Use one of: " + ", ".join(EVENT_KINDS) + ".", **ctx)
    event = ev_c.take(ev_u.to_numpy(dtype=object))
    val_c = f["value"]
    raw_value = val_c.take(val_c.uniques.to_numpy(dtype=object))
    low = val_c.uniques.str.lower()
    pv = _parse_values(val_c.uniques, decimal_comma=True)
    num = val_c.take(pv["value"].where(pv["comparator"] == "").to_numpy(dtype="float64"))

    temperature = np.full(n, np.nan)
    grade = pd.array([pd.NA] * n, dtype="Int64")
    result = np.full(n, None, dtype=object)
    dose = np.full(n, np.nan)
    is_hold = np.zeros(n, dtype=bool)
    agent = np.full(n, None, dtype=object)

    def report(mask, reason, message, hint, severity="error"):
        if mask.any():
            shown = raw_value[mask]
            problems.add(line=lines[mask], column=f.col("value"), value=shown, reason=reason,
                         message=_cat(message.split("{}")[0], shown, message.split("{}")[1]), hint=hint,
                         severity=severity)
            if severity == "error":
                bad[:] |= mask

    fever = event == "fever"
    fahrenheit = fever & (num > 50)
    temp = np.where(fahrenheit, (num - 32.0) * 5.0 / 9.0, num)
    report(fahrenheit & (temp >= FEVER_C[0]) & (temp <= FEVER_C[1]), "assumed unit",
           "Temperature '{}' was read as Fahrenheit and converted to Celsius.", "Record temperatures in °C.", "warning")
    report(fever & ~((temp >= FEVER_C[0]) & (temp <= FEVER_C[1])), "invalid value",
           "Fever value '{}' is not a body temperature.", "Enter the temperature in °C, e.g. 38.6.")
    temperature[fever] = np.round(temp[fever], 2)

    tox = event == "toxicity"
    graded = val_c.take(pd.to_numeric(low.str.replace(r"^(?:ctcae\s*)?(?:grade|gr\.?|g)\s*", "", regex=True),
                                      errors="coerce").to_numpy(dtype="float64"))
    g_ok = tox & np.isin(graded, [1, 2, 3, 4, 5])
    report(tox & ~g_ok, "invalid value", "Toxicity grade '{}' is not 1-5.", "Enter the CTCAE grade, 1 to 5.")
    grade[g_ok] = graded[g_ok].astype(int)

    preg = event == "pregnancy_test"
    pres = val_c.take(low.map(_PREGNANCY).to_numpy(dtype=object))
    report(preg & pd.isna(pres), "invalid value", "Pregnancy test result '{}' is not negative or positive.",
           "Write negative or positive.")
    result[preg] = pres[preg]

    dc = event == "dose_change"
    hold = dc & val_c.where(low.isin(_HOLD_WORDS))
    mg = val_c.take(pd.to_numeric(low.str.replace(r"\s*mg$", "", regex=True).str.replace(",", "."),
                                  errors="coerce").to_numpy(dtype="float64"))
    dose_ok = dc & ~hold & (mg > 0) & (mg <= 25)
    report(dc & ~hold & ~dose_ok, "invalid value", "Dose change '{}' is not a dose in mg or 'hold'.",
           "Enter the new daily dose in mg (e.g. 15) or 'hold'.")
    dose[dose_ok] = mg[dose_ok]
    is_hold[hold] = True

    tp = event == "thromboprophylaxis"
    report(tp & (raw_value == ""), "invalid value", "Thromboprophylaxis has no agent{}.",
           "Name the agent, e.g. aspirin, enoxaparin, warfarin, apixaban.")
    agent[tp & (raw_value != "")] = np.char.lower(raw_value[tp & (raw_value != "")].astype(str)).astype(object)

    rows = pd.DataFrame({
        "mrn": mrn.column(slice(None)),
        "date": _as_dates(when),
        "event": event,
        "value": raw_value,
        "detail": f["detail"].column(slice(None)),
        "temperature_c": temperature,
        "grade": grade,
        "result": result,
        "dose_mg": dose,
        "is_hold": is_hold,
        "agent": agent,
        "line": lines,
    })
    dup = rows.drop(columns="line").astype(str).duplicated(keep="first").to_numpy() & ~bad
    if dup.any():
        problems.add(line=lines[dup], column="", value="", reason="duplicate row",
                     message="The same event appears twice; imported once.", hint="Nothing to fix.", severity="warning")
        bad |= dup
    rows = rows.loc[~bad].reset_index(drop=True)
    for c in ("mrn", "event", "value", "detail"):
        rows[c] = rows[c].astype("str")
    for c in ("result", "agent"):
        rows[c] = _none_for_missing(rows[c])
    return TableImport(rows=rows[EVENT_COLUMNS + ["line"]], problems=problems.frame(), rows_read=n + len(table.malformed),
                       column_map={v: k for k, v in found.items()}, delimiter=table.delimiter,
                       encoding=table.encoding)


def detect_kind(data: bytes | BinaryIO) -> str:
    """"labs", "patients" or "events", from the file's columns; raises UnrecognisedFile otherwise."""
    raw = as_bytes(data)
    _, _, head = _decode(raw[:65536])
    delimiter, header_idx = _sniff(head)
    lines = head.splitlines()
    header = next(csv.reader([lines[header_idx]], delimiter=delimiter)) if len(lines) > header_idx else []
    df = pd.DataFrame(columns=[h.replace("\ufeff", "").strip() for h in header])
    found_events = _table_columns(df, ("mrn", "date", "event", "value", "detail"))
    if {"mrn", "date", "event"} <= set(found_events):
        return "events"
    found_patients = _table_columns(df, tuple(PATIENT_COLUMNS))
    if {"indication", "start_date"} <= set(found_patients) or {"starting_dose_mg", "start_date"} <= set(found_patients):
        return "patients"
    try:
        _lab_layout(list(df.columns))
        return "labs"
    except UnrecognisedFile as exc:
        raise UnrecognisedFile(
            "Could not tell whether this is a lab, patients or events file. " + str(exc)
            + f" A patients file {_expected_message('patients')}; an events file {_expected_message('events')}."
        ) from exc
