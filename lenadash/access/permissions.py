"""What each role may do (issue 11), and the one check every page and every write calls: `require`.

The table is the rule; hiding a button is only a courtesy on top of it. An action not in the table
is refused for everyone (a typo must not open anything).
"""

from __future__ import annotations

from lenadash.access.actor import Actor, current_actor
from lenadash.errors import LenadashError

# action -> what it covers
ACTIONS: dict[str, str] = {
    "read": "see patients, the worklist, charts and the visit view, export a visit",
    "upload": "import lab, patient and event exports",
    "record_event": "record a clinical event (fever, toxicity, pregnancy test, ...)",
    "dose_decision": "accept or modify a dose recommendation (hold, resume, reduce)",
    "edit_course": "register patients and edit treatment courses",
    "rems": "record REMS pregnancy tests, counselling and dispensing",
    "manage_users": "add users, change their roles, deactivate them",
    "view_audit": "read and export the audit trail",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    "clinician": frozenset({"read", "upload", "record_event", "dose_decision", "edit_course", "rems"}),
    "nurse": frozenset({"read", "upload", "record_event"}),
    "pharmacist": frozenset({"read", "rems"}),
    "viewer": frozenset({"read"}),
    "admin": frozenset({"manage_users", "view_audit"}),
}


class AccessDenied(LenadashError, PermissionError):
    """The signed-in user's roles do not allow this action; the message says which role would."""


def allowed(action: str, actor: Actor | None) -> bool:
    if actor is None:
        return False
    return any(action in PERMISSIONS.get(role, frozenset()) for role in actor.roles)


def require(action: str, actor: Actor | None = None) -> Actor:
    """The acting user (default: `current_actor()`) when a role of theirs allows `action`; raises
    AccessDenied otherwise, also when nobody is signed in or the action is unknown."""
    if action not in ACTIONS:
        raise AccessDenied(f"unknown action {action!r}; nothing is allowed under that name")
    actor = actor if actor is not None else current_actor()
    if actor is None:
        raise AccessDenied("sign in first: nobody is signed in")
    if not allowed(action, actor):
        roles = sorted(role for role, actions in PERMISSIONS.items() if action in actions)
        held = actor.roles_text or "no role"
        raise AccessDenied(
            f"your role ({held}) may not {ACTIONS[action]}; that needs {' or '.join(roles)}. "
            "Ask the clinic lead (admin) if you should."
        )
    return actor
