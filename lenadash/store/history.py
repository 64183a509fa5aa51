"""History, not overwrites: every change to a patient, course or clinical event kept as a version, read back.

The store functions that change a row (courses.upsert_patient_course, courses.save_patients,
events.void_event) call `write_version` in the same transaction, with the values before and after, who
(the actor's name, or "import <file>") and why. Nothing updates or deletes a version (the database's
triggers refuse both, revision 0008).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, SQLModel, col

from lenadash.errors import StoreError
from lenadash.store.models import Patient, RecordVersion

RECORD_TYPES = ("patient", "treatment_course", "clinical_event")
CHANGES = ("created", "edited", "voided")
VERSION_COLUMNS = ["id", "record_type", "record_id", "change", "before", "after", "changed_by", "changed_at", "reason"]


def values_of(row: SQLModel, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The named fields of a stored row as JSON-safe values (dates and times in ISO text)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
    return out


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """The fields whose value differs between two versions (all of `after`'s when there is no before)."""
    if before is None:
        return list(after)
    return [name for name in after if before.get(name) != after.get(name)]


def write_version(
    session: Session,
    *,
    record_type: str,
    record_id: int,
    patient_id: int,
    change: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    changed_by: str,
    reason: str = "",
) -> RecordVersion:
    """Add one version row to the caller's transaction (flushed, not committed)."""
    assert record_type in RECORD_TYPES and change in CHANGES, (record_type, change)  # lenadash's own calls
    if len(changed_by) > 254:
        raise StoreError("the name of who made the change is longer than 254 characters")
    if len(reason) > 500:
        raise StoreError("the reason is longer than 500 characters; shorten it")
    version = RecordVersion(
        record_type=record_type,
        record_id=record_id,
        patient_id=patient_id,
        change=change,
        before_json="" if before is None else json.dumps(before, sort_keys=True, default=str),
        after_json=json.dumps(after, sort_keys=True, default=str),
        changed_by=changed_by,
        reason=reason,
    )
    session.add(version)
    session.flush()
    return version


def load_versions(*, session: Session, mrn: str) -> pd.DataFrame:
    """Every version of one patient's records, oldest first: VERSION_COLUMNS, `before`/`after` as dicts
    (`before` None for a created record), `changed_at` an aware UTC Timestamp."""
    statement = (
        select(RecordVersion)
        .join(Patient, col(Patient.id) == col(RecordVersion.patient_id))
        .where(col(Patient.mrn) == mrn)
        .order_by(col(RecordVersion.changed_at), col(RecordVersion.id))
    )
    records = [
        {
            "id": v.id,
            "record_type": v.record_type,
            "record_id": v.record_id,
            "change": v.change,
            "before": json.loads(v.before_json) if v.before_json else None,
            "after": json.loads(v.after_json) if v.after_json else {},
            "changed_by": v.changed_by,
            "changed_at": v.changed_at,
            "reason": v.reason,
        }
        for v in session.execute(statement).scalars()
    ]
    df = pd.DataFrame.from_records(records, columns=VERSION_COLUMNS)
    df["changed_at"] = pd.to_datetime(df["changed_at"], utc=True)
    return df
