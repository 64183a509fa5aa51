"""Data model: patients, treatment courses, lab results, clinical events, uploads and the demo marker (SQLModel).

Families follow the full-stack template: `XBase` holds the fields, `X(table=True)` the table,
`XCreate` validates input (build table rows with `X.model_validate(XCreate(...))`), `XRead` is what
leaves the store. Any change to a table needs an Alembic revision in migrations/versions.
"""

from __future__ import annotations

import datetime as dt

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Text, text
from sqlmodel import Field, SQLModel

from lenadash.vocab.course import EVENT_KINDS, INDICATIONS, SCHEDULES  # noqa: F401  (re-exported)


def _utcnow() -> dt.datetime:
    # aware: a plain `datetime` field is sqlmodel's UTCDateTime (timestamp with time zone), which
    # refuses naive values
    return dt.datetime.now(dt.UTC)


# --- patients --------------------------------------------------------------------------------


class PatientBase(SQLModel):
    mrn: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(default="", max_length=200)
    # Optional because lab exports may arrive before the patient is registered: such results are
    # kept under a bare patient (MRN only) until patients.csv or the Setup page completes it.
    sex: str | None = Field(default=None, max_length=1, description="F or M")
    birth_date: dt.date | None = None
    weight_kg: float | None = Field(default=None, gt=0, lt=500)


class Patient(PatientBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class PatientCreate(PatientBase):
    pass


class PatientRead(PatientBase):
    id: int


# --- treatment courses -----------------------------------------------------------------------


class TreatmentCourseBase(SQLModel):
    indication: str = Field(max_length=16, description="MM | MM_MAINT | MDS | MCL | FL | MZL")
    start_date: dt.date
    starting_dose_mg: float = Field(gt=0, le=25)
    schedule: str = Field(max_length=8, description="21/28 or 28/28")
    combination: str | None = Field(default=None, max_length=64, description="dexamethasone, rituximab, ...")
    dialysis: bool = False
    reproductive_potential: bool = False
    menses: str | None = Field(default=None, max_length=16, description="regular or irregular")


class TreatmentCourse(TreatmentCourseBase, table=True):
    __tablename__ = "treatment_course"
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)


class TreatmentCourseCreate(TreatmentCourseBase):
    patient_id: int


class TreatmentCourseRead(TreatmentCourseBase):
    id: int
    patient_id: int


# --- uploads ---------------------------------------------------------------------------------


class UploadBase(SQLModel):
    file_name: str = Field(max_length=255)
    kind: str = Field(max_length=16, description="labs | patients | events")
    content_hash: str = Field(index=True, max_length=64, description="SHA-256 of the original bytes")
    uploaded_at: dt.datetime = Field(default_factory=_utcnow, description="when it was imported (an instant, UTC)")
    size_bytes: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0"), description="the file's size"
    )
    rows_read: int = 0
    rows_imported: int = 0
    rows_unchanged: int = 0
    rows_superseding: int = 0
    rows_rejected: int = 0
    rejects_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    source: str = Field(
        default="",
        sa_column=Column(String(16), nullable=False, server_default=""),
        description='"" (upload page or command line) or "folder" (the watched folder)',
    )


class Upload(UploadBase, table=True):
    # One upload per file and kind: of two imports of the same new file racing each other, the
    # second fails here and save_* report it as already imported. A unique index rather than a
    # UNIQUE table constraint: it enforces the same, and SQLite can add it without rebuilding the
    # table (a rebuild of `upload` cannot run with foreign keys enforced inside the upgrade's
    # transaction - results and events reference it).
    __table_args__ = (Index("uq_upload_content_hash_kind", "content_hash", "kind", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    # The original bytes only with LENADASH_KEEP_UPLOADS=1; empty otherwise (they carry names, birth
    # dates and comments the store never needs: the hash recognises a re-upload).
    content: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))


class UploadRead(UploadBase):
    id: int


# --- lab results -----------------------------------------------------------------------------


class LabResultBase(SQLModel):
    # Wall-clock time at the clinic, as the lab system exports it (no zone): NaiveDatetime makes the
    # column `timestamp without time zone`, so no session time zone can shift it.
    collected_at: NaiveDatetime
    analyte: str = Field(max_length=32, description="canonical key, e.g. anc, plt, hgb")
    value: float = Field(description="in the canonical unit of the analyte")
    unit: str = Field(max_length=16, description="canonical unit")
    comparator: str = Field(default="", max_length=2, description="'', '<', '>', '<=', '>='")
    raw_value: str = Field(default="", max_length=64)
    raw_unit: str = Field(default="", max_length=32)
    raw_name: str = Field(default="", max_length=128)
    loinc: str | None = Field(default=None, max_length=16)
    ref_low: float | None = None
    ref_high: float | None = None
    flag: str | None = Field(default=None, max_length=8)
    status: str | None = Field(default=None, max_length=32)
    source_line: int | None = None


class LabResult(LabResultBase, table=True):
    __tablename__ = "lab_result"
    __table_args__ = (
        # "one patient's results by date", and the natural key used for re-import/corrections
        Index("ix_lab_result_patient_collected", "patient_id", "collected_at"),
        # The natural key: one current (not superseded) result per patient, analyte and collection time,
        # whatever imports race; corrections and history stay as superseded rows. It also serves the
        # key lookups of re-imports (which read current rows only), so it replaced 0001's plain index
        # on the same columns (one index fewer to write per imported result).
        Index(
            "uq_lab_result_current",
            "patient_id",
            "analyte",
            "collected_at",
            unique=True,
            sqlite_where=text("superseded_by_id IS NULL"),
            postgresql_where=text("superseded_by_id IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    upload_id: int | None = Field(default=None, foreign_key="upload.id", index=True)
    superseded_by_id: int | None = Field(default=None, foreign_key="lab_result.id")
    # store.labs.row_hashes: patient, test, time, value, comparator, preliminary or not (migration 0010).
    # A re-import compares these inside the database; NULL (rows stored before 0010) never matches.
    row_hash: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class LabResultRead(LabResultBase):
    id: int
    patient_id: int
    upload_id: int | None
    superseded_by_id: int | None


# --- clinical events -------------------------------------------------------------------------


class ClinicalEventBase(SQLModel):
    date: dt.date
    kind: str = Field(max_length=32, description="one of EVENT_KINDS")
    temperature_c: float | None = Field(default=None, description="fever")
    grade: int | None = Field(default=None, ge=1, le=5, description="toxicity")
    result: str | None = Field(default=None, max_length=16, description="pregnancy_test: negative/positive")
    dose_mg: float | None = Field(default=None, description="dose_change: new dose; None with is_hold")
    is_hold: bool = Field(default=False, description="dose_change recorded as a hold")
    agent: str | None = Field(default=None, max_length=64, description="thromboprophylaxis agent")
    detail: str = Field(default="", max_length=500)


class ClinicalEvent(ClinicalEventBase, table=True):
    __tablename__ = "clinical_event"
    __table_args__ = (Index("ix_clinical_event_patient_date", "patient_id", "date"),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id")
    upload_id: int | None = Field(default=None, foreign_key="upload.id")
    # Who recorded the event and when (issue 9): the clinician's user name for events recorded on the
    # dashboard (Accept, Modify, Setup; the operating-system user until sign-in exists), None for events
    # from an events file (their upload says which) and for events stored before revision 0005.
    recorded_by: str | None = Field(default=None, max_length=64)
    recorded_at: dt.datetime | None = Field(default=None, description="when it was recorded (an instant, UTC)")
    # An event entered in error is voided, never deleted (issue 11, revision 0008): the row stays with who
    # voided it, when and why; load_events leaves it out of what the engine assesses.
    voided_by: str | None = Field(default=None, max_length=254)
    voided_at: dt.datetime | None = Field(default=None, description="when it was voided (an instant, UTC)")
    void_reason: str | None = Field(default=None, max_length=500)


class ClinicalEventCreate(ClinicalEventBase):
    patient_id: int


class ClinicalEventRead(ClinicalEventBase):
    id: int
    patient_id: int
    recorded_by: str | None = None
    recorded_at: dt.datetime | None = None


# --- versions: history, not overwrites ---------------------------------------------------------


class RecordVersion(SQLModel, table=True):
    """One change to a patient, a treatment course or a clinical event (issue 11, revision 0008): the values
    before (`before_json`, the version replaced; "" when the record was created) and after, who changed it,
    when and why. Written in the same transaction as the change by the store functions that make it;
    append-only (the database refuses UPDATE and DELETE, like the audit trail)."""

    __tablename__ = "record_version"
    __table_args__ = (Index("ix_record_version_record", "record_type", "record_id"),)
    id: int | None = Field(default=None, primary_key=True)
    record_type: str = Field(max_length=16, description="patient | treatment_course | clinical_event")
    record_id: int
    patient_id: int = Field(foreign_key="patient.id", index=True)
    change: str = Field(max_length=16, description="created | edited | voided")
    before_json: str = Field(default="", sa_column=Column(Text, nullable=False))
    after_json: str = Field(default="", sa_column=Column(Text, nullable=False))
    changed_by: str = Field(max_length=254, description="the actor's name, or 'import <file>'")
    changed_at: dt.datetime = Field(default_factory=_utcnow, description="an instant, UTC")
    reason: str = Field(default="", max_length=500)


# --- what this database is -------------------------------------------------------------------


class LenadashMarker(SQLModel, table=True):
    """One row saying what lenadash made this database for: `kind='demo'` for the sample clinic's
    database, written when lenadash creates it. Nothing loads or drops the sample clinic without it."""

    __tablename__ = "lenadash_marker"
    id: int | None = Field(default=1, primary_key=True)  # always 1: one row per database
    kind: str = Field(max_length=16, description="demo")
    created_at: dt.datetime = Field(default_factory=_utcnow)
