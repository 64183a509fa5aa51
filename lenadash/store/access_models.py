"""Tables for clinic mode (issue 11): the clinic's users, their roles, and the append-only audit trail.

Users are named by the e-mail address their identity provider gives (`st.user.email`); a user holds
one or more roles. The audit trail is written only through lenadash.access.audit (store.audit.append
underneath); the database itself refuses UPDATE and DELETE on it (triggers, migration 0007).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, Text
from sqlmodel import Field, SQLModel

from lenadash.vocab.roles import ROLES


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


ROLE_CHECK = "role IN (" + ", ".join(f"'{role}'" for role in ROLES) + ")"


class ClinicUserBase(SQLModel):
    email: str = Field(max_length=254, description="as the identity provider gives it, lower case")
    name: str = Field(default="", max_length=200)
    active: bool = Field(default=True, description="False: may not sign in (users are never deleted)")


class ClinicUser(ClinicUserBase, table=True):
    __tablename__ = "clinic_user"
    email: str = Field(primary_key=True, max_length=254)
    created_at: dt.datetime = Field(default_factory=_utcnow)
    created_by: str = Field(default="", max_length=254)


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"
    __table_args__ = (CheckConstraint(ROLE_CHECK, name="ck_user_role_role"),)
    email: str = Field(primary_key=True, foreign_key="clinic_user.email", max_length=254)
    role: str = Field(primary_key=True, max_length=16)


class AuditEventBase(SQLModel):
    at: dt.datetime = Field(default_factory=_utcnow, index=True, description="an instant, UTC")
    actor: str = Field(index=True, max_length=254, description="e-mail (clinic mode) or OS user name (local)")
    roles: str = Field(default="", max_length=100, description="the actor's roles then, comma-separated")
    source: str = Field(default="", max_length=128, description="where from: the browser's address, or cli/local")
    action: str = Field(index=True, max_length=32, description="sign_in, sign_out, upload, ...")
    patient_mrn: str | None = Field(default=None, index=True, max_length=64)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False), description="JSON: counts, before/after")


class AuditEvent(AuditEventBase, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)


class AuditEventRead(AuditEventBase):
    id: int
