"""Rule profiles that can hold another label: grading version, indications, capsules, start criteria,
separate hold and resume thresholds. Each is built as a site profile in a temporary rules folder."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from dosing_cases import START, course, events_frame

from lenadash.clinical import assess, dosing
from lenadash.clinical.dosing import profiles as profiles_module
from lenadash.config import RULES_DIR
from lenadash.errors import ProfileError

SITE_ROW = (
    "site,Site protocol,Site protocol 3 (2026),dose_site.csv ladders_site.csv start_site.csv,"
    "ctcae_v6,MM FL,2.5 5 10 15 20 25\n"
)
START_HEADER = "rule,indication,analyte,op,value,action,source,text\n"
START_ROWS = (
    "START-ANC,any,anc,<,1.0,do_not_start,Site protocol 3 s.2,do not start below ANC 1.0\n"
    "START-PLT,any,plt,<,50,do_not_start,Site protocol 3 s.2,do not start below platelets 50\n"
    "START-PLT-MM,MM,plt,<,75,review,Site protocol 3 s.2,MM: review before starting below platelets 75\n"
)


def _site(tmp_path: Path, *, row: str = SITE_ROW, start_rows: str = START_ROWS, ladder_extra: str = "") -> Path:
    """A site profile beside us_pi: MM and FL only, MM platelets hold < 50 and resume >= 75, start criteria."""
    for name in ("profiles.csv", "dose_us_pi.csv", "ladders.csv"):
        shutil.copy(RULES_DIR / name, tmp_path / name)
    rules = pd.read_csv(tmp_path / "dose_us_pi.csv", dtype=str, keep_default_na=False)
    rules = rules[rules["indication"].isin(["MM", "FL"])].copy()
    rules.loc[rules["rule"] == "MM-PLT", ["rule", "hold_value", "resume_value", "source"]] = [
        "SITE-MM-PLT",
        "50",
        "75",
        "Site protocol 3 s.4",
    ]
    rules.to_csv(tmp_path / "dose_site.csv", index=False)
    ladders = pd.read_csv(tmp_path / "ladders.csv", dtype=str, keep_default_na=False)
    ladders[ladders["indication"].isin(["MM", "FL"])].to_csv(tmp_path / "ladders_site.csv", index=False)
    if ladder_extra:
        with open(tmp_path / "ladders_site.csv", "a") as f:
            f.write(ladder_extra)
    (tmp_path / "start_site.csv").write_text(START_HEADER + start_rows)
    with open(tmp_path / "profiles.csv", "a") as f:
        f.write(row)
    return tmp_path


def _labs(draws, *, mrn: str = "T1", start: dt.date = START) -> pd.DataFrame:
    """Raw labs (no grade column: assess grades them) - [(study day, {analyte: value})]."""
    rows = [
        {
            "mrn": mrn,
            "collected_at": pd.Timestamp(start) + pd.Timedelta(days=day, hours=8),
            "analyte": a,
            "value": float(v),
            "unit": "",
            "comparator": "",
        }
        for day, values in draws
        for a, v in values.items()
    ]
    return pd.DataFrame(rows)


def _steps(profile, patients, labs, events=None) -> pd.DataFrame:
    """The draws' engine rows from the start on (draws before the start are baseline draws)."""
    frames = assess.assess_frames(patients, labs, events, as_of=dt.date(2026, 12, 31), rules=profile)
    steps = frames.steps
    return steps[steps["is_draw"] & (steps["cycle"] > 0)].reset_index(drop=True)


# --- reading the new columns -------------------------------------------------------------------


def test_site_profile_reads_every_new_column(tmp_path):
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    assert prof.grading == "ctcae_v6"
    assert prof.indications == ("MM", "FL")
    assert prof.capsules_mg == (2.5, 5.0, 10.0, 15.0, 20.0, 25.0)
    assert [c.rule for c in prof.start] == ["START-ANC", "START-PLT", "START-PLT-MM"]
    assert [c.rule for c in prof.start_for("FL")] == ["START-ANC", "START-PLT"]
    rule = next(r for r in prof.rules if r.rule == "SITE-MM-PLT")
    assert (rule.hold_op, rule.hold_value, rule.resume_op, rule.resume_value) == ("<", 50.0, ">=", 75.0)
    listed = dosing.list_profiles(tmp_path).set_index("id")
    assert listed.loc["site", "grading"] == "ctcae_v6" and listed.loc["us_pi", "grading"] == "ctcae_v5"


def test_us_pi_pins_v5_covers_every_indication_and_has_no_start_criteria():
    prof = dosing.load_profile("us_pi")
    assert prof.grading == "ctcae_v5"
    assert set(prof.indications) == {"MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL"}
    assert prof.start == ()


def test_old_profiles_csv_without_the_new_columns_still_loads(tmp_path):
    for name in ("dose_us_pi.csv", "ladders.csv"):
        shutil.copy(RULES_DIR / name, tmp_path / name)
    (tmp_path / "profiles.csv").write_text("id,name,source,files\nold,Old,Old source,dose_us_pi.csv ladders.csv\n")
    prof = dosing.load_profile("old", rules_dir=tmp_path)
    assert prof.grading == "ctcae_v5" and "MZL" in prof.indications and prof.start == ()


@pytest.mark.parametrize(
    "row, message",
    [
        (SITE_ROW.replace("ctcae_v6", "ctcae_v7"), "grading = 'ctcae_v7'"),
        (SITE_ROW.replace("MM FL,", "MM XX FL,"), "indications ['XX'] unknown"),
        (SITE_ROW.replace("MM FL,", "MM,"), "dose rules for ['FL']"),
        (SITE_ROW.replace("2.5 5 10 15 20 25", "2.5 five"), "capsules_mg"),
        (SITE_ROW.replace("start_site.csv", "begin_site.csv"), "must start with dose_, ladders or start_"),
    ],
)
def test_malformed_profile_rows_say_how_to_fix_them(tmp_path, row, message):
    d = _site(tmp_path, row=row)
    with pytest.raises(ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        dosing.load_profile("site", rules_dir=d)


@pytest.mark.parametrize(
    "start_row, message",
    [
        ("START-X,any,anc,=<,1.0,do_not_start,S,t\n", "start_site.csv line 5: column op"),
        ("START-X,any,anc,<,one,do_not_start,S,t\n", "start_site.csv line 5: column value"),
        ("START-X,any,anc,<,1.0,refuse,S,t\n", "start_site.csv line 5: column action"),
        ("START-X,any,anc,<,1.0,review,,t\n", "start_site.csv line 5: column source is empty"),
        ("START-X,XX,anc,<,1.0,review,S,t\n", "start_site.csv line 5: indication 'XX'"),
    ],
)
def test_malformed_start_criteria_name_file_and_line(tmp_path, start_row, message):
    d = _site(tmp_path, start_rows=START_ROWS + start_row)
    with pytest.raises(ProfileError, match=message):
        dosing.load_profile("site", rules_dir=d)


# --- capsules ----------------------------------------------------------------------------------


def test_a_ladder_dose_that_is_not_a_capsule_strength_names_file_and_line(tmp_path):
    d = _site(tmp_path, row=SITE_ROW.replace("2.5 5 10 15 20 25", "5 10 15 20 25"))
    with pytest.raises(ProfileError, match=r"ladders_site.csv line 7: dose_mg 2.5 is not a capsule strength"):
        dosing.load_profile("site", rules_dir=d)


def test_a_profile_with_a_7_5_mg_capsule_may_use_it_on_its_ladder(tmp_path):
    extra = "FL,5,7.5,,Site protocol 3 s.4\n"
    with pytest.raises(ProfileError, match="dose_mg 7.5 is not a capsule strength"):
        dosing.load_profile("site", rules_dir=_site(tmp_path, ladder_extra=extra))
    d2 = tmp_path / "with_7_5"
    d2.mkdir()
    row = SITE_ROW.replace("2.5 5 10 15 20 25", "2.5 5 7.5 10 15 20 25")
    prof = dosing.load_profile("site", rules_dir=_site(d2, row=row, ladder_extra=extra))
    assert 7.5 in [s.dose_mg for s in prof.ladder("FL")]


# --- indications -------------------------------------------------------------------------------


def test_a_course_of_an_indication_the_profile_lacks_is_review_not_a_us_rule(tmp_path):
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    labs = _labs([(-2, {"anc": 3.0, "plt": 200.0}), (14, {"anc": 2.0, "plt": 40.0})])
    steps = _steps(prof, pd.DataFrame([course("MZL")]), labs)
    after = steps
    assert set(after["action"]) == {"review"} and after["dose_mg"].isna().all()
    assert "has no dose rules or ladder for indication 'MZL'" in after["reasons"].iloc[-1][0]
    assert prof.rules_for("MZL") == () and prof.ladder("MZL") == () and not prof.covers("MZL")
    us = _steps("us_pi", pd.DataFrame([course("MZL")]), labs)
    assert us["action"].iloc[-1] == "hold"  # the US rule would have held: the site profile does not pretend


# --- separate hold and resume thresholds -------------------------------------------------------


@pytest.mark.parametrize(
    "later, expected",
    [
        ({"plt": 50.0}, "continue"),  # at the hold threshold: no hold (< 50)
        ({"plt": 49.9}, "hold"),
    ],
)
def test_site_hold_threshold_boundary(tmp_path, later, expected):
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    labs = _labs([(-2, {"anc": 3.0, "plt": 200.0}), (7, later)])
    assert _steps(prof, pd.DataFrame([course("MM")]), labs)["action"].iloc[-1] == expected


@pytest.mark.parametrize(
    "recovery, expected",
    [
        (74.9, "stay_held"),  # above the hold threshold, below the resume threshold: still held
        (75.0, "resume"),
        (75.1, "resume"),
    ],
)
def test_site_resume_threshold_is_its_own(tmp_path, recovery, expected):
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    labs = _labs([(-2, {"anc": 3.0, "plt": 200.0}), (7, {"plt": 40.0}), (14, {"plt": 60.0}), (21, {"plt": recovery})])
    steps = _steps(prof, pd.DataFrame([course("MM")]), labs)
    assert steps["action"].tolist()[-3:] == ["hold", "stay_held", expected]
    if expected == "resume":
        assert steps["dose_mg"].iloc[-1] == 20.0  # next lower dose after the site's own threshold


def test_thresholds_draw_the_hold_and_resume_lines_separately(tmp_path):
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    lines = {
        (t["kind"], t["op"], t["value"]) for t in dosing.thresholds({"indication": "MM"}, prof) if t["analyte"] == "plt"
    }
    assert lines == {("hold", "<", 50.0), ("resume", ">=", 75.0)}


# --- start criteria ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "indication, baseline, action, dose, rules",
    [
        ("FL", {"anc": 0.99, "plt": 200.0}, "review", None, ["START-ANC"]),
        ("FL", {"anc": 1.0, "plt": 200.0}, "continue", 20.0, []),
        ("FL", {"anc": 1.01, "plt": 200.0}, "continue", 20.0, []),
        ("FL", {"anc": 3.0, "plt": 49.9}, "review", None, ["START-PLT"]),
        ("FL", {"anc": 3.0, "plt": 50.0}, "continue", 20.0, []),
        ("FL", {"anc": 0.5, "plt": 20.0}, "review", None, ["START-ANC", "START-PLT"]),
        ("MM", {"anc": 3.0, "plt": 74.9}, "review", None, ["START-PLT-MM"]),  # review criterion: review at the start
        ("MM", {"anc": 3.0, "plt": 75.0}, "continue", 25.0, []),
        ("MM", {"anc": 3.0, "plt": 49.9}, "review", None, ["START-PLT", "START-PLT-MM"]),
        ("FL", {"plt": 200.0}, "review", None, ["START-ANC"]),  # no baseline ANC: review, never a silent start
    ],
)
def test_start_criteria_on_the_baseline_counts(tmp_path, indication, baseline, action, dose, rules):
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    labs = _labs([(-3, baseline), (3, {"anc": 3.0, "plt": 200.0})])
    first = _steps(prof, pd.DataFrame([course(indication)]), labs).iloc[0]
    assert (first["action"], first["rules"]) == (action, rules)
    assert (first["dose_mg"] is None or pd.isna(first["dose_mg"])) if dose is None else first["dose_mg"] == dose
    for rule in rules:
        assert any(f"rule {rule}" in r for r in first["reasons"])


@pytest.mark.parametrize(
    "day, actions, rules",
    [
        # no baseline in the 30 days before the start: review (both criteria), never a silent start
        (-31, ["review", "continue"], ["START-ANC", "START-PLT"]),
        (-30, ["review", "review"], ["START-ANC"]),  # the baseline: ANC 0.5 < 1.0, do not start
    ],
)
def test_start_criteria_read_the_baseline_of_the_30_days_before_the_start(tmp_path, day, actions, rules):
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    labs = _labs([(day, {"anc": 0.5, "plt": 200.0}), (3, {"anc": 3.0, "plt": 200.0}), (10, {"anc": 3.0})])
    steps = _steps(prof, pd.DataFrame([course("FL")]), labs)
    assert steps["action"].tolist() == actions
    assert steps["rules"].iloc[0] == rules


def test_do_not_start_means_treatment_has_not_started(tmp_path):
    """Later counts do not hold or resume a course that never started; a recorded dose starts it."""
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    labs = _labs([(-2, {"anc": 0.8, "plt": 200.0}), (7, {"anc": 0.3}), (14, {"anc": 2.0}), (28, {"anc": 2.0})])
    after = _steps(prof, pd.DataFrame([course("FL")]), labs)
    assert after["action"].tolist() == ["review", "review", "review"]
    assert after["dose_mg"].isna().all() and all(r == ["START-ANC"] for r in after["rules"])
    started = _steps(prof, pd.DataFrame([course("FL")]), labs, events_frame([(20, "dose_change", "15")]))
    assert started["action"].iloc[-1] == "continue" and started["dose_mg"].iloc[-1] == 15.0


def test_review_criterion_reviews_the_first_step_only(tmp_path):
    prof = dosing.load_profile("site", rules_dir=_site(tmp_path))
    labs = _labs([(-2, {"anc": 3.0, "plt": 60.0}), (3, {"plt": 60.0}), (7, {"plt": 60.0})])
    steps = _steps(prof, pd.DataFrame([course("MM")]), labs)
    assert steps["action"].tolist() == ["review", "continue"]
    assert steps["rules"].tolist() == [["START-PLT-MM"], []]


# --- grading version through assess --------------------------------------------------------------


def test_assess_grades_with_the_profile_version_and_reports_it(tmp_path, monkeypatch):
    d = _site(tmp_path)
    monkeypatch.setattr(profiles_module, "RULES_DIR", d)
    patients = pd.DataFrame([course("MM")])
    labs = _labs([(-2, {"anc": 3.0, "plt": 200.0, "alc": 0.1}), (7, {"anc": 0.45, "plt": 20.0, "alc": 0.1})])
    site = assess.assess(patients, labs, None, as_of=dt.date(2026, 3, 1), rules="site")
    us = assess.assess(patients, labs, None, as_of=dt.date(2026, 3, 1), rules="us_pi")
    assert (site["grading"], us["grading"]) == ("ctcae_v6", "ctcae_v5")
    g_site = site["patients"][0]["draws"][-1]["grades"]
    g_us = us["patients"][0]["draws"][-1]["grades"]
    assert (g_us["anc"], g_us["plt"], g_us["alc"]) == (4, 4, 4)
    assert (g_site["anc"], g_site["plt"], g_site["alc"]) == (3, 3, None)


# --- hold and resume are keyed on counts, never on grades ------------------------------------------

# One course per indication, counts only, with drops that v5 and v6 grade differently (ANC 0.45: v5 G4,
# v6 G3; platelets 20: v5 G4, v6 G3; ANC 1.6: v5 G1, v6 G0), holds, stays, recoveries and later episodes.
COURSES = {
    "MM": [
        (-2, {"anc": 3.0, "plt": 200.0}),
        (7, {"anc": 0.45}),
        (14, {"anc": 1.6}),
        (21, {"plt": 20.0}),
        (24, {"plt": 25.0}),
        (28, {"plt": 40.0}),
        (35, {"anc": 0.9, "plt": 60.0}),
        (42, {"anc": 1.2, "plt": 80.0}),
    ],
    "MM_MAINT": [
        (-2, {"anc": 2.0, "plt": 150.0}),
        (10, {"anc": 0.45}),
        (17, {"anc": 0.6}),
        (24, {"plt": 20.0}),
        (31, {"plt": 35.0}),
    ],
    "MDS": [
        (-2, {"anc": 1.2, "plt": 120.0}),
        (7, {"plt": 45.0}),
        (14, {"plt": 55.0}),
        (35, {"anc": 0.45}),
        (42, {"anc": 0.45}),
        (49, {"anc": 0.6}),
    ],
    "MCL": [
        (-2, {"anc": 2.5, "plt": 180.0}),
        (7, {"anc": 0.45}),
        (14, {"anc": 1.1}),
        (21, {"plt": 9.0}),
        (28, {"plt": 55.0}),
    ],
    "FL": [
        (-2, {"anc": 2.5, "plt": 180.0}),
        (7, {"anc": 0.9}),
        (15, {"anc": 0.8}),
        (22, {"anc": 1.6}),
        (29, {"plt": 20.0}),
        (36, {"plt": 60.0}),
    ],
    "MZL": [
        (-2, {"anc": 2.5, "plt": 180.0}),
        (7, {"plt": 45.0}),
        (14, {"plt": 51.0}),
        (21, {"anc": 0.05}),
        (28, {"anc": 1.0}),
    ],
}


def test_a_v6_profile_holds_and_resumes_exactly_where_v5_does(tmp_path):
    for name in ("profiles.csv", "dose_us_pi.csv", "ladders.csv"):
        shutil.copy(RULES_DIR / name, tmp_path / name)
    with open(tmp_path / "profiles.csv", "a") as f:
        f.write("us_pi_v6,US PI graded by CTCAE v6.0,REVLIMID US PI (current),dose_us_pi.csv ladders.csv,ctcae_v6,,\n")
    v6 = dosing.load_profile("us_pi_v6", rules_dir=tmp_path)
    assert v6.grading == "ctcae_v6"
    patients = pd.DataFrame([course(ind, mrn=f"P-{ind}") for ind in COURSES])
    labs = pd.concat([_labs(draws, mrn=f"P-{ind}") for ind, draws in COURSES.items()], ignore_index=True)
    f5 = assess.assess_frames(patients, labs, None, as_of=dt.date(2026, 12, 31), rules="us_pi")
    f6 = assess.assess_frames(patients, labs, None, as_of=dt.date(2026, 12, 31), rules=v6)
    cols = ["course_id", "date", "action", "dose_mg", "schedule", "rules", "held"]
    pd.testing.assert_frame_equal(f5.steps[cols], f6.steps[cols])
    assert {"hold", "stay_held", "resume"} <= set(f5.steps["action"])  # the courses exercise the rules
    assert set(f5.steps["course_id"].map(lambda c: c)) == set(f6.steps["course_id"])
    # grades do differ
    merged = f5.labs[["mrn", "collected_at", "analyte", "grade"]].merge(
        f6.labs[["mrn", "collected_at", "analyte", "grade"]], on=["mrn", "collected_at", "analyte"]
    )
    assert (merged["grade_x"].fillna(-1) != merged["grade_y"].fillna(-1)).sum() >= 5


def test_other_toxicity_is_a_grade_so_it_follows_the_version(tmp_path):
    """Documented difference: an ALC < 0.5 is grade 3 by v5.0 (other toxicity: resume lower), no grade by v6.0."""
    for name in ("profiles.csv", "dose_us_pi.csv", "ladders.csv"):
        shutil.copy(RULES_DIR / name, tmp_path / name)
    with open(tmp_path / "profiles.csv", "a") as f:
        f.write("us_pi_v6,US PI graded by CTCAE v6.0,REVLIMID US PI (current),dose_us_pi.csv ladders.csv,ctcae_v6,,\n")
    v6 = dosing.load_profile("us_pi_v6", rules_dir=tmp_path)
    labs = _labs([(-2, {"anc": 3.0, "plt": 200.0, "alc": 1.5}), (7, {"anc": 0.8, "alc": 0.3}), (14, {"anc": 1.2})])
    patients = pd.DataFrame([course("MM")])
    assert _steps("us_pi", patients, labs)["dose_mg"].iloc[-1] == 20.0
    assert _steps(v6, patients, labs)["dose_mg"].iloc[-1] == 25.0
