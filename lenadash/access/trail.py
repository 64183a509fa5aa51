"""The audit trail's one writer: `audit(action, ...)` records who, when, from where and what.

Nothing in lenadash updates or deletes an audit row, and the database refuses both (migration
0007). `detail` holds counts, hashes and before/after values, never free text typed by a user
(that stays in its own table); the server log never sees any of it.
"""

from __future__ import annotations

from typing import Any

from lenadash import store
from lenadash.access.actor import Actor, current_actor
from lenadash.store import Session

# What the trail records, and what a row of each holds besides who, when, from where and which patient
# (docs/deployment.md's table is made from this).
AUDITED: dict[str, str] = {
    "sign_in": "a sign-in (once per browser session)",
    "sign_in_refused": "a signed-in person without a role",
    "sign_out": "a sign-out",
    "idle_sign_out": "the idle timeout signed the user out",
    "upload": "an imported file: its SHA-256, size, kind and counts (never its name)",
    "patient_opened": "a patient page opened (once per open, not per click)",
    "visit_view": "the screen-shared visit view opened (once per open)",
    "visit_export": "the visit's handout or care-team summary downloaded: which file",
    "event_recorded": "a clinical event recorded: after = its kind, date and coded value",
    "event_voided": "a clinical event voided (entered in error): before = its coded fields, after = voided",
    "dose_decision": "Accept or Modify on the card: before = what the card advised (action, dose, status, rule "
    "ids, draw date, the decision recorded before), after = the dose change recorded, rules = the rule ids",
    "course_edit": "a course saved: before and after = indication, starting dose, schedule, start date, "
    "combination, weight (before empty for a new course)",
    "user_roles": "a user's roles set or the user deactivated",
    "audit_export": "the audit trail exported as CSV: how many rows",
}


def audit(
    action: str,
    *,
    session: Session,
    patient: str | None = None,
    detail: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> int:
    """Append one row (committed at once) and return its id. `patient` is the MRN concerned, if any.

    The actor is `actor`, else the current one; nobody signed in is recorded as "(nobody)", so a
    refused sign-in still leaves a row."""
    if action not in AUDITED:
        raise ValueError(f"not an audited action: {action!r}")  # a bug, not a user's mistake
    who = actor if actor is not None else current_actor()
    return store.audit.append(
        session=session,
        actor=who.name if who else "(nobody)",
        roles=who.roles_text if who else "",
        source=who.source if who else "",
        action=action,
        patient_mrn=patient,
        detail=detail,
    )
