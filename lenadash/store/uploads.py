"""Uploads: one row per imported file (hash, size, counts, rejected rows), the import summary, the data version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel, col

from lenadash.config import get_settings
from lenadash.store.models import ClinicalEvent, LabResult, Patient, RecordVersion, TreatmentCourse, Upload
from lenadash.store.sql import (
    clean_text,
    committing,
    content_hash,
    database_failure,
    integrity_failure,
    one_import_at_a_time,
    table_of,
    to_datetime,
)
from lenadash.vocab.frames import REJECT_FIELDS

UPLOADS_COLUMNS = [
    "id",
    "file_name",
    "kind",
    "content_hash",
    "uploaded_at",
    "rows_read",
    "rows_imported",
    "rows_unchanged",
    "rows_superseding",
    "rows_rejected",
    "source",
]


@dataclass(frozen=True)
class ImportSummary:
    """What one import did. rows_imported, rows_superseding and rows_unchanged partition the
    accepted results: new, corrections (an older value kept as superseded) and already stored."""

    upload_id: int
    kind: str
    file_name: str = ""
    rows_read: int = 0
    rows_imported: int = 0
    rows_unchanged: int = 0
    rows_superseding: int = 0
    rows_rejected: int = 0
    rejects: list[dict] = field(default_factory=list)
    patients_created: int = 0
    already_imported: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class StartedUpload:
    """A file on its way in: its upload row, what ingest rejected, and the summary to return at once
    when these bytes were imported before (`already`, else None)."""

    upload: Upload
    rows_read: int
    rejects: list[dict]
    already: ImportSummary | None

    @property
    def upload_id(self) -> int:
        """The upload row's id: the row was flushed or read back, so the database has assigned it."""
        return _upload_id(self.upload)


def _upload_id(upload: Upload) -> int:
    assert upload.id is not None, "the upload row is flushed or loaded, so it has an id"
    return upload.id


def rejected_rows(problems: pd.DataFrame | None, file_name: str) -> list[dict]:
    """Error rows of a problems table as plain dicts (warnings keep their row and are not rejects)."""
    if problems is None or len(problems) == 0:
        return []
    errors = problems
    if "severity" in problems.columns:
        errors = problems[problems["severity"].astype("str") == "error"]
    return [_reject(record, file_name) for record in errors.to_dict("records")]


def _reject(record: dict, file_name: str) -> dict:
    item: dict[str, Any] = {}
    for key in REJECT_FIELDS:
        value = record.get(key)
        if key == "line":
            item[key] = None if value is None or clean_text(value) is None else int(value)
        elif key == "file":
            item[key] = clean_text(value) or file_name
        else:
            item[key] = clean_text(value) or ""
    return item


def start_upload(session: Session, *, kind: str, file_name: str, data: bytes, parsed, accepted: int) -> StartedUpload:
    """Begin storing one file read by ingest (`parsed` has `problems` and `rows_read`; `accepted` is how
    many rows it kept): the new upload row, flushed, or the earlier upload of the same bytes.

    Imports into one database run one at a time (see `one_import_at_a_time`): from here to the
    caller's commit this session holds the database's import lock, so what it reads stays what is
    stored until it writes. An earlier upload ends the transaction here (nothing to write)."""
    one_import_at_a_time(session)
    rejects = rejected_rows(getattr(parsed, "problems", None), file_name)
    rows_read = getattr(parsed, "rows_read", accepted)
    upload, already = _new_or_earlier_upload(
        session, file_name=file_name, kind=kind, raw=data, rows_read=rows_read, rejects=rejects
    )
    summary = None
    if already:
        summary = _already(upload, file_name=file_name, rows_read=rows_read, accepted=accepted, rejects=rejects)
        session.rollback()  # nothing written; releases the import lock
    return StartedUpload(upload=upload, rows_read=rows_read, rejects=rejects, already=summary)


def imported_before(*, session: Session, sha256: str, kind: str, file_name: str) -> ImportSummary | None:
    """The summary of an earlier import as `kind` of the file whose SHA-256 (hex) is `sha256`, or None.

    Asked before the file is parsed (issue 14: a 1M-row file is recognised in well under a second, not
    after a 2 s parse): the counts and rejected rows are the earlier upload's, which parsing the same
    bytes again would give, so the summary is the one `start_upload` would return after parsing. Reads
    only; a transaction this call opened is ended. Uploads are never deleted, so an earlier upload found
    here stays; when none is found, `start_upload` checks again under the import lock."""
    opened = not session.in_transaction()
    table = table_of(Upload)
    columns = ("id", "kind", "file_name", "rows_read", "rows_imported", "rows_superseding", "rows_unchanged")
    statement = select(*(table.c[c] for c in columns), table.c.rejects_json).where(
        table.c.content_hash == sha256, table.c.kind == kind
    )
    row = session.connection().execute(statement).first()
    if opened:
        session.rollback()  # ends the read transaction this call began (SQLite: releases its shared lock)
    if row is None:
        return None
    rejects = json.loads(row.rejects_json)
    for reject in rejects:  # parsing the bytes under this name would name this file in its rejects
        if reject.get("file") == row.file_name:
            reject["file"] = file_name or row.file_name
    return ImportSummary(
        upload_id=int(row.id),
        kind=row.kind,
        file_name=file_name,
        rows_read=int(row.rows_read or 0),
        rows_unchanged=int(row.rows_imported) + int(row.rows_superseding) + int(row.rows_unchanged),
        rows_rejected=rejected_row_count(rejects),
        rejects=rejects,
        already_imported=True,
    )


def _existing_upload(session: Session, content_hash: str, kind: str) -> Upload | None:
    return (
        session.execute(select(Upload).where(col(Upload.content_hash) == content_hash, col(Upload.kind) == kind))
        .scalars()
        .first()
    )


def _new_or_earlier_upload(
    session: Session, *, file_name: str, kind: str, raw: bytes, rows_read: int, rejects: list[dict]
) -> tuple[Upload, bool]:
    """The new upload row of this file, flushed (its id is known), and False; or, when these bytes
    were already imported as `kind`, the earlier upload and True (nothing written).

    Rolls back on any error. The unique (content_hash, kind) index settles the race of two sessions
    importing the same new file at once: the later insert fails and finds the winner's upload.
    """
    file_hash = content_hash(raw)
    previous = _existing_upload(session, file_hash, kind)
    if previous is not None:
        return previous, True
    upload = Upload(
        file_name=(file_name or "(unnamed)")[:255],
        kind=kind,
        content_hash=file_hash,
        size_bytes=len(raw),
        content=raw if get_settings().keep_uploads else b"",
        rows_read=int(rows_read or 0),
        rows_rejected=rejected_row_count(rejects),
        rejects_json=json.dumps(rejects, default=str),
    )
    try:
        session.add(upload)
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        previous = _existing_upload(session, file_hash, kind)
        if previous is not None:
            return previous, True
        collision = integrity_failure(exc)  # another key refused the row (an id written outside lenadash)
        if collision is None:
            raise
        raise collision from None
    except OperationalError as exc:  # read-only, full, locked, gone: the user's to fix, without the SQL
        session.rollback()
        failure = database_failure(exc)
        if failure is None:
            raise
        raise failure from None
    except Exception:
        session.rollback()
        raise
    return upload, False


def rejected_row_count(rejects: list[dict]) -> int:
    """How many rows the rejects are: a row with two errors is one rejected row (problems are counted apart);
    a reject with no line (a file-level problem) counts once."""
    lines = {(r.get("file"), r.get("line")) for r in rejects if r.get("line") is not None}
    return len(lines) + sum(1 for r in rejects if r.get("line") is None)


def _already(upload: Upload, *, file_name: str, rows_read: int, accepted: int, rejects: list[dict]) -> ImportSummary:
    return ImportSummary(
        upload_id=_upload_id(upload),
        kind=upload.kind,
        file_name=file_name,
        rows_read=int(rows_read or 0),
        rows_unchanged=accepted,
        rows_rejected=rejected_row_count(rejects),
        rejects=rejects,
        already_imported=True,
    )


def finished(
    started: StartedUpload,
    *,
    file_name: str,
    rows_imported: int = 0,
    rows_superseding: int = 0,
    rows_unchanged: int = 0,
    patients_created: int = 0,
) -> ImportSummary:
    """The summary of a file just stored: its upload, what ingest read and rejected, and the counts."""
    upload = started.upload
    return ImportSummary(
        upload_id=started.upload_id,
        kind=upload.kind,
        file_name=file_name,
        rows_read=int(started.rows_read or 0),
        rows_imported=rows_imported,
        rows_unchanged=rows_unchanged,
        rows_superseding=rows_superseding,
        rows_rejected=rejected_row_count(started.rejects),
        rejects=started.rejects,
        patients_created=patients_created,
    )


def list_uploads(*, session: Session) -> pd.DataFrame:
    """Every upload, newest first (without the stored file bytes)."""
    table = table_of(Upload)
    statement = select(*(table.c[name] for name in UPLOADS_COLUMNS)).order_by(table.c.id.desc())
    df = pd.DataFrame.from_records(session.connection().execute(statement).all(), columns=UPLOADS_COLUMNS)
    for name in ("file_name", "kind", "content_hash", "source"):
        df[name] = df[name].astype("str")
    df["uploaded_at"] = to_datetime(df["uploaded_at"].tolist())
    for name in ("id", "rows_read", "rows_imported", "rows_unchanged", "rows_superseding", "rows_rejected"):
        df[name] = df[name].astype("int64")
    return df


def data_version(*, session: Session) -> str:
    """A short token that changes whenever stored labs, patients, courses, events or uploads change
    (in this session or any other), so the dashboard can tell its cached frames are stale.

    Lab results, events and uploads are only ever added - a correction adds a row and points the old
    one at it, in the same transaction; voiding an event marks it and adds a record_version row - so
    the highest id and the row count of each tell. Patients
    and courses are edited in place (a corrected patients file, the Setup page), so their rows are
    hashed whole: one row per patient or course, a few thousand at most.
    """
    connection = session.connection()
    parts: list = []
    model: type[SQLModel]
    # record_version: a voided event changes a row in place, and always leaves a version (revision 0008)
    for model in (LabResult, ClinicalEvent, Upload, RecordVersion):
        table = table_of(model)
        # two scalar subqueries: SQLite answers max(id) from the primary key and count(*) from the
        # smallest index (~6 ms for a million results); asked together it scans the table (~50 ms)
        highest = select(func.max(table.c.id)).scalar_subquery()
        count = select(func.count()).select_from(table).scalar_subquery()
        parts.append(tuple(connection.execute(select(highest, count)).one()))
    for model in (Patient, TreatmentCourse):
        table = table_of(model)
        columns = sorted(table.c, key=lambda c: c.name)
        parts.append([tuple(row) for row in connection.execute(select(*columns).order_by(table.c.id))])
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def set_upload_source(*, session: Session, upload_id: int, source: str) -> None:
    """Record where an upload came from ("folder": the watched folder); commits."""
    upload = session.get(Upload, upload_id)
    if upload is not None and upload.source != source:
        with committing(session):
            upload.source = source
            session.add(upload)


def upload_rejects(*, session: Session, upload_id: int) -> list[dict]:
    """The rejected rows of one upload (line, column, value, reason, message, hint)."""
    upload = session.get(Upload, upload_id)
    return [] if upload is None else json.loads(upload.rejects_json)
