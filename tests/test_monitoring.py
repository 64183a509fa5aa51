"""Monitoring adherence against a hand-computed CBC calendar (docs/insight.md, "Monitoring adherence")."""

from __future__ import annotations

import datetime as dt

from insight_cases import NORMAL, START, assessed, day

# MM calendar (rules/monitoring.csv): weekly days 0-49, days 56 and 70, then every 28 days (84, 112, ...).
# Draws: -5 (baseline: on time for day 0), 7, 22 (on time for 21; nothing for 14: missed), 28, 35, 43, 49,
# 56, 76 (70's window 67-73 closed; 76 is before 84's window opens on 81: late by 6), none for 84 (missed once
# 112's window opened on 109), none for 112 (its window closed on 115; 140 not open: overdue on day 120).
DRAW_DAYS = [-5, 7, 22, 28, 35, 43, 49, 56, 76]


def _entry(as_of_day, draw_days=DRAW_DAYS, **kw):
    return assessed("MM", [(d, NORMAL) for d in draw_days], as_of_day=as_of_day, **kw)


def test_calendar_on_time_late_missed_overdue_by_hand():
    m = _entry(120)["monitoring"]
    assert {k: m[k] for k in ("cbc_required", "cbc_on_time", "cbc_late", "cbc_missed", "cbc_overdue")} == {
        "cbc_required": 12,
        "cbc_on_time": 8,
        "cbc_late": 1,
        "cbc_missed": 2,
        "cbc_overdue": 1,
    }
    assert m["on_time_pct"] == 66.7 and m["late_days"] == [6]
    status = {c["due"]: (c["status"], c["drawn"]) for c in m["calendar"]}
    assert status[day(0)] == ("on_time", day(-5))
    assert status[day(14)] == ("missed", None)
    assert status[day(21)] == ("on_time", day(22))
    assert status[day(70)] == ("late", day(76))
    assert status[day(84)] == ("missed", None)
    assert status[day(112)] == ("overdue", None)


def test_a_window_still_open_is_not_counted():
    m = _entry(114)["monitoring"]  # day 112's window closes on 115
    assert day(112) not in {c["due"] for c in m["calendar"]} and m["cbc_pending"] == 1


def test_weekly_during_a_hold_replaces_the_calendar():
    # Hold on day 60 (platelets 25 < 30), resumed on day 74: day 67 is a weekly hold CBC; day 70 (calendar)
    # falls inside the hold and is not asked for.
    weekly = [(d, NORMAL) for d in range(0, 57, 7)]
    draws = weekly + [(60, {"anc": 3.0, "plt": 25.0, "hgb": 12.0}), (67, {"anc": 3.0, "plt": 28.0, "hgb": 12.0})]
    draws += [(74, {"anc": 3.0, "plt": 60.0, "hgb": 12.0}), (84, NORMAL)]
    m = assessed("MM", draws, as_of_day=86)["monitoring"]
    kinds = {c["due"]: c["kind"] for c in m["calendar"]}
    assert kinds[day(67)] == "hold" and day(70) not in kinds
    assert (m["cbc_required"], m["cbc_on_time"]) == (11, 11)


def test_escalation_after_n_days_overdue(monkeypatch):
    # last CBC day 76 -> next calendar CBC day 84; on day 120 it is 36 days overdue
    kinds = [n["kind"] for n in _entry(120)["notices"]]
    assert "cbc_overdue_escalated" in kinds and kinds[0] == "cbc_overdue_escalated"  # urgent: listed first
    assert "cbc_overdue_escalated" not in [n["kind"] for n in _entry(88)["notices"]]  # 4 days: not yet
    monkeypatch.setenv("LENADASH_CBC_ESCALATE_DAYS", "40")
    assert "cbc_overdue_escalated" not in [n["kind"] for n in _entry(120)["notices"]]


def test_the_worklist_flags_the_escalated_patient():
    from lenadash.dashboard import worklist

    entry = _entry(120)
    assert "other_notice" in worklist.patient_flags(entry, as_of=START + dt.timedelta(days=120))
    assert "other_notice" not in worklist.patient_flags(_entry(88), as_of=START + dt.timedelta(days=88))
