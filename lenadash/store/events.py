"""Clinical events (fever, toxicity, dose changes, ...): recorded from a form or an events file, loaded as a frame."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, col

from lenadash.errors import StoreError
from lenadash.store.courses import get_or_create_patient
from lenadash.store.models import EVENT_KINDS, ClinicalEvent, ClinicalEventCreate, Patient
from lenadash.store.sql import clean_text, committing, field, none_if_missing, one_import_at_a_time, validated
from lenadash.store.uploads import ImportSummary, finished, start_upload
from lenadash.vocab.frames import EVENT_COLUMNS

# Which parsed column carries an event's `value` text (the table stores the parsed form only).
EVENT_VALUE_FIELD = {
    "fever": "temperature_c",
    "toxicity": "grade",
    "pregnancy_test": "result",
    "dose_change": "dose_mg",  # or "hold" when is_hold
    "thromboprophylaxis": "agent",
    "platelet_transfusion": None,
    "marrow_biopsy": None,
    "marrow_biopsy_planned": None,
    "missed_period": None,
    "vte_risk_factor": "agent",  # the factor code (vocab.course.VTE_FACTORS)
    "rems_authorization": "agent",  # the authorization number as recorded
}
assert set(EVENT_VALUE_FIELD) == set(EVENT_KINDS), "every event kind needs its value field"
# Who recorded an event and when (models.ClinicalEvent, revision 0005): load_events adds them after the
# events contract's columns; None for imported events and for those stored before 0005.
RECORDER_COLUMNS = ["recorded_by", "recorded_at"]
# The fields that, with patient and date, identify one event (mrn+date+kind+value).
_EVENT_KEY = ["patient_id", "date", "kind", "temperature_c", "grade", "result", "dose_mg", "is_hold", "agent"]


def _event_fields(row: dict, patient_id: int) -> ClinicalEventCreate:
    kind = clean_text(row.get("event", row.get("kind")))
    if kind not in EVENT_KINDS:
        raise StoreError(f"unknown event kind {kind!r}; use one of {', '.join(EVENT_KINDS)}")
    fields = {"patient_id": patient_id, "kind": kind, "date": field(row, "date")}
    for name in ("temperature_c", "grade", "result", "dose_mg", "agent"):
        value = field(row, name)
        if value is not None:
            fields[name] = value
    fields["is_hold"] = bool(field(row, "is_hold", False))
    fields["detail"] = clean_text(row.get("detail")) or ""
    return validated(ClinicalEventCreate, fields, what="event")


def _event_key(event_row) -> tuple:
    return tuple(getattr(event_row, name) for name in _EVENT_KEY)


def _find_event(session: Session, checked: ClinicalEventCreate) -> ClinicalEvent | None:
    candidates = (
        session.execute(
            select(ClinicalEvent).where(
                col(ClinicalEvent.patient_id) == checked.patient_id,
                col(ClinicalEvent.date) == checked.date,
                col(ClinicalEvent.kind) == checked.kind,
            )
        )
        .scalars()
        .all()
    )
    key = _event_key(checked)
    return next((c for c in candidates if _event_key(c) == key), None)


def _add_event(
    session: Session, row: dict, upload_id: int | None, recorded_by: str | None = None
) -> tuple[ClinicalEvent, bool, bool]:
    mrn = clean_text(row.get("mrn"))
    if mrn is None:
        raise StoreError("an event needs an MRN; fill the mrn column")
    patient, patient_created = get_or_create_patient(session, mrn)
    assert patient.id is not None, "get_or_create_patient flushed the patient, so it has an id"
    checked = _event_fields(row, patient.id)
    existing = _find_event(session, checked)
    if existing is not None:
        return existing, patient_created, False
    stored = ClinicalEvent.model_validate(checked)
    stored.upload_id = upload_id
    if recorded_by is not None and len(recorded_by) > 64:
        raise StoreError("the recorder's user name is longer than 64 characters")
    stored.recorded_by = recorded_by
    stored.recorded_at = dt.datetime.now(dt.UTC)
    session.add(stored)
    session.flush()
    return stored, patient_created, True


def add_event(*, session: Session, row: dict, recorded_by: str | None = None) -> ClinicalEvent:
    """Record one clinical event (events contract keys; `event` or `kind` names it), with who recorded it
    (`recorded_by`: the clinician's user name; None when unknown) and when (`recorded_at`, now, UTC).

    Idempotent on MRN + date + kind + value: recording the same event twice returns the stored one, with
    its first recorder and time. Validated through ClinicalEventCreate. Commits.
    """
    with committing(session):
        one_import_at_a_time(session)  # a form save waits for an import, as imports wait for each other
        stored, _, _ = _add_event(session, row, None, recorded_by)
    session.refresh(stored)
    return stored


def save_events(*, session: Session, file_name: str, data: bytes, table_import) -> ImportSummary:
    """Store an events file from ingest.read_events in one transaction, idempotent on
    MRN + date + kind + value (a repeated event is `unchanged`; the same file again writes nothing).
    `data` is the file's raw bytes (their SHA-256 tells a file imported before)."""
    rows = table_import.rows
    started = start_upload(
        session, kind="events", file_name=file_name, data=data, parsed=table_import, accepted=len(rows)
    )
    if started.already:
        return started.already
    upload = started.upload
    imported = same = patients_created = 0
    with committing(session):
        for row in rows.to_dict("records"):
            _, patient_created, created = _add_event(session, row, upload.id)
            patients_created += patient_created
            imported += created
            same += not created
        upload.rows_imported, upload.rows_unchanged = imported, same
        session.add(upload)
    return finished(
        started,
        file_name=file_name,
        rows_imported=imported,
        rows_unchanged=same,
        patients_created=patients_created,
    )


def _event_value(kind: str, row: dict) -> str:
    if kind == "dose_change" and row.get("is_hold"):
        return "hold"
    name = EVENT_VALUE_FIELD.get(kind)
    value = row.get(name) if name else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def load_events(*, session: Session, mrn: str | None = None) -> pd.DataFrame:
    """Clinical events in the events contract columns, then `recorded_by` (str or None: imported, or stored
    before revision 0005) and `recorded_at` (an aware UTC Timestamp, or NaT); `value` is rebuilt from the
    parsed field. `mrn=None` loads every patient.
    """
    statement = select(col(Patient.mrn), ClinicalEvent).join(Patient, col(Patient.id) == col(ClinicalEvent.patient_id))
    if mrn is not None:
        statement = statement.where(col(Patient.mrn) == mrn)
    statement = statement.order_by(col(Patient.mrn), col(ClinicalEvent.date), col(ClinicalEvent.id))
    records = []
    for patient_mrn, stored in session.execute(statement).all():
        row = stored.model_dump()
        records.append(
            {
                "mrn": patient_mrn,
                "date": row["date"],
                "event": row["kind"],
                "value": _event_value(row["kind"], row),
                "detail": row["detail"] or "",
                "temperature_c": row["temperature_c"],
                "grade": row["grade"],
                "result": row["result"],
                "dose_mg": row["dose_mg"],
                "is_hold": bool(row["is_hold"]),
                "agent": row["agent"],
                "recorded_by": row["recorded_by"],
                "recorded_at": row["recorded_at"],
            }
        )
    df = pd.DataFrame.from_records(records, columns=EVENT_COLUMNS + RECORDER_COLUMNS)
    for name in ("mrn", "event", "value", "detail"):
        df[name] = df[name].astype("str")
    df["date"] = df["date"].astype("object")
    for name in ("temperature_c", "dose_mg"):
        df[name] = pd.to_numeric(df[name]).astype("float64")
    df["grade"] = pd.array(none_if_missing(df["grade"].tolist()), dtype="Int64")
    df["is_hold"] = df["is_hold"].astype("bool")
    for name in ("result", "agent", "recorded_by"):
        df[name] = df[name].astype("object").where(df[name].notna(), None)
    df["recorded_at"] = pd.to_datetime(df["recorded_at"], utc=True)
    return df
