"""Exposure and relative dose intensity against hand-computed courses (docs/insight.md, "Dose intensity")."""

from __future__ import annotations

import pytest
from insight_cases import NORMAL, assessed, day

# MM, 25 mg days 1-21 of 28, started on day 0. Platelets 25 on day 14 (cycle 1 day 15): hold (PI: < 30).
# Platelets 40 on day 21 (cycle 1 day 22): resume one step lower, 20 mg. As of day 41 (cycle 2 day 14).
HOLD_THEN_REDUCE = [
    (0, NORMAL),
    (7, NORMAL),
    (14, {"anc": 3.0, "plt": 25.0, "hgb": 12.0}),
    (21, {"anc": 3.0, "plt": 40.0, "hgb": 12.0}),
    (28, NORMAL),
    (35, NORMAL),
]


def test_a_hold_and_a_reduction_by_hand():
    e = assessed("MM", HOLD_THEN_REDUCE, as_of_day=41)["exposure"]
    # cycle 1: planned 21 x 25 = 525; delivered days 1-14 at 25 = 350, days 15-21 held (7), day 22 is rest
    # cycle 2 (days 1-14 by as_of): planned 14 x 25 = 350; delivered 14 x 20 = 280
    assert e["cycles"] == [
        {"cycle": 1, "planned_mg": 525.0, "delivered_mg": 350.0, "rdi": 0.667, "days_held": 7},
        {"cycle": 2, "planned_mg": 350.0, "delivered_mg": 280.0, "rdi": 0.8, "days_held": 0},
    ]
    assert (e["planned_mg"], e["delivered_mg"], e["rdi"], e["days_held"]) == (875.0, 630.0, 0.72, 7)
    assert e["reductions"] == 1
    assert e["reduction_steps"] == [
        {"date": day(21), "from_mg": 25.0, "to_mg": 20.0, "schedule": "21/28", "causes": ["plt"]}
    ]
    assert e["holds"] == [{"start": day(14), "end": day(21), "causes": ["plt"]}]
    assert (e["time_to_first_hold_days"], e["time_to_first_reduction_days"]) == (14, 21)
    assert e["cycles_completed"] == 1 and e["cycle_limit"] is None


def test_clinician_doses_and_a_clinician_hold_by_hand():
    # MM maintenance 10 mg continuous. The clinician records 5 mg on day 10, a hold on day 20 and 5 mg on day 24.
    draws = [(0, NORMAL), (7, NORMAL), (14, NORMAL), (21, NORMAL)]
    evts = [(10, "dose_change", "5"), (20, "dose_change", "hold"), (24, "dose_change", "5")]
    e = assessed("MM_MAINT", draws, as_of_day=27, evts=evts)["exposure"]
    # planned 28 x 10 = 280; delivered 10 x 10 + 10 x 5 + 4 held + 4 x 5 = 170
    assert (e["planned_mg"], e["delivered_mg"], e["days_held"]) == (280.0, 170.0, 4)
    assert e["rdi"] == pytest.approx(170 / 280, abs=5e-4)
    assert [(r["from_mg"], r["to_mg"], r["causes"]) for r in e["reduction_steps"]] == [(10.0, 5.0, ["clinician"])]
    assert e["holds"] == [{"start": day(20), "end": day(24), "causes": ["clinician"]}]
    assert e["cycles_completed"] == 1


def test_an_uninterrupted_course_has_rdi_one_and_counts_to_the_as_of_date():
    e = assessed("MM", [(0, NORMAL), (7, NORMAL)], as_of_day=9)["exposure"]
    assert (e["planned_mg"], e["delivered_mg"], e["rdi"], e["reductions"]) == (250.0, 250.0, 1.0, 0)
    assert e["time_to_first_hold_days"] is None and e["cycles_completed"] == 0


def test_fl_counts_only_cycles_within_the_label_limit():
    # FL 20 mg 21/28, 12 cycles at most (US PI 2.4). As of cycle 13 day 5: cycle 13 is not planned.
    e = assessed("FL", [(0, NORMAL)], as_of_day=12 * 28 + 4)["exposure"]
    assert e["cycle_limit"] == 12 and e["cycles_completed"] == 12
    assert e["planned_mg"] == 12 * 21 * 20
    assert e["cycles"][-1] == {"cycle": 13, "planned_mg": 0.0, "delivered_mg": 0.0, "rdi": None, "days_held": 0}


def test_days_after_a_rems_stop_are_not_planned():
    # A woman of reproductive potential, positive test on day 10: stopped. 10 dosing days planned and given.
    evts = [(-3, "pregnancy_test", "negative"), (0, "pregnancy_test", "negative"), (10, "pregnancy_test", "positive")]
    kw = {"reproductive_potential": True}
    e = assessed("MM", [(0, NORMAL), (7, NORMAL), (14, NORMAL)], as_of_day=20, evts=evts, **kw)["exposure"]
    assert (e["planned_mg"], e["delivered_mg"], e["rdi"]) == (250.0, 250.0, 1.0)


def test_a_course_the_start_criteria_kept_from_starting_delivers_nothing_until_a_dose(tmp_path, monkeypatch):
    # site profile: do not start below ANC 1.0 (test_profile_columns); baseline ANC 0.8; the clinician records
    # 15 mg on day 20. FL 20 mg 21/28: planned 21 x 20 = 420 in cycle 1; delivered day 20 only (day 21 is rest
    # day 22): 15 mg on days 20 (cycle day 21) = 15.
    import datetime as dt

    import pandas as pd
    from dosing_cases import course
    from insight_cases import START, events, labs
    from test_profile_columns import _site

    from lenadash.clinical import assess
    from lenadash.clinical.dosing import profiles as profiles_module

    monkeypatch.setattr(profiles_module, "RULES_DIR", _site(tmp_path))
    draws = [(-2, {"anc": 0.8, "plt": 200.0}), (7, {"anc": 0.9}), (14, {"anc": 2.0})]
    result = assess.assess(
        pd.DataFrame([course("FL")]),
        labs(draws),
        events([(20, "dose_change", "15")]),
        as_of=START + dt.timedelta(days=27),
        rules="site",
    )
    e = result["patients"][0]["exposure"]
    assert (e["planned_mg"], e["delivered_mg"], e["days_held"], e["days_awaiting_decision"]) == (420.0, 15.0, 0, 20)
