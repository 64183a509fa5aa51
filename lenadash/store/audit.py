"""The audit trail's table: append a row, read rows back filtered. Nothing here updates or deletes
(and the database's triggers refuse both); lenadash.access.audit is the one caller that appends."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from lenadash.store.access_models import AuditEvent

AUDIT_COLUMNS = ["id", "at", "actor", "roles", "source", "action", "patient_mrn", "detail"]


def append(
    *,
    session: Session,
    actor: str,
    roles: str,
    source: str,
    action: str,
    patient_mrn: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """One row, committed at once (an audit row is not rolled back with the caller's later work)."""
    row = AuditEvent(
        actor=actor,
        roles=roles,
        source=source,
        action=action,
        patient_mrn=patient_mrn,
        detail=json.dumps(detail or {}, sort_keys=True, default=str),
    )
    session.add(row)
    session.commit()
    assert row.id is not None
    return row.id


def load(
    *,
    session: Session,
    actor: str | None = None,
    patient_mrn: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> pd.DataFrame:
    """The trail, newest first, filtered by actor, patient and days (UTC, `until` included)."""
    query = select(AuditEvent)
    if actor:
        query = query.where(func.lower(AuditEvent.actor) == actor.strip().lower())
    if patient_mrn:
        query = query.where(AuditEvent.patient_mrn == patient_mrn.strip())
    if since is not None:
        query = query.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until is not None:
        query = query.where(AuditEvent.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC))
    rows = session.exec(query.order_by(col(AuditEvent.id).desc())).all()
    return pd.DataFrame([row.model_dump() for row in rows], columns=AUDIT_COLUMNS)
