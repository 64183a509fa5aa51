"""The patient cards: what the label says now (next action, resume plan), upcoming dates, identity and labels."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from lenadash.dashboard.assessed import as_date, last_draw, required_date
from lenadash.dashboard.present import ACTION_LABELS, analyte_label
from lenadash.vocab.course import INDICATION_NAMES

HELD = ("hold", "stay_held")
# REMS stop (DOMAIN.md section 5): the recorded events that stop treatment, in the card's words.
STOP_EVENTS = {"pregnancy_test": "positive pregnancy test", "missed_period": "missed period"}
# The resume plan's `basis` (assess contract) in words.
RESUME_BASIS = {
    "start": "the starting dose",
    "next_lower": "the next lower dose",
    "same": "the same dose",
    "clinician": "a clinician decision",
}

# The card's tone per notice kind (lenadash/clinical/notices.py, docs/assess.md), and how the screen-shared
# visit card words it for the patient (no rule ids, no sources; None: not listed there). The card takes the
# most severe of its action's tone and its notices' tones (card_tone): red when the dose is stopped or held
# (REMS stop; a hold, US PI 2.1-2.4); amber when something besides the dose needs the clinician: an overdue
# marrow biopsy (MDS patient guide) or REMS pregnancy test (Lenalidomide REMS), a review, a renal or
# thromboprophylaxis gap (US PI 2.5, 5.4), the cycle limit (US PI 2.4); none for information (the next dates,
# shown on the card's CBC line and on the upcoming card).
NOTICE_CARD: dict[str, tuple[str, str | None]] = {
    "stopped": ("red", "Treatment is stopped; your doctor will talk with you about what comes next."),
    "hold": ("red", "The capsules are paused until your blood counts recover."),
    "review": ("amber", "Your doctor will look at your results before deciding the next dose."),
    "grade3": ("amber", "One of your results needs a closer look by your doctor."),
    "cbc_overdue": ("amber", "A blood test is overdue."),
    "cbc_due": ("none", None),
    "biopsy_overdue": ("amber", "A bone-marrow biopsy is overdue."),
    "biopsy_due": ("none", None),
    "pregnancy_test_overdue": ("amber", "A pregnancy test is overdue."),
    "pregnancy_test_due": ("none", None),
    "rems_pretreatment_missing": ("amber", "A pregnancy test from before the start is not on record."),
    "thromboprophylaxis_missing": ("amber", "Medicine to prevent blood clots is not on record."),
    "renal_dose_above_label": ("amber", "Your kidney function affects the dose; your doctor will check it."),
    "renal_band_fall": ("amber", "Your kidney function affects the dose; your doctor will check it."),
    "renal_not_studied": ("amber", "Your kidney function affects the dose; your doctor will check it."),
    "renal_no_crcl": ("none", None),
    "stale_creatinine": ("none", None),
    "cycle_limit": ("amber", "You have reached the planned number of cycles; your doctor will decide what comes next."),
    "labs_without_course": ("amber", "Your treatment plan is not recorded yet."),
    # issue 13 (clinical/insight): a CBC overdue past the escalation setting is as urgent as a hold - the
    # advice on the card rests on counts nobody has seen for weeks
    "cbc_overdue_escalated": ("red", "A blood test is well overdue; please have it as soon as you can."),
    "vte_prophylaxis_mismatch": ("amber", "Your doctor will check the medicine you take to prevent blood clots."),
    "vte_score_review": ("none", None),
    "pregnancy_test_before_prescription": ("amber", "A pregnancy test is due before your next prescription."),
}
NOTICE_TONES = {kind: tone for kind, (tone, _) in NOTICE_CARD.items()}
# A kind this table does not know yet takes its tone from the notice's severity.
SEVERITY_TONES = {"urgent": "red", "action": "amber", "info": "none"}
# The latest action's own tone: red for hold and stop (REMS), amber for review, green to dose.
ACTION_TONE = {
    "hold": "red",
    "stay_held": "red",
    "stop": "red",
    "review": "amber",
    "continue": "green",
    "resume": "green",
}
# Shown elsewhere on the card (the headline, the held-since and CBC lines) or on the upcoming card.
NOT_LISTED = frozenset({"stopped", "hold", "cbc_due", "cbc_overdue", "biopsy_due", "pregnancy_test_due"})


def notice_tone(notice: dict) -> str:
    """red, amber or none for one notice (NOTICE_CARD, else its severity)."""
    kind = str(notice.get("kind"))
    return NOTICE_TONES.get(kind) or SEVERITY_TONES.get(str(notice.get("severity")), "amber")


def card_tone(card: dict) -> str:
    """The card's colour: red if the action or any notice is red, else amber if either is amber, else the
    action's own tone (green to dose, none without a draw)."""
    tones = {ACTION_TONE.get(card.get("action") or "", "none")} | {notice_tone(n) for n in card.get("notices") or []}
    return next((t for t in ("red", "amber") if t in tones), ACTION_TONE.get(card.get("action") or "", "none"))


def listed_notices(card: dict, *, visit: bool = False) -> list[dict]:
    """The notices the card lists under the action, most severe first: {tone, text}. The clinician's card
    has the notices' texts; the visit card (`visit=True`) the patient's words of NOTICE_CARD, once each."""
    out: list[dict] = []
    for n in card.get("notices") or []:
        kind = str(n.get("kind"))
        if kind in NOT_LISTED:
            continue
        text = NOTICE_CARD.get(kind, ("", None))[1] if visit else n.get("text")
        if text and all(o["text"] != text for o in out):
            out.append({"tone": notice_tone(n), "text": str(text)})
    return out


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


def notices_of(patient: dict, *kinds: str) -> list[dict]:
    """The patient's notices (assess `notices`), only those of `kinds` when given; [] when none."""
    return [n for n in patient.get("notices") or [] if not kinds or n.get("kind") in kinds]


def _stop_run_start(patient: dict) -> dt.date | None:
    """The first draw of the latest run of `stop` draws; None when the latest draw is no stop."""
    first = None
    for d in reversed(patient.get("draws") or []):
        if d.get("action") != "stop":
            break
        first = as_date(d.get("date"))
    return first


def _stop_event(
    events: pd.DataFrame | None, *, on: dt.date | None, until: dt.date | None
) -> tuple[str, dt.date] | None:
    """(event kind, date) of the recorded REMS stop: a positive pregnancy test or a missed period, the one
    on `on` when there is one, else the latest on or before `until`; None when none is recorded."""
    if events is None or events.empty:
        return None
    kind = events["event"].astype(str)
    result = events["result"] if "result" in events.columns else pd.Series(None, index=events.index, dtype=object)
    stops = events[(kind.eq("pregnancy_test") & result.eq("positive")) | kind.eq("missed_period")]
    found = [(str(e), d) for e, d in zip(stops["event"], stops["date"].map(as_date)) if d is not None]
    exact = [f for f in found if f[1] == on]
    earlier = [f for f in found if until is None or f[1] <= until]
    return exact[-1] if exact else max(earlier, key=lambda f: f[1], default=None)


def _stop_of(
    patient: dict, events: pd.DataFrame | None, as_of: dt.date | None
) -> tuple[dt.date | None, tuple[str, dt.date] | None]:
    """(the stop's date from the assessment: the `stopped` notice's `due`, else the first draw of the stop;
    the patient's recorded REMS event (kind, date) on that date, else the latest on or before as_of)."""
    notice = next(iter(notices_of(patient, "stopped")), {})
    on = as_date(notice.get("due")) or _stop_run_start(patient)
    if events is not None and "mrn" in events.columns:
        events = events[events["mrn"].astype(str) == str(patient.get("mrn"))]
    return on, _stop_event(events, on=on, until=as_of)


def stop_date(patient: dict, *, events: pd.DataFrame | None = None, as_of: dt.date | None = None) -> dt.date | None:
    """When a stopped course stopped: the recorded REMS event's date (a positive pregnancy test or a missed
    period, as stop_text finds it), else the `stopped` notice's `due` or the first draw of the stop; None for
    a course that is not stopped."""
    if not is_stopped(patient):
        return None
    on, event = _stop_of(patient, events, as_of)
    return event[1] if event is not None else on


def stop_text(patient: dict, *, events: pd.DataFrame | None = None, as_of: dt.date | None = None) -> str:
    """A stopped course's headline, from data: "Stopped (REMS): positive pregnancy test on 12 Nov 2026".
    The date is the `stopped` notice's `due`, else the first draw of the stop; the cause is the patient's
    recorded event (pregnancy_test with result positive, or missed_period; `events`, store.load_events)
    on that date, else the latest before it. Without events the cause is left out."""
    on, event = _stop_of(patient, events, as_of)
    if event is not None:
        return f"Stopped (REMS): {STOP_EVENTS[event[0]]} on {event[1]:%d %b %Y}"
    return "Stopped (REMS)" + (f" on {on:%d %b %Y}" if on is not None else "")


def is_stopped(patient: dict) -> bool:
    """The course is stopped (REMS): status `stopped` or the latest draw's action `stop`."""
    return patient.get("status") == "stopped" or last_draw(patient).get("action") == "stop"


def dose_text(patient: dict) -> str:
    """The dose now in words: "stopped", "held", "25 mg", or "-" when unknown."""
    if is_stopped(patient):
        return "stopped"
    if patient.get("status") == "held":
        return "held"
    dose = patient.get("current_dose_mg")
    return f"{dose:g} mg" if dose else "-"


def card_action(patient: dict) -> str | None:
    """The action the card shows: `stop` for a stopped course, `hold` for a held one whose latest draw
    is no hold (a clinician's hold, or a stop lifted to a hold, recorded after the draw: the status is
    newer than the draw), `resume` for a course on treatment whose latest draw held it (a clinician's dose
    recorded after the draw), else the latest draw's action; None without a draw."""
    last = last_draw(patient).get("action")
    if is_stopped(patient):
        return "stop"
    if patient.get("status") == "held" and last not in HELD:
        return "hold"
    if patient.get("status") in ("on_treatment", "review") and last in HELD and patient.get("current_dose_mg"):
        return "resume"  # a clinician's dose recorded after the held draw ended the hold (dose_change event)
    return last


def _superseded(decided: dict | None) -> list[str]:
    """Why the card's action is not the latest draw's: a decision recorded after it."""
    if decided is None or decided.get("date") is None:
        return []
    what = "a hold" if decided["is_hold"] else f"{decided['dose_mg']:g} mg" if decided.get("dose_mg") else "a dose"
    return [f"the clinician's decision recorded for {decided['date']:%d %b %Y} ({what}) supersedes the draw's advice"]


def _draw_reasons(draw: dict) -> list[str]:
    reasons = [r for r in (draw.get("reasons") or []) if r]
    if not reasons and draw.get("action") == "continue":
        return ["No hold or resume rule applies to the latest draw."]
    return reasons


def _card_source(patient: dict, last: dict, *, rules: str, action: str | None) -> str | None:
    """Where the advice comes from: the stop notice's or the resume plan's `source`, else the draw's
    sources, else the rule profile."""
    stopped = action == "stop"
    if stopped and (source := next((n.get("source") for n in notices_of(patient, "stopped") if n.get("source")), None)):
        return str(source)
    plan = patient.get("resume_plan") or {}
    if action in HELD and plan.get("source"):
        return str(plan["source"])
    sources = last.get("sources") or ([last["source"]] if last.get("source") else [])
    if sources:
        return "; ".join(sources)
    return f"rule profile {rules}; each reason names its label section and rule" if rules else None


def next_action(
    patient: dict, *, rules: str = "", as_of: dt.date | None = None, events: pd.DataFrame | None = None
) -> dict:
    """What the label says now for the patient: headline, dose, reasons and source, from the
    latest draw's action (None fields when the patient has no draw yet).

    A stopped course (REMS) reads "Stopped (REMS): positive pregnancy test on <date>" (`stop_text`;
    `events` are the patient's recorded events) with dose None; a stop or hold recorded after the latest
    draw (status newer than the draw, `card_action`) supersedes that draw's reasons and rule ids. A held
    one carries the resume line (`resume_plan`) and the rule ids: `rules` of the latest draw,
    `resume_rule` of the plan. `alerts` are the notices' texts, most urgent first. When the CBC is
    overdue (assess `labs_overdue`, US PI 5.3) the advice is stale: `overdue` holds "CBC overdue since
    <date>; the last advice is from a draw N days old" (N counted to `as_of`), and the card must not
    read as a plain continue. None when not overdue."""
    last = last_draw(patient)
    action = card_action(patient)
    stopped = action == "stop"
    current = action == last.get("action")  # else a stop or hold recorded after the draw supersedes it
    decided = recorded_decision(events, str(patient.get("mrn") or ""), since=as_date(last.get("date")))
    later = decided is not None and decided["date"] != as_date(last.get("date"))  # a step after the draw
    drawn_dose = None if later else last.get("dose_mg")
    dose = (
        None
        if action in (*HELD, "stop")
        else (drawn_dose if drawn_dose is not None else patient.get("current_dose_mg"))
    )
    schedule = last.get("schedule") or ""
    notices = notices_of(patient)
    return {
        "action": action,
        "headline": stop_text(patient, events=events, as_of=as_of) if stopped else _headline(action, dose, schedule),
        "status": patient.get("status"),
        "dose_mg": dose,
        "dose_text": dose_text(patient),
        "schedule": schedule or None,
        "date": as_date(last.get("date")),
        "reasons": _draw_reasons(last) if current else _superseded(decided),
        "rules": [str(r) for r in last.get("rules") or []] if current else [],
        "source": _card_source(patient, last, rules=rules, action=action),
        "alerts": [n.get("text") for n in notices if n.get("text")]
        if notices
        else [a for a in (patient.get("alerts") or []) if a],
        "notices": notices,
        "overdue": _overdue_text(patient, last, as_of),
        "resume": resume_plan(patient) if action in HELD else None,
        "resume_rule": resume_rule(patient) if action in HELD else None,
        **_card_facts(patient, last, action=action, events=events),
    }


def _card_facts(patient: dict, last: dict, *, action: str | None, events: pd.DataFrame | None) -> dict:
    """The structured facts the compact card, its note and Accept/Modify read (issue 9 items 2 and 6): the
    MRN and indication, the next CBC, the hold's start and triggering counts with their grades, the plan, the
    latest draw's counts, the rule profile's sources, and the latest recorded dose decision."""
    plan = patient.get("resume_plan") if action in HELD else None
    drawn = as_date(last.get("date"))
    return {
        "mrn": str(patient.get("mrn") or ""),
        "indication": patient.get("indication"),
        "next_cbc": as_date(patient.get("next_labs_due")),
        "cbc_overdue": bool(patient.get("labs_overdue")),
        "plan": dict(plan) if plan else None,
        "held_since": as_date((plan or {}).get("since")),
        "held_for": _held_for(patient, plan) if plan else [],
        "counts": _counts(last),
        "sources": [str(x) for x in last.get("sources") or ([last["source"]] if last.get("source") else [])],
        "dose_held_at": dose_now(patient) if action in (*HELD, "stop") else None,
        "decision": recorded_decision(events, str(patient.get("mrn") or ""), since=drawn),
    }


def _held_for(patient: dict, plan: dict) -> list[dict]:
    """The counts that triggered the hold, as they were then, with their CTCAE grade on that draw when known:
    [{analyte, value, grade}] (assess resume_plan `triggers`)."""
    since = str(plan.get("since") or "")
    draw: dict = next((d for d in patient.get("draws") or [] if str(d.get("date")) == since), {})
    grades = draw.get("grades") or {}
    return [
        {"analyte": str(t.get("analyte")), "value": t.get("value"), "grade": grades.get(str(t.get("analyte")))}
        for t in plan.get("triggers") or []
    ]


def _counts(last: dict) -> list[dict]:
    """ANC and platelets of the latest draw with their grades: [{analyte, value, grade}] (absent ones left out)."""
    values, grades = last.get("values") or {}, last.get("grades") or {}
    return [
        {"analyte": a, "value": values[a], "grade": grades.get(a)} for a in ("anc", "plt") if values.get(a) is not None
    ]


def recorded_decision(events: pd.DataFrame | None, mrn: str, *, since: dt.date | None) -> dict | None:
    """The latest dose decision recorded for the patient (a dose_change event: a dose or a hold, from Accept,
    Modify, Setup or an events file) dated on or after `since` (the latest draw), else None. Keys: date,
    dose_mg (None for a hold), is_hold, detail, recorded_by (None: imported, or recorded before lenadash kept
    who) and recorded_at (a UTC instant, or None)."""
    if events is None or events.empty or not mrn:
        return None
    mine = events[(events["mrn"].astype(str) == mrn) & (events["event"].astype(str) == "dose_change")]
    rows = [r for r in mine.to_dict("records") if since is None or (as_date(r["date"]) or since) >= since]
    if not rows:
        return None
    r = rows[-1]  # load_events orders by date, then by id (the order of recording)
    dose = r.get("dose_mg")
    return {
        "date": as_date(r["date"]),
        "dose_mg": None if dose is None or pd.isna(dose) or r.get("is_hold") else float(dose),
        "is_hold": bool(r.get("is_hold")),
        "detail": str(r.get("detail") or ""),
        "recorded_by": _text_or_none(r.get("recorded_by")),
        "recorded_at": None if r.get("recorded_at") is None or pd.isna(r.get("recorded_at")) else r["recorded_at"],
    }


def _text_or_none(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) or str(value) == "" else str(value)


def held_line(card: dict) -> str:
    """ "Held since 09 Nov 2026 for ANC 0.44 (G4)" from the hold's start and triggering counts."""
    since = card.get("held_since")
    if since is None:
        return ""
    why = ", ".join(
        f"{analyte_label(c['analyte']) if c['analyte'] != 'toxicity' else 'toxicity grade'} {c['value']:g}"
        + (f" (G{int(c['grade'])})" if c.get("grade") is not None and c["analyte"] != "toxicity" else "")
        for c in card.get("held_for") or []
    )
    return f"Held since {since:%d %b %Y}" + (f" for {why}" if why else "")


def cbc_line(card: dict, *, as_of: dt.date | None) -> str:
    """ "Next CBC: Mon 23 Nov 2026 (in 7 days)", "... - OVERDUE"; "" without a date."""
    due = card.get("next_cbc")
    if due is None:
        return ""
    if card.get("cbc_overdue"):
        return f"Next CBC: {due:%a %d %b %Y} - OVERDUE"
    days = in_days_text((due - as_of).days) if as_of is not None else ""
    return f"Next CBC: {due:%a %d %b %Y}" + (f" ({days})" if days else "")


def decision_line(card: dict, *, visit: bool) -> str:
    """The latest recorded dose decision since the draw: "Recorded 16 Nov 2026: hold (by alice, 10:42 UTC)"."""
    done = card.get("decision")
    if not done or done.get("date") is None:
        return ""
    what = "hold" if done["is_hold"] else f"{done['dose_mg']:g} mg" if done.get("dose_mg") is not None else "dose"
    text = f"Decision recorded {done['date']:%d %b %Y}: {what}"
    if visit:
        return text
    by = done.get("recorded_by") or "an events file"
    at = done.get("recorded_at")
    when = f", {pd.Timestamp(at).tz_convert('UTC'):%d %b %H:%M} UTC" if at is not None and not pd.isna(at) else ""
    detail = f" - {done['detail']}" if done.get("detail") else ""
    return f"{text} (by {by}{when}){detail}"


def _condition_text(when: dict) -> str:
    """One resume condition as the label writes it: "ANC >= 1.0", "Platelets >= 30"."""
    return f"{analyte_label(str(when.get('analyte')))} {when.get('op')} {_threshold_text(float(when['value']))}"


def resume_plan(patient: dict) -> str | None:
    """The held course's resume plan in words, formatted from the engine's `resume_plan` (assess; computed
    by the same walk that will resume): "Resume at 25 mg when ANC >= 1.0", several conditions joined with
    "and", the schedule named when it changes ("Resume at 5 mg (21/28) when ..."), and "Resume dose:
    clinician decision when ..." where the label leaves the dose to the clinician (`dose_mg` null).
    None when the patient has no plan (not held)."""
    plan = patient.get("resume_plan")
    if not plan:
        return None
    conditions = " and ".join(dict.fromkeys(_condition_text(w) for w in plan.get("when") or []))
    when = f" when {conditions}" if conditions else ""
    if plan.get("dose_mg") is None:
        return f"Resume dose: clinician decision{when}"
    schedule = plan.get("schedule")
    changes = schedule and schedule != (patient.get("schedule") or last_draw(patient).get("schedule"))
    return f"Resume at {float(plan['dose_mg']):g} mg{f' ({schedule})' if changes else ''}{when}"


def resume_rule(patient: dict) -> str | None:
    """Which rule the resume plan follows and why that dose: "MM-ANC-FIRST: the starting dose"
    (plan `rule` and `basis`); None when there is no plan."""
    plan = patient.get("resume_plan")
    if not plan:
        return None
    basis = RESUME_BASIS.get(str(plan.get("basis")), "")
    rule = str(plan.get("rule") or "")
    return ": ".join(p for p in (rule, basis) if p) or None


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
    """Marrow biopsy (week 12) on the MDS calendar, Marrow biopsy (planned) for a clinician's plan."""
    return f"Marrow biopsy ({_biopsy_when(biopsy)})" if _biopsy_when(biopsy) else "Marrow biopsy"


def _biopsy_when(biopsy: dict) -> str:
    week = biopsy.get("week")
    if week is not None:
        return f"week {week}"
    return "planned" if biopsy.get("planned") else ""


def _later_label(biopsy: dict) -> str:
    return f"week {biopsy['week']}" if biopsy.get("week") is not None else "the planned one"


def _biopsy_rows(patient: dict, *, as_of: dt.date) -> list[dict]:
    """Open marrow biopsies, calendar and planned (assess `marrow_biopsies`, any indication): one line for
    the overdue ones (the earliest, with the count of the others - not 17 lines), then each one still
    ahead with its week label, or "planned"."""
    biopsies = [b for b in patient.get("marrow_biopsies") or [] if not b.get("done") and b.get("due")]
    biopsies.sort(key=lambda b: required_date(b["due"]))
    overdue = [b for b in biopsies if required_date(b["due"]) < as_of]
    rows = []
    if overdue:
        first, others = overdue[0], overdue[1:]
        why = (
            f"{len(others)} later marrow biops{'y' if len(others) == 1 else 'ies'} also overdue "
            f"(up to {_later_label(others[-1])}, due {as_date(others[-1]['due']):%d %b %Y})"
            if others
            else ""
        )
        rows.append({"what": _biopsy_label(first), "due": as_date(first["due"]), "why": why})
    for b in biopsies:
        if required_date(b["due"]) >= as_of:
            rows.append({"what": _biopsy_label(b), "due": as_date(b["due"])})
    return rows


def upcoming(patient: dict, *, as_of: dt.date) -> pd.DataFrame:
    """Upcoming dates: next CBC, each open marrow biopsy (MDS calendar with its week label, or planned by
    the clinician for any indication; else `next_marrow_biopsy`), next pregnancy test; `overdue` when the
    date is before as_of (DOMAIN.md section 5)."""
    rows: list[dict[str, Any]] = []
    if patient.get("next_labs_due"):
        rows.append(
            {"what": "Next CBC", "due": as_date(patient["next_labs_due"]), "why": patient.get("next_labs_reason") or ""}
        )
    biopsies = _biopsy_rows(patient, as_of=as_of)
    if not biopsies and patient.get("next_marrow_biopsy"):
        biopsies = [{"what": "Marrow biopsy", "due": as_date(patient["next_marrow_biopsy"])}]
    rows += biopsies
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
