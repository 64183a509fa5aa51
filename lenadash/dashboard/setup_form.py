"""The Setup page's forms: starting-dose choices, the checks a course or event must pass, and saving them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lenadash.dashboard.present import EVENT_LABELS
from lenadash.errors import InputError
from lenadash.vocab.course import DEFAULT_COMBINATION, DEFAULT_SCHEDULE, VTE_FACTORS


@dataclass(frozen=True)
class StartingDoses:
    """Starting-dose choices of one indication: the label's standard start and the allowed capsule doses."""

    standard_mg: float
    allowed_mg: tuple[float, ...]  # highest first: the dose ladder plus the renal starting doses
    source: str


def starting_doses(indication: str, profile: str = "us_pi") -> StartingDoses:
    """The label starting dose of an indication (rules/renal.csv, band CrCl >= 60, no dialysis) and the
    doses a course may start at: the indication's dose ladder (rules/ladders.csv via the rule
    profile) plus the renal starting doses, since a renally reduced start is a lower step (DOMAIN.md 1, 3)."""
    from lenadash.clinical import dosing, renal

    standard = renal.renal_starting_dose(indication=indication, crcl_ml_min=1000.0, dialysis=False)
    assert standard.dose_mg is not None  # a known CrCl always falls in a band with a dose
    ladder = dosing.load_profile(profile).ladder(indication)
    table = renal.load_renal_rules()
    renal_doses = table.loc[table["indication"] == indication, "dose_mg"].dropna()
    allowed = sorted({float(s.dose_mg) for s in ladder} | {float(d) for d in renal_doses}, reverse=True)
    return StartingDoses(standard_mg=float(standard.dose_mg), allowed_mg=tuple(allowed), source=standard.source)


SETUP_REQUIRED = {"birth_date": "birth date", "sex": "sex", "weight_kg": "weight"}


def missing_setup_fields(record: dict) -> list[str]:
    """The Cockcroft-Gault inputs (DOMAIN.md section 3) a setup record lacks, in clinic words;
    [] when birth date, sex and weight are all given."""

    def blank(v) -> bool:
        return v is None or v == "" or (isinstance(v, float) and np.isnan(v))

    return [label for key, label in SETUP_REQUIRED.items() if blank(record.get(key))]


def and_join(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def dose_problem(indication: str, dose_mg: float | None, profile: str = "us_pi") -> str | None:
    """Why a starting dose cannot be saved for this indication, with the doses that can; None if fine."""
    doses = starting_doses(indication, profile)
    listed = ", ".join(f"{d:g}" for d in doses.allowed_mg)
    if dose_mg is None:
        return f"Enter the starting dose ({indication} label start {doses.standard_mg:g} mg)."
    if float(dose_mg) not in doses.allowed_mg:
        return (
            f"{float(dose_mg):g} mg is not a starting dose for {indication}: choose a capsule strength on its "
            f"dose ladder ({listed} mg). The label start is {doses.standard_mg:g} mg; a renally reduced "
            "start is a lower step."
        )
    return None


# --- errors a form can make -------------------------------------------------------------------

# Model field -> the word the form uses for it.
# --- patient and course -----------------------------------------------------------------------

SCHEDULE_DEFAULT = "default for indication"  # the schedule picker's first choice
MENSES_CHOICES = ("-", "regular", "irregular")  # "-": not recorded


def course_record(
    *,
    mrn: str | None,
    name: str,
    sex: str | None,
    birth_date: dt.date | None,
    weight_kg: float | None,
    indication: str,
    start_date: dt.date,
    starting_dose_mg: float | None,
    schedule: str,
    combination: str,
    reproductive_potential: bool,
    menses: str,
    dialysis: bool,
) -> dict:
    """The patients-contract row of the course form: text trimmed, the indication's default schedule
    and combination (vocab.course) where the form leaves them to the default."""
    return {
        "mrn": (mrn or "").strip(),
        "name": name.strip(),
        "sex": sex,
        "birth_date": birth_date,
        "weight_kg": weight_kg,
        "indication": indication,
        "start_date": start_date,
        "starting_dose_mg": starting_dose_mg,
        "schedule": DEFAULT_SCHEDULE[indication] if schedule == SCHEDULE_DEFAULT else schedule,
        "combination": combination.strip() or DEFAULT_COMBINATION.get(indication),
        "reproductive_potential": reproductive_potential,
        "menses": None if menses == "-" else menses,
        "dialysis": dialysis,
    }


def course_problem(record: dict, profile: str = "us_pi") -> str | None:
    """Why the course form cannot be saved, with the fix: no MRN, a Cockcroft-Gault input missing, or a
    starting dose off the indication's ladder; None when it can."""
    if not record["mrn"]:
        return "enter the patient's MRN (the identifier used in your lab exports)."
    missing = missing_setup_fields(record)
    if missing:
        return (
            f"enter the patient's {and_join(missing)} "
            "(needed for the Cockcroft-Gault creatinine clearance and the renal starting dose)."
        )
    return dose_problem(record["indication"], record["starting_dose_mg"], profile)


# A change to a stored patient or course needs a reason, kept with the earlier version (issue 11: history,
# not overwrites): every field the engine reads sets a dose, the CrCl and renal start (weight, birth date, sex,
# dialysis; DOMAIN.md 3), the cycle calendar (schedule), REMS testing (reproductive potential, menses; DOMAIN.md
# 5) or VTE risk (combination). Only a corrected name needs none. Indication and start date identify a course
# (store.courses): a save with others adds a course, the stored one stays as it was.
CHANGE_WORDS = {
    "name": "name",
    "sex": "sex",
    "birth_date": "birth date",
    "weight_kg": "weight",
    "starting_dose_mg": "starting dose",
    "schedule": "schedule",
    "combination": "combination",
    "dialysis": "dialysis",
    "reproductive_potential": "reproductive potential",
    "menses": "menses",
}
NO_REASON_NEEDED = ("name",)
CHANGE_REASON_MAX = 500


def course_changes(record: dict, *, session: Any) -> list[str]:
    """The stored values saving this course_record would change, in the form's words ([] for a new patient
    or course, or none changed); store.pending_changes."""
    from lenadash import store

    return [CHANGE_WORDS.get(name, name) for name in store.pending_changes(session=session, row=record)]


def reason_problem(record: dict, reason: str, *, session: Any) -> str | None:
    """Why the course cannot be saved without a reason: it changes a stored value other than the name."""
    from lenadash import store

    needing = [n for n in store.pending_changes(session=session, row=record) if n not in NO_REASON_NEEDED]
    if needing and not reason.strip():
        words = and_join([CHANGE_WORDS.get(n, n) for n in needing])
        return f"give the reason for changing the stored {words} (kept in the patient's history)."
    return None


def save_course(record: dict, *, session: Any, profile: str = "us_pi", reason: str = "") -> None:
    """Check a course_record (course_problem; a reason when it changes a stored value, reason_problem) and store
    the patient and course (store.upsert_patient_course), which keeps the earlier version with who and why.
    Raises InputError with the sentence to show when a field is missing or not valid; nothing is stored then.
    The audit trail gets the course's coded fields before (none for a new course) and after."""
    from lenadash import access, store

    access.require("edit_course")
    problem = course_problem(record, profile) or reason_problem(record, reason, session=session)
    if problem:
        raise InputError(problem)
    before = _course_now(record.get("mrn"), session=session)
    # a value the models refuse is a StoreError naming the field
    store.upsert_patient_course(
        session=session, row=record, changed_by=access.actor_name(254), reason=reason.strip()[:CHANGE_REASON_MAX]
    )
    after = _course_now(record.get("mrn"), session=session) or _audited(record, COURSE_AUDITED)
    access.audit("course_edit", session=session, patient=record.get("mrn"), detail={"before": before, "after": after})


def _audited(row: Any, fields: tuple[str, ...]) -> dict:
    """The audited fields of a row, as plain values (dates as ISO text, NaN as None)."""
    out: dict[str, Any] = {}
    for k in fields:
        if k not in row:
            continue
        v = row[k]
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out[k] = None
        elif hasattr(v, "isoformat"):
            out[k] = (v.date() if isinstance(v, pd.Timestamp) else v).isoformat()
        elif hasattr(v, "item"):
            out[k] = v.item()
        else:
            out[k] = v
    return out


def _course_now(mrn: Any, *, session: Any) -> dict | None:
    """The stored course of `mrn` (its audited fields), None when the patient has no course yet."""
    from lenadash import store

    patients = store.load_patients(session=session)
    mine = patients[patients["mrn"] == mrn] if len(patients) else patients
    if mine.empty or pd.isna(mine.iloc[-1].get("start_date")):
        return None
    return _audited(mine.iloc[-1], COURSE_AUDITED)


# What the audit trail keeps of a course edit and a recorded event: coded fields, never names or free text.
COURSE_AUDITED = ("indication", "starting_dose_mg", "schedule", "start_date", "combination", "weight_kg")
EVENT_AUDITED = ("event", "date", "dose_mg", "is_hold", "grade", "temperature_c", "result", "agent")
# REMS records a pharmacist may make (the rems permission) besides those who may record any event.
REMS_KINDS = ("pregnancy_test", "rems_authorization")


def event_action(kind: str | None) -> str:
    """The permission a recorded event needs (and voiding it: the same): a dose change is a dose decision; a REMS
    record is REMS work for whoever holds that and not record_event; anything else is record_event."""
    from lenadash import access

    if kind == "dose_change":
        return "dose_decision"
    if kind in REMS_KINDS and not access.allowed("record_event", access.current_actor()):
        return "rems"
    return "record_event"


# --- clinical events --------------------------------------------------------------------------

# What each event kind's value is, in the words of the form's hint.
EVENT_HELP = {
    "fever": "temperature in C",
    "platelet_transfusion": "",
    "toxicity": "CTCAE grade 1-5",
    "pregnancy_test": "negative or positive",
    "marrow_biopsy": "",
    "marrow_biopsy_planned": "no value; the date is the planned date (any indication, may be after today)",
    "missed_period": "no value; the date is the day the period was missed (stops treatment, REMS)",
    "dose_change": "new dose in mg, or hold",
    "thromboprophylaxis": "agent, e.g. aspirin, LMWH, warfarin",
    "vte_risk_factor": "in the Agent field, one of: " + ", ".join(VTE_FACTORS) + " (docs/insight.md)",
    "rems_authorization": "in the Agent field, the authorization number the REMS gave for the prescription",
}
# The value fields of the form that belong to each kind; the others are not stored with it.
_EVENT_VALUE_FIELDS = {
    "fever": ("temperature_c",),
    "toxicity": ("grade",),
    "pregnancy_test": ("result",),
    "dose_change": ("dose_mg", "is_hold"),
    "thromboprophylaxis": ("agent",),
    "vte_risk_factor": ("agent",),
    "rems_authorization": ("agent",),
}
EVENT_DATE_HELP = (
    "The day it happened. For a planned marrow biopsy, the planned date (it may be after today); "
    "for a missed period, the day the period was missed."
)


def event_kinds_help() -> str:
    """The help of the form's event picker: what each kind records (EVENT_HELP), one line per kind."""
    return "\n".join(f"- **{EVENT_LABELS[kind]}**: {EVENT_HELP[kind] or 'no value'}" for kind in EVENT_HELP)


def event_record(
    *,
    mrn: str,
    date: dt.date,
    kind: str,
    detail: str,
    temperature_c: float | None,
    grade: int | None,
    result: str,
    dose_mg: float | None,
    is_hold: bool,
    agent: str,
) -> dict:
    """The events-contract row of the event form; blank text becomes None, and a value typed in a field
    of another kind (a temperature with a missed period) is not kept."""
    values = {
        "temperature_c": temperature_c,
        "grade": grade,
        "result": result or None,
        "dose_mg": dose_mg,
        "is_hold": is_hold,
        "agent": agent.strip() or None,
    }
    own = _EVENT_VALUE_FIELDS.get(kind, ())
    kept = {name: (value if name in own else (False if name == "is_hold" else None)) for name, value in values.items()}
    return {"mrn": mrn, "date": date, "event": kind, "detail": detail, **kept}


def event_problem(event: dict) -> str | None:
    """Why an event cannot be recorded: its kind needs a value the form left empty; None when it can."""
    kind = event["event"]
    missing = {
        "fever": event["temperature_c"] is None,
        "toxicity": event["grade"] is None,
        "pregnancy_test": not event["result"],
        "dose_change": event["dose_mg"] is None and not event["is_hold"],
        "thromboprophylaxis": not event["agent"],
        "vte_risk_factor": (event["agent"] or "").strip().lower() not in VTE_FACTORS,
        "rems_authorization": not event["agent"],
    }
    if missing.get(kind):
        return f"a {EVENT_LABELS[kind].lower()} event needs its value: {EVENT_HELP[kind]}."
    return None


def record_event(event: dict, *, session: Any, recorded_by: str | None = None, before: dict | None = None) -> None:
    """Check an event_record (event_problem) and store it (store.add_event) with who recorded it (the
    clinician's user name, decisions.who; the time is the store's). Raises InputError with the sentence to
    show when its value is missing or not valid; nothing is stored then. The audit row holds the event's coded
    fields as `after`, and `before` when given (a dose decision: what the card showed, decisions.shown), with
    the rule ids it rests on."""
    from lenadash import access, store

    needed = access.require(event_action(event.get("event")))
    problem = event_problem(event)
    if problem:
        raise InputError(problem)
    # a value the models refuse is a StoreError naming the field
    store.add_event(session=session, row=event, recorded_by=recorded_by)
    after = _audited(event, EVENT_AUDITED)
    action = "dose_decision" if event.get("event") == "dose_change" else "event_recorded"
    detail: dict[str, Any] = {"after": after}
    if before is not None:
        detail = {"before": before, "after": after, "rules": before.get("rules") or []}
    access.audit(action, session=session, patient=event.get("mrn"), detail=detail, actor=needed)


VOID_REASON_MAX = 500


def may_void(event: dict) -> bool:
    """Whether the acting user may void this event: the permission recording its kind needs (event_action)."""
    from lenadash import access

    return access.allowed(event_action(event.get("event")), access.current_actor())


def void_event(event: dict, *, reason: str, session: Any) -> None:
    """Void one stored event entered in error (a row of store.load_events(include_voided=True)): the same
    permission as recording that kind (event_action), a reason required; the row stays, marked voided, and
    leaves the assessment (store.void_event). Audited as event_voided with the event's coded fields before and
    after (the reason is free text: it stays in the patient's history, not in the trail)."""
    from lenadash import access, store

    needed = access.require(event_action(event.get("event")))
    if not reason.strip():
        raise InputError("give the reason the event is voided (for example: entered for the wrong patient).")
    store.void_event(
        session=session,
        event_id=int(event["event_id"]),
        voided_by=access.actor_name(254),
        reason=reason.strip()[:VOID_REASON_MAX],
    )
    before = {k: event.get(k) for k in EVENT_AUDITED if k in event} | {"voided": False}
    access.audit(
        "event_voided",
        session=session,
        patient=event.get("mrn"),
        detail={"before": before, "after": before | {"voided": True}},
        actor=needed,
    )


def picker_label(mrn: str, names: dict) -> str:
    """How Setup's patient pickers name a patient: "LD0001 - Ada Lovelace" (cards.patient_label), as text:
    a selectbox shows its options character for character."""
    from lenadash.dashboard.cards import patient_label

    return patient_label(mrn, names.get(mrn))


def picker_names(patients: Any, assessed: dict) -> dict:
    """{MRN: name} for Setup's pickers: the patients table's newest name per MRN, then the assessment's
    names for patients known only from lab files (no name: patient_label says "no course yet")."""
    names = {str(m): p.get("name") for m, p in assessed.items()}
    if len(patients):
        names.update({str(m): n for m, n in zip(patients["mrn"], patients["name"])})
    return names
