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

# What the trail records; the audit page offers these as filters.
AUDITED = (
    "sign_in",
    "sign_in_refused",
    "sign_out",
    "idle_sign_out",
    "upload",
    "patient_opened",
    "visit_view",
    "visit_export",
    "event_recorded",
    "event_voided",
    "dose_decision",
    "course_edit",
    "user_roles",
    "audit_export",
)


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
