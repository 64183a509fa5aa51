"""Exposure and relative dose intensity per course and cycle, from the dose engine's steps (docs/insight.md)."""

# Every calendar day from the start to the as-of date gets one state from the latest engine step on or
# before it: dosed (at the step's dose and schedule), held (a hold episode, or the clinician's hold),
# awaiting (the counts recovered but only a clinician can give the dose: the engine has no dose; or a
# do_not_start criterion kept the course from starting), or
# stopped (REMS). A review step that gives no dose keeps the state before it: the engine changed nothing,
# it asked a question. Planned = the starting dose on every dosing day of the course's schedule;
# delivered = the dose in effect on every dosing day (of the schedule in effect) that is not held.

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from lenadash.vocab.course import CYCLE_DAYS, DOSING_DAYS

DOSED, HELD, AWAITING, STOPPED = 0, 1, 2, 3
CLINICIAN_RULES = frozenset({"CLINICIAN-DOSE", "CLINICIAN-HOLD"})


@dataclass(frozen=True)
class CourseSteps:
    """One course's engine steps on or after its start and on or before as_of, in date order (plain lists)."""

    dates: list[dt.date]
    actions: list[str]
    doses: list[float | None]
    schedules: list[str]
    rules: list[list[str]]


def _num(x) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def step_states(
    steps: CourseSteps, start_dose: float, schedule: str, not_started: frozenset[str] = frozenset()
) -> list[tuple[int, float, str]]:
    """(state, dose in effect, schedule in effect) after each step (module comment: the carried state).
    `not_started`: the ids of the profile's do_not_start criteria: a review step they decide has not started
    treatment (awaiting the clinician's dose)."""
    state, dose, sched = DOSED, start_dose, schedule
    out = []
    for action, dose_mg, step_schedule, rules in zip(steps.actions, steps.doses, steps.schedules, steps.rules):
        dose_mg = _num(dose_mg)
        if action == "review" and dose_mg is None and not_started.intersection(rules):
            state = AWAITING
        elif action in ("hold", "stay_held"):
            state = HELD
        elif action == "stop":
            state = STOPPED
        elif dose_mg is not None:  # continue, resume (a review step never carries a dose)
            state, dose, sched = DOSED, dose_mg, step_schedule
        elif state == HELD:  # review with no dose after a hold: recovered, awaiting the clinician's dose
            state = AWAITING
        out.append((state, dose, sched))
    return out


def _daily(
    steps: CourseSteps,
    start: dt.date,
    as_of: dt.date,
    start_dose: float,
    schedule: str,
    limit: int | None,
    not_started: frozenset[str] = frozenset(),
):
    """Per day from start to as_of: cycle, planned mg, delivered mg, held (a planned dosing day held)."""
    n = (as_of - start).days + 1
    offsets = np.arange(max(n, 0))
    cycle = offsets // CYCLE_DAYS + 1
    cday = offsets % CYCLE_DAYS + 1
    states = step_states(steps, start_dose, schedule, not_started)
    step_off = np.array([(d - start).days for d in steps.dates], dtype=np.int64)
    at = np.searchsorted(step_off, offsets, side="right") - 1  # the latest step on or before the day; -1 none
    # a course the start criteria kept from starting has not started before its first step either
    first = AWAITING if states and states[0][0] == AWAITING and steps.actions[0] == "review" else DOSED
    table = [(first, start_dose, schedule)] + states
    state = np.array([t[0] for t in table], dtype=np.int64)[at + 1]
    dose = np.array([t[1] for t in table], dtype=float)[at + 1]
    dosing_now = np.array([DOSING_DAYS.get(t[2], CYCLE_DAYS) for t in table], dtype=np.int64)[at + 1]
    in_limit = cycle <= limit if limit is not None else np.ones(len(offsets), bool)
    planned_day = (cday <= DOSING_DAYS[schedule]) & in_limit & (state != STOPPED)
    delivered = np.where(planned_day & (state == DOSED) & (cday <= dosing_now), dose, 0.0)
    planned = np.where(planned_day, start_dose, 0.0)
    held = planned_day & (state == HELD)
    awaiting = planned_day & (state == AWAITING)
    return cycle, planned, delivered, held, awaiting, state


def _rdi(delivered: float, planned: float) -> float | None:
    return None if planned <= 0 else round(delivered / planned, 3)


def reductions(steps: CourseSteps, start_dose: float, schedule: str, rule_analyte: dict[str, str]) -> list[dict]:
    """Every step to a lower dose, or to the same dose on fewer dosing days, with its cause: the counts (or
    toxicity) of the hold episode it ended, or `clinician` for a recorded dose_change."""
    out: list[dict] = []
    dose, days = start_dose, DOSING_DAYS.get(schedule, CYCLE_DAYS)
    causes: set[str] = set()
    for date, action, dose_mg, sched, rules in zip(
        steps.dates, steps.actions, steps.doses, steps.schedules, steps.rules
    ):
        if action in ("hold", "stay_held"):
            causes |= _causes(rules, rule_analyte)
        dose_mg = _num(dose_mg)
        if dose_mg is None:
            continue
        new_days = DOSING_DAYS.get(sched, CYCLE_DAYS)
        if dose_mg * new_days < dose * days:
            cause = ["clinician"] if "CLINICIAN-DOSE" in rules else sorted(causes) or ["unrecorded"]
            out.append(
                {"date": date.isoformat(), "from_mg": dose, "to_mg": dose_mg, "schedule": sched, "causes": cause}
            )
        dose, days = dose_mg, new_days
        if action in ("resume", "continue"):
            causes = set()
    return out


def _causes(rules: list[str], rule_analyte: dict[str, str]) -> set[str]:
    """What a hold step rests on: the analytes of its profile rules (`toxicity` for a toxicity-event rule),
    `clinician` for a recorded hold."""
    out = {rule_analyte[r] for r in rules if r in rule_analyte}
    if "CLINICIAN-HOLD" in rules:
        out.add("clinician")
    return out


def holds(steps: CourseSteps, rule_analyte: dict[str, str]) -> list[dict]:
    """Hold episodes as the engine walked them: start, end (the first step not held; None while open), causes."""
    out: list[dict] = []
    current: dict | None = None
    for date, action, rules in zip(steps.dates, steps.actions, steps.rules):
        if action in ("hold", "stay_held"):
            if current is None:
                current = {"start": date.isoformat(), "end": None, "causes": set()}
                out.append(current)
            current["causes"] |= _causes(rules, rule_analyte)
        elif current is not None:
            current["end"] = date.isoformat()
            current = None
    for h in out:
        h["causes"] = sorted(h["causes"]) or ["unrecorded"]
    return out


def course_exposure(
    steps: CourseSteps,
    *,
    start: dt.date,
    as_of: dt.date,
    start_dose: float | None,
    schedule: str | None,
    cycle_limit: int | None,
    rule_analyte: dict[str, str],
    not_started: frozenset[str] = frozenset(),
) -> dict | None:
    """The `exposure` entry of one course (docs/insight.md); None when the course has no starting dose or a
    schedule lenadash does not know (no planned dose can be counted)."""
    if start_dose is None or schedule not in DOSING_DAYS or as_of < start:
        return None
    cycle, planned, delivered, held, awaiting, _ = _daily(
        steps, start, as_of, start_dose, schedule, cycle_limit, not_started
    )
    n_cycles = int(cycle.max()) if len(cycle) else 0
    p_c = np.bincount(cycle, weights=planned, minlength=n_cycles + 1)
    d_c = np.bincount(cycle, weights=delivered, minlength=n_cycles + 1)
    h_c = np.bincount(cycle, weights=held.astype(float), minlength=n_cycles + 1)
    cycles = [
        {
            "cycle": c,
            "planned_mg": float(p_c[c]),
            "delivered_mg": float(d_c[c]),
            "rdi": _rdi(float(d_c[c]), float(p_c[c])),
            "days_held": int(h_c[c]),
        }
        for c in range(1, n_cycles + 1)
    ]
    red = reductions(steps, start_dose, schedule, rule_analyte)
    episodes = holds(steps, rule_analyte)
    p_all, d_all = float(planned.sum()), float(delivered.sum())
    completed = ((as_of - start).days + 1) // CYCLE_DAYS
    return {
        "planned_mg": p_all,
        "delivered_mg": d_all,
        "rdi": _rdi(d_all, p_all),
        "days_held": int(held.sum()),
        "days_awaiting_decision": int(awaiting.sum()),
        "reductions": len(red),
        "reduction_steps": red,
        "holds": episodes,
        "time_to_first_hold_days": None if not episodes else (dt.date.fromisoformat(episodes[0]["start"]) - start).days,
        "time_to_first_reduction_days": None if not red else (dt.date.fromisoformat(red[0]["date"]) - start).days,
        "cycles_completed": completed,
        "cycle_limit": cycle_limit,
        "cycles": cycles,
    }
