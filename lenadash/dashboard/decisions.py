"""Recording the decision on the card: what Accept records, Modify's choices and reason, who recorded it, the note.

The card advises; the clinician decides. Accept records the advised dose change or hold as a clinician's
dose_change event (US PI 2.1-2.4: only a clinician's recorded dose ends a hold the clinician recorded; an
engine hold accepted stays the engine's episode, so its resume plan holds). Modify records another dose or a
hold with a required reason. Both say who (the signed-in user in clinic mode, else the operating-system user)
and when (a UTC instant, stored by lenadash.store); only a role with dose_decision may record them, and the
audit trail keeps what the card showed (`shown`) beside what was recorded. The note is made here from the
card's structured fields (cards.next_action:
the action, the resume plan, the triggering counts, the next CBC, the notices' kinds and dates, the
sources), never by reading its sentences back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lenadash.dashboard.assessed import as_date
from lenadash.dashboard.present import analyte_label
from lenadash.errors import InputError

HOLD = "hold"  # Modify's choice that records a hold
HELD = ("hold", "stay_held")
REASON_MAX = 400  # the event's detail holds 500 characters, with the "modified: " prefix and more


def who() -> str:
    """Who records a decision (clinical_event.recorded_by, 64 characters): the signed-in user's e-mail in
    clinic mode, the operating-system user in local mode (access.actor_name); "unknown" when none is named."""
    from lenadash import access

    return access.actor_name(limit=64)


def shown(card: dict) -> dict:
    """What the card showed when the clinician decided, for the audit trail's `before` (coded values only):
    the advised action and dose, the status, the draw's date, the rule ids it rests on, and the decision
    recorded before this one, if any."""
    plan = card.get("plan") or {}
    rules = list(card.get("rules") or []) or ([plan["rule"]] if plan.get("rule") else [])
    earlier = card.get("decision") or None
    return {
        "action": card.get("action"),
        "dose_mg": card.get("dose_mg"),
        "status": card.get("status"),
        "draw": card.get("date"),
        "rules": [str(r) for r in rules],
        "recorded": {"is_hold": earlier.get("is_hold"), "dose_mg": earlier.get("dose_mg")} if earlier else None,
    }


def advice(card: dict) -> dict | None:
    """What Accept records for the card (cards.next_action): {is_hold, dose_mg, label}. A hold (or staying held)
    is a hold; a resume or continue is its dose. None where the label gives no dose to accept (review, stop,
    no draw, an unknown dose): the clinician uses Modify."""
    action = card.get("action")
    if action in HELD:
        return {"is_hold": True, "dose_mg": None, "label": "Accept: hold"}
    dose = card.get("dose_mg")
    if action in ("resume", "continue") and dose:
        verb = "resume" if action == "resume" else "continue"
        return {"is_hold": False, "dose_mg": float(dose), "label": f"Accept: {verb} {float(dose):g} mg"}
    return None


def is_recorded(card: dict) -> bool:
    """The card's advice is already the latest recorded decision since the latest draw (Accept is done)."""
    wanted, done = advice(card), card.get("decision")
    if wanted is None or not done:
        return False
    if wanted["is_hold"]:
        return bool(done["is_hold"])
    return not done["is_hold"] and done["dose_mg"] == wanted["dose_mg"]


def _event(mrn: str, on: dt.date, *, is_hold: bool, dose_mg: float | None, detail: str) -> dict:
    """The events-contract row of a dose_change (setup_form.record_event takes it)."""
    return {
        "mrn": mrn,
        "date": on,
        "event": "dose_change",
        "detail": detail[:500],
        "temperature_c": None,
        "grade": None,
        "result": None,
        "dose_mg": None if is_hold else dose_mg,
        "is_hold": is_hold,
        "agent": None,
    }


def accept_event(card: dict, *, on: dt.date) -> dict:
    """The dose_change event Accept records on `on` (the as-of date): the card's advice, with the rule ids it
    rests on in the detail. Raises InputError when the card has no advice to accept."""
    wanted = advice(card)
    if wanted is None or not card.get("mrn"):
        raise InputError("there is no advised dose to accept here: use Modify to record a dose or a hold.")
    rules = ", ".join(card.get("rules") or []) or (card.get("plan") or {}).get("rule") or ""
    detail = f"accepted: {wanted['label'].removeprefix('Accept: ')}" + (f" ({rules})" if rules else "")
    return _event(card["mrn"], on, is_hold=wanted["is_hold"], dose_mg=wanted["dose_mg"], detail=detail)


def modify_choices(indication: str | None, profile: str = "us_pi") -> list[Any]:
    """Modify's choices: "hold", then the indication's capsule doses, highest first (setup_form.starting_doses:
    the dose ladder and the renal starting doses); only "hold" without an indication."""
    if not indication:
        return [HOLD]
    from lenadash.dashboard.setup_form import starting_doses

    return [HOLD, *starting_doses(str(indication), profile).allowed_mg]


def choice_text(choice: Any) -> str:
    """Modify's picker words: "Hold", "15 mg"."""
    return "Hold" if choice == HOLD else f"{float(choice):g} mg"


def modify_event(card: dict, *, on: dt.date, choice: Any, reason: str) -> dict:
    """The dose_change event Modify records on `on`: another dose or a hold, with the clinician's reason (required;
    kept as the event's detail). Raises InputError without a reason or a choice."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError("say why the decision differs from the advice (the reason is kept with the event).")
    if choice is None or not card.get("mrn"):
        raise InputError("choose a dose or Hold.")
    if len(reason) > REASON_MAX:
        raise InputError(f"keep the reason under {REASON_MAX} characters (it has {len(reason)}).")
    is_hold = choice == HOLD
    return _event(
        card["mrn"], on, is_hold=is_hold, dose_mg=None if is_hold else float(choice), detail=f"modified: {reason}"
    )


# --- the note --------------------------------------------------------------------------------------------


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%b}"


def _weekday(d: dt.date) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def _num(value: Any) -> str:
    return f"{float(value):g}"


def _count(c: dict) -> str:
    """ "ANC 0.44 (G4)"; "toxicity grade 3" for the toxicity-event pseudo-count."""
    if c["analyte"] == "toxicity":
        return f"toxicity grade {int(float(c['value']))}"
    grade = c.get("grade")
    return f"{analyte_label(c['analyte'])} {_num(c['value'])}" + (f" (G{int(grade)})" if grade is not None else "")


def _condition(w: dict) -> str:
    value = float(w["value"])
    shown = f"{value:.1f}" if value == int(value) and value < 10 and w.get("analyte") != "toxicity" else f"{value:g}"
    name = "toxicity grade" if w.get("analyte") == "toxicity" else analyte_label(str(w.get("analyte")))
    return f"{name} {w.get('op')} {shown}"


def _action_part(card: dict) -> str:
    """The note's first clause: the action, its dose and the counts it rests on."""
    action = card.get("action")
    counts = ", ".join(_count(c) for c in card.get("counts") or [])
    drawn = card.get("date")
    on = f" ({counts} on {_day(drawn)})" if counts and drawn else ""
    schedule = f" {card['schedule']}" if card.get("schedule") else ""
    if action in HELD:
        since = card.get("held_since")
        why = ", ".join(_count(c) for c in card.get("held_for") or [])
        text = "Lenalidomide held" + (f" since {_day(since)}" if since else "")
        return text + (f" for {why}" if why else " by the clinician" if card.get("plan") else "")
    if action == "stop":
        headline = str(card.get("headline") or "Stopped (REMS)")
        return f"Lenalidomide {headline[:1].lower()}{headline[1:]}; the prescriber decides"
    if action == "resume" and card.get("dose_mg"):
        return f"Lenalidomide: resume at {_num(card['dose_mg'])} mg{schedule}{on}"
    if action == "continue" and card.get("dose_mg"):
        return f"Lenalidomide {_num(card['dose_mg'])} mg{schedule} continued{on}"
    if action == "review":
        return f"Lenalidomide: clinician review needed{on}"
    return "Lenalidomide: no lab draw yet"


def _resume_part(card: dict) -> str:
    """ "resume 15 mg when ANC >= 1.0" from the plan's data; "" when not held."""
    plan = card.get("plan")
    if not plan or card.get("action") not in HELD:
        return ""
    when = " and ".join(dict.fromkeys(_condition(w) for w in plan.get("when") or []))
    if plan.get("dose_mg") is None:
        return f"when {when} the clinician decides the dose" if when else "resume needs a recorded dose"
    return f"resume {_num(plan['dose_mg'])} mg" + (f" when {when}" if when else "")


def _due_parts(card: dict) -> list[str]:
    """The next CBC, and the overdue biopsy and pregnancy test (notices' kinds and due dates)."""
    parts = []
    if card.get("next_cbc"):
        parts.append(f"CBC {_weekday(card['next_cbc'])}" + (" (overdue)" if card.get("cbc_overdue") else ""))
    words = {"biopsy_overdue": "marrow biopsy overdue since", "pregnancy_test_overdue": "pregnancy test overdue since"}
    for n in card.get("notices") or []:
        due = as_date(n.get("due"))
        if n.get("kind") in words and due is not None:
            parts.append(f"{words[n['kind']]} {_day(due)}")
    return parts


def _decision_part(card: dict) -> str:
    done = card.get("decision")
    if not done or done.get("date") is None:
        return ""
    what = "hold" if done["is_hold"] else f"{_num(done['dose_mg'])} mg" if done.get("dose_mg") is not None else "?"
    by = f" by {done['recorded_by']}" if done.get("recorded_by") else ""
    return f"decision recorded {_day(done['date'])}{by}: {what}"


def _source(card: dict) -> str:
    """Where the advice comes from: the plan's source while held, the stop's, else the draw's sources or rule ids."""
    plan = card.get("plan") or {}
    if card.get("action") in HELD and plan.get("source"):
        return str(plan["source"])
    if card.get("action") == "stop" and card.get("source"):
        return str(card["source"])
    # a draw carries its rule ids, not their sources: name the rules (docs/dosing.md lists each one's source)
    return "; ".join(card.get("sources") or []) or ", ".join(str(r) for r in card.get("rules") or [])


def note(card: dict) -> str:
    """The plain-text note for the record, e.g. "Lenalidomide held since 9 Nov for ANC 0.44 (G4); CBC Mon 23 Nov;
    resume 15 mg when ANC >= 1.0 [US PI 2.1 Table 1]" - from the card's fields (cards.next_action), no names,
    no MRN."""
    parts = [_action_part(card), *_due_parts(card)[:1], _resume_part(card), *_due_parts(card)[1:], _decision_part(card)]
    text = "; ".join(p for p in parts if p)
    source = _source(card)
    return text + (f" [{source}]" if source else "")
