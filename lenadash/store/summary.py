"""The kept assessment (issue 14): each patient's input fingerprint, and one summary row per patient, rule
profile and as-of day holding the worklist's part of that patient's assessment (JSON), read without lab rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Column, Text, delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Field, Session, SQLModel

from lenadash.store.models import ClinicalEvent, LabResult, Patient, TreatmentCourse
from lenadash.store.sql import IN_CHUNK, chunks, table_of

# As-of days kept per rule profile: today, and a few days a clinician looked back at in the sidebar.
KEEP_AS_OF_DAYS = 4


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CourseSummary(SQLModel, table=True):
    """One patient's assessed courses as the worklist reads them (assess entries with their draws cut to
    the latest ones, and the patient's worklist rows), for one rule profile and as-of day, valid while the
    patient's `inputs` fingerprint (patient_inputs) is unchanged. Derived data: deleting every row only
    costs one reassessment."""

    __tablename__ = "course_summary"
    mrn: str = Field(primary_key=True, max_length=64)
    rules: str = Field(primary_key=True, max_length=64)
    as_of: dt.date = Field(primary_key=True)
    inputs: str = Field(max_length=64, description="patient_inputs fingerprint the entries were assessed from")
    summary: str = Field(
        sa_column=Column(Text, nullable=False), description="JSON: the assess entries and the worklist rows"
    )
    computed_at: dt.datetime = Field(default_factory=_now)


def patient_inputs(*, session: Session) -> dict[str, str]:
    """{MRN: fingerprint} of everything an assessment of that patient reads: the patient row, its courses,
    its events (each row whole) and its lab results (count, highest and summed id: results are only ever
    added - a correction adds a row and marks the old one - so these change with every import that
    touches the patient). One pass over the (patient, collected time) index for the labs (~0.2 s at a
    million results, SQLite); patients, courses and events are read whole (a few rows per patient)."""
    connection = session.connection()
    parts: dict[int, list] = defaultdict(list)
    labs = table_of(LabResult)
    grouped = select(labs.c.patient_id, func.count(), func.max(labs.c.id), func.sum(labs.c.id)).group_by(
        labs.c.patient_id
    )
    for patient_id, *stats in connection.execute(grouped):
        parts[patient_id].append(("labs", *stats))
    for model in (TreatmentCourse, ClinicalEvent):
        table = table_of(model)
        columns = sorted(table.c, key=lambda c: c.name)
        for row in connection.execute(select(*columns).order_by(table.c.id)):
            parts[row.patient_id].append((table.name, *row))
    patient = table_of(Patient)
    columns = sorted(patient.c, key=lambda c: c.name)
    out = {}
    for row in connection.execute(select(*columns)):
        key = repr((tuple(row), parts.get(row.id, [])))
        out[str(row.mrn)] = hashlib.sha256(key.encode()).hexdigest()[:32]
    return out


def read_summaries(*, session: Session, rules: str, as_of: dt.date) -> dict[str, tuple[str, str]]:
    """{MRN: (inputs fingerprint, summary JSON)} kept for this rule profile and as-of day."""
    table = table_of(CourseSummary)
    statement = select(table.c.mrn, table.c.inputs, table.c.summary).where(
        table.c.rules == rules, table.c.as_of == as_of
    )
    return {mrn: (inputs, entries) for mrn, inputs, entries in session.connection().execute(statement)}


def write_summaries(
    *, session: Session, rules: str, as_of: dt.date, rows: dict[str, tuple[str, str]], present: Iterable[str]
) -> bool:
    """Keep `rows` ({MRN: (inputs, summary JSON)}) for this rule profile and as-of day, drop the rows of
    MRNs no longer `present` and all but the KEEP_AS_OF_DAYS as-of days written last; commits. False (nothing
    written, rolled back) when another process wrote the same rows first or the database refuses writes
    (read-only, busy): the rows are derived, the next change writes them."""
    table = table_of(CourseSummary)
    keep = set(present)
    try:
        connection = session.connection()
        for part in chunks(sorted(rows), IN_CHUNK):
            connection.execute(
                delete(table).where(table.c.rules == rules, table.c.as_of == as_of, table.c.mrn.in_(list(part)))
            )
        if rows:
            now = _now()
            connection.execute(
                table.insert(),
                [
                    {"mrn": m, "rules": rules, "as_of": as_of, "inputs": i, "summary": e, "computed_at": now}
                    for m, (i, e) in rows.items()
                ],
            )
        stored = select(table.c.mrn).where(table.c.rules == rules, table.c.as_of == as_of)
        gone = [m for (m,) in connection.execute(stored) if m not in keep]
        for part in chunks(gone, IN_CHUNK):
            connection.execute(
                delete(table).where(table.c.rules == rules, table.c.as_of == as_of, table.c.mrn.in_(list(part)))
            )
        newest = func.max(table.c.computed_at)
        days = select(table.c.as_of, newest).where(table.c.rules == rules).group_by(table.c.as_of)
        old = [d for d, _ in sorted(connection.execute(days), key=lambda r: r[1], reverse=True)][KEEP_AS_OF_DAYS:]
        if old:
            connection.execute(delete(table).where(table.c.rules == rules, table.c.as_of.in_(old)))
        session.commit()
    except (IntegrityError, OperationalError):
        session.rollback()
        return False
    return True
