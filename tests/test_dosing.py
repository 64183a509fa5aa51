"""Dose-modification engine: label thresholds at their boundaries and multi-draw label walks."""

from __future__ import annotations

import pandas as pd
import pytest
from dosing_cases import last, run, walk

from lenadash.clinical import dosing

# --- boundary tables: one draw (after a normal baseline), just below / at / just above ---------

NORMAL = {"anc": 3.0, "plt": 200.0}


def _one(indication, day, values, *, baseline=NORMAL, events=(), dose=None):
    draws = [(-2, dict(baseline))] if baseline else []
    draws.append((day, values))
    return last(indication, draws, events=events, dose=dose)


@pytest.mark.parametrize(
    "indication, analyte, value, action",
    [
        ("MM", "plt", 29.9, "hold"),
        ("MM", "plt", 30.0, "continue"),
        ("MM", "plt", 30.1, "continue"),
        ("MM", "anc", 0.99, "hold"),
        ("MM", "anc", 1.0, "continue"),
        ("MM", "anc", 1.01, "continue"),
        ("MM_MAINT", "anc", 0.49, "hold"),
        ("MM_MAINT", "anc", 0.5, "continue"),
        ("MM_MAINT", "anc", 0.51, "continue"),
        ("MM_MAINT", "plt", 29.9, "hold"),
        ("MM_MAINT", "plt", 30.0, "continue"),
        ("MCL", "plt", 49.9, "hold"),
        ("MCL", "plt", 50.0, "continue"),
        ("MCL", "plt", 50.1, "continue"),
        ("MCL", "anc", 0.49, "hold"),
        ("MCL", "anc", 0.5, "continue"),
        ("MCL", "anc", 0.99, "continue"),
        ("FL", "plt", 49.9, "hold"),
        ("FL", "plt", 50.0, "continue"),
        ("FL", "anc", 0.49, "hold"),
        ("FL", "anc", 0.5, "continue"),
        ("MZL", "plt", 49.9, "hold"),
        ("MZL", "plt", 50.0, "continue"),
        ("MZL", "anc", 0.49, "hold"),
        ("MZL", "anc", 0.5, "continue"),
        # MDS after 4 weeks at 10 mg
        ("MDS", "plt", 29.9, "hold"),
        ("MDS", "plt", 30.0, "continue"),
        ("MDS", "plt", 30.1, "continue"),
        ("MDS", "anc", 0.49, "continue"),  # < 0.5 alone (no 7 days, no fever) is not a trigger
    ],
)
def test_hold_threshold_boundaries(indication, analyte, value, action):
    got, dose, _, reasons = _one(indication, 40, {analyte: value})
    assert got == action, reasons
    if action == "hold":
        assert dose is None
        assert any("hold (US PI" in r for r in reasons)


@pytest.mark.parametrize(
    "baseline_plt, value, action",
    [
        (100.0, 49.9, "hold"),
        (100.0, 50.0, "continue"),
        (100.0, 50.1, "continue"),  # baseline >= 100: < 50
        (99.9, 49.9, "hold"),
        (99.9, 49.95, "hold"),
        (99.9, 50.0, "continue"),  # < 100: falls to 50% (<= 49.95)
        (80.0, 40.1, "continue"),
        (80.0, 40.0, "hold"),
        (80.0, 39.9, "hold"),
        (50.0, 25.1, "continue"),
        (50.0, 25.0, "hold"),
    ],
)
def test_mds_platelets_first_4_weeks_boundaries(baseline_plt, value, action):
    got, _, _, reasons = _one("MDS", 14, {"plt": value}, baseline={"anc": 3.0, "plt": baseline_plt})
    assert got == action, reasons


@pytest.mark.parametrize(
    "baseline_anc, value, action",
    [
        (1.0, 0.74, "hold"),
        (1.0, 0.75, "continue"),
        (1.0, 0.76, "continue"),
        (0.99, 0.74, "continue"),
        (0.99, 0.49, "hold"),
        (0.99, 0.5, "continue"),
    ],
)
def test_mds_anc_first_4_weeks_boundaries(baseline_anc, value, action):
    got, _, _, reasons = _one("MDS", 14, {"anc": value}, baseline={"anc": baseline_anc, "plt": 200.0})
    assert got == action, reasons


@pytest.mark.parametrize("day, action", [(27, "hold"), (28, "continue")])
def test_mds_first_4_weeks_means_fewer_than_28_days(day, action):
    # plt 45 with baseline 200: < 50 is a trigger within 4 weeks, not after (< 30 needed then)
    got, _, _, reasons = _one("MDS", day, {"plt": 45.0})
    assert got == action, reasons


@pytest.mark.parametrize(
    "value, transfusion, action",
    [(49.9, True, "hold"), (50.0, True, "continue"), (49.9, False, "continue"), (29.9, False, "hold")],
)
def test_mds_platelets_with_transfusion_after_4_weeks(value, transfusion, action):
    events = [(40, "platelet_transfusion", "1")] if transfusion else []
    got, _, _, reasons = _one("MDS", 40, {"plt": value}, events=events)
    assert got == action, reasons


@pytest.mark.parametrize("temperature, action", [(38.4, "continue"), (38.5, "hold"), (38.6, "hold")])
@pytest.mark.parametrize("indication, anc", [("MCL", 0.9), ("FL", 0.9), ("MZL", 0.9), ("MDS", 0.45)])
def test_fever_boundary_against_label(indication, anc, temperature, action):
    got, _, _, reasons = _one(indication, 40, {"anc": anc}, events=[(40, "fever", temperature)])
    assert got == action, reasons
    if action == "hold":
        assert any("with fever" in r for r in reasons)


def test_fever_on_another_day_does_not_count():
    got, _, _, _ = _one("MCL", 40, {"anc": 0.9}, events=[(39, "fever", 39.0)])
    assert got == "continue"


@pytest.mark.parametrize("indication, anc", [("MCL", 0.9), ("FL", 0.9), ("MZL", 0.9), ("MDS", 0.45)])
def test_six_vs_seven_days_below_against_label(indication, anc):
    six = walk(indication, [(-2, NORMAL), (40, {"anc": anc}), (43, {"anc": anc}), (46, {"anc": anc})])
    assert [a for _, a, _ in six] == ["continue"] * 4
    seven = walk(indication, [(-2, NORMAL), (40, {"anc": anc}), (43, {"anc": anc}), (47, {"anc": anc})])
    assert [a for _, a, _ in seven] == ["continue", "continue", "continue", "hold"]


def test_seven_days_needs_no_draw_at_or_above_in_between():
    steps = walk(
        "MCL",
        [
            (-2, NORMAL),
            (40, {"anc": 0.9}),
            (43, {"anc": 1.0}),
            (47, {"anc": 0.9}),
            (50, {"anc": 0.9}),
            (54, {"anc": 0.9}),
        ],
    )
    # the 1.0 on day 43 restarts the count: day 47 -> 54 spans 7 days
    assert [a for _, a, _ in steps] == ["continue"] * 5 + ["hold"]


def test_draws_without_the_analyte_do_not_break_the_run():
    steps = walk("MCL", [(-2, NORMAL), (40, {"anc": 0.9}), (44, {"plt": 150.0}), (47, {"anc": 0.9})])
    assert steps[-1][1] == "hold"


# --- resume boundaries -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "indication, analyte, low, back, action, dose",
    [
        ("MM", "plt", 20.0, 29.9, "stay_held", None),
        ("MM", "plt", 20.0, 30.0, "resume", 20.0),
        ("MM_MAINT", "plt", 20.0, 29.9, "stay_held", None),
        ("MM_MAINT", "plt", 20.0, 30.0, "resume", 5.0),
        ("MM_MAINT", "anc", 0.4, 0.49, "stay_held", None),
        ("MM_MAINT", "anc", 0.4, 0.5, "resume", 5.0),
        ("MCL", "plt", 40.0, 49.9, "stay_held", None),
        ("MCL", "plt", 40.0, 50.0, "resume", 20.0),
        ("MCL", "anc", 0.4, 0.99, "stay_held", None),
        ("MCL", "anc", 0.4, 1.0, "resume", 20.0),
        ("FL", "anc", 0.4, 0.99, "stay_held", None),
        ("FL", "anc", 0.4, 1.0, "resume", 15.0),
        ("MZL", "plt", 40.0, 50.0, "resume", 15.0),
        ("MDS", "plt", 20.0, 29.9, "stay_held", None),
        ("MDS", "plt", 20.0, 30.0, "resume", 5.0),
    ],
)
def test_resume_threshold_boundaries(indication, analyte, low, back, action, dose):
    steps = walk(indication, [(-2, NORMAL), (40, {analyte: low}), (47, {analyte: back})])
    assert steps[1][1] == "hold"
    assert steps[2][1:] == (action, dose)


# --- label walks -----------------------------------------------------------------------------


def test_mm_platelet_ladder_down_to_the_floor_then_review_against_label():
    draws = [(-2, NORMAL)]
    day = 7
    for _ in range(6):
        draws += [(day, {"plt": 25.0}), (day + 7, {"plt": 60.0})]
        day += 14
    draws += [(day, {"plt": 60.0})]
    steps = walk("MM", draws)
    resumes = [d for _, a, d in steps if a == "resume"]
    assert resumes == [20.0, 15.0, 10.0, 5.0, 2.5]  # US PI 2.1 Table 1: 25 -> 20 -> 15 -> 10 -> 5 -> 2.5
    # the sixth drop happens at 2.5 mg (the floor): hold, then a clinician decision, not a lower dose
    assert steps[-3][1:] == ("hold", None)
    assert steps[-2][1:] == ("review", None)
    assert steps[-1][1:] == ("review", None)  # still awaiting the clinician
    out = run("MM", draws)
    assert any("floor" in r for r in out.iloc[-2]["reasons"])
    assert any("awaiting a clinician decision" in r for r in out.iloc[-1]["reasons"])


def test_mm_first_anc_episode_only_toxicity_resumes_start_dose_against_label():
    steps = walk(
        "MM",
        [
            (-2, NORMAL),
            (14, {"anc": 0.8, "plt": 150.0}),
            (21, {"anc": 0.9, "plt": 140.0}),
            (28, {"anc": 1.2, "plt": 160.0}),
        ],
    )
    assert [s[1:] for s in steps[1:]] == [("hold", None), ("stay_held", None), ("resume", 25.0)]


def test_mm_first_anc_episode_with_other_lab_toxicity_steps_down_against_label():
    steps = walk("MM", [(-2, NORMAL), (14, {"anc": 0.8}), (21, {"anc": 0.9, "alt": (250.0, 3)}), (28, {"anc": 1.2})])
    assert steps[-1][1:] == ("resume", 20.0)


def test_mm_first_anc_episode_with_platelets_grade_3_counts_as_other_toxicity_against_label():
    # platelets 45 are CTCAE grade 3 (not a hold: >= 30) - another toxicity during the ANC episode
    steps = walk("MM", [(-2, NORMAL), (14, {"anc": 0.8, "plt": 45.0}), (28, {"anc": 1.2, "plt": 80.0})])
    assert steps[-1][1:] == ("resume", 20.0)


def test_mm_first_anc_episode_low_wbc_is_not_other_toxicity_against_label():
    # WBC 0.9 is CTCAE grade 3 but is the neutropenia itself (the WBC contains the neutrophils):
    # neutropenia stays the only toxicity, so the first episode resumes at the starting dose.
    steps = walk("MM", [(-2, NORMAL), (14, {"anc": 0.4, "wbc": (0.9, 3)}), (28, {"anc": 1.2, "wbc": (3.1, 0)})])
    assert steps[-1][1:] == ("resume", 25.0)
    # while a low lymphocyte count (another CTCAE term) is other toxicity, as DOMAIN.md §2 defines it
    steps = walk("MM", [(-2, NORMAL), (14, {"anc": 0.4, "alc": (0.3, 3)}), (28, {"anc": 1.2, "alc": (1.0, 0)})])
    assert steps[-1][1:] == ("resume", 20.0)


def test_mm_first_anc_episode_with_toxicity_event_steps_down_against_label():
    steps = walk(
        "MM", [(-2, NORMAL), (14, {"anc": 0.8}), (28, {"anc": 1.2})], events=[(14, "toxicity", 3), (27, "toxicity", 2)]
    )
    assert steps[-1][1:] == ("resume", 20.0)


def test_mm_later_anc_episodes_step_down_against_label():
    steps = walk(
        "MM",
        [
            (-2, NORMAL),
            (14, {"anc": 0.8}),
            (21, {"anc": 1.2}),
            (35, {"anc": 0.7}),
            (42, {"anc": 1.1}),
            (56, {"anc": 0.6}),
            (63, {"anc": 1.3}),
        ],
    )
    assert [d for _, a, d in steps if a == "resume"] == [25.0, 20.0, 15.0]


def test_mm_renally_reduced_start_resumes_at_its_own_dose_against_label():
    steps = walk(
        "MM", [(-2, NORMAL), (14, {"anc": 0.8}), (21, {"anc": 1.2}), (35, {"anc": 0.8}), (42, {"anc": 1.2})], dose=10.0
    )
    assert [d for _, a, d in steps if a == "resume"] == [10.0, 5.0]


def test_mm_first_anc_episode_never_escalates_above_the_dose_at_the_hold():
    # platelets first took the dose to 20 mg; the first ANC episode resumes at 20, not back at 25
    steps = walk("MM", [(-2, NORMAL), (7, {"plt": 25.0}), (14, {"plt": 60.0}), (28, {"anc": 0.8}), (35, {"anc": 1.2})])
    assert [d for _, a, d in steps if a == "resume"] == [20.0, 20.0]


def test_mm_toxicity_event_holds_and_restarts_one_step_lower_against_label():
    steps = walk(
        "MM",
        [(-2, NORMAL), (14, NORMAL), (21, NORMAL), (35, NORMAL)],
        events=[(15, "toxicity", 3), (20, "toxicity", 3), (30, "toxicity", 2)],
    )
    actions = [(day, a, d) for day, a, d in steps]
    assert (15, "hold", None) in actions
    assert (21, "stay_held", None) in actions
    assert (30, "resume", 20.0) in actions
    assert actions[-1] == (35, "continue", 20.0)


def test_non_haematologic_grade_3_is_review_not_hold_against_label():
    action, dose, _, reasons = last("MM", [(-2, NORMAL), (14, {"anc": 2.5, "alt": (260.0, 3)})])
    assert (action, dose) == ("review", None)
    assert any("alt grade 3" in r and "not an automatic hold" in r for r in reasons)
    # the next draw without it continues at the unchanged dose
    steps = walk("MM", [(-2, NORMAL), (14, {"alt": (260.0, 3)}), (21, {"alt": (40.0, 0)})])
    assert steps[-1][1:] == ("continue", 25.0)


def test_grade_3_already_at_baseline_is_pre_existing_not_review():
    steps = walk("MM", [(-2, {"creatinine": (5.0, 3)}), (14, {"creatinine": (5.1, 3)}), (21, {"creatinine": (9.0, 4)})])
    assert steps[1][1] == "continue"
    assert steps[2][1] == "review"  # worse than at baseline


def test_pre_existing_grade_is_exposed_as_data():
    out = run(
        "MM",
        [
            (-2, {"creatinine": (5.0, 3), "alt": (30.0, 0)}),
            (14, {"creatinine": (5.1, 3), "alt": (260.0, 3)}),
            (21, {"creatinine": (9.0, 4)}),
            (28, {"creatinine": (0.9, 0)}),
        ],
    )
    assert out["preexisting"].tolist() == [[], ["creatinine"], [], []]
    assert out.iloc[1]["action"] == "review"  # the ALT is new: reviewed; the creatinine is only noted


def test_mm_maintenance_down_to_days_1_21_then_review_against_label():
    draws = [
        (-2, NORMAL),
        (14, {"anc": 0.4}),
        (21, {"anc": 0.8}),
        (35, {"anc": 0.4}),
        (42, {"anc": 0.8}),
        (56, {"plt": 20.0}),
        (63, {"plt": 90.0}),
        (70, {"plt": 90.0}),
    ]
    out = run("MM_MAINT", draws)
    rows = list(zip(out["action"], out["dose_mg"].astype(float).fillna(-1), out["schedule"]))
    assert rows[2] == ("resume", 5.0, "28/28")  # 10 -> 5 continuous
    assert rows[4] == ("resume", 5.0, "21/28")  # 5 continuous -> 5 on days 1-21 (the floor)
    assert rows[5] == ("hold", -1, "21/28")
    assert rows[6][0] == "review"  # a trigger at the floor: clinician decision
    assert rows[7][0] == "review"


def test_mm_maintenance_from_15_mg():
    steps = walk("MM_MAINT", [(-2, NORMAL), (14, {"anc": 0.4}), (21, {"anc": 0.8})], dose=15.0)
    assert steps[-1][1:] == ("resume", 10.0)


@pytest.mark.parametrize(
    "baseline_plt, low, back, action",
    [
        (120.0, 45.0, 49.9, "stay_held"),
        (120.0, 45.0, 50.0, "resume"),  # baseline >= 100: resume >= 50
        (80.0, 38.0, 49.9, "stay_held"),
        (80.0, 38.0, 50.0, "resume"),  # 60-99: resume >= 50
        (50.0, 24.0, 29.9, "stay_held"),
        (50.0, 24.0, 30.0, "resume"),  # < 60: resume >= 30
    ],
)
def test_mds_platelets_within_4_weeks_against_label(baseline_plt, low, back, action):
    steps = walk("MDS", [(-2, {"anc": 3.0, "plt": baseline_plt}), (14, {"plt": low}), (35, {"plt": back})])
    assert steps[1][1] == "hold"
    assert steps[2][1:] == (action, 5.0 if action == "resume" else None)


def test_mds_after_4_weeks_then_at_5_mg_then_floor_against_label():
    steps = walk(
        "MDS",
        [
            (-2, NORMAL),
            (35, {"plt": 25.0}),
            (42, {"plt": 35.0}),
            (56, {"plt": 25.0}),
            (63, {"plt": 35.0}),
            (77, {"plt": 25.0}),
            (84, {"plt": 35.0}),
        ],
    )
    assert [s[1:] for s in steps[1:]] == [
        ("hold", None),
        ("resume", 5.0),
        ("hold", None),
        ("resume", 2.5),
        ("hold", None),
        ("review", None),
    ]


def test_mds_branch_is_chosen_when_the_trigger_fires():
    # hold in week 3 under the early (baseline >= 100) row: the resume needs >= 50, even on day 35
    steps = walk(
        "MDS", [(-2, {"anc": 3.0, "plt": 150.0}), (20, {"plt": 45.0}), (35, {"plt": 40.0}), (42, {"plt": 55.0})]
    )
    assert [s[1] for s in steps[1:]] == ["hold", "stay_held", "resume"]


def test_mds_anc_within_4_weeks_against_label():
    hi = walk("MDS", [(-2, {"anc": 1.5, "plt": 200.0}), (14, {"anc": 0.7}), (21, {"anc": 0.99}), (28, {"anc": 1.0})])
    assert [s[1:] for s in hi[1:]] == [("hold", None), ("stay_held", None), ("resume", 5.0)]
    lo = walk("MDS", [(-2, {"anc": 0.8, "plt": 200.0}), (14, {"anc": 0.45}), (21, {"anc": 0.5})])
    assert [s[1:] for s in lo[1:]] == [("hold", None), ("resume", 5.0)]


def test_mds_anc_at_5_mg_goes_to_2_5_against_label():
    steps = walk("MDS", [(-2, NORMAL), (14, {"anc": 0.45}), (21, {"anc": 0.45}), (28, {"anc": 0.6})], dose=5.0)
    assert [s[1:] for s in steps[1:]] == [("continue", 5.0), ("hold", None), ("resume", 2.5)]


def test_mds_without_baseline_asks_for_review_against_label():
    action, dose, _, reasons = last("MDS", [(14, {"plt": 45.0})])
    assert (action, dose) == ("review", None)
    assert any("needs a baseline" in r for r in reasons)
    # a baseline 31 days before the start is too old (DOMAIN.md §2: up to 30 days)
    action, _, _, _ = last("MDS", [(-31, {"plt": 150.0}), (14, {"plt": 45.0})])
    assert action == "review"
    action, _, _, _ = last("MDS", [(-30, {"plt": 150.0}), (14, {"plt": 45.0})])
    assert action == "hold"


@pytest.mark.parametrize(
    "indication, ladder", [("MCL", [20.0, 15.0, 10.0, 5.0]), ("FL", [15.0, 10.0, 5.0]), ("MZL", [15.0, 10.0, 5.0])]
)
def test_lymphoma_ladders_to_the_floor_against_label(indication, ladder):
    draws = [(-2, NORMAL)]
    day = 7
    for _ in range(len(ladder) + 1):
        draws += [(day, {"plt": 40.0}), (day + 7, {"plt": 80.0})]
        day += 14
    steps = walk(indication, draws)
    assert [d for _, a, d in steps if a == "resume"] == ladder
    assert steps[-2][1] == "hold" and steps[-1][1:] == ("review", None)


def test_further_drops_while_held_do_not_step_down_again():
    steps = walk(
        "MM", [(-2, NORMAL), (7, {"plt": 25.0}), (14, {"plt": 20.0}), (21, {"plt": 10.0}), (28, {"plt": 35.0})]
    )
    assert [s[1:] for s in steps[1:]] == [("hold", None), ("stay_held", None), ("stay_held", None), ("resume", 20.0)]


def test_every_triggering_count_must_recover():
    out = run(
        "MM",
        [
            (-2, NORMAL),
            (7, {"plt": 25.0, "anc": 2.0}),
            (14, {"plt": 40.0, "anc": 0.8}),
            (21, {"plt": 40.0, "anc": 0.9}),
            (28, {"plt": 40.0, "anc": 1.1}),
        ],
    )
    assert list(out["action"])[1:] == ["hold", "stay_held", "stay_held", "resume"]
    assert out["dose_mg"].iloc[-1] == 20.0  # one episode, one step down
    assert any("also triggers while held" in r for r in out["reasons"].iloc[2])


def test_dose_change_event_overrides_the_simulated_dose():
    steps = walk("MM", [(-2, NORMAL), (7, {"plt": 150.0}), (14, {"plt": 150.0})], events=[(10, "dose_change", 15)])
    assert steps[-1][1:] == ("continue", 15.0)
    assert (10, "continue", 15.0) in steps  # the event date is a step of its own


def test_dose_change_hold_stays_held_until_a_recorded_dose():
    steps = walk(
        "MM",
        [(-2, NORMAL), (7, NORMAL), (14, NORMAL), (21, NORMAL)],
        events=[(7, "dose_change", "hold"), (18, "dose_change", 20)],
    )
    assert [s[1:] for s in steps if s[0] in (7, 14, 18, 21)] == [
        ("hold", None),
        ("stay_held", None),
        ("resume", 20.0),
        ("continue", 20.0),
    ]


def test_dose_change_during_a_hold_resumes_at_the_clinicians_dose():
    steps = walk("MM", [(-2, NORMAL), (7, {"plt": 25.0}), (14, {"plt": 25.0})], events=[(14, "dose_change", 10)])
    assert steps[-1][1:] == ("resume", 10.0)


def test_pre_treatment_draws_are_cycle_0_and_never_trigger():
    out = run("MM", [(-5, {"plt": 20.0}), (3, {"plt": 150.0})])
    assert list(out["cycle"]) == [0, 1]
    assert list(out["cycle_day"]) == [-5, 4]
    assert list(out["action"]) == ["continue", "continue"]


def test_planned_rest_days_are_not_holds():
    out = run("MM", [(-2, NORMAL), (20, NORMAL), (21, NORMAL), (27, NORMAL), (28, NORMAL)])
    assert list(out["action"]) == ["continue"] * 5
    assert list(out["dosing_day"]) == [False, True, False, False, True]  # days 21, 22, 28 of cycle 1; C2D1
    assert any("planned rest, not a hold" in r for r in out["reasons"].iloc[2])


def test_comparator_results_compare_on_the_right_side():
    from dosing_cases import course, labs_frame

    labs = labs_frame([(-2, NORMAL), (14, {"anc": 0.5})])
    labs.loc[labs.index[-1], "comparator"] = "<"  # "<0.5" is below 0.5
    out = dosing.simulate(labs, pd.DataFrame([course("MM_MAINT")]))
    assert out["action"].iloc[-1] == "hold"


def test_reasons_cite_rule_and_source():
    _, _, _, reasons = _one("MM", 14, {"anc": 0.8})
    assert reasons[0].startswith("ANC 0.8 < 1.0: hold (US PI 2.1 Table 1, MM; rule")


def test_labs_without_grade_column_are_rejected_with_the_fix():
    from dosing_cases import course, labs_frame

    with pytest.raises(ValueError, match="grading.grade"):
        dosing.simulate(labs_frame([(1, NORMAL)]).drop(columns="grade"), pd.DataFrame([course("MM")]))


@pytest.mark.parametrize(
    "baseline_plt, back, action",
    [(60.0, 49.9, "stay_held"), (60.0, 50.0, "resume"), (59.9, 29.9, "stay_held"), (59.9, 30.0, "resume")],
)
def test_mds_resume_threshold_switches_at_baseline_60(baseline_plt, back, action):
    steps = walk("MDS", [(-2, {"anc": 3.0, "plt": baseline_plt}), (14, {"plt": 25.0}), (21, {"plt": back})])
    assert steps[1][1] == "hold"
    assert steps[2][1] == action


def test_course_without_rules_or_starting_dose_is_review_with_the_fix():
    action, dose, _, reasons = last("MM", [(-2, NORMAL), (14, NORMAL)], dose=float("nan"))
    assert (action, dose) == ("review", None) and "starting_dose_mg" in reasons[0]
    from dosing_cases import course, labs_frame

    out = dosing.simulate(labs_frame([(14, NORMAL)]), pd.DataFrame([{**course("MM"), "indication": "CLL"}]))
    assert out["action"].iloc[0] == "review" and "CLL" in out["reasons"].iloc[0][0]


# --- properties: whatever the counts, the engine's walk stays coherent ----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

LADDER_DOSES = {
    ind: {s.dose_mg for s in dosing.load_profile().ladder(ind)} for ind in ("MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL")
}


@settings(max_examples=40, deadline=None)
@given(
    indication=st.sampled_from(sorted(LADDER_DOSES)),
    series=st.lists(
        st.tuples(st.integers(1, 6), st.floats(0.1, 3.0), st.floats(5, 250), st.booleans()), min_size=1, max_size=25
    ),
)
def test_walk_invariants(indication, series):
    draws, events, day = [(-2, NORMAL)], [], 0
    for gap, anc, plt, fever in series:
        day += gap
        draws.append((day, {"anc": round(anc, 2), "plt": round(plt, 1)}))
        if fever:
            events.append((day, "fever", 38.8))
    out = run(indication, draws, events=events)
    prev = "continue"
    doses = []
    for action, dose, held in zip(out["action"], out["dose_mg"], out["held"]):
        assert (dose is None or pd.isna(dose)) == (action in ("hold", "stay_held", "review"))
        assert held == (action in ("hold", "stay_held"))
        if action in ("stay_held", "resume"):
            assert prev in ("hold", "stay_held")
        if action == "hold":
            assert prev not in ("hold", "stay_held")
        if not pd.isna(dose):
            assert dose in LADDER_DOSES[indication]
            doses.append(dose)
        prev = action
    # without clinician dose changes the dose never goes up (a first MM ANC episode resumes at the
    # starting dose, never above the dose held at)
    assert doses == sorted(doses, reverse=True)


def test_anc_joining_a_platelet_hold_counts_as_the_first_anc_episode():
    # ANC falls while held for platelets (one episode, one step down); the next ANC drop is a later
    # ANC episode: next lower dose, not the starting dose
    steps = walk(
        "MM",
        [
            (-2, NORMAL),
            (7, {"plt": 25.0, "anc": 2.0}),
            (14, {"plt": 40.0, "anc": 0.8}),
            (21, {"plt": 60.0, "anc": 1.2}),
            (35, {"plt": 90.0, "anc": 0.8}),
            (42, {"plt": 90.0, "anc": 1.2}),
        ],
    )
    assert [d for _, a, d in steps if a == "resume"] == [20.0, 15.0]


def test_review_on_an_event_only_date_reaches_the_next_draw():
    # a grade 3 toxicity event in MCL has no automatic rule: review, shown on the next draw too
    out = run("MCL", [(-2, NORMAL), (14, NORMAL), (21, NORMAL)], events=[(17, "toxicity", 3)])
    assert list(out["is_draw"]) == [True, True, False, True]
    assert list(out["action"]) == ["continue", "continue", "review", "review"]
    assert any("no automatic rule" in r for r in out["reasons"].iloc[-1])


@pytest.mark.parametrize(
    "indication, value, action",
    [
        ("MDS", 0.49, "hold"),
        ("MDS", 0.5, "continue"),
        ("MCL", 0.99, "hold"),
        ("MCL", 1.0, "continue"),
        ("FL", 0.99, "hold"),
        ("MZL", 1.0, "continue"),
    ],
)
def test_seven_day_and_fever_rules_at_their_threshold(indication, value, action):
    seven = walk(indication, [(-2, NORMAL), (40, {"anc": value}), (47, {"anc": value})])
    assert seven[-1][1] == action
    fever = walk(indication, [(-2, NORMAL), (40, {"anc": value})], events=[(40, "fever", 39.0)])
    assert fever[-1][1] == action


# --- FL/MZL: at most 12 cycles (US PI 2.4; rules/monitoring.csv cycle_limit) --------------------

CYCLE_13 = 12 * 28  # study day of cycle 13 day 1


@pytest.mark.parametrize("indication", ["FL", "MZL"])
def test_fl_mzl_beyond_12_cycles_is_a_clinician_review_against_label(indication):
    draws = [(-2, NORMAL), (CYCLE_13 - 1, NORMAL), (CYCLE_13, NORMAL), (CYCLE_13 + 14, NORMAL)]
    out = run(indication, draws)
    got = [(c, a, None if pd.isna(d) else float(d)) for c, a, d in zip(out["cycle"], out["action"], out["dose_mg"])]
    assert got == [(0, "continue", 20.0), (12, "continue", 20.0), (13, "review", None), (13, "review", None)]
    reasons = " | ".join(out.iloc[-1]["reasons"])
    assert "12-cycle limit" in reasons and "US PI" in reasons and "clinician" in reasons
    assert out.iloc[-1]["needs_review"]


def test_fl_beyond_12_cycles_follows_a_clinician_dose_change_against_label():
    draws = [(-2, NORMAL), (CYCLE_13 + 2, NORMAL), (CYCLE_13 + 20, NORMAL), (CYCLE_13 + 30, {"anc": 3.0, "plt": 40.0})]
    steps = walk("FL", draws, events=[(CYCLE_13 + 5, "dose_change", 15)])
    assert steps == [
        (-2, "continue", 20.0),
        (CYCLE_13 + 2, "review", None),
        (CYCLE_13 + 5, "continue", 15.0),
        (CYCLE_13 + 20, "continue", 15.0),
        (CYCLE_13 + 30, "hold", None),
    ]
    _, _, _, reasons = last("FL", draws[:3], events=[(CYCLE_13 + 5, "dose_change", 15)])
    assert any("clinician's decision" in r and "12-cycle limit" in r for r in reasons)


def test_fl_dose_change_before_cycle_13_does_not_lift_the_limit_against_label():
    draws = [(-2, NORMAL), (CYCLE_13 - 10, NORMAL), (CYCLE_13 + 1, NORMAL)]
    steps = walk("FL", draws, events=[(CYCLE_13 - 5, "dose_change", 15)])
    assert steps[-1] == (CYCLE_13 + 1, "review", None)


def test_no_cycle_limit_for_mm_against_label():
    assert walk("MM", [(-2, NORMAL), (CYCLE_13 + 100, NORMAL)])[-1] == (CYCLE_13 + 100, "continue", 25.0)


def test_dosing_package_keeps_the_0_1_names():
    """The split package answers to the names callers used on the flat dosing.py (`thresholds` is the function,
    not the submodule of the same name)."""
    from lenadash import dosing as flat

    assert flat is dosing
    for name in ("load_profile", "list_profiles", "thresholds", "simulate", "next_lower", "at_floor"):
        assert callable(getattr(dosing, name)) and not isinstance(getattr(dosing, name), type(dosing)), name
    assert issubclass(dosing.ProfileError, ValueError)
    assert dosing.ACTIONS == ("continue", "hold", "stay_held", "resume", "review", "stop")
    assert set(dosing.STEP_COLUMNS) >= {"action", "dose_mg", "reasons", "rules", "held"}
