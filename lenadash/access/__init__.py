"""Clinic mode (issue 11): who may do what, who did what. Local mode (the default) asks for no
sign-in; every check passes for this computer's user, who is recorded as the actor.

    gate()            app.py's first call: sign-in, roles, idle timeout, sign-out (clinic mode only)
    require(action)   the one permission check; raises AccessDenied (a LenadashError)
    audit(action,...) the one writer of the append-only audit trail
"""

from __future__ import annotations

from lenadash.access.actor import LOCAL_ROLES, Actor, acting_as, actor_name, current_actor, os_actor  # noqa: F401
from lenadash.access.mode import is_clinic  # noqa: F401
from lenadash.access.permissions import ACTIONS, PERMISSIONS, AccessDenied, allowed, require  # noqa: F401
from lenadash.access.trail import AUDITED, audit  # noqa: F401


def gate() -> None:
    """See lenadash.access.signin.gate (imported here lazily: only the app needs Streamlit)."""
    from lenadash.access.signin import gate as run_gate

    run_gate()
