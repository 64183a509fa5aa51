"""Who is acting: the signed-in clinic user (clinic mode), or this computer's user (local mode, the CLI)."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from lenadash.access.mode import is_clinic

# Local mode and the command line: the person at this computer may do everything (they own the
# database file, or hold the server's database credentials), and is named by their OS account.
LOCAL_ROLES = frozenset({"clinician", "admin"})


@dataclass(frozen=True)
class Actor:
    """One person acting: `name` (e-mail in clinic mode, OS user name otherwise), their roles, and
    `source`, where from (the browser's address, "local" or "cli")."""

    name: str
    roles: frozenset[str]
    source: str

    @property
    def roles_text(self) -> str:
        return ",".join(sorted(self.roles))


LOOPBACK = ("127.", "::1", "::ffff:127.")


def source_of(peer: str | None, forwarded_for: str | None = None) -> str:
    """Where a browser request came from, for the audit trail's `source` (at most 128 characters).

    Behind the clinic's reverse proxy (docs/deployment.md) the socket peer is the proxy on this machine
    (a loopback address, which Streamlit's st.context.ip_address reports as None; Streamlit listens on
    127.0.0.1 only), and the browser's address is the LAST entry
    of X-Forwarded-For, the one the proxy appended (nginx `$proxy_add_x_forwarded_for`); earlier entries
    were sent by the browser itself and could say anything, so they are not trusted. From any other peer
    the header is ignored: only a proxy on this machine can vouch for it. "web" when nothing is known."""
    peer = (peer or "").strip()
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    if hops and (not peer or peer.startswith(LOOPBACK)):
        via = f" via {peer}" if peer else ""
        return f"{hops[-1][:60]}{via}"[:128]
    return peer[:128] or "web"


def os_actor(source: str = "local") -> Actor:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        name = "unknown"
    return Actor(name=name, roles=LOCAL_ROLES, source=source)


_EXPLICIT: ContextVar[Actor | None] = ContextVar("lenadash_actor", default=None)
# Set by lenadash.access.signin.gate in clinic mode: the signed-in user of the running Streamlit session.
_web_actor: Callable[[], Actor | None] | None = None


def use_web_actor(lookup: Callable[[], Actor | None]) -> None:
    global _web_actor
    _web_actor = lookup


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run a block as `actor` (the CLI, tests)."""
    token = _EXPLICIT.set(actor)
    try:
        yield actor
    finally:
        _EXPLICIT.reset(token)


def actor_name(limit: int = 64) -> str:
    """Who is acting, for a `recorded_by` column (at most `limit` characters): the signed-in user's e-mail
    in clinic mode, this computer's user otherwise; "unknown" when nobody is."""
    actor = current_actor()
    return (actor.name if actor else "unknown")[:limit]


def current_actor() -> Actor | None:
    """The actor of this call: one set by `acting_as`, else the signed-in web user in clinic mode,
    else (local mode only) this computer's user. None in clinic mode when nobody is signed in."""
    explicit = _EXPLICIT.get()
    if explicit is not None:
        return explicit
    if not is_clinic():
        return os_actor()
    return _web_actor() if _web_actor is not None else None
