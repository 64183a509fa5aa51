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
