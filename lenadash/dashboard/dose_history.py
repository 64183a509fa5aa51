"""A course's dose history per cycle: planned and taken dose, days held, reductions, and what changed it.

Read from the assessment (assess `draws`: action, dose, rule ids; `hold_spans`) and the recorded events
(dose_change decisions, with who recorded them): nothing here decides a dose. Cycles are 28 days from the
start (DOMAIN.md section 2); a dose or hold takes effect on the date of the draw or decision that set it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from lenadash.dashboard.assessed import as_date

CYCLE_DAYS = 28
COLUMNS = ["cycle", "starts", "planned", "taken", "days_held", "reductions", "changes"]
HELD = ("hold", "stay_held", "stop")
# How a draw's action reads in the changes column.
ACTION_WORDS = {
    "hold": "hold",
    "stay_held": "still held",
    "resume": "resume",
    "stop": "stop (REMS)",
    "review": "review",
}


@dataclass(frozen=True)
class Change:
    """One date on which the dose state changed: `dose_mg` None while held (or when the clinician must decide)."""

    date: dt.date
    dose_mg: float | None
    held: bool
    what: str  # for the changes column: "hold: MM-ANC-FIRST", "resume 15 mg: MM-ANC-FIRST"


def _mg(dose: float | None) -> str:
    return "-" if dose is None else f"{dose:g} mg"


def _draw_change(draw: dict, previous: float | None) -> Change | None:
    """The change a draw makes (a hold, a resume, a stop, a review without a dose, a new dose), None if none."""
    on = as_date(draw.get("date"))
    if on is None or not draw.get("cycle"):
        return None  # before the start (cycle 0): no dose yet
    action = str(draw.get("action") or "")
    dose = draw.get("dose_mg")
    dose = None if dose is None else float(dose)
    rules = ", ".join(str(r) for r in draw.get("rules") or [])
    changed = (
        action in ("hold", "resume", "stop")
        or (action == "review" and dose is None)
        or (dose is not None and dose != previous)
    )
    if not changed:
        return None
    word = ACTION_WORDS.get(action, "dose")
    shown = f"{word} {_mg(dose)}" if dose is not None and action not in HELD else word
    return Change(on, dose if action not in HELD else None, action in HELD, f"{shown}: {rules}" if rules else shown)


def dose_changes(patient: dict) -> list[Change]:
    """Every change of the course's dose state, from its draws in date order."""
    out: list[Change] = []
    current = _start_dose(patient)
    for draw in patient.get("draws") or []:
        change = _draw_change(draw, current)
        if change is not None:
            out.append(change)
            current = change.dose_mg if change.dose_mg is not None else current
    return out


def _start_dose(patient: dict) -> float | None:
    dose = patient.get("starting_dose_mg")
    return None if dose is None else float(dose)


def _held_days(spans: list[dict], first: dt.date, last: dt.date, until: dt.date) -> int:
    """Days from `first` to `last` (inclusive) inside a hold span ([start, end), an open span to `until`)."""
    days: set[dt.date] = set()
    for span in spans:
        start = as_date(span.get("start"))
        end = as_date(span.get("end"))
        if start is None:
            continue
        stop = (end - dt.timedelta(days=1)) if end is not None else until
        lo, hi = max(start, first), min(stop, last)
        days.update(lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1))
    return len(days)


def _recorded(events: pd.DataFrame | None, mrn: str) -> list[tuple[dt.date, str]]:
    """The patient's recorded dose decisions: [(date, "hold recorded by alice")] (dose_change events)."""
    if events is None or events.empty:
        return []
    mine = events[(events["mrn"].astype(str) == mrn) & (events["event"].astype(str) == "dose_change")]
    out = []
    for r in mine.to_dict("records"):
        on = as_date(r["date"])
        if on is None:
            continue
        dose = r.get("dose_mg")
        what = "hold" if r.get("is_hold") else _mg(None if dose is None or pd.isna(dose) else float(dose))
        who = r.get("recorded_by")
        by = f"by {who}" if isinstance(who, str) and who else "from an events file"
        out.append((on, f"{what} recorded {by}"))
    return out


def _state_on(changes: list[Change], day: dt.date, start_dose: float | None) -> tuple[float | None, bool]:
    """(dose, held) in effect on `day`: the latest change on or before it, else the starting dose."""
    dose, held = start_dose, False
    for c in changes:
        if c.date > day:
            break
        held = c.held
        dose = c.dose_mg if c.dose_mg is not None else (dose if c.held else None)
    return dose, held


def _taken(changes: list[Change], first: dt.date, last: dt.date, start_dose: float | None) -> str:
    """The doses in effect on the cycle's days outside holds: "25 mg", "25 -> 20 mg", "held"."""
    doses: list[str] = []
    day = first
    while day <= last:
        dose, held = _state_on(changes, day, start_dose)
        text = "" if held else _mg(dose)
        if text and (not doses or doses[-1] != text):
            doses.append(text)
        day += dt.timedelta(days=1)
    return " -> ".join(doses) if doses else "held"


def _reductions(changes: list[Change], first: dt.date, last: dt.date, start_dose: float | None) -> int:
    """How many times the dose went down within the cycle (a resume at a lower dose counts)."""
    count, current = 0, start_dose
    for c in changes:
        if c.dose_mg is None:
            continue
        if first <= c.date <= last and current is not None and c.dose_mg < current:
            count += 1
        current = c.dose_mg
    return count


def dose_history(patient: dict, events: pd.DataFrame | None = None, *, as_of: dt.date) -> pd.DataFrame:
    """One row per cycle from the start to `as_of`: `cycle`, `starts` (its day 1), `planned` (the dose in
    effect entering it, "held" if held), `taken` (the doses in effect on its days outside holds), `days_held`,
    `reductions` (dose decreases within it), `changes` (each draw that changed the dose with the rule ids that
    decided it, and each recorded decision with who recorded it). Empty without a start date or before it."""
    start = as_date(patient.get("start_date"))
    if start is None or as_of < start:
        return pd.DataFrame(columns=COLUMNS)
    start_dose = _start_dose(patient)
    changes = dose_changes(patient)
    recorded = _recorded(events, str(patient.get("mrn") or ""))
    spans = patient.get("hold_spans") or []
    rows = []
    for n in range((as_of - start).days // CYCLE_DAYS + 1):
        first = start + dt.timedelta(days=n * CYCLE_DAYS)
        last = min(first + dt.timedelta(days=CYCLE_DAYS - 1), as_of)
        dose, held = _state_on(changes, first - dt.timedelta(days=1), start_dose) if n else (start_dose, False)
        notes = [f"{c.date:%d %b} {c.what}" for c in changes if first <= c.date <= last]
        notes += [f"{d:%d %b} {w}" for d, w in recorded if first <= d <= last]
        rows.append(
            {
                "cycle": n + 1,
                "starts": first,
                "planned": "held" if held else _mg(dose),
                "taken": _taken(changes, first, last, start_dose),
                "days_held": _held_days(spans, first, last, as_of),
                "reductions": _reductions(changes, first, last, start_dose),
                "changes": "; ".join(notes),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
