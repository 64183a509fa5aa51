"""Patients (courses) and events files, detect_kind, and the fixture exports in tests/data/ingest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lenadash.ingest import (
    EVENT_COLUMNS,
    PATIENT_COLUMNS,
    PROBLEM_COLUMNS,
    UnrecognisedFile,
    detect_kind,
    read_events,
    read_labs,
    read_patients,
)
from lenadash.store.models import EVENT_KINDS

DATA = Path(__file__).parent / "data" / "ingest"
P_HEADER = "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg"
GOOD = "P1,Ann Synth,F,1980-02-03,70,MM,2026-01-05,25"


def patients(text: str):
    return read_patients(text.encode("utf-8"), file_name="patients.csv")


def events(text: str):
    return read_events(text.encode("utf-8"), file_name="events.csv")


# --- patients ----------------------------------------------------------------------------------


def test_patients_contract_and_defaults_against_domain():
    imp = read_patients((DATA / "patients.csv").read_bytes(), file_name="patients.csv")
    rows = imp.rows.set_index("mrn")
    assert list(imp.rows.columns)[: len(PATIENT_COLUMNS)] == PATIENT_COLUMNS
    assert list(imp.problems.columns) == PROBLEM_COLUMNS
    assert rows.loc["T0001", "schedule"] == "21/28" and rows.loc["T0001", "combination"] == "dexamethasone"
    assert rows.loc["T0002", "schedule"] == "28/28" and rows.loc["T0002", "combination"] is None
    assert rows.loc["T0003", "schedule"] == "28/28" and bool(rows.loc["T0003", "dialysis"]) is True
    assert rows.loc["T0004", "combination"] == "rituximab" and rows.loc["T0004", "schedule"] == "21/28"
    assert bool(rows.loc["T0001", "reproductive_potential"]) is True and rows.loc["T0001", "menses"] == "irregular"
    assert rows.loc["T0002", "menses"] is None
    assert rows.loc["T0001", "birth_date"] == dt.date(1984, 6, 1)
    assert rows.loc["T0001", "start_date"] == dt.date(2026, 1, 12)
    assert rows.loc["T0002", "weight_kg"] == 81.5 and rows.loc["T0002", "starting_dose_mg"] == 10.0
    assert imp.rows["dialysis"].dtype == bool and imp.rows["weight_kg"].dtype == np.float64
    assert imp.rows_read == 5
    assert sorted(imp.problems["reason"]) == ["invalid dose", "invalid sex", "unknown indication"]
    assert set(imp.problems["line"]) == {6}


@pytest.mark.parametrize(
    ("field", "bad", "reason", "hint_part"),
    [
        ("sex", "X", "invalid sex", "F or M"),
        ("indication", "CLL", "unknown indication", "MM_MAINT"),
        ("starting_dose_mg", "12", "invalid dose", "2.5, 5, 10, 15, 20 or 25"),
        ("starting_dose_mg", "", "invalid dose", "capsule"),
        ("birth_date", "31.02.1980", "unreadable date", "2026-01-19"),
        ("start_date", "soon", "unreadable date", "2026-01-19"),
        ("weight_kg", "-5", "invalid weight", "kg"),
        ("mrn", "", "missing patient", "MRN"),
    ],
)
def test_each_patient_field_is_validated_with_reason_and_hint(field, bad, reason, hint_part):
    values = dict(zip(P_HEADER.split(","), GOOD.split(",")))
    values[field] = bad
    imp = patients(f"{P_HEADER}\n{GOOD.replace('P1', 'P0')}\n" + ",".join(values.values()) + "\n")
    p = imp.problems[imp.problems["reason"] == reason]
    assert len(p) == 1, imp.problems.to_dict("records")
    assert p.iloc[0]["line"] == 3 and p.iloc[0]["severity"] == "error"
    assert hint_part in p.iloc[0]["hint"]
    assert imp.rows["mrn"].tolist() == ["P0"]


@pytest.mark.parametrize(
    ("field", "bad", "reason"),
    [
        ("schedule", "weekly", "invalid schedule"),
        ("reproductive_potential", "maybe", "invalid value"),
        ("dialysis", "sometimes", "invalid value"),
        ("menses", "absent", "invalid value"),
    ],
)
def test_optional_patient_fields_are_validated(field, bad, reason):
    imp = patients(f"{P_HEADER},{field}\n{GOOD},{bad}\n")
    assert imp.problems["reason"].tolist() == [reason] and imp.rows.empty


def test_start_before_birth_is_rejected():
    imp = patients(f"{P_HEADER}\nP1,Ann Synth,F,2026-02-03,70,MM,2026-01-05,25\n")
    assert imp.problems["reason"].tolist() == ["start before birth"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("mm", "MM"),
        ("MM maintenance", "MM_MAINT"),
        ("mm_maint", "MM_MAINT"),
        ("Mantle cell lymphoma", "MCL"),
        ("fl", "FL"),
        ("MZL", "MZL"),
    ],
)
def test_indication_spellings(text, code):
    imp = patients(f"{P_HEADER}\nP1,A,F,1980-02-03,70,{text},2026-01-05,10\n")
    assert imp.rows["indication"].tolist() == [code]


def test_patient_column_aliases_and_us_dates_and_units_in_cells():
    imp = patients(
        "Patient ID,Patient Name,Gender,DOB,Weight (kg),Diagnosis,Start Date,Starting Dose\n"
        'P1,A,female,02/23/1980,"70,5",MM,01/05/2026,25 mg\n'
    )
    r = imp.rows.iloc[0]
    assert (r["sex"], r["birth_date"], r["weight_kg"], r["starting_dose_mg"]) == ("F", dt.date(1980, 2, 23), 70.5, 25.0)


def test_same_course_twice_collapses_or_conflicts():
    imp = patients(f"{P_HEADER}\n{GOOD}\n{GOOD}\n{GOOD.replace(',25', ',20')}\n")
    assert imp.problems[["line", "reason", "severity"]].values.tolist() == [
        [3, "duplicate row", "warning"],
        [4, "duplicate course", "error"],
    ]
    assert len(imp.rows) == 1


def test_patients_missing_required_columns_names_them():
    with pytest.raises(UnrecognisedFile, match="indication.*start_date"):
        patients("mrn,name\nP1,A\n")


# --- events --------------------------------------------------------------------------------------


def test_events_fixture_parsed_per_kind():
    imp = read_events((DATA / "events.csv").read_bytes(), file_name="events.csv")
    assert list(imp.rows.columns)[: len(EVENT_COLUMNS)] == EVENT_COLUMNS
    r = imp.rows.set_index("line")
    assert r.loc[2, "temperature_c"] == 38.6 and r.loc[2, "date"] == dt.date(2026, 1, 20)
    assert r.loc[3, "temperature_c"] == 38.6  # 101.5 (bare, above 50: °F) -> 38.61 °C, kept at one decimal
    assert r.loc[4, "result"] == "negative"
    assert r.loc[5, "grade"] == 3 and r.loc[5, "detail"] == "rash"
    assert bool(r.loc[6, "is_hold"]) and np.isnan(r.loc[6, "dose_mg"])
    assert r.loc[7, "dose_mg"] == 20.0 and not r.loc[7, "is_hold"]
    assert r.loc[8, "agent"] == "aspirin"
    assert r.loc[11, "grade"] == 3  # "grade 3"
    assert imp.rows["grade"].dtype == "Int64"
    w = imp.problems
    assert w[["line", "reason", "severity"]].values.tolist() == [[3, "assumed unit", "warning"]]
    assert set(imp.rows["event"]) <= set(EVENT_KINDS)


@pytest.mark.parametrize(
    ("event", "value", "reason"),
    [
        ("fever", "", "invalid value"),
        ("fever", "hot", "invalid value"),
        ("fever", "25", "invalid value"),
        ("toxicity", "6", "invalid value"),
        ("toxicity", "", "invalid value"),
        ("pregnancy_test", "maybe", "invalid value"),
        ("dose_change", "lots", "invalid value"),
        ("dose_change", "30", "invalid value"),
        ("thromboprophylaxis", "", "invalid value"),
        ("party", "1", "unknown event"),
    ],
)
def test_event_values_are_validated(event, value, reason):
    imp = events(f"mrn,date,event,value\nP1,2026-01-20,fever,38.5\nP1,2026-01-21,{event},{value}\n")
    p = imp.problems
    assert p[["line", "reason", "severity"]].values.tolist() == [[3, reason, "error"]]
    assert p.iloc[0]["hint"]
    assert imp.rows["line"].tolist() == [2]


def test_event_aliases_and_missing_patient_and_date():
    imp = events(
        "mrn,date,event,value\nP1,2026-01-20,Platelet transfusion,1\n,2026-01-20,fever,39\n"
        "P1,someday,fever,39\nP1,2026-01-22,Bone marrow biopsy,\n"
    )
    assert imp.rows["event"].tolist() == ["platelet_transfusion", "marrow_biopsy"]
    assert imp.problems[["line", "reason"]].values.tolist() == [[3, "missing patient"], [4, "unreadable date"]]


# --- detect_kind and fixture lab exports ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("epic_long.csv", "labs"),
        ("fhir_flat.csv", "labs"),
        ("europe_wide_cp1252.csv", "labs"),
        ("patients.csv", "patients"),
        ("events.csv", "events"),
    ],
)
def test_detect_kind(name, kind):
    assert detect_kind((DATA / name).read_bytes()) == kind


def test_epic_fixture_lands_or_reports_every_row():
    imp = read_labs((DATA / "epic_long.csv").read_bytes(), file_name="epic_long.csv")
    assert imp.results["line"].tolist() == [2, 3, 5, 6, 8, 11]
    assert imp.problems[["line", "reason"]].values.tolist() == [
        [4, "percentage, not a count"],
        [7, "unknown analyte"],
        [9, "non-numeric result"],
        [10, "no result"],
    ]
    assert set(imp.problems["file"]) == {"epic_long.csv"}
    assert imp.results.loc[imp.results["line"] == 8, "flag"].item() == "H"


def test_fhir_fixture_maps_by_loinc_with_implied_si_units(monkeypatch):
    monkeypatch.setenv("LENADASH_TIMEZONE", "Europe/Berlin")  # the fixture's +01:00
    imp = read_labs((DATA / "fhir_flat.csv").read_bytes(), file_name="fhir_flat.csv")
    r = imp.results.set_index("analyte")
    assert r.loc["creatinine", "value"] == pytest.approx(97 / 88.4)
    assert r.loc["creatinine", "ref_high"] == pytest.approx(90 / 88.4)
    assert r.loc["bilirubin", "value"] == pytest.approx(12 / 17.1)
    assert r.loc["plt", "loinc"] == "26515-7" and r.loc["plt", "value"] == 142.0
    assert (r["mrn"] == "T0002").all()
    assert r.loc["anc", "collected_at"] == pd.Timestamp("2026-02-02 07:35")
    assert imp.problems[["line", "reason"]].values.tolist() == [[6, "no result"]]  # entered-in-error


def test_european_wide_fixture():
    imp = read_labs((DATA / "europe_wide_cp1252.csv").read_bytes(), file_name="eu.csv")
    assert (imp.shape, imp.encoding, imp.delimiter) == ("wide", "cp1252", ";")
    r = imp.results[imp.results["line"] == 2].set_index("analyte")
    assert r.loc["hgb", "value"] == 9.1 and r.loc["bun", "value"] == pytest.approx(5.4 * 2.8)
    assert r.loc["creatinine", "value"] == pytest.approx(69 / 88.4) and r.loc["total_protein", "value"] == 6.6
    assert r.loc["plt", "raw_unit"] == "×10^9/L"
    assert imp.results[imp.results["line"] == 3]["analyte"].tolist() == ["wbc", "anc", "plt"]
    assert imp.problems[["line", "reason", "severity"]].values.tolist() == [[1, "percentage, not a count", "warning"]]


# --- robustness ----------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TABLE_CELL = st.one_of(
    st.text(max_size=10),
    st.sampled_from(
        [
            "",
            "F",
            "M",
            "MM",
            "MDS",
            "25",
            "2.5",
            "hold",
            "fever",
            "toxicity",
            "101",
            "3",
            "negative",
            "yes",
            "no",
            "2026-01-05",
            "01/13/2026",
            "31.02.2026",
            "dose_change",
            "thromboprophylaxis",
            "pregnancy_test",
        ]
    ),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(TABLE_CELL, min_size=8, max_size=8), min_size=1, max_size=6))
def test_patients_and_events_never_raise_on_arbitrary_cells(rows):
    import csv
    import io

    for header, reader, width in (
        (P_HEADER.split(","), read_patients, 8),
        (["mrn", "date", "event", "value", "detail"], read_events, 5),
    ):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(r[:width] for r in rows)
        imp = reader(buf.getvalue().encode("utf-8"), file_name="fuzz.csv")
        ok = set(imp.rows["line"])
        bad = set(imp.problems.loc[imp.problems["severity"] == "error", "line"])
        dup = set(imp.problems.loc[imp.problems["reason"] == "duplicate row", "line"])
        assert not ok & bad
        assert len(ok | bad | dup) == imp.rows_read
