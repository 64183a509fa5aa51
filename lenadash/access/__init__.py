"""Clinic mode (issue 11): who may do what, who did what. Local mode (the default) asks for no
sign-in; every check passes for this computer's user, who is recorded as the actor.

    gate()            app.py's first call: sign-in, roles, idle timeout, sign-out (clinic mode only)
    require(action)   the one permission check; raises AccessDenied (a LenadashError)
    page(action)      the first call of every page script: stops the page for a role without `action`
    audit(action,...) the one writer of the append-only audit trail
"""

from __future__ import annotations

from lenadash.access.actor import LOCAL_ROLES, Actor, acting_as, actor_name, current_actor, os_actor, source_of  # noqa: F401
from lenadash.access.mode import is_clinic  # noqa: F401
from lenadash.access.permissions import ACTIONS, PERMISSIONS, AccessDenied, allowed, require  # noqa: F401
from lenadash.access.trail import AUDITED, audit  # noqa: F401


def gate() -> None:
    """See lenadash.access.signin.gate (imported here lazily: only the app needs Streamlit)."""
    from lenadash.access.signin import gate as run_gate

    run_gate()


def page(action: str = "read", *, name: str) -> Actor:
    """See lenadash.access.signin.page: every page script's first call (Streamlit only, so imported lazily)."""
    from lenadash.access.signin import page as check_page

    return check_page(action, name=name)


def first_view(action: str, patient: str) -> bool:
    """See lenadash.access.signin.first_view."""
    from lenadash.access.signin import first_view as is_first

    return is_first(action, patient)
