"""One patient's time axis: hold spans, dose steps, treatment cycles and the chart time windows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from lenadash.dashboard.assessed import as_date, required_date
from lenadash.vocab.course import CYCLE_DAYS, DOSING_DAYS, dosing_days

HELD = ("hold", "stay_held")
# No capsules after these draws: held, or stopped (REMS) until the clinician restarts.
NOT_DOSING = (*HELD, "stop")
DOSING_AGAIN = ("resume", "continue")


def _span(start: dt.date, end: dt.date | None, reason: str, *, as_of: dt.date) -> dict:
    """A hold span; one still open ends at `as_of` (never before its start)."""
    return {"start": start, "end": end or max(as_of, start), "open": end is None, "reason": reason}


def hold_spans(patient: dict, *, as_of: dt.date) -> pd.DataFrame:
    """Hold episodes (start, end, open, reason): the engine's `hold_spans` when assess gives them,
    else from the draw actions (a span starts at `hold`, ends at the draw that resumes or
    continues); a hold still open ends at `as_of` with open=True (DOMAIN.md section 2)."""
    spans = []
    if patient.get("hold_spans") is not None:
        for h in patient["hold_spans"]:
            start = as_date(h.get("start"))
            if start is not None:
                spans.append(_span(start, as_date(h.get("end")), h.get("reason") or "", as_of=as_of))
        return pd.DataFrame(spans, columns=["start", "end", "open", "reason"])
    start = None
    for d in patient.get("draws") or []:
        action, day = d.get("action"), as_date(d.get("date"))
        if action in HELD and start is None:
            start, reason = day, "; ".join(d.get("reasons") or [])
        elif action in DOSING_AGAIN and start is not None:
            spans.append(_span(start, day, reason, as_of=as_of))
            start = None
    if start is not None:
        spans.append(_span(start, None, reason, as_of=as_of))
    return pd.DataFrame(spans, columns=["start", "end", "open", "reason"])


def dose_steps(patient: dict, *, as_of: dt.date, stopped_on: dt.date | None = None) -> pd.DataFrame:
    """Dose in effect over time as steps (date, dose_mg, schedule, action): 0 mg while held or stopped
    (REMS); the draw's dose where the engine gives one, else the dose carried from before. stopped_on: the
    day a stopped course stopped (cards.stop_date: the recorded REMS event), so a stop recorded after the last
    draw drops the strip on that day, not at the as-of date."""
    start = as_date(patient.get("start_date"))
    dose = patient.get("renal_starting_dose_mg") or patient.get("starting_dose_mg")
    rows: list[dict[str, Any]] = []
    if start is not None and dose:
        rows.append({"date": start, "dose_mg": float(dose), "schedule": None, "action": "start"})
    held = False
    for d in patient.get("draws") or []:
        if start is not None and required_date(d.get("date")) < start:
            continue  # baseline draws before the start: no dose yet
        action = d.get("action")
        if d.get("dose_mg") is not None and action not in NOT_DOSING:
            dose = float(d["dose_mg"])
        if action in NOT_DOSING:
            held = True
        elif action in DOSING_AGAIN:
            held = False
        rows.append(
            {
                "date": as_date(d.get("date")),
                "dose_mg": 0.0 if held else (float(dose) if dose else np.nan),
                "schedule": d.get("schedule"),
                "action": action,
            }
        )
    if rows:
        last = rows[-1]
        rows.append({**last, "date": max(as_of, last["date"]), "action": "as_of"})
        if patient.get("status") == "stopped" and last["dose_mg"]:
            # stopped by an event after the last draw (a positive pregnancy test): the strip drops to 0 on the
            # day of that event (stopped_on), else at as_of - never runs on at the last dose
            when = stopped_on if stopped_on is not None and last["date"] <= stopped_on <= as_of else None
            if when is not None:
                rows[-1] = {**last, "date": when, "dose_mg": float(last["dose_mg"]), "action": "as_of"}
            rows.append({**last, "date": when or rows[-1]["date"], "dose_mg": 0.0, "action": "stop"})
            if when is not None:
                rows.append({**last, "date": max(as_of, when), "dose_mg": 0.0, "action": "as_of"})
    return pd.DataFrame(rows, columns=["date", "dose_mg", "schedule", "action"])


def _cycle_starts(patient: dict) -> dict[int, dt.date]:
    """Start date per cycle, from the engine's cycle/day of each treatment draw (and the course start)."""
    starts: dict[int, dt.date] = {}
    for d in patient.get("draws") or []:
        if d.get("cycle") and d.get("cycle_day") and int(d["cycle_day"]) >= 1:  # not baseline draws
            s = required_date(d["date"]) - dt.timedelta(days=int(d["cycle_day"]) - 1)
            starts[int(d["cycle"])] = min(starts.get(int(d["cycle"]), s), s)
    start = as_date(patient.get("start_date"))
    if start is not None:
        starts.setdefault(1, start)
    return starts


def _dosing_days(patient: dict) -> int:
    """Dosing days per cycle of the course's schedule (the latest draw's when the course names none);
    21/28 when neither does, and a whole cycle for a schedule the vocabulary does not know."""
    schedule = patient.get("schedule") or next(
        (d.get("schedule") for d in reversed(patient.get("draws") or []) if d.get("schedule")), "21/28"
    )
    return dosing_days(schedule) if schedule in DOSING_DAYS else CYCLE_DAYS


def cycle_table(patient: dict, *, as_of: dt.date, until: dt.date | None = None) -> pd.DataFrame:
    """Cycle starts and dosing days (cycle, start, end, dosing_end), anchored on the engine's
    cycle/day of each draw and extended in 28-day steps (DOMAIN.md section 1) up to `as_of`, or on to
    `until` when that is later (the calendar continued forward: cycles that have not started yet)."""
    starts = _cycle_starts(patient)
    if not starts:
        return pd.DataFrame(columns=["cycle", "start", "end", "dosing_end"])
    dosing = _dosing_days(patient)
    rows, cycle, cur = [], min(starts), starts[min(starts)]
    last = max(as_of, until or as_of)
    while cur <= last and cycle < 400:
        nxt = starts.get(cycle + 1, cur + dt.timedelta(days=CYCLE_DAYS))
        rows.append({"cycle": cycle, "start": cur, "end": nxt, "dosing_end": min(cur + dt.timedelta(days=dosing), nxt)})
        cycle, cur = cycle + 1, nxt
    return pd.DataFrame(rows, columns=["cycle", "start", "end", "dosing_end"])


WINDOW_PRESETS = ("Last cycle", "3 cycles", "6 months", "All")
# Every window runs on past today by two weeks: the next CBC (weekly while held), the rest of the
# cycle's dosing days and what else falls due are on the chart, not only behind it.
LOOKAHEAD_DAYS = 14


def window_anchor(patient: dict, *, as_of: dt.date) -> dt.date:
    """The date the time windows count back from: the latest draw, or as_of when that is earlier
    (so a patient whose last draw is years old still shows their last cycles, not blank charts)."""
    dates = [x for x in (as_date(d.get("date")) for d in patient.get("draws") or []) if x is not None]
    return min(max(dates), as_of) if dates else as_of


def window_range(preset: str, patient: dict, *, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """x-axis range for a time-window preset (WINDOW_PRESETS). 'Last cycle', '3 cycles' and '6 months'
    count back from window_anchor (latest draw or as_of, whichever is earlier) and end at as_of, or
    28 days after the anchor when as_of is later still, plus LOOKAHEAD_DAYS; 'All' spans first
    draw/start to as_of plus LOOKAHEAD_DAYS."""
    anchor = window_anchor(patient, as_of=as_of)
    cycles = cycle_table(patient, as_of=anchor)
    dates = [as_date(d.get("date")) for d in patient.get("draws") or []]
    first = min([x for x in dates + [as_date(patient.get("start_date"))] if x is not None], default=as_of)
    end = min(as_of, anchor + dt.timedelta(days=CYCLE_DAYS)) + dt.timedelta(days=LOOKAHEAD_DAYS)
    if preset == "Last cycle" and len(cycles):
        return cycles["start"].iloc[-1] - dt.timedelta(days=1), end
    if preset == "3 cycles" and len(cycles):
        return cycles["start"].iloc[max(len(cycles) - 3, 0)] - dt.timedelta(days=1), end
    if preset == "6 months":
        return anchor - dt.timedelta(days=183), end
    if preset not in WINDOW_PRESETS:
        raise ValueError(f"unknown time window {preset!r}; choose one of {', '.join(WINDOW_PRESETS)}")
    return first - dt.timedelta(days=3), as_of + dt.timedelta(days=LOOKAHEAD_DAYS)


def draws_in_window(patient: dict, window: tuple[dt.date, dt.date]) -> int:
    """How many draws fall inside a time window (both ends included)."""
    lo, hi = window
    return sum(1 for d in patient.get("draws") or [] if (day := as_date(d.get("date"))) is not None and lo <= day <= hi)


def empty_window_note(preset: str, patient: dict, window: tuple[dt.date, dt.date], *, as_of: dt.date) -> str | None:
    """What to say when a patient with draws has none in the chosen window (where the latest one is and
    how to see it); None when the window shows draws or the patient has none."""
    if not patient.get("draws") or draws_in_window(patient, window):
        return None
    return (
        f"No draws between {window[0]:%d %b %Y} and {window[1]:%d %b %Y} ({preset.lower()}); the latest draw "
        f"is from {window_anchor(patient, as_of=as_of):%d %b %Y}. Choose 'All' to see every draw."
    )
