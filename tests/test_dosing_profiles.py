"""Rule profiles are data: a clinic adds one without code; malformed files say how to fix them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from dosing_cases import NORMAL_VALUES, course, labs_frame

from lenadash.clinical import dosing
from lenadash.config import RULES_DIR

RULES = RULES_DIR
DOCS = Path(__file__).resolve().parent.parent / "docs" / "dosing.md"


def _copy_rules(tmp_path: Path) -> Path:
    for name in ("profiles.csv", "dose_us_pi.csv", "ladders.csv"):
        shutil.copy(RULES / name, tmp_path / name)
    return tmp_path


def test_default_profile_has_a_source_on_every_row():
    prof = dosing.load_profile("us_pi")
    assert prof.rules and all(r.source for r in prof.rules)
    assert {r.indication for r in prof.rules} == {"MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL"}
    assert all(s.source for ladder in prof.ladders.values() for s in ladder)


def test_ladders_against_label():
    prof = dosing.load_profile()
    doses = {ind: [s.dose_mg for s in prof.ladder(ind)] for ind in ("MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL")}
    assert doses == {
        "MM": [25, 20, 15, 10, 5, 2.5],
        "MM_MAINT": [15, 10, 5, 5],
        "MDS": [10, 5, 2.5],
        "MCL": [25, 20, 15, 10, 5],
        "FL": [20, 15, 10, 5],
        "MZL": [20, 15, 10, 5],
    }
    assert [s.schedule for s in prof.ladder("MM_MAINT")] == ["28/28", "28/28", "28/28", "21/28"]
    mm = prof.ladder("MM")
    assert dosing.next_lower(mm, 25, "21/28").dose_mg == 20
    assert dosing.next_lower(mm, 7.5, "21/28").dose_mg == 5  # off-ladder dose steps to the next rung down
    assert dosing.next_lower(mm, 2.5, "21/28") is None and dosing.at_floor(mm, 2.5, "21/28")
    maint = prof.ladder("MM_MAINT")
    assert (dosing.next_lower(maint, 5, "28/28").dose_mg, dosing.next_lower(maint, 5, "28/28").schedule) == (5, "21/28")
    assert dosing.at_floor(maint, 5, "21/28") and not dosing.at_floor(maint, 5, "28/28")


def test_a_clinic_adds_a_profile_as_data_files(tmp_path):
    d = _copy_rules(tmp_path)
    rules = pd.read_csv(d / "dose_us_pi.csv", dtype=str, keep_default_na=False)
    rules.loc[rules["rule"] == "MM-PLT", ["hold_value", "resume_value", "source"]] = ["50", "50", "Clinic protocol 7"]
    rules.to_csv(d / "dose_clinic.csv", index=False)
    with open(d / "profiles.csv", "a") as f:
        f.write("clinic,Clinic protocol,Clinic protocol 7 (2026),dose_clinic.csv ladders.csv\n")
    assert "clinic" in set(dosing.list_profiles(d)["id"])
    prof = dosing.load_profile("clinic", rules_dir=d)
    patients = pd.DataFrame([course("MM")])
    labs = labs_frame([(-2, NORMAL_VALUES), (14, {"plt": 45.0})])
    us = dosing.simulate(labs, patients, profile="us_pi")
    clinic = dosing.simulate(labs, patients, profile=prof)
    assert us["action"].iloc[-1] == "continue"
    assert clinic["action"].iloc[-1] == "hold"
    assert "Clinic protocol 7" in clinic["reasons"].iloc[-1][0]
    assert {t["value"] for t in dosing.thresholds({"indication": "MM"}, prof) if t["analyte"] == "plt"} == {50.0}


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("hold_op", "=<", "hold_op"),
        ("hold_value", "thirty", "not a number"),
        ("window", "first_month", "first_4_weeks"),
        ("source", "", "source"),
        ("resume_dose", "lower", "resume_dose"),
        ("with_fever", "maybe", "yes or no"),
    ],
)
def test_malformed_rule_rows_name_file_line_and_fix(tmp_path, column, value, message):
    d = _copy_rules(tmp_path)
    rules = pd.read_csv(d / "dose_us_pi.csv", dtype=str, keep_default_na=False)
    rules.loc[2, column] = value
    rules.to_csv(d / "dose_us_pi.csv", index=False)
    with pytest.raises(dosing.ProfileError, match=message) as err:
        dosing.load_profile("us_pi", rules_dir=d)
    assert "dose_us_pi.csv line 4" in str(err.value)


def test_unknown_profile_lists_the_known_ones(tmp_path):
    with pytest.raises(dosing.ProfileError, match="us_pi"):
        dosing.load_profile("eu_smpc", rules_dir=_copy_rules(tmp_path))


def test_profile_without_ladder_for_an_indication_is_rejected(tmp_path):
    d = _copy_rules(tmp_path)
    ladders = pd.read_csv(d / "ladders.csv", dtype=str, keep_default_na=False)
    ladders[ladders["indication"] != "MCL"].to_csv(d / "ladders.csv", index=False)
    with pytest.raises(dosing.ProfileError, match="MCL"):
        dosing.load_profile("us_pi", rules_dir=d)


def test_thresholds_for_the_dashboard():
    mm = dosing.thresholds({"indication": "MM"})
    assert {(t["analyte"], t["kind"], t["value"]) for t in mm} == {
        ("plt", "hold", 30.0),
        ("plt", "resume", 30.0),
        ("anc", "hold", 1.0),
        ("anc", "resume", 1.0),
    }
    assert all(t["source"].startswith("US PI") and t["label"] for t in mm)
    mds = dosing.thresholds({"indication": "MDS"}, baselines={"plt": 80.0, "anc": 1.2})
    plt_holds = {t["value"] for t in mds if t["analyte"] == "plt" and t["kind"] == "hold"}
    assert plt_holds == {40.0, 30.0, 50.0}  # 50% of baseline 80; after 4 weeks < 30; < 50 with transfusion
    no_base = dosing.thresholds({"indication": "MDS"})
    assert 40.0 not in {t["value"] for t in no_base}


def test_every_rule_row_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    missing = [r.rule for r in dosing.load_profile().rules if r.rule not in text]
    assert not missing, f"docs/dosing.md does not mention rule(s) {missing}"


def test_thresholds_treat_a_missing_baseline_as_none():
    for missing in (None, float("nan")):
        rows = dosing.thresholds({"indication": "MDS"}, baselines={"plt": missing, "anc": missing})
        assert all(t["value"] == t["value"] for t in rows)  # no NaN line
        assert 40.0 not in {t["value"] for t in rows}


def _lines(rows):
    return {(t["analyte"], t["kind"], t["op"], t["value"]) for t in rows}


def test_thresholds_now_mds_after_week_4_at_5_mg_against_label():
    # US PI 2.2 "while at 5 mg": platelets < 30 / back to >= 30; ANC < 0.5 for 7 days or with fever / >= 0.5
    rows = dosing.thresholds({"indication": "MDS"}, dose_mg=5, day=40, baselines={"plt": 88.0, "anc": 1.2})
    assert _lines(rows) == {
        ("plt", "hold", "<", 30.0),
        ("plt", "resume", ">=", 30.0),
        ("anc", "hold", "<", 0.5),
        ("anc", "resume", ">=", 0.5),
    }
    anc_hold = next(t for t in rows if t["analyte"] == "anc" and t["kind"] == "hold")
    assert anc_hold["rules"] == ["MDS-ANC-AT5-7D", "MDS-ANC-AT5-FEVER"]
    plt_hold = next(t for t in rows if t["analyte"] == "plt" and t["kind"] == "hold")
    assert plt_hold["rules"] == ["MDS-PLT-AT5"]
    # on a transfusion day the "< 50 with platelet transfusion" line applies too
    tx = dosing.thresholds({"indication": "MDS"}, dose_mg=5, day=40, transfusion=True)
    assert ("plt", "hold", "<", 50.0) in _lines(tx)


def test_thresholds_now_mds_within_4_weeks_baseline_88_against_label():
    # US PI 2.2: first 4 weeks at 10 mg, baseline platelets >= 60 and < 100: falls to 50% of baseline
    # (44) -> interrupt; return to >= 50
    rows = dosing.thresholds({"indication": "MDS"}, dose_mg=10, day=10, baselines={"plt": 88.0})
    assert _lines(rows) == {("plt", "hold", "<=", 44.0), ("plt", "resume", ">=", 50.0)}
    assert [t["rules"] for t in rows] == [["MDS-PLT-EARLY-B60"], ["MDS-PLT-EARLY-B60"]]
    assert {t["label"] for t in rows} == {"hold <= 44", "resume >= 50"}


@pytest.mark.parametrize("day, early", [(27, True), (28, False)])
def test_thresholds_day_filter_at_the_4_week_boundary(day, early):
    rows = dosing.thresholds({"indication": "MDS"}, dose_mg=10, day=day, baselines={"plt": 150.0, "anc": 2.0})
    rules = {r for t in rows for r in t["rules"]}
    assert ("MDS-PLT-EARLY-B100" in rules) is early
    assert ("MDS-PLT-LATE" in rules) is (not early)


def test_thresholds_without_filters_are_unchanged():
    full = dosing.thresholds({"indication": "MDS"}, baselines={"plt": 80.0, "anc": 1.2})
    assert {t["value"] for t in full if t["analyte"] == "plt" and t["kind"] == "hold"} == {40.0, 30.0, 50.0}
    # the state filters only ever narrow the full list
    now = dosing.thresholds({"indication": "MDS"}, baselines={"plt": 80.0, "anc": 1.2}, dose_mg=10, day=3)
    assert _lines(now) <= _lines(full)


def test_thresholds_filters_use_the_engine_matching():
    # the same rule predicates drive the engine: a draw at day 40 on 5 mg with plt 29 fires MDS-PLT-AT5 only
    prof = dosing.load_profile()
    applies = [
        r.rule
        for r in prof.rules_for("MDS")
        if r.analyte == "plt" and r.in_window(40) and r.at_dose(5.0) and r.baseline_in_range(88.0)
    ]
    assert applies == ["MDS-PLT-AT5", "MDS-PLT-AT5-TX"]
