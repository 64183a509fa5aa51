"""assess(): the JSON contract, the as_of cut-off, one end-to-end course, the CSV and the frames."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pytest
from dosing_cases import course, events_frame

from lenadash.clinical import assess

START = dt.date(2026, 1, 5)
AS_OF = dt.date(2026, 3, 1)

CONTRACT = {
    "mrn": str,
    "indication": str,
    "start_date": str,
    "starting_dose_mg": (int, float),
    "status": str,
    "current_dose_mg": (int, float, type(None)),
    "crcl_ml_min": (int, float, type(None)),
    "renal_starting_dose_mg": (int, float, type(None)),
    "next_labs_due": (str, type(None)),
    "labs_overdue": bool,
    "next_marrow_biopsy": (str, type(None)),
    "marrow_biopsies": list,
    "next_pregnancy_test": (str, type(None)),
    "alerts": list,
    "notices": list,
    "resume_plan": (dict, type(None)),
    "draws": list,
}
DRAW = {
    "date": str,
    "cycle": int,
    "cycle_day": int,
    "values": dict,
    "grades": dict,
    "action": str,
    "dose_mg": (int, float, type(None)),
    "schedule": str,
    "reasons": list,
    "rules": list,
}


def _labs(mrn: str, draws, start=START) -> pd.DataFrame:
    """Contract-shaped labs (no grade: assess grades them). draws: [(study day, {analyte: value})]."""
    units = {"anc": "10^9/L", "plt": "10^9/L", "wbc": "10^9/L", "hgb": "g/dL", "creatinine": "mg/dL", "alt": "U/L"}
    rows = []
    for i, (day, values) in enumerate(draws):
        for analyte, value in values.items():
            rows.append(
                {
                    "mrn": mrn,
                    "collected_at": pd.Timestamp(start) + pd.Timedelta(days=day, hours=8),
                    "analyte": analyte,
                    "value": float(value),
                    "unit": units[analyte],
                    "comparator": "",
                    "raw_value": str(value),
                    "raw_unit": units[analyte],
                    "raw_name": analyte,
                    "loinc": None,
                    "ref_low": np.nan,
                    "ref_high": np.nan,
                    "flag": None,
                    "status": "Final",
                    "line": i + 2,
                }
            )
    return pd.DataFrame(rows)


BASE = {"anc": 3.0, "plt": 220.0, "wbc": 6.0, "hgb": 13.0, "creatinine": 0.9}
MM_DRAWS = [
    (-3, BASE),
    (7, {"anc": 2.5, "plt": 200.0}),
    (14, {"anc": 0.8, "plt": 180.0}),
    (21, {"anc": 0.9, "plt": 170.0}),
    (28, {"anc": 1.4, "plt": 190.0}),
    (35, {"anc": 2.0, "plt": 200.0}),
]


@pytest.fixture
def clinic():
    patients = pd.DataFrame([course("MM", mrn="MM1"), {**course("MDS", mrn="MDS1"), "sex": "M"}])
    labs = pd.concat(
        [
            _labs("MM1", MM_DRAWS),
            _labs("MDS1", [(-3, BASE), (7, {"plt": 150.0, "anc": 2.0})]),
            _labs("ORPHAN", [(10, {"anc": 2.0})]),
        ],
        ignore_index=True,
    )
    events = pd.concat(
        [
            events_frame([(0, "thromboprophylaxis", "aspirin")], mrn="MM1"),
            events_frame([(-20, "marrow_biopsy", "")], mrn="MDS1"),
        ],
        ignore_index=True,
    )
    events["agent"] = events["agent"].astype(object)
    return patients, labs, events


def _entry(result, mrn):
    return next(p for p in result["patients"] if p["mrn"] == mrn)


def test_contract_keys_types_and_json_round_trip(clinic):
    result = assess.assess(
        *clinic,
        as_of=AS_OF,
        import_report={
            "rows_read": 40,
            "rows_rejected": 1,
            "rejects": [{"file": "a.csv", "line": 7, "reason": "unknown unit"}],
        },
    )
    assert set(result) >= {"as_of", "rules", "import_report", "patients"}
    assert (result["as_of"], result["rules"]) == ("2026-03-01", "us_pi")
    assert result["import_report"] == {
        "rows_read": 40,
        "rows_rejected": 1,
        "rejects": [{"file": "a.csv", "line": 7, "reason": "unknown unit"}],
    }
    text = json.dumps(result, allow_nan=False)  # no NaN anywhere
    assert json.loads(text) == result
    for p in result["patients"]:
        if p["course_id"] is None:
            continue
        for key, kind in CONTRACT.items():
            assert isinstance(p[key], kind), (p["mrn"], key, p[key])
        assert p["status"] in assess.STATUSES
        for d in p["draws"]:
            for key, kind in DRAW.items():
                assert isinstance(d[key], kind), (key, d[key])
            assert d["action"] in ("continue", "hold", "stay_held", "resume", "review", "stop")
            dt.date.fromisoformat(d["date"])
        for b in p["marrow_biopsies"]:
            assert set(b) in ({"due", "week", "done"}, {"due", "week", "done", "planned"})


def test_end_to_end_mm_course_against_label(clinic):
    p = _entry(assess.assess(*clinic, as_of=AS_OF), "MM1")
    assert [(d["date"], d["cycle"], d["cycle_day"], d["action"], d["dose_mg"]) for d in p["draws"]] == [
        ("2026-01-02", 0, -3, "continue", 25.0),
        ("2026-01-12", 1, 8, "continue", 25.0),
        ("2026-01-19", 1, 15, "hold", None),
        ("2026-01-26", 1, 22, "stay_held", None),
        ("2026-02-02", 2, 1, "resume", 25.0),  # first ANC episode, neutropenia only: the starting dose
        ("2026-02-09", 2, 8, "continue", 25.0),
    ]
    hold = p["draws"][2]
    assert hold["values"]["anc"] == 0.8 and hold["grades"]["anc"] == 3
    assert hold["reasons"][0].startswith("ANC 0.8 < 1.0: hold (US PI 2.1 Table 1, MM")
    assert (p["status"], p["current_dose_mg"], p["schedule"]) == ("on_treatment", 25.0, "21/28")
    assert (p["cycle"], p["cycle_day"]) == (2, 28)  # 2026-03-01 is day 56 after the start
    assert p["hold_spans"] == [
        {"start": "2026-01-19", "end": "2026-02-02", "reason": hold["reasons"][0] + "; " + hold["reasons"][1]}
    ]
    # Cockcroft-Gault: (140 - 66) x 70 / (72 x 0.9) x 0.85 (F, born 1960-01-01, 66 on the creatinine's 2026-01-02)
    assert p["crcl_ml_min"] == pytest.approx(round(74 * 70 / (72 * 0.9) * 0.85, 1))
    assert p["renal_starting_dose_mg"] == 25.0
    assert p["next_labs_due"] is not None and p["next_marrow_biopsy"] is None and p["marrow_biopsies"] == []
    assert {(t["analyte"], t["kind"], t["value"]) for t in p["thresholds"]} >= {
        ("anc", "hold", 1.0),
        ("plt", "hold", 30.0),
    }


def test_mds_entry_has_the_biopsy_calendar(clinic):
    p = _entry(assess.assess(*clinic, as_of=AS_OF), "MDS1")
    assert p["marrow_biopsies"] and p["marrow_biopsies"][0]["week"] == 12
    assert p["next_marrow_biopsy"] == p["marrow_biopsies"][0]["due"]


def test_labs_without_a_course_get_a_review_entry(clinic):
    p = _entry(assess.assess(*clinic, as_of=AS_OF), "ORPHAN")
    assert p["status"] == "review" and p["indication"] is None
    assert "no treatment course" in p["alerts"][0]
    assert [d["action"] for d in p["draws"]] == ["review"]
    assert p["draws"][0]["values"] == {"anc": 2.0}


def test_only_data_on_or_before_as_of_counts(clinic):
    patients, labs, events = clinic
    p = _entry(assess.assess(patients, labs, events, as_of=dt.date(2026, 1, 19)), "MM1")
    assert [d["date"] for d in p["draws"]][-1] == "2026-01-19"
    assert p["status"] == "held" and p["current_dose_mg"] is None
    p = _entry(assess.assess(patients, labs, events, as_of=dt.date(2026, 1, 18)), "MM1")
    assert p["status"] == "on_treatment" and len(p["draws"]) == 2
    # a course that starts after as_of is not there yet: its labs are the clinic's orphans
    early = assess.assess(patients, labs, events, as_of=dt.date(2026, 1, 4))
    assert {q["mrn"]: q["status"] for q in early["patients"]} == {"MM1": "review", "MDS1": "review"}
    # time of day does not matter: a draw at 08:00 on as_of counts
    assert "2026-02-09" in [
        d["date"] for d in _entry(assess.assess(patients, labs, events, as_of="2026-02-09"), "MM1")["draws"]
    ]


def test_several_courses_of_one_patient_give_one_entry_each():
    patients = pd.DataFrame([course("MM", mrn="P1", start=dt.date(2025, 6, 2)), course("MM", mrn="P1", start=START)])
    labs = pd.concat([_labs("P1", [(10, BASE)], start=dt.date(2025, 6, 2)), _labs("P1", [(10, BASE)])])
    result = assess.assess(patients, labs, None, as_of=AS_OF)
    assert [(p["mrn"], p["start_date"], len(p["draws"])) for p in result["patients"]] == [
        ("P1", "2025-06-02", 1),
        ("P1", "2026-01-05", 1),
    ]


def test_bad_as_of_says_how_to_fix_it(clinic):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        assess.assess(*clinic, as_of="01/03/2026")


def test_assessment_csv_one_row_per_draw(clinic):
    result = assess.assess(*clinic, as_of=AS_OF)
    rows = list(csv.DictReader(io.StringIO(assess.assessment_csv(result))))
    assert len(rows) == sum(len(p["draws"]) for p in result["patients"])
    assert list(rows[0])[:8] == ["mrn", "date", "cycle", "cycle_day", "action", "dose_mg", "schedule", "reasons"]
    hold = next(r for r in rows if r["mrn"] == "MM1" and r["action"] == "hold")
    assert (hold["anc"], hold["anc_grade"], hold["dose_mg"]) == ("0.8", "3", "")
    assert "; during a hold" in hold["reasons"]


def test_assess_frames_for_the_dashboard(clinic):
    frames = assess.assess_frames(*clinic, as_of=AS_OF)
    assert {"course_id", "cycle", "cycle_day", "grade", "baseline_value"} <= set(frames.labs.columns)
    draws = frames.draws
    mm = draws[draws["mrn"] == "MM1"]
    assert list(mm["action"]) == ["continue", "continue", "hold", "stay_held", "resume", "continue"]
    assert mm["anc"].iloc[2] == 0.8 and mm["anc_grade"].iloc[2] == 3
    assert list(frames.hold_spans["course_id"]) == ["MM1/2026-01-05"]
    assert set(frames.courses["course_id"]) == {"MM1/2026-01-05", "MDS1/2026-01-05"}
    assert list(frames.unassigned["mrn"].unique()) == ["ORPHAN"]


def test_empty_inputs_give_an_empty_assessment():
    result = assess.assess(None, None, None, as_of=AS_OF)
    assert result["patients"] == [] and json.loads(json.dumps(result)) == result


def test_many_courses_at_once_match_each_course_alone():
    """The batch path (one grading, one cycles pass, courses split inside the engine) gives every course the
    steps it gets when assessed alone. Speed over 1M results is measured in bench/bench_assess.py."""
    rng = np.random.default_rng(7)
    n, per = 24, 30
    analytes = ["wbc", "anc", "hgb", "plt", "creatinine", "alt"]
    normal = dict(wbc=6, anc=3, hgb=13, plt=220, creatinine=0.9, alt=25)
    inds = ["MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL"]
    patients = pd.DataFrame([course(inds[i % 6], mrn=f"B{i:04d}") for i in range(n)])
    size = n * per * len(analytes)
    an = np.tile(np.array(analytes, dtype=object), n * per)
    weekly_days = np.tile(np.repeat(np.arange(per) * 7 - 3, len(analytes)), n)
    labs = pd.DataFrame(
        {
            "mrn": np.repeat(patients["mrn"].to_numpy(dtype=object), per * len(analytes)),
            "collected_at": pd.Timestamp(START) + pd.to_timedelta(weekly_days, "D"),
            "analyte": an,
            "value": (np.array([normal[a] for a in an]) * rng.normal(1, 0.08, size)).round(2),
            "unit": "",
            "comparator": "",
            "ref_low": np.nan,
            "ref_high": np.nan,
        }
    )
    dips = (labs["analyte"].isin(["anc", "plt"])).to_numpy() & (rng.random(size) < 0.08)
    labs.loc[dips, "value"] = labs.loc[dips, "value"] * 0.1
    as_of = dt.date(2026, 9, 1)
    together = assess.assess_frames(patients, labs, None, as_of=as_of).steps
    assert len(together) == n * per
    assert (together["action"] == "hold").sum() > 10  # the data exercise holds, not only "continue"
    for mrn, alone_labs in labs.groupby("mrn"):
        alone = assess.assess_frames(patients[patients["mrn"] == mrn], alone_labs, None, as_of=as_of).steps
        mine = together[together["mrn"] == mrn].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine.drop(columns="course_id"), alone.drop(columns="course_id"))


def test_tables_missing_contract_columns_name_the_fix(clinic):
    patients, labs, events = clinic
    with pytest.raises(ValueError, match=r"labs table lacks column\(s\) \['collected_at'\]"):
        assess.assess(patients, labs.drop(columns="collected_at"), events, as_of=AS_OF)
    with pytest.raises(ValueError, match="patients table lacks"):
        assess.assess(patients.drop(columns="indication"), labs, events, as_of=AS_OF)


def test_fl_course_status_is_review_beyond_12_cycles_against_label():
    # US PI 2.4: FL for up to 12 cycles; as_of in cycle 13 with the latest draw still in cycle 12
    patients = pd.DataFrame([course("FL", mrn="FL1")])
    labs = _labs("FL1", [(-3, BASE), (12 * 28 - 3, BASE)])
    as_of = START + dt.timedelta(days=12 * 28 + 2)
    entry = _entry(assess.assess(patients, labs, None, as_of=as_of), "FL1")
    assert entry["cycle"] == 13
    assert (entry["status"], entry["current_dose_mg"]) == ("review", None)
    assert any("12" in a and "cycle" in a for a in entry["alerts"])
    # a draw in cycle 13: action review, the course stays review
    labs = _labs("FL1", [(-3, BASE), (12 * 28 + 1, BASE)])
    entry = _entry(assess.assess(patients, labs, None, as_of=as_of), "FL1")
    assert (entry["draws"][-1]["action"], entry["draws"][-1]["dose_mg"]) == ("review", None)
    assert (entry["status"], entry["current_dose_mg"]) == ("review", None)
    # in cycle 12 nothing changes
    entry = _entry(
        assess.assess(
            patients,
            _labs("FL1", [(-3, BASE), (12 * 28 - 3, BASE)]),
            None,
            as_of=START + dt.timedelta(days=12 * 28 - 1),
        ),
        "FL1",
    )
    assert entry["status"] == "on_treatment"


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)


def test_sample_clinic_cites_real_sources_not_internal_notes(sample_dir):
    # what reaches a clinician cites the US PI, CTCAE v5.0, REMS, the MDS patient guide or
    # Cockcroft-Gault - never DOMAIN.md, the team's internal notes
    from lenadash import ingest

    labs = pd.concat(
        [
            ingest.read_labs((sample_dir / n).read_bytes(), file_name=n).results
            for n in ("epic_long_us.csv", "europe_wide_si.csv", "loinc_long.csv")
        ],
        ignore_index=True,
    )
    patients = ingest.read_patients((sample_dir / "patients.csv").read_bytes(), file_name="patients.csv").rows
    events = ingest.read_events((sample_dir / "events.csv").read_bytes(), file_name="events.csv").rows
    result = assess.assess(patients, labs, events, as_of=dt.date(2026, 11, 20))
    texts = [r for p in result["patients"] for d in p["draws"] for r in d["reasons"]]
    texts += [a for p in result["patients"] for a in p["alerts"]]
    assert len(texts) > 50 and any("US PI" in t for t in texts)
    assert [t for t in texts if "DOMAIN" in t] == []
    # nor anywhere else in the contract (thresholds' sources, schedule reasons, hold spans)
    assert [t for t in _strings(result) if "DOMAIN" in t] == []


def test_draws_list_pre_existing_grades():
    # creatinine grade 3 at baseline and again on day 14: pre-existing, not a new toxicity
    patients = pd.DataFrame([course("MM", mrn="CR1")])
    labs = _labs(
        "CR1",
        [
            (-3, {**BASE, "creatinine": 4.0}),
            (14, {"anc": 2.5, "plt": 200.0, "creatinine": 4.2}),
            (21, {"anc": 2.5, "plt": 200.0, "creatinine": 0.9}),
        ],
    )
    draws = _entry(assess.assess(patients, labs, None, as_of=AS_OF), "CR1")["draws"]
    assert [d["preexisting"] for d in draws] == [[], ["creatinine"], []]
    assert draws[1]["grades"]["creatinine"] >= 3 and draws[1]["action"] == "continue"
    assert any("pre-existing" in r for r in draws[1]["reasons"])
