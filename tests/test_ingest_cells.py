"""One cell never sinks a file: what the database would refuse is rejected on its own line, with a hint.

Lengths (vocab.frames.MAX_LENGTH, equal to store/models.py's max_length), NUL and control characters,
MRN shape (formula or markup injection) and look-alike MRNs, in labs, patients and events files.
"""

from __future__ import annotations

import pytest

from lenadash.ingest import read_events, read_labs, read_patients
from lenadash.store import models
from lenadash.vocab.frames import MAX_LENGTH

LAB_HEAD = "MRN,Collection Date/Time,Component,Result,Units\n"
PAT_HEAD = "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg,combination\n"
EV_HEAD = "mrn,date,event,value,detail\n"


def labs(*rows: str):
    return read_labs((LAB_HEAD + "".join(r + "\n" for r in rows)).encode("utf-8"), file_name="labs.csv")


def patients(*rows: str):
    return read_patients((PAT_HEAD + "".join(r + "\n" for r in rows)).encode("utf-8"), file_name="patients.csv")


def events(*rows: str):
    return read_events((EV_HEAD + "".join(r + "\n" for r in rows)).encode("utf-8"), file_name="events.csv")


def lab_row(mrn: str = "P1", value: str = "5.2", name: str = "WBC", unit: str = "K/uL") -> str:
    return f'"{mrn}",2026-01-19 08:00,"{name}",{value},"{unit}"'


def patient_row(mrn: str = "P1", name: str = "Alex Example", combination: str = "dexamethasone") -> str:
    return f'"{mrn}","{name}",M,1958-04-17,82,MM,2026-03-09,25,"{combination}"'


def event_row(mrn: str = "P1", value: str = "aspirin", detail: str = "daily") -> str:
    return f'"{mrn}",2026-03-09,thromboprophylaxis,"{value}","{detail}"'


def reasons(imp) -> list[tuple[int, str, str]]:
    return [(int(r.line), r.reason, r.severity) for r in imp.problems.itertuples()]


@pytest.mark.parametrize(
    ("model", "field", "key"),
    [
        (models.PatientBase, "mrn", "mrn"),
        (models.PatientBase, "name", "name"),
        (models.TreatmentCourseBase, "combination", "combination"),
        (models.ClinicalEventBase, "detail", "detail"),
        (models.ClinicalEventBase, "agent", "agent"),
        (models.ClinicalEventBase, "agent", "value"),
        (models.LabResultBase, "raw_value", "raw_value"),
        (models.LabResultBase, "raw_unit", "raw_unit"),
        (models.LabResultBase, "raw_name", "raw_name"),
        (models.LabResultBase, "loinc", "loinc"),
        (models.LabResultBase, "status", "status"),
    ],
)
def test_ingest_limits_equal_the_database_columns(model, field, key):
    meta = model.model_fields[field].metadata
    assert [m.max_length for m in meta if hasattr(m, "max_length")] == [MAX_LENGTH[key]]


# (field, limit): just below, at and just above each limit, in every file that carries the field.
def _length_cases():
    for n, ok in ((-1, True), (0, True), (1, False)):
        yield "labs mrn", lambda n=n: labs(lab_row(mrn="M" * (64 + n)), lab_row()), ok
        yield "labs value", lambda n=n: labs(lab_row(value="5" + " " * 0 + "0" * (63 + n)), lab_row()), ok
        yield "labs name", lambda n=n: labs(lab_row(name="W" * (128 + n)), lab_row()), ok
        yield "patients mrn", lambda n=n: patients(patient_row(mrn="M" * (64 + n)), patient_row(mrn="P2")), ok
        yield "patients name", lambda n=n: patients(patient_row(name="N" * (200 + n)), patient_row(mrn="P2")), ok
        yield "combination", lambda n=n: patients(patient_row(combination="c" * (64 + n)), patient_row(mrn="P2")), ok
        yield "events mrn", lambda n=n: events(event_row(mrn="M" * (64 + n)), event_row(mrn="P2")), ok
        yield "events agent", lambda n=n: events(event_row(value="a" * (64 + n)), event_row(mrn="P2")), ok
        yield "events detail", lambda n=n: events(event_row(detail="d" * (500 + n)), event_row(mrn="P2")), ok


@pytest.mark.parametrize(("what", "read", "ok"), list(_length_cases()))
def test_length_limits_reject_only_the_long_cell(what, read, ok):
    imp = read()
    rows = imp.results if hasattr(imp, "results") else imp.rows
    if ok:
        assert "text too long" not in set(imp.problems["reason"]), what
    else:
        assert (2, "text too long", "error") in reasons(imp), what
        assert list(rows["line"]) == [3], what  # the rest of the file lands
        problem = imp.problems[imp.problems["reason"] == "text too long"].iloc[0]
        assert problem["hint"] and problem["value"]
        assert problem["value"] not in problem["message"] + problem["hint"]


@pytest.mark.parametrize(
    "read",
    [
        lambda: labs(lab_row(mrn="P\x001"), lab_row()),
        lambda: labs(lab_row(unit="K/u\x00L"), lab_row()),
        lambda: labs(lab_row(mrn="P\x1b1"), lab_row()),
        lambda: patients(patient_row(name="Alex\x00Example"), patient_row(mrn="P2")),
        lambda: patients(patient_row(mrn="P\t1"), patient_row(mrn="P2")),
        lambda: events(event_row(detail="da\x00ily"), event_row(mrn="P2")),
        lambda: events(event_row(value="asp\x7firin"), event_row(mrn="P2")),
        lambda: events(event_row(detail="da\x85ily"), event_row(mrn="P2")),  # C1 control
    ],
)
def test_control_characters_reject_their_row(read):
    imp = read()
    rows = imp.results if hasattr(imp, "results") else imp.rows
    assert (2, "control character", "error") in reasons(imp)
    assert list(rows["line"]) == [3]


def test_line_breaks_in_free_text_are_not_control_characters():
    imp = events(event_row(detail="first line\nsecond line"))
    assert imp.problems.empty
    assert imp.rows["detail"].tolist() == ["first line\nsecond line"]


@pytest.mark.parametrize(
    ("mrn", "unsafe"),
    [
        ("=HYPERLINK(1)", True),
        ("+123", True),
        ("-123", True),
        ("@SUM(A1)", True),
        ("<img src=x>", True),
        ("P>1", True),
        ("P'1", True),
        ('P""1', True),  # a quote, written doubled inside a quoted CSV field
        ("P`1", True),
        ("P-123", False),  # a hyphen inside is common
        ("123+", False),
        ("P1", False),
        ("P.1/2", False),
    ],
)
def test_mrn_shape(mrn, unsafe):
    for imp in (labs(lab_row(mrn=mrn), lab_row()), patients(patient_row(mrn=mrn), patient_row(mrn="P2"))):
        found = (2, "unsafe MRN", "error") in reasons(imp)
        assert found is unsafe, mrn
        if unsafe:
            rows = imp.results if hasattr(imp, "results") else imp.rows
            assert list(rows["line"]) == [3]


@pytest.mark.parametrize(
    ("first", "second", "alike"),
    [
        ("ld0001", "LD0001", True),  # case
        ("ＬＤ０００１", "LD0001", True),  # full width
        ("LD\u200b0001", "LD0001", True),  # zero-width space
        ("LD\u00a00001", "LD0001", True),  # no-break space
        ("LD0001", "LD0001", False),  # the same MRN
        ("LD0001", "LD0002", False),
    ],
)
def test_look_alike_mrns_are_warned_naming_both_lines(first, second, alike):
    for imp in (
        labs(lab_row(mrn=first), lab_row(mrn=second, name="ANC")),
        patients(patient_row(mrn=first), patient_row(mrn=second)),
        events(event_row(mrn=first), event_row(mrn=second)),
    ):
        warned = imp.problems[imp.problems["reason"] == "look-alike MRN"]
        rows = imp.results if hasattr(imp, "results") else imp.rows
        if first != second:
            assert len(rows) == 2  # kept as written
        if alike:
            assert warned["line"].tolist() == [3]
            assert warned["severity"].tolist() == ["warning"]
            assert "line 2" in warned["message"].iloc[0]
            assert sorted(rows["mrn"]) == sorted([first, second])
        else:
            assert warned.empty


def test_sample_clinic_has_no_cell_problems():
    from lenadash.config import SAMPLE_DIR

    new = {"text too long", "control character", "unsafe MRN", "look-alike MRN"}
    for path in SAMPLE_DIR.glob("*.csv"):
        data = path.read_bytes()
        reader = (
            read_patients if path.name == "patients.csv" else read_events if path.name == "events.csv" else read_labs
        )
        assert not new & set(reader(data, file_name=path.name).problems["reason"]), path.name
