"""read_labs gives the same output, byte for byte, on every lab export we have (issue 14: a speed change only).

Each file of sample_data/ and tests/data/ (lab, patient and event files alike: a refusal is output too),
the sample clinic's generated exports, a small benchmark clinic and a deterministic set of messy
exports (delimiters, encodings, preambles, blank lines, quoted newlines, ragged rows, look-alike MRNs,
odd dates, values, units, ranges, flags and statuses, duplicates, wide files with a units row) is read
with read_labs; a digest of everything it returns (results and problems: columns, dtypes, index and
every value; conversions; shape, column map, delimiter, encoding, rows read; or the refusal's message)
is compared with tests/data/ingest_identity.json, recorded from the code before the speed work.
Regenerate only on purpose: `LENADASH_UPDATE_IDENTITY=1 pytest tests/test_ingest_speed_identity.py`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import os
import random
from pathlib import Path

import pandas as pd
import pytest

from lenadash import samples
from lenadash.ingest import REASONS, UnrecognisedFile, read_labs

REPO = Path(__file__).resolve().parent.parent
EXPECTED = REPO / "tests" / "data" / "ingest_identity.json"
TODAY = dt.date(2026, 11, 20)  # the sample data's today: collection dates after tomorrow are rejected
UPDATE = os.environ.get("LENADASH_UPDATE_IDENTITY") == "1"


# --- the corpus ------------------------------------------------------------------------------------


def _files_on_disk() -> dict[str, bytes]:
    out = {}
    for folder in ("sample_data", "tests/data"):
        for path in sorted((REPO / folder).rglob("*")):
            if path.is_file() and path.suffix not in (".py", ".md") and path != EXPECTED:
                out[path.relative_to(REPO).as_posix()] = path.read_bytes()
    return out


def _generated() -> dict[str, bytes]:
    out = {f"samples/{k}": v for k, v in {**samples.sample_files(), **samples.feed_files()}.items()}
    bench = samples.benchmark_clinic(24, results_per_patient=250, today=TODAY)
    out["bench/labs_long_us.csv"] = bench.labs_csv
    return out


_LONG_HEADERS = (
    ["MRN", "Collection Date/Time", "Component", "Result", "Units", "Reference Range", "Flag", "Result Status"],
    ["Patient ID", "Collected", "Test", "Value", "UOM"],
    ["mrn", "collected_at", "analyte", "value", "unit", "ref_low", "ref_high"],
    ["patient_id", "effectiveDateTime", "code", "valueQuantity.value", "valueQuantity.unit", "status"],
    ["MRN", "Patient Name", "Date", "Time", "Test Name", "LOINC", "Result", "Unit", "Range", "Flag"],
)
_MRNS = ["P1", "P2", " P3 ", "Patient/P4", "", "p1", "P\uff11", "P1\u200b", "=CMD()", "P<5>", "P\x1b6", "P" * 70]
_DATES = [
    "2026-01-19 08:30",
    "2026-01-19T23:30:00-05:00",
    "01/19/2026 8:30 AM",
    "01/02/2026",
    "19.01.2026 08:30",
    "13/01/2026",
    "2026-13-01",
    "",
    "2031-01-01",
    "1985-06-01",
    "tomorrow",
    "20260119",
    "2026-01-19\x07",
]
_TESTS = [
    "WBC",
    "ANC",
    "Neutrophils Absolute",
    "Hb",
    "Hemoglobin",
    "PLT",
    "Platelets",
    "Creatinine",
    "Bilirubin, total",
    "ALT",
    "Neutrophils %",
    "Neutrophils",
    "MCV",
    "751-8",
    "777-3",
    "",
    "Lymphocytes",
]
_VALUES = [
    "5.2",
    "1.2",
    "150",
    "125",
    "88.4",
    "0",
    "-3",
    "<0.5",
    ">=1000",
    "5.2 H",
    "12*",
    "3.1 (L)",
    "1,5",
    "150,000",
    "150.000",
    "9999999",
    "",
    "TNP",
    "cancelled",
    "see below",
    "1e400",
    "nan",
    "inf",
    "150 K/uL",
    "<0.5 x10^9/L",
    "4 apples",
    "150000",
    "1.2\x1b[31m",
    "x" * 80,
]
_UNITS = ["", "K/uL", "10^9/L", "x10E3/uL", "g/dL", "g/L", "mg/dL", "umol/L", "µmol/L", "%", "U/L", "furlongs", "/uL"]
_RANGES = ["", "4.0-11.0", "3,5-5,0", "<150", ">60", "12.0-16.0", "120-160", "abc", "(1.5 - 8.0)", "10 to 20"]
_FLAGS = ["", "H", "L", "(HH)", "Abnormal", "*"]
_STATUS = ["Final", "Corrected", "Amended", "Cancelled", "Preliminary", "", "entered in error", "F"]
_POOLS = {
    "mrn": _MRNS,
    "date": _DATES,
    "test": _TESTS,
    "value": _VALUES,
    "unit": _UNITS,
    "range": _RANGES,
    "flag": _FLAGS,
    "status": _STATUS,
}
_ROLE_OF = {
    "MRN": "mrn",
    "Patient ID": "mrn",
    "mrn": "mrn",
    "patient_id": "mrn",
    "Collection Date/Time": "date",
    "Collected": "date",
    "collected_at": "date",
    "effectiveDateTime": "date",
    "Date": "date",
    "Component": "test",
    "Test": "test",
    "analyte": "test",
    "code": "test",
    "Test Name": "test",
    "Result": "value",
    "Value": "value",
    "value": "value",
    "valueQuantity.value": "value",
    "Units": "unit",
    "UOM": "unit",
    "unit": "unit",
    "valueQuantity.unit": "unit",
    "Unit": "unit",
    "Reference Range": "range",
    "Range": "range",
    "ref_low": "value",
    "ref_high": "value",
    "Flag": "flag",
    "Result Status": "status",
    "status": "status",
}
_WIDE_TESTS = [
    "WBC (K/uL)",
    "ANC [10^9/L]",
    "Hb (g/L)",
    "PLT",
    "Neutrophils (%)",
    "MCV (fL)",
    "Creatinine (umol/L)",
    "Neut# (x10E3/uL)",
    "Lymphocytes (absolute)",
]


def _cell(rng: random.Random, header: str) -> str:
    if header == "Patient Name":
        return rng.choice(["DOE, JANE", "ROE, RICHARD", ""])
    if header == "Time":
        return rng.choice(["8:30 AM", "09:00", "", "25:00"])
    if header == "LOINC":
        return rng.choice(["", "", "718-7", "777-3", "751-8", "26499-4"])
    return rng.choice(_POOLS[_ROLE_OF[header]])


def _write(rows: list[list[str]], rng: random.Random) -> bytes:
    delimiter = rng.choice([",", ",", ";", "\t", "|"])
    newline = rng.choice(["\n", "\n", "\r\n"])
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline).writerows(rows)
    text = buf.getvalue()
    lines = text.split(newline)
    if rng.random() < 0.2:
        lines.insert(0, "Lab results export" + delimiter)  # a title line above the header
    if rng.random() < 0.25:
        for _ in range(rng.randint(1, 3)):
            lines.insert(rng.randint(2, max(2, len(lines) - 1)), "")  # blank lines
    if rng.random() < 0.15:
        at = rng.randint(2, max(2, len(lines) - 1))
        lines.insert(at, delimiter.join(["P1", "DOE", "JANE"] + ["x"] * len(rows[0])))  # a ragged row
    text = newline.join(lines)
    encoding = rng.choice(["utf-8", "utf-8", "utf-8-sig", "cp1252", "utf-16"])
    return text.encode(encoding, errors="replace")


def _long_export(rng: random.Random) -> bytes:
    header = list(rng.choice(_LONG_HEADERS))
    rows = [header]
    for _ in range(rng.randint(1, 40)):
        rows.append([_cell(rng, h) for h in header])
        if rng.random() < 0.15:
            rows.append(list(rows[-1]))  # an exact repeat
        if rng.random() < 0.15:
            again = list(rows[-1])
            again[_value_index(header)] = rng.choice(_VALUES)  # same key, maybe another value
            rows.append(again)
    if rng.random() < 0.2:
        rows[-1][_value_index(header)] = "5.2\nsee note"  # a quoted newline
    return _write(rows, rng)


def _value_index(header: list[str]) -> int:
    return next(i for i, h in enumerate(header) if _ROLE_OF.get(h) == "value")


def _wide_export(rng: random.Random) -> bytes:
    tests = rng.sample(_WIDE_TESTS, rng.randint(1, len(_WIDE_TESTS)))
    key = ["MRN", "Date"] + (["Time"] if rng.random() < 0.3 else [])
    rows = [key + tests]
    if rng.random() < 0.3:
        rows.append([""] * len(key) + [rng.choice(_UNITS) for _ in tests])  # a units row under the header
    for _ in range(rng.randint(1, 25)):
        rows.append([_cell(rng, h) for h in key] + [rng.choice(_VALUES) for _ in tests])
        if rng.random() < 0.1:
            rows.append(list(rows[-1]))
    return _write(rows, rng)


def messy_exports(n_long: int = 40, n_wide: int = 16) -> dict[str, bytes]:
    """Deterministic messy lab exports (the same bytes on every run: a seeded generator)."""
    rng = random.Random(14)
    out = {f"messy/long_{i:02d}.csv": _long_export(rng) for i in range(n_long)}
    out.update({f"messy/wide_{i:02d}.csv": _wide_export(rng) for i in range(n_wide)})
    return out


def corpus() -> dict[str, bytes]:
    return {**_files_on_disk(), **_generated(), **messy_exports()}


# --- the digest ------------------------------------------------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:24]


def frame_digest(df: pd.DataFrame) -> str:
    """Columns, dtypes, index and every value (repr: NA, NaN, -0.0, float digits and timestamps all count)."""
    parts = [repr(list(df.columns)), repr(df.index), repr([repr(t) for t in df.dtypes])]
    parts += ["\x1f".join(map(repr, df[c].tolist())) for c in df.columns]
    return _sha("\x1e".join(parts))


def import_digest(data: bytes, file_name: str) -> dict:
    """The digest of everything read_labs returns for one file, or of the refusal's message."""
    try:
        imp = read_labs(data, file_name=file_name)
    except UnrecognisedFile as exc:
        return {"refused": _sha(str(exc))}
    meta = [imp.shape, sorted(imp.column_map.items()), imp.delimiter, imp.encoding, imp.rows_read]
    return {
        "rows": len(imp.results),
        "problem_rows": len(imp.problems),
        "results": frame_digest(imp.results),
        "problems": frame_digest(imp.problems),
        "conversions": frame_digest(imp.conversions),
        "meta": _sha(repr(meta)),
        "reasons": sorted(set(imp.problems["reason"])),
    }


@pytest.fixture()
def pinned_today(monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", "UTC")
    monkeypatch.setattr("lenadash.ingest.normalise.today", lambda: TODAY)


@functools.cache
def _corpus() -> dict[str, bytes]:
    return corpus()


def _expected() -> dict[str, dict]:
    return json.loads(EXPECTED.read_text())["files"] if EXPECTED.exists() else {}


@pytest.mark.skipif(not UPDATE, reason="regenerates only with LENADASH_UPDATE_IDENTITY=1")
def test_regenerate_the_expected_digests(pinned_today):
    got = {name: import_digest(data, Path(name).name) for name, data in sorted(_corpus().items())}
    EXPECTED.write_text(json.dumps({"today": TODAY.isoformat(), "files": got}, indent=1, sort_keys=True) + "\n")


def test_the_corpus_is_the_recorded_one():
    assert sorted(_corpus()) == sorted(_expected()), "regenerate on purpose (LENADASH_UPDATE_IDENTITY=1)"


@pytest.mark.parametrize("name", sorted(_corpus()))
def test_read_labs_output_is_identical(name, pinned_today):
    assert import_digest(_corpus()[name], Path(name).name) == _expected().get(name)


def test_the_corpus_covers_every_problem_reason_the_csv_reader_reports():
    """The corpus is worth its name: every reason the lab CSV reader reports appears in the recorded output."""
    seen = {r for d in _expected().values() for r in d.get("reasons", [])}
    csv_reasons = set(REASONS) - _NOT_CSV_LAB_REASONS
    assert csv_reasons <= seen, sorted(csv_reasons - seen)


# reasons that only the HL7/FHIR readers or the patient and event readers report
_NOT_CSV_LAB_REASONS = {
    "unreadable message",
    "not a result message",
    "invalid sex",
    "invalid weight",
    "unknown indication",
    "invalid dose",
    "invalid schedule",
    "invalid value",
    "start before birth",
    "duplicate course",
    "unknown event",
    "value ignored",
}
