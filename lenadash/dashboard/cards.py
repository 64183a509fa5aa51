"""The patient cards: what the label says now (next action, resume plan), upcoming dates, identity and labels."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

from lenadash.dashboard.assessed import as_date, last_draw, required_date
from lenadash.dashboard.present import ACTION_LABELS, analyte_label
from lenadash.vocab.course import INDICATION_NAMES

HELD = ("hold", "stay_held")


def _headline(action: str | None, dose: float | None, schedule: str) -> str:
    """The card's headline for the latest draw's action ("Continue 25 mg (21/28)", "HOLD lenalidomide")."""
    on = f" ({schedule})" if schedule else ""
    if action in HELD:
        return ACTION_LABELS[action] + " lenalidomide"
    if action == "resume":
        return f"Resume at {dose:g} mg{on}" if dose else "Resume"
    if action == "continue":
        return f"Continue {dose:g} mg{on}" if dose else "Continue"
    if action == "review":
        return "Clinician review needed"
    return "No lab draw yet"


def next_action(patient: dict, *, rules: str = "", as_of: dt.date | None = None) -> dict:
    """What the label says now for the patient: headline, dose, reasons and source, from the
    latest draw's action (None fields when the patient has no draw yet).

    When the CBC is overdue (assess `labs_overdue`, US PI 5.3 schedule) the advice is stale:
    `overdue` holds "CBC overdue since <date>; the last advice is from a draw N days old" (N counted
    to `as_of`), and the card must not read as a plain continue. None when the CBC is not overdue."""
    last = last_draw(patient)
    action = last.get("action")
    dose = last.get("dose_mg") if last.get("dose_mg") is not None else patient.get("current_dose_mg")
    schedule = last.get("schedule") or ""
    sources = last.get("sources") or ([last["source"]] if last.get("source") else [])
    return {
        "action": action,
        "headline": _headline(action, dose, schedule),
        "status": patient.get("status"),
        "dose_mg": dose,
        "schedule": schedule or None,
        "date": as_date(last.get("date")),
        "reasons": [r for r in (last.get("reasons") or []) if r]
        or (["No hold or resume rule applies to the latest draw."] if action == "continue" else []),
        "source": "; ".join(sources)
        if sources
        else (f"rule profile {rules}; each reason names its label section and rule" if rules else None),
        "alerts": [a for a in (patient.get("alerts") or []) if a],
        "overdue": _overdue_text(patient, last, as_of),
        "resume": resume_plan(patient, profile=rules or "us_pi") if action in HELD else None,
    }


# A reason names the rule that fired as "(... rule MM-PLT)"; the draw carries no rule-id field, so the
# resume plan reads the ids back from the sentences.
_RULE_ID = re.compile(r"\brule ([A-Za-z0-9_.-]+)\)")


def _hold_episode(draws: list[dict]) -> list[dict]:
    """The draws of the current hold, latest first (back to its first hold draw)."""
    episode = []
    for d in reversed(draws):
        if d.get("action") not in HELD:
            break
        episode.append(d)
    return episode


def _resume_target(rule, *, ladder, held_at: float | None, schedule: str, start) -> tuple:
    """(dose_mg, schedule, why) one hold rule resumes at; dose None when the hold is at the ladder's floor."""
    from lenadash.clinical import dosing

    if rule.resume_dose == "next_lower":
        step = dosing.next_lower(ladder, held_at, schedule) if held_at is not None else None
        return (step.dose_mg, step.schedule, "next lower dose") if step else (None, None, "at the floor")
    if rule.resume_dose == "start":
        dose = min(float(start), held_at) if start and held_at is not None else (float(start) if start else None)
        return dose, None, "starting dose"
    return float(rule.resume_dose), None, "the dose the table gives"


def resume_plan(patient: dict, *, profile: str = "us_pi") -> str | None:
    """For a held course: the dose it resumes at and when, from the rules the engine named in the
    hold's reasons ("rule MM-PLT") and the dose ladder - e.g. "Resume at 20 mg when Platelets >= 30
    (next lower dose)". None when the patient is not held or no rule is named."""
    from lenadash.clinical import dosing

    draws = patient.get("draws") or []
    if not draws or draws[-1].get("action") not in HELD:
        return None
    episode = _hold_episode(draws)
    ids = list(dict.fromkeys(m for d in reversed(episode) for r in d.get("reasons") or [] for m in _RULE_ID.findall(r)))
    prof = dosing.load_profile(profile)
    rules = [r for r in prof.rules_for(patient.get("indication") or "") if r.rule in ids]
    if not rules:
        return None
    ladder = prof.ladder(patient.get("indication") or "")
    schedule = patient.get("schedule") or episode[-1].get("schedule") or ""
    start = patient.get("renal_starting_dose_mg") or patient.get("starting_dose_mg")
    held_at = dose_now(patient)
    targets = [_resume_target(r, ladder=ladder, held_at=held_at, schedule=schedule, start=start) for r in rules]
    when = " and ".join(
        dict.fromkeys(f"{analyte_label(r.analyte)} {r.resume_op} {_threshold_text(r.resume_value)}" for r in rules)
    )
    if any(t[0] is None for t in targets):
        return f"Held at the lowest dose: when {when}, a clinician decides whether to resume"
    dose, sched, why = min(targets, key=lambda t: t[0])
    return f"Resume at {dose:g} mg{f' ({sched})' if sched else ''} when {when} ({why})"


def _threshold_text(value: float) -> str:
    """As the label writes it: 30, 0.5, 1.0 (a whole number below 10 keeps one decimal)."""
    return f"{value:.1f}" if value == int(value) and value < 10 else f"{value:g}"


def _overdue_text(patient: dict, last: dict, as_of: dt.date | None) -> str | None:
    due = as_date(patient.get("next_labs_due"))
    if not patient.get("labs_overdue") or due is None:
        return None
    text = f"CBC overdue since {due:%d %b %Y}"
    drawn = as_date(last.get("date"))
    if drawn is not None and as_of is not None:
        age = (as_of - drawn).days
        text += f"; the last advice is from a draw {age:,} day{'s' if age != 1 else ''} old ({drawn:%d %b %Y})"
    elif drawn is None:
        text += "; there is no draw to advise on"
    return text


def dose_now(patient: dict) -> float | None:
    """The dose the course is at: the current dose, or while held the dose it was held at (the latest
    draw's dose before the hold, else the renal or label starting dose); None when unknown."""
    if patient.get("current_dose_mg") is not None:
        return float(patient["current_dose_mg"])
    for d in reversed(patient.get("draws") or []):
        if d.get("dose_mg") is not None:
            return float(d["dose_mg"])
    start = patient.get("renal_starting_dose_mg") or patient.get("starting_dose_mg")
    return float(start) if start else None


def _biopsy_label(biopsy: dict) -> str:
    week = biopsy.get("week")
    return f"Marrow biopsy (week {week})" if week else "Marrow biopsy"


def _biopsy_rows(patient: dict, *, as_of: dt.date) -> list[dict]:
    """Open marrow biopsies: one line for the overdue ones (the earliest, with the count of the
    others - not 17 lines), then each one still ahead with its week label."""
    biopsies = [b for b in patient.get("marrow_biopsies") or [] if not b.get("done") and b.get("due")]
    overdue = sorted((b for b in biopsies if required_date(b["due"]) < as_of), key=lambda b: required_date(b["due"]))
    rows = []
    if overdue:
        first, others = overdue[0], overdue[1:]
        why = (
            f"{len(others)} later marrow biops{'y' if len(others) == 1 else 'ies'} also overdue "
            f"(up to week {others[-1].get('week')}, due {as_date(others[-1]['due']):%d %b %Y})"
            if others
            else ""
        )
        rows.append({"what": _biopsy_label(first), "due": as_date(first["due"]), "why": why})
    for b in biopsies:
        if required_date(b["due"]) >= as_of:
            rows.append({"what": _biopsy_label(b), "due": as_date(b["due"])})
    return rows


def upcoming(patient: dict, *, as_of: dt.date) -> pd.DataFrame:
    """Upcoming dates: next CBC, each open marrow biopsy with its week label, next pregnancy test;
    `overdue` when the date is before as_of (DOMAIN.md section 5)."""
    rows: list[dict[str, Any]] = []
    if patient.get("next_labs_due"):
        rows.append(
            {"what": "Next CBC", "due": as_date(patient["next_labs_due"]), "why": patient.get("next_labs_reason") or ""}
        )
    rows += _biopsy_rows(patient, as_of=as_of)
    if not any(r["what"].startswith("Marrow") for r in rows) and patient.get("next_marrow_biopsy"):
        rows.append({"what": "Marrow biopsy", "due": as_date(patient["next_marrow_biopsy"])})
    if patient.get("next_pregnancy_test"):
        rows.append(
            {
                "what": "Pregnancy test (REMS)",
                "due": as_date(patient["next_pregnancy_test"]),
                "why": patient.get("next_pregnancy_test_reason") or "",
            }
        )
    df = pd.DataFrame(rows, columns=["what", "due", "why"])
    df["why"] = df["why"].fillna("")
    df["overdue"] = [d is not None and d < as_of for d in df["due"]]
    df["in_days"] = [None if d is None else (d - as_of).days for d in df["due"]]
    return df.sort_values("due", key=lambda s: pd.to_datetime(s)).reset_index(drop=True)


def days_or_none(value: Any) -> int | None:
    """A table's in-days cell as whole days; None when unknown (None, NaN, NA)."""
    return None if value is None or pd.isna(value) else int(value)


def in_days_text(days: int | None) -> str:
    """'today', 'tomorrow', 'in 5 days'; '' when unknown."""
    if days is None:
        return ""
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def visit_identity(name: str | None, birth_date: Any, sex: str | None, *, as_of: dt.date) -> dict:
    """Initials and age in whole years for the visit view (no name, no MRN, no birth date);
    None age when the birth date is unknown."""
    parts = [p for p in str(name or "").replace(",", " ").split() if p[:1].isalpha()]
    initials = "".join(p[0].upper() + "." for p in parts[:3]) or "Patient"
    born = as_date(birth_date)
    age = None
    if born is not None:
        age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    return {"initials": initials, "age": age, "sex": sex if sex in ("F", "M") else None}


def header_line(mrn: str, patient: dict, identity: dict, *, cycle: Any, cycle_day: Any) -> str:
    """The patient page's line under the name: MRN, age, sex, indication, start, cycle day and CrCl,
    '  |  '-separated; what is unknown is left out ("no treatment course" when there is no start)."""
    indication = patient.get("indication")
    facts = [
        f"MRN {mrn}",
        f"{identity['age']} y" if identity["age"] is not None else "",
        identity["sex"] or "",
        INDICATION_NAMES.get(indication, indication) if indication else "",
        f"started {patient['start_date']}" if patient.get("start_date") else "no treatment course",
        f"cycle {cycle} day {cycle_day}" if pd.notna(cycle) else "",
        f"CrCl {patient['crcl_ml_min']:.0f} mL/min" if patient.get("crcl_ml_min") else "",
    ]
    return "  |  ".join(f for f in facts if f)


def patient_label(mrn: str, name: Any) -> str:
    """How the pickers name a patient: "LD0001 - Ada Lovelace"; a patient known only from lab files
    (no name, no course) is "BIG0001 (no course yet)" rather than "BIG0001 -"."""
    text = "" if name is None or (isinstance(name, float) and name != name) else str(name).strip()
    return f"{mrn} - {text}" if text else f"{mrn} (no course yet)"


def find_patient(result: dict | None, mrn: str | None) -> dict | None:
    """The assessed patient with this MRN; None when absent."""
    if not result or not mrn:
        return None
    return next((p for p in result.get("patients") or [] if str(p.get("mrn")) == str(mrn)), None)
