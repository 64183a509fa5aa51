"""Issue 8, engine side: rules per draw, the resume plan, notices, the REMS stop, planned biopsies (docs/assess.md)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from dosing_cases import START, course, events_frame, labs_frame

from lenadash.clinical import assess, dosing, notices
from lenadash.clinical.dosing import values as engine

AS_OF = START + dt.timedelta(days=120)
NORMAL = {"anc": 3.0, "plt": 200.0}


def _events(events, mrn="T1"):
    """events_frame plus the parsed pregnancy-test result (ingest sets `result` from the value)."""
    ev = events_frame(events, mrn=mrn)
    ev["result"] = [v if k == "pregnancy_test" else None for k, v in zip(ev["event"], ev["value"])]
    return ev


def _assess(indication, draws, events=(), *, as_of=AS_OF, **course_kw):
    patients = pd.DataFrame([{**course(indication, dose=course_kw.pop("dose", None)), **course_kw}])
    labs = labs_frame(draws).drop(columns=["grade"])
    labs["unit"] = ["g/dL" if a == "hgb" else "10^9/L" for a in labs["analyte"]]
    result = assess.assess(patients, labs, _events(events) if events else None, as_of=as_of)
    return result["patients"][0]


def _steps(indication, draws, events=(), **course_kw):
    patients = pd.DataFrame([{**course(indication, dose=course_kw.pop("dose", None)), **course_kw}])
    return dosing.simulate(labs_frame(draws), patients, _events(events) if events else None)


WOMAN = {"sex": "F", "reproductive_potential": True, "menses": "regular"}


# --- the REMS stop (DOMAIN.md §5) ----------------------------------------------------------------


def test_positive_pregnancy_test_stops_and_recovery_does_not_restart_against_label():
    draws = [(0, NORMAL), (7, NORMAL), (14, NORMAL), (21, NORMAL)]
    out = _steps("MM", draws, [(7, "pregnancy_test", "positive")], **WOMAN)
    assert [(a, None if pd.isna(d) else d) for a, d in zip(out["action"], out["dose_mg"])] == [
        ("continue", 25.0),
        ("stop", None),
        ("stop", None),
        ("stop", None),
    ]
    assert [list(r) for r in out["rules"]] == [[], ["REMS-STOP"], ["REMS-STOP"], ["REMS-STOP"]]


def test_stop_while_held_ends_the_episode_with_no_count_based_resume():
    draws = [(0, NORMAL), (7, {"anc": 0.8, "plt": 200.0}), (14, {"anc": 0.9, "plt": 200.0}), (21, NORMAL)]
    out = _steps("MM", draws, [(14, "missed_period", "")], **WOMAN)
    assert list(out["action"]) == ["continue", "hold", "stop", "stop"]
    assert out["resume_plan"].iloc[-1] is None


@pytest.mark.parametrize(
    "sex, potential, kind, stops",
    [
        ("F", True, "missed_period", True),
        ("F", False, "missed_period", False),  # no reproductive potential: a missed period means nothing here
        ("M", True, "missed_period", False),
        ("F", True, "pregnancy_test", True),
        ("F", False, "pregnancy_test", True),  # a positive test proves the potential the record denies
        ("M", False, "pregnancy_test", False),
    ],
)
def test_who_a_stop_event_stops(sex, potential, kind, stops):
    value = "positive" if kind == "pregnancy_test" else ""
    out = _steps("MM", [(0, NORMAL), (7, NORMAL)], [(7, kind, value)], sex=sex, reproductive_potential=potential)
    assert (out["action"].iloc[-1] == "stop") is stops


def test_negative_test_does_not_stop():
    out = _steps("MM", [(0, NORMAL), (7, NORMAL)], [(7, "pregnancy_test", "negative")], **WOMAN)
    assert list(out["action"]) == ["continue", "continue"]


def test_stop_on_a_date_without_a_draw_stops_the_next_draw_and_the_patient_from_that_date():
    out = _steps("MM", [(0, NORMAL), (14, NORMAL)], [(9, "missed_period", "")], **WOMAN)
    assert list(zip(out["is_draw"], out["action"])) == [(True, "continue"), (False, "stop"), (True, "stop")]
    p = _assess("MM", [(0, NORMAL)], [(9, "missed_period", "")], as_of=START + dt.timedelta(days=10), **WOMAN)
    assert (p["status"], p["current_dose_mg"], p["resume_plan"]) == ("stopped", None, None)
    assert p["notices"][0]["kind"] == "stopped" and p["notices"][0]["severity"] == "urgent"
    assert str(START + dt.timedelta(days=9)) in p["notices"][0]["text"]


@pytest.mark.parametrize(
    "restart_day, value, actions",
    [
        (21, "15", ["continue", "stop", "stop", "resume", "continue"]),  # a dose after the stop restarts it
        (21, "hold", ["continue", "stop", "stop", "hold", "stay_held"]),  # a hold: held, no automatic resume
        (7, "15", ["continue", "stop", "stop", "stop", "stop"]),  # a dose_change on the stop's own date: no restart
    ],
)
def test_only_a_later_dose_change_ends_a_stop(restart_day, value, actions):
    draws = [(0, NORMAL), (7, NORMAL), (14, NORMAL), (21, NORMAL), (28, NORMAL)]
    out = _steps("MM", draws, [(7, "pregnancy_test", "positive"), (restart_day, "dose_change", value)], **WOMAN)
    assert list(out["action"]) == actions
    if value == "15" and restart_day == 21:
        assert list(out["dose_mg"].iloc[3:]) == [15.0, 15.0]
        assert list(out["rules"].iloc[3]) == ["CLINICIAN-DOSE"]


def test_stopped_patient_keeps_pregnancy_tests_scheduled():
    p = _assess(
        "MM",
        [(0, NORMAL), (35, NORMAL)],
        [(0, "pregnancy_test", "negative"), (30, "pregnancy_test", "negative"), (33, "missed_period", "")],
        as_of=START + dt.timedelta(days=36),
        **WOMAN,
    )
    assert p["status"] == "stopped"
    # the missed period after the last negative test asks for a test on its date (REMS)
    assert p["next_pregnancy_test"] == str(START + dt.timedelta(days=33))
    assert any(n["kind"] == "pregnancy_test_overdue" for n in p["notices"])


def test_stop_outranks_the_cycle_limit_review():
    # FL stopped in cycle 12, assessed in cycle 13 with no draw there: still stopped (not review)
    p = _assess(
        "FL",
        [(0, NORMAL), (11 * 28 + 1, NORMAL)],
        [(11 * 28 + 2, "missed_period", "")],
        as_of=START + dt.timedelta(days=12 * 28 + 3),
        **WOMAN,
    )
    assert (p["cycle"], p["status"], p["notices"][0]["kind"]) == (13, "stopped", "stopped")


def test_pregnancy_tests_are_the_same_while_held_against_label():
    # REMS: tests "the same during holds"; a held and a treated woman with the same tests get the same date
    tests = [(-12, "pregnancy_test", "negative"), (0, "pregnancy_test", "negative"), (35, "pregnancy_test", "negative")]
    as_of = START + dt.timedelta(days=44)
    held = _assess("MM", [(0, NORMAL), (42, {"anc": 0.5, "plt": 200.0})], tests, as_of=as_of, **WOMAN)
    treated = _assess("MM", [(0, NORMAL), (42, NORMAL)], tests, as_of=as_of, **WOMAN)
    assert held["status"] == "held" and treated["status"] == "on_treatment"
    assert held["next_pregnancy_test"] == treated["next_pregnancy_test"] == str(START + dt.timedelta(days=63))
    due = [n for n in held["notices"] if n["kind"] == "pregnancy_test_due"]
    assert [n["due"] for n in due] == [held["next_pregnancy_test"]]


# --- rules per draw --------------------------------------------------------------------------------


RULES = [
    # (indication, draws, events, rules of each draw)
    ("MM", [(0, NORMAL), (7, NORMAL)], [], [[], []]),
    (
        "MM",
        [(0, NORMAL), (7, {"anc": 0.8, "plt": 200.0}), (14, {"anc": 0.9, "plt": 200.0}), (21, NORMAL)],
        [],
        [[], ["MM-ANC-FIRST", "MM-ANC-FIRST-TOX"], ["MM-ANC-FIRST"], ["MM-ANC-FIRST"]],
    ),
    ("MM", [(0, NORMAL), (7, NORMAL)], [(7, "dose_change", "20")], [[], ["CLINICIAN-DOSE"]]),
    (
        "MM",
        [(0, NORMAL), (7, NORMAL), (14, NORMAL)],
        [(7, "dose_change", "hold")],
        [[], ["CLINICIAN-HOLD"]] * 1 + [["CLINICIAN-HOLD"]],
    ),
    ("MM", [(0, NORMAL), (7, {**NORMAL, "alt": (300.0, 3)})], [], [[], ["GRADE3-REVIEW"]]),
    ("MM", [(0, NORMAL), (7, {"anc": 3.0, "plt": 25.0})], [], [[], ["MM-PLT"]]),
]


@pytest.mark.parametrize("indication, draws, events, rules", RULES)
def test_rules_of_each_draw(indication, draws, events, rules):
    out = _steps(indication, draws, events)
    assert [list(r) for r in out[out["is_draw"]]["rules"]] == rules


def test_missing_baseline_lists_the_rule_that_needed_it():
    # MDS early platelet rules need a baseline: none recorded -> review, the rule ids that needed it
    out = _steps("MDS", [(7, {"anc": 3.0, "plt": 40.0})])
    assert out["action"].iloc[0] == "review"
    assert set(out["rules"].iloc[0]) <= {r.rule for r in dosing.load_profile("us_pi").rules}
    assert out["rules"].iloc[0]


def test_cycle_limit_rule_id():
    draws = [(0, NORMAL), (12 * 28 + 1, NORMAL)]
    out = _steps("FL", draws)
    assert list(out["rules"].iloc[-1]) == ["CYCLE-LIMIT"] and out["action"].iloc[-1] == "review"


def test_every_engine_id_is_documented():
    doc = (assess_doc := __import__("pathlib").Path(__file__).parent.parent / "docs" / "assess.md").read_text()
    for rule in engine.ENGINE_RULES:
        assert f"`{rule}`" in doc, f"{rule} missing from {assess_doc.name}"


# --- the resume plan -----------------------------------------------------------------------------


PLANS = [
    # (indication, starting dose, draws, events, plan fields (dose_mg, schedule, basis, rule), when)
    (
        "MM",
        25,
        [(0, NORMAL), (7, {"anc": 0.9, "plt": 200.0})],
        [],
        (25.0, "21/28", "start", "MM-ANC-FIRST"),
        [("anc", ">=", 1.0)],
    ),
    # renally reduced start: the patient's initial dose
    (
        "MM",
        10,
        [(0, NORMAL), (7, {"anc": 0.9, "plt": 200.0})],
        [],
        (10.0, "21/28", "start", "MM-ANC-FIRST"),
        [("anc", ">=", 1.0)],
    ),
    # other toxicity (a recorded grade 3 toxicity event) during the first ANC episode: next lower dose
    (
        "MM",
        25,
        [(0, NORMAL), (7, {"anc": 0.9, "plt": 200.0})],
        [(7, "toxicity", "3")],
        (20.0, "21/28", "next_lower", "MM-TOX"),
        [("anc", ">=", 1.0), ("toxicity", "<=", 2.0)],
    ),
    (
        "MM",
        25,
        [(0, NORMAL), (7, {"anc": 3.0, "plt": 29.0})],
        [],
        (20.0, "21/28", "next_lower", "MM-PLT"),
        [("plt", ">=", 30.0)],
    ),
    # two counts: one condition each; platelets 29 (grade 3) is other toxicity, so the ANC branch is next lower
    (
        "MM",
        25,
        [(0, NORMAL), (7, {"anc": 0.9, "plt": 29.0})],
        [],
        (20.0, "21/28", "next_lower", "MM-ANC-FIRST-TOX"),
        [("anc", ">=", 1.0), ("plt", ">=", 30.0)],
    ),
    # at the 2.5 mg floor: the clinician decides
    (
        "MM",
        2.5,
        [(0, NORMAL), (7, {"anc": 3.0, "plt": 29.0})],
        [],
        (None, "21/28", "clinician", "MM-PLT"),
        [("plt", ">=", 30.0)],
    ),
    (
        "MM_MAINT",
        5,
        [(0, NORMAL), (7, {"anc": 0.4, "plt": 200.0})],
        [],
        (5.0, "21/28", "next_lower", "MMM-ANC"),
        [("anc", ">=", 0.5)],
    ),
    # MDS: the resume threshold depends on the baseline (>= 60: 50; < 60: 30)
    (
        "MDS",
        10,
        [(-2, {"anc": 3.0, "plt": 80.0}), (7, {"anc": 3.0, "plt": 40.0})],
        [],
        (5.0, "28/28", "next_lower", "MDS-PLT-EARLY-B60"),
        [("plt", ">=", 50.0)],
    ),
    (
        "MDS",
        10,
        [(-2, {"anc": 3.0, "plt": 50.0}), (7, {"anc": 3.0, "plt": 25.0})],
        [],
        (5.0, "28/28", "next_lower", "MDS-PLT-EARLY-B0"),
        [("plt", ">=", 30.0)],
    ),
    (
        "MZL",
        20,
        [(0, NORMAL), (7, {"anc": 0.4, "plt": 200.0})],
        [],
        (15.0, "21/28", "next_lower", "MZL-ANC-G4"),
        [("anc", ">=", 1.0)],
    ),
    (
        "MM",
        25,
        [(0, NORMAL), (7, NORMAL)],
        [(7, "dose_change", "hold")],
        (None, "21/28", "clinician", "CLINICIAN-HOLD"),
        [],
    ),
]


@pytest.mark.parametrize("indication, dose, draws, events, fields, when", PLANS)
def test_resume_plan_against_label(indication, dose, draws, events, fields, when):
    p = _assess(indication, draws, events, dose=dose, as_of=START + dt.timedelta(days=8))
    assert p["status"] == "held"
    plan = p["resume_plan"]
    assert (plan["dose_mg"], plan["schedule"], plan["basis"], plan["rule"]) == fields
    assert sorted((c["analyte"], c["op"], c["value"]) for c in plan["when"]) == sorted(when)
    assert plan["source"] and plan["basis"] in dosing.walk.BASES
    assert p["notices"][0]["kind"] == "hold"


@pytest.mark.parametrize("indication, dose, draws, events, fields, when", [p for p in PLANS if p[4][0] is not None])
def test_the_walk_resumes_as_its_plan_said(indication, dose, draws, events, fields, when):
    # recover every count in the plan's `when`: the next draw resumes at exactly the plan's dose and schedule
    plan = _assess(indication, draws, events, dose=dose, as_of=START + dt.timedelta(days=8))["resume_plan"]
    recovered = {**NORMAL, **{c["analyte"]: c["value"] for c in plan["when"] if c["analyte"] != "toxicity"}}
    tox = [(14, "toxicity", "1")] if any(c["analyte"] == "toxicity" for c in plan["when"]) else []
    out = _steps(indication, [*draws, (14, recovered)], [*events, *tox], dose=dose)
    row = out.iloc[-1]
    assert (row["action"], row["dose_mg"], row["schedule"]) == ("resume", plan["dose_mg"], plan["schedule"])
    assert plan["rule"] in row["rules"]


def test_no_resume_plan_unless_held():
    p = _assess("MM", [(0, NORMAL), (7, NORMAL)])
    assert p["status"] == "on_treatment" and p["resume_plan"] is None
    p = _assess("MM", [(0, NORMAL), (7, {"anc": 0.9, "plt": 200.0}), (14, NORMAL)])
    assert p["status"] == "on_treatment" and p["resume_plan"] is None


# --- notices ---------------------------------------------------------------------------------------


def test_notice_kinds_are_a_closed_list_with_known_severities():
    assert set(notices.KINDS) >= {
        "stopped", "hold", "review", "grade3", "cbc_overdue", "cbc_due", "biopsy_overdue", "biopsy_due",
        "pregnancy_test_overdue", "pregnancy_test_due", "rems_pretreatment_missing", "thromboprophylaxis_missing",
        "renal_dose_above_label", "renal_band_fall", "renal_not_studied", "renal_no_crcl", "stale_creatinine",
        "cycle_limit", "labs_without_course",
    }  # fmt: skip
    with pytest.raises(ValueError, match="unknown notice kind"):
        notices.Notice("made_up", "text", "source")
    assert notices.KINDS["stopped"][0] == "urgent" and notices.KINDS["cbc_due"][0] == "info"


def test_notices_most_severe_first_and_alerts_are_their_texts():
    p = _assess("MM", [(0, NORMAL), (7, {"anc": 0.9, "plt": 200.0})], combination="dexamethasone")
    kinds = [n["kind"] for n in p["notices"]]
    assert kinds[0] == "hold" and "thromboprophylaxis_missing" in kinds
    assert [n["kind"] for n in p["notices"] if n["severity"] == "info"] == ["renal_no_crcl"]  # no creatinine drawn
    order = [notices.SEVERITIES.index(n["severity"]) for n in p["notices"]]
    assert order == sorted(order)
    assert p["alerts"] == [n["text"] for n in p["notices"]]


def test_hold_notice_reads_as_the_label_says():
    p = _assess("MM", [(0, NORMAL), (7, {"anc": 0.9, "plt": 200.0})], as_of=START + dt.timedelta(days=8))
    hold = p["notices"][0]
    assert hold["kind"] == "hold" and hold["severity"] == "urgent" and "US PI" in hold["source"]
    assert (
        hold["text"] == f"held since {START + dt.timedelta(days=7)} for ANC 0.9; resume at 25 mg 21/28 when ANC >= 1.0"
    )


def test_cbc_due_notice_has_its_date():
    p = _assess("MM", [(0, NORMAL)], as_of=START + dt.timedelta(days=3))
    cbc = next(n for n in p["notices"] if n["kind"] == "cbc_due")
    assert cbc["due"] == p["next_labs_due"] == str(START + dt.timedelta(days=7)) and cbc["severity"] == "info"
    late = _assess("MM", [(0, NORMAL)], as_of=START + dt.timedelta(days=9))
    assert next(n for n in late["notices"] if n["kind"] == "cbc_overdue")["severity"] == "action"


def test_grade3_review_is_its_own_kind():
    p = _assess("MM", [(0, NORMAL), (7, {**NORMAL, "alt": 300.0})], as_of=START + dt.timedelta(days=8))
    assert p["status"] == "review"
    assert [n["kind"] for n in p["notices"] if n["severity"] == "action"] == ["grade3"]


@pytest.mark.parametrize(
    "tests, missing",
    [
        ([(-12, "negative"), (0, "negative")], False),
        ([(-12, "negative"), (-1, "negative")], False),
        ([(-12, "negative")], True),  # one test is not both: the label asks for two
        ([(0, "negative")], True),
        ([], True),
    ],
)
def test_rems_pretreatment_notice_against_label(tests, missing):
    events = [(d, "pregnancy_test", r) for d, r in tests]
    p = _assess("MM", [(0, NORMAL)], events, as_of=START + dt.timedelta(days=3), **WOMAN)
    got = [n for n in p["notices"] if n["kind"] == "rems_pretreatment_missing"]
    assert bool(got) is missing
    if got:
        assert got[0]["severity"] == "action" and got[0]["source"] == "Lenalidomide REMS"


def test_no_rems_pretreatment_notice_for_men_or_without_potential():
    for kw in ({"sex": "M"}, {"sex": "F", "reproductive_potential": False}):
        p = _assess("MM", [(0, NORMAL)], as_of=START + dt.timedelta(days=3), **kw)
        assert not [n for n in p["notices"] if n["kind"] == "rems_pretreatment_missing"]


# --- biopsies for every indication -----------------------------------------------------------------


def test_myeloma_planned_biopsy_is_upcoming_then_overdue_then_done():
    planned = [(60, "marrow_biopsy_planned", "")]
    p = _assess("MM", [(0, NORMAL)], planned, as_of=START + dt.timedelta(days=30))
    assert p["next_marrow_biopsy"] == str(START + dt.timedelta(days=60)) and not p["marrow_biopsy_overdue"]
    assert p["marrow_biopsies"] == [
        {"due": str(START + dt.timedelta(days=60)), "week": None, "done": False, "planned": True}
    ]
    due = next(n for n in p["notices"] if n["kind"] == "biopsy_due")
    assert due["due"] == p["next_marrow_biopsy"] and due["severity"] == "info"
    late = _assess("MM", [(0, NORMAL)], planned, as_of=START + dt.timedelta(days=61))
    assert late["marrow_biopsy_overdue"] and [n["kind"] for n in late["notices"]].count("biopsy_overdue") == 1
    done = _assess("MM", [(0, NORMAL)], [*planned, (70, "marrow_biopsy", "")], as_of=START + dt.timedelta(days=80))
    assert done["next_marrow_biopsy"] is None and done["marrow_biopsies"][0]["done"]
    assert not [n for n in done["notices"] if n["kind"].startswith("biopsy")]


def test_no_biopsy_calendar_outside_mds():
    p = _assess("MM", [(0, NORMAL)], as_of=START + dt.timedelta(days=200))
    assert p["marrow_biopsies"] == [] and p["next_marrow_biopsy"] is None
    mds = _assess("MDS", [(0, NORMAL)], as_of=START + dt.timedelta(days=30))
    assert mds["marrow_biopsies"][0]["week"] == 12


# --- statuses and actions in the contract ------------------------------------------------------------


def test_statuses_and_actions_list_stop():
    assert "stopped" in assess.STATUSES and "stop" in dosing.ACTIONS


# --- the sample clinic --------------------------------------------------------------------------------


def _sample(sample_dir):
    from lenadash import ingest

    labs = pd.concat(
        [
            ingest.read_labs((sample_dir / n).read_bytes(), file_name=n).results
            for n in ("epic_long_us.csv", "europe_wide_si.csv", "loinc_long.csv", "bad_rows.csv")
        ],
        ignore_index=True,
    )
    patients = ingest.read_patients((sample_dir / "patients.csv").read_bytes(), file_name="patients.csv").rows
    events = ingest.read_events((sample_dir / "events.csv").read_bytes(), file_name="events.csv").rows
    return patients, labs, events


SAMPLE_DATES = [dt.date(2026, m, d) for m, d in ((4, 20), (4, 27), (5, 4), (5, 11), (7, 13), (8, 20), (11, 20))]


@pytest.fixture(scope="module")
def sample_runs(sample_dir):
    patients, labs, events = _sample(sample_dir)
    return patients, {d: assess.assess(patients, labs, events, as_of=d) for d in SAMPLE_DATES}


def test_no_name_mrn_or_birth_date_in_any_text(sample_runs):
    patients, runs = sample_runs
    secrets = set(patients["mrn"].astype(str)) | set(patients["name"].astype(str)) | {"LD0099"}
    secrets |= {str(pd.Timestamp(b).date()) for b in patients["birth_date"]}
    for result in runs.values():
        for p in result["patients"]:
            texts = [n["text"] for n in p["notices"]] + p["alerts"]
            texts += [r for d in p["draws"] for r in d["reasons"]]
            assert texts
            for t in texts:
                assert not [s for s in secrets if s in t], (p["mrn"], t)


def test_contract_fields_on_every_sample_patient(sample_runs):
    _, runs = sample_runs
    for result in runs.values():
        for p in result["patients"]:
            assert p["status"] in assess.STATUSES
            assert (p["resume_plan"] is None) is (p["status"] != "held"), p["mrn"]
            assert p["alerts"] == [n["text"] for n in p["notices"]]
            for n in p["notices"]:
                assert n["kind"] in notices.KINDS and n["severity"] in notices.SEVERITIES and n["source"]
                assert n["due"] is None or dt.date.fromisoformat(n["due"])
            known = {r.rule for r in dosing.load_profile("us_pi").rules} | set(engine.ENGINE_RULES)
            for d in p["draws"]:
                assert d["action"] in dosing.ACTIONS and set(d["rules"]) <= known


def _held(runs, as_of, mrn):
    p = next(p for p in runs[as_of]["patients"] if p["mrn"] == mrn)
    assert p["status"] == "held"
    return p["resume_plan"], p["notices"][0]


def test_ld0001_first_anc_hold_plan_against_label(sample_runs):
    # LD0001, MM at 25 mg: ANC < 1.0 on 2026-04-20, the first ANC episode, neutropenia the only toxicity ->
    # US PI 2.1 Table 1: resume at the starting dose, 25 mg, once ANC >= 1.0 (DOMAIN.md §2)
    for as_of in (dt.date(2026, 4, 20), dt.date(2026, 4, 27)):
        plan, notice = _held(sample_runs[1], as_of, "LD0001")
        assert (plan["dose_mg"], plan["schedule"], plan["basis"], plan["rule"]) == (
            25.0,
            "21/28",
            "start",
            "MM-ANC-FIRST",
        )
        assert plan["when"] == [{"analyte": "anc", "op": ">=", "value": 1.0}]
        assert notice["kind"] == "hold" and "resume at 25 mg 21/28 when ANC >= 1.0" in notice["text"]


def test_ld0001_platelet_hold_plan_against_label(sample_runs):
    # LD0001 back at 25 mg: platelets < 30 on 2026-08-13 -> resume at the next lower dose, 20 mg, when >= 30
    plan, _ = _held(sample_runs[1], dt.date(2026, 8, 20), "LD0001")
    assert (plan["dose_mg"], plan["basis"], plan["rule"]) == (20.0, "next_lower", "MM-PLT")
    assert plan["when"] == [{"analyte": "plt", "op": ">=", "value": 30.0}]


def test_ld0014_mzl_anc_hold_plan_against_label(sample_runs):
    # LD0014, MZL at 20 mg: ANC 0.44 < 0.5 on 2026-11-09 -> US PI 2.4: hold; resume one step lower (15 mg)
    # once ANC >= 1.0
    plan, notice = _held(sample_runs[1], dt.date(2026, 11, 20), "LD0014")
    assert (plan["dose_mg"], plan["schedule"], plan["basis"], plan["rule"]) == (
        15.0,
        "21/28",
        "next_lower",
        "MZL-ANC-G4",
    )
    assert plan["when"] == [{"analyte": "anc", "op": ">=", "value": 1.0}]
    assert notice["text"] == "held since 2026-11-09 for ANC 0.44; resume at 15 mg 21/28 when ANC >= 1.0"


def test_ld0016_mm_platelet_hold_plan_against_label(sample_runs):
    # LD0016, MM at 25 mg: platelets 22 < 30 on 2026-11-02 -> US PI 2.1 Table 1: resume at 20 mg when >= 30
    plan, notice = _held(sample_runs[1], dt.date(2026, 11, 20), "LD0016")
    assert (plan["dose_mg"], plan["schedule"], plan["basis"], plan["rule"]) == (20.0, "21/28", "next_lower", "MM-PLT")
    assert plan["when"] == [{"analyte": "plt", "op": ">=", "value": 30.0}]
    assert notice["text"] == "held since 2026-11-02 for Platelets 22; resume at 20 mg 21/28 when Platelets >= 30"


def _decisions(result):
    """Everything a consumer may act on, without any text (plan without its free-text-free fields only)."""
    out = []
    for p in result["patients"]:
        out.append(
            (
                p["mrn"],
                p["status"],
                p["current_dose_mg"],
                p["resume_plan"],
                [(n["kind"], n["severity"], n["due"]) for n in p["notices"]],
                [(d["date"], d["action"], d["dose_mg"], d["rules"], d["needs_review"]) for d in p["draws"]],
            )
        )
    return out


def _synthetic_clinic():
    """Courses that walk every path a reason or notice is written on: reviews on continue draws (ALT grade 3,
    fever without a temperature, a missing baseline), the floor, a clinician's hold and dose, a stop."""
    woman = {"sex": "F", "reproductive_potential": True, "menses": "irregular"}
    cases = [
        ("A1", "MM", {}, [(0, NORMAL), (7, {**NORMAL, "alt": 300.0}), (14, NORMAL)], []),
        ("A2", "MM", {}, [(0, NORMAL), (7, NORMAL)], [(7, "fever", "")]),
        ("A3", "MDS", {}, [(7, {"anc": 3.0, "plt": 40.0}), (14, {"anc": 3.0, "plt": 60.0})], []),
        ("A4", "MM", {"dose": 2.5}, [(0, NORMAL), (7, {"anc": 3.0, "plt": 20.0}), (14, NORMAL)], []),
        ("A5", "MM", {}, [(0, NORMAL), (7, NORMAL), (14, NORMAL)], [(7, "dose_change", "hold")]),
        (
            "A6",
            "MM",
            woman,
            [(0, NORMAL), (7, NORMAL), (21, NORMAL)],
            [(10, "missed_period", ""), (20, "dose_change", "10")],
        ),
        ("A7", "MCL", {}, [(0, NORMAL), (7, {"anc": 0.8, "plt": 200.0})], [(7, "fever", "38.9")]),
    ]
    patients, labs, events = [], [], []
    for mrn, indication, kw, draws, evs in cases:
        kw = dict(kw)
        patients.append({**course(indication, dose=kw.pop("dose", None), mrn=mrn), **kw})
        labs.append(labs_frame(draws, mrn=mrn).drop(columns=["grade"]))
        if evs:
            events.append(_events(evs, mrn=mrn))
    lab = pd.concat(labs, ignore_index=True)
    lab["unit"] = ["U/L" if a == "alt" else "10^9/L" for a in lab["analyte"]]
    return pd.DataFrame(patients), lab, pd.concat(events, ignore_index=True)


@pytest.mark.parametrize("clinic", ["sample", "synthetic"])
def test_no_decision_is_read_from_text(clinic, sample_dir, monkeypatch):
    # every reason sentence and every notice text replaced by one placeholder: no action, status, dose, rule,
    # resume plan or notice kind/severity/due may change (the engine and assess never parse their own words)
    if clinic == "synthetic":
        patients, labs, events = _synthetic_clinic()
        dates = [START + dt.timedelta(days=x) for x in (7, 8, 12, 14, 15, 20, 22)]
        _compare_with_placeholders(patients, labs, events, dates, monkeypatch)
        return
    patients, labs, events = _sample(sample_dir)
    more = _events([(0, "pregnancy_test", "negative"), (40, "missed_period", "")], mrn="LD0006")  # a stop in the mix
    more["date"] = [pd.Timestamp("2026-04-06").date() + dt.timedelta(days=x) for x in (0, 40)]
    events = pd.concat([events, more.reindex(columns=events.columns)], ignore_index=True)
    after = _compare_with_placeholders(patients, labs, events, SAMPLE_DATES, monkeypatch)
    assert any(p["status"] == "stopped" for p in after[dt.date(2026, 11, 20)]["patients"])


def _compare_with_placeholders(patients, labs, events, dates, monkeypatch):
    before = {d: _decisions(assess.assess(patients, labs, events, as_of=d)) for d in dates}
    import inspect

    from lenadash.clinical.dosing import reasons

    for name, fn in inspect.getmembers(reasons, inspect.isfunction):
        if fn.__module__ == reasons.__name__:
            monkeypatch.setattr(reasons, name, lambda *a, **k: "PLACEHOLDER")
    monkeypatch.setattr(reasons, "CBC_WEEKLY", "PLACEHOLDER")
    original = notices.Notice.__post_init__

    def placeholder(self):
        original(self)
        object.__setattr__(self, "text", "PLACEHOLDER")

    monkeypatch.setattr(notices.Notice, "__post_init__", placeholder)
    after = {d: assess.assess(patients, labs, events, as_of=d) for d in dates}
    assert all(n["text"] == "PLACEHOLDER" for r in after.values() for p in r["patients"] for n in p["notices"])
    assert {d: _decisions(r) for d, r in after.items()} == before
    monkeypatch.undo()
    return after


SAMPLE_HOLDS = [
    # (mrn, as_of, dose_mg, schedule, rule, when) - each checked by hand against DOMAIN.md §2 / the US PI
    # LD0003 MM 25 mg, grade 3 ALT judged related (toxicity event): restart one step lower once grade <= 2
    ("LD0003", "2026-05-11", 20.0, "21/28", "MM-TOX", [("toxicity", "<=", 2.0)]),
    # LD0004 MM maintenance 10 mg, ANC 0.46 < 0.5: resume at the next lower dose, 5 mg continuous, once >= 0.5
    ("LD0004", "2026-02-23", 5.0, "28/28", "MMM-ANC", [("anc", ">=", 0.5)]),
    # LD0007 MDS 10 mg, day 21, baseline platelets 88 (60-100): 38 <= 50% of baseline; baseline >= 60 -> back to
    # >= 50, resume at 5 mg
    ("LD0007", "2026-05-25", 5.0, "28/28", "MDS-PLT-EARLY-B60", [("plt", ">=", 50.0)]),
    # LD0008 MDS 10 mg after 4 weeks, ANC < 0.5 for 7 days: resume at 5 mg once >= 0.5
    ("LD0008", "2026-04-27", 5.0, "28/28", "MDS-ANC-LATE-7D", [("anc", ">=", 0.5)]),
    # LD0009 MDS at 5 mg, platelets 44 < 50 with a transfusion: resume at 2.5 mg once >= 30
    ("LD0009", "2026-07-13", 2.5, "28/28", "MDS-PLT-AT5-TX", [("plt", ">=", 30.0)]),
    # LD0010 MCL 25 mg, ANC 0.86 < 1.0 with fever 38.7 C: resume 5 mg lower (20 mg) once ANC >= 1.0
    ("LD0010", "2026-04-20", 20.0, "21/28", "MCL-ANC-FEVER", [("anc", ">=", 1.0)]),
    # LD0011 MCL 25 mg, platelets 46 < 50: resume 5 mg lower (20 mg) once >= 50
    ("LD0011", "2026-04-20", 20.0, "21/28", "MCL-PLT", [("plt", ">=", 50.0)]),
]


@pytest.mark.parametrize("mrn, as_of, dose, schedule, rule, when", SAMPLE_HOLDS, ids=[r[0] for r in SAMPLE_HOLDS])
def test_sample_hold_plans_against_label(sample_dir, mrn, as_of, dose, schedule, rule, when):
    patients, labs, events = _sample(sample_dir)
    result = assess.assess(patients, labs, events, as_of=dt.date.fromisoformat(as_of))
    p = next(p for p in result["patients"] if p["mrn"] == mrn)
    plan = p["resume_plan"]
    assert p["status"] == "held" and p["notices"][0]["kind"] == "hold"
    assert (plan["dose_mg"], plan["schedule"], plan["basis"], plan["rule"]) == (dose, schedule, "next_lower", rule)
    assert [(c["analyte"], c["op"], c["value"]) for c in plan["when"]] == when
