"""The clinic's users and their roles (clinic mode): add, change roles, deactivate, list, look up.

Users are never deleted (the audit trail names them); a deactivated user holds no role. E-mail
addresses are kept in lower case, as identity providers compare them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, select

from lenadash.errors import StoreError
from lenadash.store.access_models import ClinicUser, UserRole
from lenadash.vocab.roles import ROLES


@dataclass(frozen=True)
class UserRoles:
    """One user as the admin page lists them."""

    email: str
    name: str
    active: bool
    roles: tuple[str, ...]


def normal_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise StoreError(f"{email!r} is not an e-mail address; users are named by the address they sign in with")
    return email


def _check_roles(roles: Sequence[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise StoreError(f"unknown role(s) {', '.join(unknown)}; the roles are {', '.join(ROLES)}")
    return sorted(set(roles))


def save_user(*, session: Session, email: str, roles: Sequence[str], name: str = "", by: str = "") -> None:
    """Add a user, or set an existing one's roles (and name, when given); active again if it was not."""
    email = normal_email(email)
    wanted = _check_roles(roles)
    user = session.get(ClinicUser, email)
    if user is None:
        user = ClinicUser(email=email, name=name, created_by=by)
    else:
        user.active = True
        user.name = name or user.name
    session.add(user)
    for held in session.exec(select(UserRole).where(UserRole.email == email)).all():
        session.delete(held)
    session.flush()
    session.add_all(UserRole(email=email, role=role) for role in wanted)
    session.commit()


def deactivate_user(*, session: Session, email: str) -> None:
    """The user may no longer sign in; their name stays in the audit trail."""
    user = session.get(ClinicUser, normal_email(email))
    if user is None:
        raise StoreError(f"no user {email!r}")
    user.active = False
    for held in session.exec(select(UserRole).where(UserRole.email == user.email)).all():
        session.delete(held)
    session.add(user)
    session.commit()


def roles_of(*, session: Session, email: str) -> frozenset[str]:
    """The roles an active user holds; empty for an unknown or deactivated address."""
    user = session.get(ClinicUser, email.strip().lower())
    if user is None or not user.active:
        return frozenset()
    return frozenset(session.exec(select(UserRole.role).where(UserRole.email == user.email)).all())


def list_users(*, session: Session) -> list[UserRoles]:
    users = session.exec(select(ClinicUser).order_by(ClinicUser.email)).all()
    held: dict[str, list[str]] = {}
    for role in session.exec(select(UserRole)).all():
        held.setdefault(role.email, []).append(role.role)
    return [UserRoles(u.email, u.name, u.active, tuple(sorted(held.get(u.email, [])))) for u in users]


def count_admins(*, session: Session) -> int:
    return len(session.exec(select(UserRole).where(UserRole.role == "admin")).all())
