"""What the Admin and Audit pages do: users and roles, the audit trail and its CSV export. Every
function checks the acting user's role first (`require`), so the pages cannot do more than the role
allows even if a button were shown by mistake; every change is audited.

Users, roles and the trail live in the clinic database (never the sample clinic's), whichever
database the session is looking at.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator, Sequence

import pandas as pd

from lenadash import store
from lenadash.access.permissions import AccessDenied, require
from lenadash.access.trail import audit
from lenadash.config import get_settings
from lenadash.store import Session
from lenadash.vocab import csvsafe


@contextlib.contextmanager
def clinic_session() -> Iterator[Session]:
    """A session on the clinic database (LENADASH_DATABASE_URL), for users, roles and the trail."""
    engine = store.make_engine(get_settings().database_url)
    try:
        with store.open_session(engine) as session:
            yield session
    finally:
        engine.dispose()


def users(*, session: Session) -> pd.DataFrame:
    require("manage_users")
    rows = store.people.list_users(session=session)
    return pd.DataFrame(
        [{"email": u.email, "name": u.name, "roles": ", ".join(u.roles), "active": u.active} for u in rows],
        columns=["email", "name", "roles", "active"],
    )


def set_roles(*, session: Session, email: str, roles: Sequence[str], name: str = "") -> None:
    """Add the user or replace their roles; the last admin cannot give up the admin role."""
    actor = require("manage_users")
    email = store.people.normal_email(email)
    if not roles:
        raise AccessDenied("choose at least one role (to take every role away, deactivate the user)")
    _keep_one_admin(session=session, email=email, keeps_admin="admin" in roles)
    store.people.save_user(session=session, email=email, roles=list(roles), name=name, by=actor.name)
    audit("user_roles", session=session, detail={"user": email, "roles": sorted(roles)})


def deactivate(*, session: Session, email: str) -> None:
    require("manage_users")
    email = store.people.normal_email(email)
    _keep_one_admin(session=session, email=email, keeps_admin=False)
    store.people.deactivate_user(session=session, email=email)
    audit("user_roles", session=session, detail={"user": email, "roles": []})


def _keep_one_admin(*, session: Session, email: str, keeps_admin: bool) -> None:
    is_admin = "admin" in store.people.roles_of(session=session, email=email)
    if is_admin and not keeps_admin and store.people.count_admins(session=session) <= 1:
        raise AccessDenied(f"{email} is the last admin: make someone else admin first, or nobody can manage users")


def audit_trail(
    *,
    session: Session,
    user: str | None = None,
    patient: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> pd.DataFrame:
    require("view_audit")
    trail = store.audit.load(session=session, actor=user, patient_mrn=patient, since=since, until=until)
    return readable(trail)


def readable(trail: pd.DataFrame) -> pd.DataFrame:
    """The trail with its JSON `detail` split into what a reader compares: `before` and `after` (each a
    "field: value" list, only the fields that changed when both sides are there) and the rest of `detail`."""
    parts = [_sides(text) for text in trail["detail"]]
    out = trail.drop(columns=["detail"]).copy()
    out["before"] = [p[0] for p in parts]
    out["after"] = [p[1] for p in parts]
    out["detail"] = [p[2] for p in parts]
    return out


def _sides(text: str) -> tuple[str, str, str]:
    try:
        detail = json.loads(text or "{}")
    except ValueError:
        return "", "", str(text)
    if not isinstance(detail, dict):
        return "", "", str(text)
    before, after = detail.pop("before", None), detail.pop("after", None)
    if isinstance(before, dict) and isinstance(after, dict) and set(before) == set(after):
        # an edit (a course): only the fields it changed, side by side
        changed = [k for k in after if before.get(k) != after.get(k)]
        if changed:
            before, after = {k: before[k] for k in changed}, {k: after[k] for k in changed}
    else:
        # a record (an event, a decision): its values, blanks left out
        before, after = _set_only(before), _set_only(after)
    return _fields(before), _fields(after), _fields(detail)


def _set_only(values: object) -> object:
    if not isinstance(values, dict):
        return values
    return {k: v for k, v in values.items() if v is not None and v is not False and v != []}


# The order a reader wants (the trail stores keys sorted): what it is and its values first, dates last.
FIRST = ("event", "action", "is_hold", "dose_mg", "temperature_c", "grade", "result", "agent", "status", "rules")
LAST = ("recorded", "draw", "date", "start_date")


def _order(key: str) -> tuple[int, int]:
    if key in FIRST:
        return (0, FIRST.index(key))
    return (2, LAST.index(key)) if key in LAST else (1, 0)


def _fields(values: object) -> str:
    if values is None:
        return ""
    if not isinstance(values, dict):
        return str(values)
    return "; ".join(f"{k}: {_value(values[k])}" for k in sorted(values, key=_order))


def _value(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, dict):
        return "{" + _fields(v) + "}"
    if isinstance(v, list):
        return ", ".join(str(x) for x in v) or "-"
    return f"{v:g}" if isinstance(v, float) else str(v)


def audit_csv(*, session: Session, trail: pd.DataFrame) -> str:
    """The shown rows as CSV with formula cells guarded (csvsafe); the export itself is audited."""
    require("view_audit")
    audit("audit_export", session=session, detail={"rows": len(trail)})
    return csvsafe.to_csv(trail)
