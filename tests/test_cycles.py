"""Treatment cycles: course assignment, cycle/day edges, dosing vs rest days, baselines, hold spans."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenadash.clinical import cycles

START = dt.date(2026, 1, 1)


def _patients(*courses):
    return pd.DataFrame(
        [
            {"mrn": m, "start_date": s, "schedule": sch, "indication": "MM", "starting_dose_mg": 25.0}
            for m, s, sch in courses
        ]
    )


def _labs(*rows):
    return pd.DataFrame(
        [
            {"mrn": m, "collected_at": pd.Timestamp(d) + pd.Timedelta(hours=9), "analyte": a, "value": v}
            for m, d, a, v in rows
        ]
    )


@pytest.mark.parametrize(
    "day, cycle, cycle_day",
    [
        ("2025-12-31", 0, -1),  # the day before day 1
        ("2026-01-01", 1, 1),  # the start date is day 1
        ("2026-01-28", 1, 28),
        ("2026-01-29", 2, 1),  # day 29 after the start is cycle 2 day 1
        ("2026-02-25", 2, 28),
        ("2026-02-26", 3, 1),
    ],
)
def test_cycle_and_day_edges(day, cycle, cycle_day):
    out = cycles.assign_courses(_labs(("A", day, "anc", 2.0)), _patients(("A", START, "21/28")))
    assert (out["cycle"].iloc[0], out["cycle_day"].iloc[0]) == (cycle, cycle_day)
    assert cycles.cycle_of(START, dt.date.fromisoformat(day)) == (cycle, cycle_day)


@pytest.mark.parametrize(
    "schedule, cycle_day, dosing",
    [
        ("21/28", 1, True),
        ("21/28", 21, True),
        ("21/28", 22, False),
        ("21/28", 28, False),
        ("28/28", 22, True),
        ("28/28", 28, True),
        ("21/28", 0, False),
        ("28/28", -3, False),
    ],
)
def test_dosing_vs_planned_rest_days(schedule, cycle_day, dosing):
    assert bool(cycles.is_dosing_day(cycle_day, schedule)[0]) is dosing


def test_dosing_day_column_follows_the_course_schedule():
    labs = _labs(("A", "2026-01-22", "anc", 2.0), ("B", "2026-01-22", "anc", 2.0))
    out = cycles.assign_courses(labs, _patients(("A", START, "21/28"), ("B", START, "28/28")))
    assert dict(zip(out["mrn"], out["dosing_day"])) == {"A": False, "B": True}


def test_unknown_schedule_names_the_fix():
    with pytest.raises(ValueError, match="21/28"):
        cycles.is_dosing_day(5, "14/28")


def test_draws_go_to_the_latest_course_started_on_or_before_them():
    patients = _patients(
        ("A", dt.date(2026, 1, 1), "21/28"), ("A", dt.date(2026, 6, 1), "21/28"), ("B", dt.date(2026, 3, 1), "28/28")
    )
    labs = _labs(
        ("A", "2025-12-20", "anc", 2.0),
        ("A", "2026-05-31", "anc", 2.0),
        ("A", "2026-06-01", "anc", 2.0),
        ("B", "2026-02-01", "anc", 2.0),
        ("C", "2026-02-01", "anc", 2.0),
    )
    out = cycles.assign_courses(labs, patients)
    assert list(out["course_id"]) == ["A/2026-01-01", "A/2026-01-01", "A/2026-06-01", "B/2026-03-01", None]
    assert list(out["cycle"].astype("Float64").fillna(-9)) == [0, 6, 1, 0, -9]
    assert out["cycle"].isna().tolist()[-1]


def test_baseline_is_the_latest_value_up_to_30_days_before_start():
    patients = _patients(("A", START, "21/28"), ("B", START, "21/28"), ("C", START, "21/28"))
    labs = _labs(
        ("A", "2025-12-01", "plt", 100.0),  # 31 days before: too old
        ("A", "2025-12-02", "plt", 110.0),  # 30 days before: counts
        ("A", "2025-12-20", "plt", 120.0),  # latest before start
        ("A", "2026-01-02", "plt", 999.0),  # after start: never a baseline
        ("B", "2026-01-01", "anc", 1.7),  # the start date itself counts
        ("C", "2025-12-01", "anc", 1.7),  # only a 31-day-old value: no baseline
    )
    b = cycles.baseline(labs, patients)
    got = {(r.course_id, r.analyte): r.baseline_value for r in b.itertuples()}
    assert got == {("A/2026-01-01", "plt"): 120.0, ("B/2026-01-01", "anc"): 1.7}
    only_old = cycles.baseline(labs[labs["value"] != 120.0], patients)
    assert only_old.set_index("analyte").loc["plt", "baseline_value"] == 110.0


def test_duplicate_course_and_missing_columns_are_explained():
    with pytest.raises(ValueError, match="one course per patient and start date"):
        cycles.courses_frame(_patients(("A", START, "21/28"), ("A", START, "21/28")))
    with pytest.raises(ValueError, match="start_date"):
        cycles.courses_frame(pd.DataFrame({"mrn": ["A"]}))


def test_hold_spans_from_engine_output():
    steps = pd.DataFrame(
        {
            "course_id": ["A/x"] * 5 + ["B/x"] * 2,
            "mrn": ["A"] * 5 + ["B"] * 2,
            "date": pd.to_datetime(
                ["2026-01-08", "2026-01-15", "2026-01-22", "2026-01-29", "2026-02-05", "2026-01-08", "2026-01-15"]
            ),
            "held": [False, True, True, False, True, True, True],
            "reasons": [[], ["ANC 0.8 < 1.0: hold"], [], [], ["Platelets 20 < 30: hold"], ["x"], []],
        }
    )
    spans = cycles.hold_spans(steps)
    assert [(r.course_id, str(r.start), None if r.end is None else str(r.end)) for r in spans.itertuples()] == [
        ("A/x", "2026-01-15", "2026-01-29"),
        ("A/x", "2026-02-05", None),
        ("B/x", "2026-01-08", None),
    ]
    assert spans["reason"].iloc[0] == "ANC 0.8 < 1.0: hold"


@settings(max_examples=60, deadline=None)
@given(offset=st.integers(min_value=-60, max_value=2000))
def test_cycle_and_day_reconstruct_the_offset(offset):
    cycle, day = cycles.cycle_of(START, START + dt.timedelta(days=offset))
    if offset < 0:
        assert (cycle, day) == (0, offset)
    else:
        assert 1 <= day <= 28 and (cycle - 1) * 28 + day - 1 == offset


def test_assign_courses_is_vectorised_over_many_rows():
    n = 200_000
    labs = pd.DataFrame(
        {
            "mrn": np.repeat([f"P{i}" for i in range(1000)], n // 1000),
            "collected_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.tile(np.arange(n // 1000), 1000), "D"),
            "analyte": "anc",
            "value": 2.0,
        }
    )
    patients = pd.DataFrame(
        {"mrn": [f"P{i}" for i in range(1000)], "start_date": dt.date(2026, 1, 10), "schedule": "21/28"}
    )
    out = cycles.assign_courses(labs, patients)
    assert out["course_id"].notna().all()
    assert int(out["cycle"].max()) == (199 - 9) // 28 + 1
