"""Monitoring schedules: CBC calendars per indication, holds, marrow biopsies, REMS pregnancy tests, alerts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenadash.clinical.schedule import (
    course_alerts,
    load_monitoring,
    marrow_biopsies,
    next_cbc,
    next_marrow_biopsy,
    next_pregnancy_test,
    pretreatment_tests_missing,
)

START = dt.date(2026, 1, 5)


def d(n: int) -> dt.date:
    """Day n of the course (day 0 = cycle 1 day 1)."""
    return START + dt.timedelta(days=n)


# --- CBC calendars: each transition, worked by hand from DOMAIN.md section 5 -----------------------

CBC = [
    # (indication, last CBC day or None, expected due day)
    *[
        (ind, last, due)
        for ind in ("MM", "MM_MAINT")
        for last, due in [
            (None, 0),
            (0, 7),
            (7, 14),
            (49, 56),  # weekly in cycles 1-2 (days 0..49), cycle 3 day 1 = day 56
            (56, 70),
            (70, 84),  # cycle 3 days 1 and 15, then cycle 4 day 1
            (84, 112),
            (112, 140),  # every 28 days
        ]
    ],
    ("MDS", None, 0),
    ("MDS", 49, 56),  # weekly weeks 1-8 (days 0..49)
    ("MDS", 56, 70),
    ("MDS", 84, 98),
    ("MDS", 98, 112),  # every 2 weeks weeks 9-16
    ("MDS", 112, 140),
    ("MDS", 140, 168),  # every 4 weeks
    ("MCL", 14, 21),
    ("MCL", 21, 28),  # weekly in cycle 1
    ("MCL", 28, 42),
    ("MCL", 98, 112),  # every 2 weeks cycles 2-4 (days 28..98)
    ("MCL", 112, 140),  # monthly
    *[
        (ind, last, due)
        for ind in ("FL", "MZL")
        for last, due in [
            (None, 0),
            (0, 7),
            (7, 14),  # weekly for the first 3 weeks of cycle 1
            (14, 28),  # nothing in week 4: next is cycle 2 day 1
            (28, 42),
            (98, 112),  # every 2 weeks cycles 2-4
            (112, 140),  # monthly
        ]
    ],
]


@pytest.mark.parametrize("indication, last, due", CBC)
def test_cbc_calendar_transitions_against_label(indication, last, due):
    cbcs = [] if last is None else [d(last)]
    as_of = d(last if last is not None else 0)
    got, overdue, reason, _ = next_cbc(indication=indication, start_date=START, cbc_dates=cbcs, held=False, as_of=as_of)
    assert got == d(due)
    assert not overdue
    assert "PI" in reason or "patient guide" in reason


CBC_WINDOW = [  # a CBC drawn up to 3 days before a calendar date counts for it
    (4, 14),  # 3 days before day 7: counts for day 7
    (3, 7),  # 4 days before day 7: does not
    (9, 14),  # late for day 7: the calendar does not shift
    (53, 70),  # 3 days before cycle 3 day 1 (MM): counts for it
]


@pytest.mark.parametrize("last, due", CBC_WINDOW)
def test_cbc_early_window(last, due):
    assert next_cbc(indication="MM", start_date=START, cbc_dates=[d(last)], held=False, as_of=d(last))[0] == d(due)


def test_cbc_overdue_edges():
    # due day 7: not overdue on day 7 (due today), overdue from day 8
    assert next_cbc(indication="MM", start_date=START, cbc_dates=[d(0)], held=False, as_of=d(7))[:2] == (d(7), False)
    assert next_cbc(indication="MM", start_date=START, cbc_dates=[d(0)], held=False, as_of=d(8))[:2] == (d(7), True)
    # no CBC at all: due at the start
    assert next_cbc(indication="MDS", start_date=START, cbc_dates=[], held=False, as_of=d(1))[:2] == (d(0), True)


def test_cbc_uses_the_latest_cbc_and_ignores_future_ones():
    cbcs = [d(84), d(0), dt.datetime.combine(d(7), dt.time(9, 30)), d(120)]
    # as_of day 90: day 120 is in the future and does not count; last = day 84
    assert next_cbc(indication="MM", start_date=START, cbc_dates=cbcs, held=False, as_of=d(90))[0] == d(112)


HELD = [
    # (last CBC day, expected due day): last + 7 while held, or the calendar date when it is earlier
    (90, 97),  # monthly phase: weekly while held
    (120, 127),
    (30, 35),  # weekly phase: the calendar's day 35 comes before last + 7 (day 37)
    (60, 67),  # cycle 3: day 70 on the calendar, day 67 while held
]


@pytest.mark.parametrize("last, due", HELD)
def test_cbc_weekly_while_held_against_label(last, due):
    got, overdue, reason, _ = next_cbc(
        indication="MM", start_date=START, cbc_dates=[d(last)], held=True, as_of=d(last + 1)
    )
    assert got == d(due)
    assert ("held" in reason) == (due == last + 7)


def test_held_without_any_cbc_is_due_at_the_start():
    assert next_cbc(indication="MM", start_date=START, cbc_dates=[], held=True, as_of=d(3))[0] == d(0)


def test_unknown_indication_for_cbc():
    with pytest.raises(ValueError, match="MM_MAINT"):
        next_cbc(indication="CLL", start_date=START, cbc_dates=[], held=False, as_of=START)


# --- marrow biopsies -------------------------------------------------------------------------------

BIOPSY_WINDOW = [
    (84 - 28, True),
    (84 - 29, False),  # 28 days either side of week 12 (day 84)
    (84 + 28, True),
    (84 + 29, False),
    (84, True),
]


@pytest.mark.parametrize("biopsy_day, done", BIOPSY_WINDOW)
def test_marrow_biopsy_window_edges_against_label(biopsy_day, done):
    schedule = marrow_biopsies(start_date=START, biopsy_dates=[d(biopsy_day)], as_of=d(100))
    assert schedule[0] == {"due": d(84), "week": 12, "done": done}


def test_marrow_biopsy_calendar_12_24_then_every_24_weeks():
    schedule = marrow_biopsies(start_date=START, biopsy_dates=[], as_of=d(400))
    assert [s["week"] for s in schedule] == [12, 24, 48, 72]
    assert [s["due"] for s in schedule] == [d(84), d(168), d(336), d(504)]


@pytest.mark.parametrize("as_of, weeks", [(83, [12]), (84, [12, 24]), (167, [12, 24]), (168, [12, 24, 48])])
def test_marrow_biopsy_list_runs_through_first_date_after_as_of(as_of, weeks):
    assert [s["week"] for s in marrow_biopsies(start_date=START, biopsy_dates=[], as_of=d(as_of))] == weeks


def test_one_biopsy_counts_for_one_date():
    schedule = marrow_biopsies(start_date=START, biopsy_dates=[d(80), d(90)], as_of=d(200))
    assert [s["done"] for s in schedule] == [True, False, False]


def test_next_marrow_biopsy_and_overdue():
    assert next_marrow_biopsy(start_date=START, biopsy_dates=[], as_of=d(83)) == (d(84), False)
    assert next_marrow_biopsy(start_date=START, biopsy_dates=[], as_of=d(84)) == (d(84), False)
    assert next_marrow_biopsy(start_date=START, biopsy_dates=[], as_of=d(85)) == (d(84), True)
    assert next_marrow_biopsy(start_date=START, biopsy_dates=[d(86)], as_of=d(100)) == (d(168), False)
    # a missed week-12 biopsy stays the next one due even after week 24 is done
    assert next_marrow_biopsy(start_date=START, biopsy_dates=[d(168)], as_of=d(170)) == (d(84), True)
    # every listed date done (the one after as_of taken early): the following date
    assert next_marrow_biopsy(start_date=START, biopsy_dates=[d(84), d(150)], as_of=d(100)) == (d(336), False)


def test_biopsy_calendar_is_for_mds_only_against_label():
    # DOMAIN.md §5: the 12/24-week calendar is the MDS patient guide's; myeloma and lymphoma biopsies are planned
    for indication in ("MM", "MM_MAINT", "MCL", "FL", "MZL"):
        assert marrow_biopsies(start_date=START, biopsy_dates=[], as_of=d(400), indication=indication) == []
        assert next_marrow_biopsy(start_date=START, biopsy_dates=[], as_of=d(400), indication=indication) == (
            None,
            False,
        )
    assert load_monitoring().query("kind == 'marrow_biopsy'")["indication"].eq("MDS").all()


PLANNED = [
    # (indication, planned days, biopsy days, as_of, next due day or None, overdue)
    ("MM", [100], [], 50, 100, False),
    ("MM", [100], [], 100, 100, False),  # due today is not overdue
    ("MM", [100], [], 101, 100, True),
    ("MM", [100], [72], 101, None, False),  # 28 days before counts
    ("MM", [100], [71], 101, 100, True),  # 29 days before does not
    ("MM", [100], [128], 130, None, False),  # 28 days after counts
    ("MM", [100], [129], 130, 100, True),
    ("FL", [100, 200], [100], 150, 200, False),
    ("FL", [100, 200], [], 150, 100, True),  # the earliest not done
    ("MDS", [60], [], 50, 60, False),  # a planned date before the calendar's week 12 (day 84)
    ("MDS", [120], [], 90, 84, True),  # the calendar date is earlier and past
    ("MDS", [90], [88], 100, 168, False),  # one biopsy counts for the calendar date and the plan near it
]


@pytest.mark.parametrize("indication, planned, done, as_of, due, overdue", PLANNED)
def test_planned_marrow_biopsies_for_any_indication(indication, planned, done, as_of, due, overdue):
    kw = dict(
        start_date=START,
        biopsy_dates=[d(x) for x in done],
        as_of=d(as_of),
        indication=indication,
        planned_dates=[d(x) for x in planned],
    )
    assert next_marrow_biopsy(**kw) == (None if due is None else d(due), overdue)
    listed = [b for b in marrow_biopsies(**kw) if b.get("planned")]
    assert [b["due"] for b in listed] == [d(x) for x in sorted(planned)]
    assert all(b["week"] is None for b in listed)


def test_marrow_biopsies_list_calendar_and_planned_in_date_order():
    got = marrow_biopsies(start_date=START, biopsy_dates=[], as_of=d(100), indication="MDS", planned_dates=[d(90)])
    assert got == [
        {"due": d(84), "week": 12, "done": False},
        {"due": d(90), "week": None, "done": False, "planned": True},
        {"due": d(168), "week": 24, "done": False},
    ]


# --- REMS pregnancy tests ----------------------------------------------------------------------------

PREGNANCY = [
    # (menses, tests as (day, result), as_of day, expected due day, overdue)
    ("regular", [], 3, 7, False),  # none recorded: start + 7
    ("regular", [], 8, 7, True),
    ("regular", [(-1, "negative")], 2, 6, False),  # test before the start: < 28 days after it -> + 7
    ("regular", [(20, "negative")], 21, 27, False),  # < 28 days after the start: weekly
    ("regular", [(27, "negative")], 28, 34, False),  # day 27 is still < 28 days after the start
    ("regular", [(28, "negative")], 29, 56, False),  # from day 28: + 28 with regular menses
    ("irregular", [(27, "negative")], 28, 34, False),
    ("irregular", [(28, "negative")], 29, 42, False),  # + 14 with irregular menses
    (None, [(28, "negative")], 29, 42, False),  # menses not recorded: as irregular (the shorter interval)
    ("regular", [(7, "negative"), (14, "negative"), (50, "negative")], 60, 78, False),  # the latest negative counts
    ("regular", [(7, "negative"), (14, "indeterminate")], 15, 14, True),  # non-negative results do not count
    ("regular", [(7, "negative"), (21, "negative")], 14, 14, False),  # a test after as_of is ignored
]


@pytest.mark.parametrize("menses, tests, as_of, due, overdue", PREGNANCY)
def test_pregnancy_test_schedule_against_label(menses, tests, as_of, due, overdue):
    got, is_overdue, reason, _ = next_pregnancy_test(
        sex="F",
        reproductive_potential=True,
        menses=menses,
        start_date=START,
        tests=[(d(day), result) for day, result in tests],
        as_of=d(as_of),
    )
    assert (got, is_overdue) == (d(due), overdue)
    assert "REMS" in reason


@pytest.mark.parametrize("sex, potential", [("M", False), ("M", True), ("F", False), (None, True)])
def test_no_pregnancy_test_for_men_or_without_reproductive_potential(sex, potential):
    due, overdue, reason, _ = next_pregnancy_test(
        sex=sex, reproductive_potential=potential, menses="regular", start_date=START, tests=[], as_of=d(30)
    )
    assert (due, overdue) == (None, False)


def test_positive_pregnancy_test_answers_the_question():
    due, overdue, reason, _ = next_pregnancy_test(
        sex="F",
        reproductive_potential=True,
        menses="regular",
        start_date=START,
        tests=[(d(7), "negative"), (d(14), "Positive")],
        as_of=d(15),
    )
    assert due is None
    assert "stop treatment" in reason and "REMS" in reason
    # the stop itself is the dose engine's (action stop); course notices no longer repeat it
    notices = course_alerts(
        indication="MM", combination=None, thromboprophylaxis_dates=[], cycle=1, pregnancy_tests=[(d(14), "positive")]
    )
    assert notices == []


def test_a_negative_test_after_a_positive_one_starts_the_clock_again():
    due, overdue, _, _ = next_pregnancy_test(
        sex="F",
        reproductive_potential=True,
        menses="regular",
        start_date=START,
        tests=[(d(7), "negative"), (d(14), "positive"), (d(16), "negative")],
        as_of=d(17),
    )
    assert (due, overdue) == (d(23), False)


@pytest.mark.parametrize(
    "tests, missed, as_of, due, overdue",
    [
        ([(40, "negative")], [50], 50, 50, False),  # a missed period after the last negative: a test now
        ([(40, "negative")], [50], 52, 50, True),
        ([(40, "negative")], [38], 50, 54, False),  # before the last negative: answered by it (irregular: + 14)
        ([(40, "negative"), (51, "negative")], [50], 52, 65, False),  # tested after it: the clock runs on
        ([(40, "negative")], [60], 50, 54, False),  # after as_of: not yet
    ],
)
def test_missed_period_asks_for_a_test_now_against_label(tests, missed, as_of, due, overdue):
    got = next_pregnancy_test(
        sex="F",
        reproductive_potential=True,
        menses="irregular",
        start_date=START,
        tests=[(d(t), r) for t, r in tests],
        as_of=d(as_of),
        missed_periods=[d(m) for m in missed],
    )
    assert got[:2] == (d(due), overdue)
    assert "REMS" in got[2]


@pytest.mark.parametrize("held_or_stopped", ["held", "stopped"])
def test_pregnancy_tests_stay_scheduled_through_holds_and_stops(held_or_stopped):
    # REMS: "the same during holds". next_pregnancy_test takes no treatment state at all, so a hold or a stop
    # (the walk's business) cannot move it; here the dates a held or stopped patient sees, as the calendar gives.
    due, overdue, _, _ = next_pregnancy_test(
        sex="F",
        reproductive_potential=True,
        menses="regular",
        start_date=START,
        tests=[(d(35), "negative")],
        as_of=d(40),
    )
    assert (due, overdue) == (d(63), False)
    assert "held" not in next_pregnancy_test.__code__.co_varnames


PRETREATMENT = [
    # (negative test days relative to the start, kinds missing)
    ([-14, 0], []),
    ([-10, -1], []),  # the day before the start is within 24 hours of the first prescription
    ([-12], ["24_hours"]),
    ([0], ["10_14_days"]),
    ([-15, 0], ["10_14_days"]),  # 15 days before: outside 10-14
    ([-9, 0], ["10_14_days"]),  # 9 days before: outside 10-14
    ([-12, -2], ["24_hours"]),  # 2 days before: not within 24 hours
    ([-12, 1], ["24_hours"]),  # after the start: not before it
    ([], ["10_14_days", "24_hours"]),
]


@pytest.mark.parametrize("days, missing", PRETREATMENT)
def test_rems_pretreatment_tests_against_label(days, missing):
    rows = pretreatment_tests_missing(
        sex="F", reproductive_potential=True, start_date=START, tests=[(d(x), "negative") for x in days]
    )
    assert [r["condition"] for r in rows] == missing


def test_rems_pretreatment_positive_or_other_results_do_not_count_and_only_women_of_potential():
    tests = [(d(-12), "positive"), (d(0), "indeterminate")]
    assert len(pretreatment_tests_missing(sex="F", reproductive_potential=True, start_date=START, tests=tests)) == 2
    assert pretreatment_tests_missing(sex="F", reproductive_potential=False, start_date=START, tests=[]) == []
    assert pretreatment_tests_missing(sex="M", reproductive_potential=True, start_date=START, tests=[]) == []


# --- course alerts -----------------------------------------------------------------------------------


def test_thromboprophylaxis_alert_for_dexamethasone_without_prophylaxis_against_label():
    alerts = course_alerts(indication="MM", combination="dexamethasone", thromboprophylaxis_dates=[], cycle=2)
    assert [(n.kind, n.severity) for n in alerts] == [("thromboprophylaxis_missing", "action")]
    assert "thromboprophylaxis" in alerts[0].text and "PI" in alerts[0].source
    assert course_alerts(indication="MM", combination="Dexamethasone", thromboprophylaxis_dates=[d(1)], cycle=2) == []
    assert course_alerts(indication="FL", combination="rituximab", thromboprophylaxis_dates=[], cycle=2) == []
    assert course_alerts(indication="MM_MAINT", combination=None, thromboprophylaxis_dates=None, cycle=2) == []


@pytest.mark.parametrize(
    "indication, cycle, n_alerts",
    [("FL", 11, 0), ("FL", 12, 1), ("FL", 13, 1), ("MZL", 12, 1), ("MZL", None, 0), ("MM", 20, 0), ("MCL", 12, 0)],
)
def test_fl_mzl_twelve_cycle_limit_against_label(indication, cycle, n_alerts):
    alerts = course_alerts(indication=indication, combination="rituximab", thromboprophylaxis_dates=[], cycle=cycle)
    assert len(alerts) == n_alerts
    if n_alerts:
        assert alerts[0].kind == "cycle_limit" and "12 cycles" in alerts[0].text and "PI" in alerts[0].source


def test_every_monitoring_row_has_a_source():
    rules = load_monitoring()
    assert (rules["source"].str.len() > 0).all()
    for ind in ("MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL"):
        phases = rules[(rules["kind"] == "cbc") & (rules["indication"] == ind)]
        assert phases["to_day"].isna().sum() == 1, f"{ind}: exactly one open-ended CBC phase"


def test_every_monitoring_kind_and_reason_is_documented():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "schedules.md").read_text(encoding="utf-8")
    rules = load_monitoring()
    for kind in set(rules["kind"]):
        assert f"`{kind}`" in doc, f"kind {kind} missing from docs/schedules.md"
    for ind in set(rules["indication"]) - {"*"}:
        assert ind in doc


@settings(max_examples=60, deadline=None)
@given(
    indication=st.sampled_from(["MM", "MM_MAINT", "MDS", "MCL", "FL", "MZL"]),
    last=st.integers(min_value=0, max_value=800),
    held=st.booleans(),
)
def test_next_cbc_is_never_far_and_never_before_the_last(indication, last, held):
    due, overdue, _, _ = next_cbc(
        indication=indication, start_date=START, cbc_dates=[d(last)], held=held, as_of=d(last)
    )
    gap = (due - d(last)).days
    assert 4 <= gap <= 7 if held else 4 <= gap <= 31  # the early window is 3 days; the longest interval 28
    assert not overdue


def test_bad_monitoring_row_names_line(tmp_path):
    bad = tmp_path / "monitoring.csv"
    header = "kind,indication,condition,from_day,to_day,interval_days,window_days,count,reason,source\n"
    bad.write_text(header + "cbc,MM,,0,,0,3,,weekly,US PI\n")
    with pytest.raises(ValueError, match="line 2.*interval_days"):
        load_monitoring(bad)
