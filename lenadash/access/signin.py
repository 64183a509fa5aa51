"""Clinic mode's door, called first by app.py: sign-in through the clinic's OpenID Connect provider
(Streamlit's own `st.login`, configured by `[auth]` in .streamlit/secrets.toml), the user's roles
from the database, the idle timeout, sign-out. In local mode it does nothing.

What is shown before `st.stop()` here is all a browser gets: no page script runs, so no patient data
reaches a browser that is not signed in, has no role, or was idle too long.
"""

from __future__ import annotations

import time

import streamlit as st

from lenadash import store
from lenadash.access import mode, trail
from lenadash.access.actor import Actor, source_of, use_web_actor
from lenadash.access.permissions import AccessDenied, require
from lenadash.config import get_settings

_LAST = "lenadash_last_activity"  # session_state: time.time() of the last run a user caused
_SEEN = "lenadash_signed_in"  # session_state: the sign-in of this browser session is audited
_PAGE = "lenadash_page_visit"  # session_state: (page name, how many page changes this session has seen)
_VIEWED = "lenadash_audited_views"  # session_state: audited action -> the (page visit, patient) it was for


@st.cache_resource(show_spinner=False)
def _engine(url: str):
    return store.make_engine(url)


def _session() -> store.Session:
    return store.open_session(_engine(get_settings().database_url))


def gate() -> None:
    """Local mode: nothing. Clinic mode: stop the script unless a user with a role is signed in and
    was active within the idle timeout; otherwise show who is signed in and a sign-out button."""
    if not mode.is_clinic():
        return
    _refuse_sqlite()
    use_web_actor(_web_actor)
    if not st.user.get("is_logged_in"):  # a key st.user lacks where auth is not set up at all
        _sign_in_screen()
    now = time.time()
    email = str(st.user.get("email") or "").strip().lower()
    actor = _actor(email)
    if _idle(now):
        _sign_out("idle_sign_out", actor)
    st.session_state[_LAST] = now
    if not actor.roles:
        _no_role_screen(actor)
    if not st.session_state.get(_SEEN):
        st.session_state[_SEEN] = True
        with _session() as session:
            trail.audit("sign_in", session=session, actor=actor)
    st.session_state["lenadash_actor"] = actor
    _sidebar(actor)


def _web_actor() -> Actor | None:
    """The signed-in user of the running session, as the last gate() run found them."""
    try:
        found = st.session_state.get("lenadash_actor")
    except Exception:  # no Streamlit session (a thread without a script run context)
        return None
    return found if isinstance(found, Actor) else None


def _actor(email: str) -> Actor:
    roles: frozenset[str] = frozenset()
    if email:
        with _session() as session:
            roles = store.people.roles_of(session=session, email=email)
    return Actor(name=email or "(no e-mail)", roles=roles, source=_source())


def _source() -> str:
    """The browser's address (source_of: the peer, or behind the clinic's proxy its X-Forwarded-For)."""
    peer, forwarded = st.context.ip_address, st.context.headers.get("X-Forwarded-For")
    return source_of(peer if isinstance(peer, str) else None, forwarded if isinstance(forwarded, str) else None)


def sqlite_problem() -> str | None:
    """Why clinic mode may not run on this database: a team shares one PostgreSQL server (issue 11), and an
    SQLite file serves one app process on one machine. None on PostgreSQL, or with LENADASH_CLINIC_ON_SQLITE=1
    (a trial on one machine)."""
    settings = get_settings()
    if not settings.database_url.startswith("sqlite") or settings.clinic_on_sqlite:
        return None
    return (
        "Clinic mode needs the clinic's PostgreSQL database: set LENADASH_DATABASE_URL to it, e.g. "
        "postgresql+psycopg://lenadash:PASSWORD@db-host/lenadash (docs/deployment.md). For a trial on one "
        "machine only, LENADASH_CLINIC_ON_SQLITE=1 lets clinic mode use the SQLite file."
    )


def _refuse_sqlite() -> None:
    if (problem := sqlite_problem()) is not None:
        st.title("lenadash")
        st.error("lenadash cannot start in clinic mode on this database.")
        st.text(problem)
        st.stop()


def page(action: str = "read", *, name: str) -> Actor:
    """The first call of every page script: the acting user when their role allows `action` ("read" for the
    clinical pages, "manage_users" and "view_audit" for the admin pages), else a plain message and the page
    stops before it loads any patient. Local mode passes (this computer's user holds every role). `name` tells
    one page from another, so `first_view` knows a new visit from a rerun."""
    visit = st.session_state.get(_PAGE)
    if not visit or visit[0] != name:
        st.session_state[_PAGE] = (name, (visit[1] + 1) if visit else 1)
    try:
        return require(action)
    except AccessDenied as exc:
        st.title("lenadash")
        st.error("This page is not open to your role.")
        st.text(str(exc))  # as text: the message quotes the roles held
        st.stop()
        raise  # st.stop() does not return; for the type checker


def first_view(action: str, patient: str) -> bool:
    """True the first time this visit of the page shows `patient` for `action` (patient_opened, visit_view), False
    on the reruns a click causes: the trail gets one row per open, not one per widget. Opening another
    patient, or coming back to the page later, is a new open."""
    key = (st.session_state.get(_PAGE), patient)
    seen = st.session_state.setdefault(_VIEWED, {})
    if seen.get(action) == key:
        return False
    seen[action] = key
    return True


def _idle(now: float) -> bool:
    """True when the last activity (or, for a new browser session, the sign-in itself) is older than
    the idle timeout: a reload does not restart the clock of a sign-in left open overnight."""
    last = st.session_state.get(_LAST)
    if last is None:
        issued = st.user.get("iat")
        last = float(issued) if isinstance(issued, int | float) else now
    return now - last > mode.idle_timeout_s()


def _sign_out(action: str, actor: Actor) -> None:
    with _session() as session:
        trail.audit(action, session=session, actor=actor)
    for key in (_LAST, _SEEN, "lenadash_actor"):
        st.session_state.pop(key, None)
    st.logout()
    st.stop()


def _sign_in_screen() -> None:
    st.title("lenadash")
    st.write("This clinic's lenadash holds patient data: sign in with your clinic account.")
    minutes = get_settings().idle_timeout_min
    st.caption(f"You are signed out after {minutes:g} minutes without activity.")
    if st.button("Sign in", type="primary"):
        try:
            st.login()
        except st.errors.StreamlitAuthError:
            st.error(
                "Sign-in is not set up: clinic mode needs an [auth] section in .streamlit/secrets.toml "
                "(see docs/deployment.md)."
            )
    st.stop()


def _no_role_screen(actor: Actor) -> None:
    if not st.session_state.get(_SEEN):
        st.session_state[_SEEN] = True
        with _session() as session:
            trail.audit("sign_in_refused", session=session, actor=actor, detail={"reason": "no role"})
    st.title("lenadash")
    st.text(f"Signed in as {actor.name}, who holds no role in lenadash.")
    st.write("Ask the clinic lead (an admin) to give you a role, then sign in again.")
    if st.button("Sign out"):
        _sign_out("sign_out", actor)
    st.stop()


def _sidebar(actor: Actor) -> None:
    with st.sidebar:
        st.text(f"Signed in: {actor.name}\nRole: {actor.roles_text}")
        if st.button("Sign out", key="lenadash_sign_out"):
            _sign_out("sign_out", actor)
        _idle_watch()


def _watch_every_s() -> float:
    return max(1.0, min(30.0, mode.idle_timeout_s() / 3))


@st.fragment(run_every=_watch_every_s())
def _idle_watch() -> None:
    """Reruns on a timer without counting as activity; once the timeout has passed it reruns the app,
    whose gate() signs the user out and hides the page."""
    last = st.session_state.get(_LAST)
    if last is not None and time.time() - last > mode.idle_timeout_s():
        st.rerun(scope="app")
    st.caption(f"Signs out after {get_settings().idle_timeout_min:g} min without activity.")
