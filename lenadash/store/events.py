"""Clinical events (fever, toxicity, dose changes, ...): recorded from a form or an events file, loaded as a frame."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, col

from lenadash.errors import StoreError
from lenadash.store import history
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
# What load_events(include_voided=True) adds: the row's id (to void it), its upload, and the void.
VOID_COLUMNS = ["event_id", "upload_id", "voided_by", "voided_at", "void_reason"]
# An event's fields as a version keeps them (store.history).
EVENT_FIELDS = (*ClinicalEventCreate.model_fields, "upload_id", "recorded_by", "recorded_at")
VOID_FIELDS = ("voided_by", "voided_at", "void_reason")
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


def _find_event(session: Session, checked: ClinicalEventCreate, *, voided_too: bool) -> ClinicalEvent | None:
    """The stored event with this key; a voided one only when `voided_too` (an import never brings back an
    event voided as entered in error; a clinician recording it again after the void records it anew)."""
    statement = select(ClinicalEvent).where(
        col(ClinicalEvent.patient_id) == checked.patient_id,
        col(ClinicalEvent.date) == checked.date,
        col(ClinicalEvent.kind) == checked.kind,
    )
    if not voided_too:
        statement = statement.where(col(ClinicalEvent.voided_at).is_(None))
    candidates = session.execute(statement).scalars().all()
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
    existing = _find_event(session, checked, voided_too=upload_id is not None)
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


def void_event(*, session: Session, event_id: int, voided_by: str, reason: str) -> ClinicalEvent:
    """Void one clinical event entered in error: the row stays, marked with who voided it (`voided_by`, the
    actor's name), when (now, UTC) and why (`reason`, required); a version keeps the event as it was
    (store.history), in the same transaction. load_events leaves voided events out of what is assessed.
    StoreError when the event does not exist, is voided already, or no reason is given. Commits."""
    why = (reason or "").strip()
    if not why:
        raise StoreError("give the reason the event is voided (for example: entered for the wrong patient)")
    with committing(session):
        one_import_at_a_time(session)
        stored = session.get(ClinicalEvent, event_id)
        if stored is None:
            raise StoreError("that event is not stored (it may belong to another database); reload the page")
        if stored.voided_at is not None:
            raise StoreError("that event is voided already")
        before = history.values_of(stored, EVENT_FIELDS)
        stored.voided_by, stored.voided_at, stored.void_reason = voided_by, dt.datetime.now(dt.UTC), why
        session.add(stored)
        session.flush()
        assert stored.id is not None
        history.write_version(
            session,
            record_type="clinical_event",
            record_id=stored.id,
            patient_id=stored.patient_id,
            change="voided",
            before=before,
            after=history.values_of(stored, (*EVENT_FIELDS, *VOID_FIELDS)),
            changed_by=voided_by,
            reason=why,
        )
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


def load_events(*, session: Session, mrn: str | None = None, include_voided: bool = False) -> pd.DataFrame:
    """Clinical events in the events contract columns, then `recorded_by` (str or None: imported, or stored
    before revision 0005) and `recorded_at` (an aware UTC Timestamp, or NaT); `value` is rebuilt from the
    parsed field. `mrn=None` loads every patient.

    Voided events (entered in error, revision 0008) are left out: the engine never sees them. With
    `include_voided=True` (the patient's history) they are in, and VOID_COLUMNS follow: `event_id`,
    `upload_id` (None: recorded on the dashboard), `voided_by`, `voided_at` (NaT: not voided), `void_reason`.
    """
    statement = select(col(Patient.mrn), ClinicalEvent).join(Patient, col(Patient.id) == col(ClinicalEvent.patient_id))
    if mrn is not None:
        statement = statement.where(col(Patient.mrn) == mrn)
    if not include_voided:
        statement = statement.where(col(ClinicalEvent.voided_at).is_(None))
    statement = statement.order_by(col(Patient.mrn), col(ClinicalEvent.date), col(ClinicalEvent.id))
    records = []
    for patient_mrn, stored in session.execute(statement).all():
        row = stored.model_dump()
        records.append(_event_record(patient_mrn, row))
    columns = EVENT_COLUMNS + RECORDER_COLUMNS + (VOID_COLUMNS if include_voided else [])
    df = pd.DataFrame.from_records(records, columns=columns)
    _event_dtypes(df)
    if include_voided:
        df["event_id"] = df["event_id"].astype("int64")
        df["upload_id"] = pd.array(none_if_missing(df["upload_id"].tolist()), dtype="Int64")
        df["voided_by"] = df["voided_by"].astype("object").where(df["voided_by"].notna(), None)
        df["void_reason"] = df["void_reason"].astype("object").where(df["void_reason"].notna(), None)
        df["voided_at"] = pd.to_datetime(df["voided_at"], utc=True)
    return df


def _event_record(patient_mrn: str, row: dict) -> dict:
    return {
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
        "event_id": row["id"],
        "upload_id": row["upload_id"],
        "voided_by": row["voided_by"],
        "voided_at": row["voided_at"],
        "void_reason": row["void_reason"],
    }


def _event_dtypes(df: pd.DataFrame) -> None:
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
