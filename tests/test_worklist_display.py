"""The clinic-day worklist's cells (issue 9 item 7): compact flags, patient as MRN and name, overdue dates
said in the text as well as by colour, a patient without a course, and the CSV that keeps every column."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd

from lenadash.dashboard import worklist

AS_OF = dt.date(2026, 11, 20)


def _patient(mrn: str, **fields) -> dict:
    base = {
        "mrn": mrn,
        "indication": "MDS",
        "start_date": "2026-01-05",
        "status": "on_treatment",
        "current_dose_mg": 10.0,
        "labs_overdue": False,
        "next_labs_due": "2026-11-23",
        "next_marrow_biopsy": None,
        "next_pregnancy_test": None,
        "notices": [],
        "draws": [
            {"date": "2026-11-16", "cycle": 11, "cycle_day": 22, "values": {"anc": 0.8, "plt": 40.0}, "grades": {}}
        ],
        "cycle": 11,
        "cycle_day": 26,
    }
    return {**base, **fields}


def _display(*patients: dict, names: dict | None = None) -> pd.DataFrame:
    people = pd.DataFrame({"mrn": list(names or {}), "name": list((names or {}).values())})
    wl = worklist.worklist({"as_of": str(AS_OF), "patients": list(patients)}, people)
    return worklist.worklist_display(wl, as_of=AS_OF).set_index("MRN")


def test_clinic_day_columns_are_the_compact_ones_and_all_exist():
    shown = _display(_patient("A1"), names={"A1": "Ada Example"})
    assert set(worklist.CLINIC_DAY_COLUMNS) <= set(shown.columns)
    row = shown.loc["A1"]
    assert row["Patient"] == "A1 - Ada Example"
    assert row["Course"] == "MDS C11 D26" and row["Dose"] == "10 mg"
    assert row["CBC due"] == "Mon 23 Nov"  # a date to come keeps its weekday


def test_overdue_dates_carry_the_warning_sign_not_only_a_colour():
    late = _patient(
        "B1",
        labs_overdue=True,
        next_labs_due="2026-11-02",
        next_marrow_biopsy="2026-08-24",
        notices=[{"kind": "biopsy_overdue", "severity": "action", "text": "marrow biopsy overdue"}],
        next_pregnancy_test="2027-01-04",
    )
    row = _display(late).loc["B1"]
    assert row["CBC due"] == f"{worklist.OVERDUE_MARK} 2 Nov"
    assert row["Also due"] == f"Biopsy {worklist.OVERDUE_MARK} 24 Aug \u00b7 Preg. 4 Jan 2027"  # other year
    assert row["Flag"].startswith("CBC late")


def test_compact_flags_keep_the_urgency_order_and_name_grade_3_analytes():
    held = _patient(
        "C1",
        status="held",
        current_dose_mg=None,  # the engine's dose while held
        draws=[
            {
                "date": "2026-11-16",
                "cycle": 11,
                "cycle_day": 22,
                "values": {"anc": 0.4, "plt": 20.0},
                "grades": {"anc": 4, "plt": 4},
                "action": "hold",
            }
        ],
    )
    row = _display(held).loc["C1"]
    assert row["Flag"] == "HOLD \u00b7 G>=3 ANC, Platelets"
    assert row["Flags"] == "Hold now; Grade >= 3: ANC, Platelets"  # the full words stay (CSV, search)
    assert row["Dose"] == "HELD"
    assert set(worklist.FLAG_SHORT) == set(worklist.FLAG_LABELS)


def test_a_patient_without_a_course_says_review_and_what_to_add():
    orphan = {
        "mrn": "LD0099",
        "indication": None,
        "start_date": None,
        "status": "review",
        "current_dose_mg": None,
        "notices": [{"kind": "labs_without_course", "severity": "action", "text": "labs but no course"}],
        "draws": [{"date": "2026-11-16", "values": {"anc": 2.9}, "grades": {}, "action": "review"}],
    }
    row = _display(orphan).loc["LD0099"]
    assert row["Patient"] == "LD0099 (no course yet)" and row["Course"] == "add course"
    assert row["Dose"] == "REVIEW" and row["Dose / status"] == "REVIEW: add a treatment course"
    assert row["Flag"] == "Review"


def test_csv_keeps_every_column_in_full():
    wl = worklist.worklist(
        {"as_of": str(AS_OF), "patients": [_patient("D1", next_marrow_biopsy="2026-12-07")]},
        pd.DataFrame({"mrn": ["D1"], "name": ["Dee Example"]}),
    )
    rows = list(csv.DictReader(io.StringIO(worklist.worklist_csv(wl))))
    assert list(rows[0]) == list(worklist.worklist_export(wl).columns)
    assert rows[0]["MRN"] == "D1" and rows[0]["Name"] == "Dee Example"
    assert rows[0]["Marrow biopsy"] == "2026-12-07" and rows[0]["Last draw"] == "2026-11-16"
    assert not set(worklist.CLINIC_DAY_COLUMNS) - {"ANC", "Platelets", "Hgb"} & set(rows[0])


def test_maintenance_reads_as_words_in_the_course_cell():
    row = _display(_patient("E1", indication="MM_MAINT")).loc["E1"]
    assert row["Course"] == "MM maint C11 D26" and row["Indication"] == "MM_MAINT"


def test_rows_sharing_their_first_flag_are_ordered_by_their_next_flags():
    """Review with a new Grade >= 3 comes before Review alone, even when Review alone has the earlier
    next CBC; rows with the same flags keep the earlier next CBC first, then the MRN."""
    review = [{"kind": "review", "severity": "action", "text": "x"}]
    g3 = [{"date": "2026-11-16", "cycle": 11, "cycle_day": 22, "values": {"plt": 20.0}, "grades": {"plt": 4}}]
    alone = _patient("R1", notices=review, next_labs_due="2026-11-21")
    with_g3 = _patient("R2", notices=review, draws=g3, next_labs_due="2026-11-25")
    with_g3_early = _patient("R3", notices=review, draws=g3, next_labs_due="2026-11-22")
    held = _patient("H1", status="held", next_labs_due="2026-11-30")
    quiet = _patient("Q1", next_labs_due="2026-11-21")
    wl = worklist.worklist({"as_of": str(AS_OF), "patients": [quiet, alone, with_g3, held, with_g3_early]})
    assert list(wl["mrn"]) == ["H1", "R3", "R2", "R1", "Q1"]
    assert worklist.flags_order_key(["review", "grade3"]) < worklist.flags_order_key(["review"])
    assert worklist.flags_order_key(["review"]) < worklist.flags_order_key([])
