"""Patients and their treatment courses: upserted from a form or a patients file, loaded as one frame."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, col

from lenadash.errors import StoreError
from lenadash.store import history
from lenadash.store.models import Patient, PatientCreate, TreatmentCourse, TreatmentCourseCreate
from lenadash.store.sql import as_date, clean_text, committing, field, one_import_at_a_time, table_of, validated
from lenadash.store.uploads import ImportSummary, finished, start_upload
from lenadash.vocab.frames import PATIENT_COLUMNS


def get_or_create_patient(session: Session, mrn: str) -> tuple[Patient, bool]:
    """The patient with this MRN and False, or a new bare patient (MRN only), flushed, and True."""
    patient = session.execute(select(Patient).where(col(Patient.mrn) == mrn)).scalars().first()
    if patient is not None:
        return patient, False
    patient = Patient.model_validate(validated(PatientCreate, {"mrn": mrn}, what="patient"))
    session.add(patient)
    session.flush()
    return patient, True


@dataclass(frozen=True)
class Change:
    """Who makes a change and why, kept with each version it leaves (store.history)."""

    by: str = "unknown"
    reason: str = ""


PATIENT_FIELDS = tuple(PatientCreate.model_fields)
COURSE_FIELDS = tuple(name for name in TreatmentCourseCreate.model_fields if name != "patient_id")


def _upsert_course(session: Session, row: dict, change: Change) -> tuple[TreatmentCourse, bool, bool]:
    """Patient by MRN and course by MRN + indication + start_date; returns (course, patient created, course created).
    A stored patient or course the row changes leaves its earlier version (store.history), as does a new course."""
    mrn = clean_text(row.get("mrn"))
    if mrn is None:
        raise StoreError("a patient row needs an MRN; fill the mrn column")
    patient, patient_created = _update_patient(session, mrn, row, change)
    course, course_created = _update_course(session, patient, row, change)
    return course, patient_created, course_created


def _patient_after(patient: Patient, mrn: str, row: dict) -> PatientCreate:
    """The patient's fields once the row is applied; fields the row leaves empty keep what is stored."""
    patient_fields = {"mrn": mrn}
    for name in ("name", "sex", "birth_date", "weight_kg"):
        value = field(row, name)
        patient_fields[name] = value if value is not None else getattr(patient, name)
    patient_fields["name"] = patient_fields["name"] or ""
    return validated(PatientCreate, patient_fields, what="patient")


def _update_patient(session: Session, mrn: str, row: dict, change: Change) -> tuple[Patient, bool]:
    """The patient with this MRN, created if new; fields the row leaves empty keep what is stored."""
    patient, patient_created = get_or_create_patient(session, mrn)
    before = history.values_of(patient, PATIENT_FIELDS)
    for name, value in _patient_after(patient, mrn, row).model_dump().items():
        setattr(patient, name, value)
    session.add(patient)
    session.flush()
    after = history.values_of(patient, PATIENT_FIELDS)
    if not patient_created and before != after:
        assert patient.id is not None
        history.write_version(
            session,
            record_type="patient",
            record_id=patient.id,
            patient_id=patient.id,
            change="edited",
            before=before,
            after=after,
            changed_by=change.by,
            reason=change.reason,
        )
    return patient, patient_created


def _course_after(patient_id: int | None, row: dict) -> TreatmentCourseCreate:
    course_fields = {name: field(row, name) for name in COURSE_FIELDS}
    course_fields = {k: v for k, v in course_fields.items() if v is not None}
    course_fields["patient_id"] = patient_id
    return validated(TreatmentCourseCreate, course_fields, what="treatment course")


def _stored_course(session: Session, patient_id: int | None, checked: TreatmentCourseCreate) -> TreatmentCourse | None:
    return (
        session.execute(
            select(TreatmentCourse).where(
                col(TreatmentCourse.patient_id) == patient_id,
                col(TreatmentCourse.indication) == checked.indication,
                col(TreatmentCourse.start_date) == checked.start_date,
            )
        )
        .scalars()
        .first()
    )


def _update_course(session: Session, patient: Patient, row: dict, change: Change) -> tuple[TreatmentCourse, bool]:
    """The patient's course with the row's indication and start date, created or updated."""
    checked_course = _course_after(patient.id, row)
    course = _stored_course(session, patient.id, checked_course)
    course_created = course is None
    before = None if course is None else history.values_of(course, COURSE_FIELDS)
    if course is None:
        course = TreatmentCourse.model_validate(checked_course)
    else:
        for name, value in checked_course.model_dump().items():
            setattr(course, name, value)
    session.add(course)
    session.flush()
    after = history.values_of(course, COURSE_FIELDS)
    if before != after:
        assert course.id is not None and patient.id is not None
        history.write_version(
            session,
            record_type="treatment_course",
            record_id=course.id,
            patient_id=patient.id,
            change="created" if course_created else "edited",
            before=before,
            after=after,
            changed_by=change.by,
            reason=change.reason,
        )
    return course, course_created


def pending_changes(*, session: Session, row: dict) -> dict[str, tuple[Any, Any]]:
    """What saving `row` would change in a stored patient or course: {field: (stored, new)}, for fields that
    held a value (filling in a blank is no edit). {} for a new patient or course, or no change. Writes nothing;
    refuses what upsert_patient_course would refuse (StoreError naming the field)."""
    mrn = clean_text(row.get("mrn"))
    if mrn is None:
        return {}
    patient = session.execute(select(Patient).where(col(Patient.mrn) == mrn)).scalars().first()
    if patient is None:
        return {}
    found = {}
    after = _patient_after(patient, mrn, row).model_dump()
    for name, value in after.items():
        found[name] = (getattr(patient, name), value)
    checked_course = _course_after(patient.id, row)
    course = _stored_course(session, patient.id, checked_course)
    if course is not None:
        for name, value in checked_course.model_dump().items():
            if name != "patient_id":
                found[name] = (getattr(course, name), value)
    return {name: (old, new) for name, (old, new) in found.items() if old not in (None, "") and old != new}


def upsert_patient_course(
    *, session: Session, row: dict, changed_by: str = "unknown", reason: str = ""
) -> TreatmentCourse:
    """Create or update one patient (by MRN) and one course (by MRN + indication + start_date).

    `row` has the patients contract keys; missing/None patient fields keep what is stored.
    Validated through PatientCreate/TreatmentCourseCreate; a value they refuse raises StoreError naming the field.
    A new course, and a stored patient or course the row changes, leave a version (store.history) saying who
    (`changed_by`, the actor's name) and why (`reason`), in the same transaction. Commits; returns the stored course.
    """
    with committing(session):
        one_import_at_a_time(session)  # a form save waits for an import, as imports wait for each other
        course, _, _ = _upsert_course(session, row, Change(by=changed_by, reason=reason))
    session.refresh(course)
    return course


def save_patients(*, session: Session, file_name: str, data: bytes, table_import) -> ImportSummary:
    """Store a patients (courses) file from ingest.read_patients, in one transaction.

    `data` is the file's raw bytes (their SHA-256 tells a file imported before).
    Patients are matched by MRN and updated; a course is matched by MRN + indication + start_date
    and updated (re-importing a corrected file changes the course, never duplicates it). The same
    file again writes nothing (`already_imported`). Counts: rows_imported = new courses,
    rows_superseding = courses updated, rows_unchanged = courses identical to what was stored.
    """
    rows = table_import.rows
    started = start_upload(
        session, kind="patients", file_name=file_name, data=data, parsed=table_import, accepted=len(rows)
    )
    if started.already:
        return started.already
    upload = started.upload
    created = updated = same = patients_created = 0
    change = Change(by=f"import {file_name}"[:254], reason="import")
    with committing(session):
        for row in rows.to_dict("records"):
            before = _course_snapshot(session, row)
            course, patient_created, course_created = _upsert_course(session, row, change)
            patients_created += patient_created
            if course_created:
                created += 1
            elif before == _snapshot(course, session):
                same += 1
            else:
                updated += 1
        upload.rows_imported, upload.rows_superseding, upload.rows_unchanged = created, updated, same
        session.add(upload)
    return finished(
        started,
        file_name=file_name,
        rows_imported=created,
        rows_superseding=updated,
        rows_unchanged=same,
        patients_created=patients_created,
    )


def _snapshot(course: TreatmentCourse, session: Session) -> tuple:
    patient = session.get(Patient, course.patient_id)
    return (
        tuple(PatientCreate.model_validate(patient, from_attributes=True).model_dump().values()),
        tuple(TreatmentCourseCreate.model_validate(course, from_attributes=True).model_dump().values()),
    )


def _course_snapshot(session: Session, row: dict) -> tuple | None:
    mrn = clean_text(row.get("mrn"))
    start = field(row, "start_date")
    if mrn is None or start is None:
        return None
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            return None
    course = (
        session.execute(
            select(TreatmentCourse)
            .join(Patient, col(Patient.id) == col(TreatmentCourse.patient_id))
            .where(
                col(Patient.mrn) == mrn,
                col(TreatmentCourse.indication) == field(row, "indication"),
                col(TreatmentCourse.start_date) == start,
            )
        )
        .scalars()
        .first()
    )
    return None if course is None else _snapshot(course, session)


def load_patients(*, session: Session, include_without_course: bool = False) -> pd.DataFrame:
    """One row per treatment course in the patients contract columns.

    Patients known only from lab files (bare MRN, no course) are left out unless
    `include_without_course=True`, where their course columns are None/NaN.
    """
    patient, course = table_of(Patient), table_of(TreatmentCourse)
    columns = [patient.c[n] if n in patient.c else course.c[n] for n in PATIENT_COLUMNS]
    statement = (
        select(*columns)
        .select_from(patient.join(course, course.c.patient_id == patient.c.id, isouter=include_without_course))
        .order_by(patient.c.mrn, course.c.start_date, course.c.id)
    )
    result = session.connection().execute(statement)
    df = pd.DataFrame.from_records(result.all(), columns=PATIENT_COLUMNS)
    for name in ("mrn", "name", "indication", "schedule"):
        df[name] = df[name].astype("str")
    for name in ("sex", "combination", "menses"):
        df[name] = df[name].astype("object").where(df[name].notna(), None)
    for name in ("birth_date", "start_date"):
        df[name] = df[name].map(as_date).astype("object")
    for name in ("weight_kg", "starting_dose_mg"):
        df[name] = pd.to_numeric(df[name]).astype("float64")
    for name in ("reproductive_potential", "dialysis"):
        df[name] = df[name].map(lambda v: bool(v) if v is not None and v == v else False).astype("bool")
    return df
