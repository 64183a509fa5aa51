"""Database: engine and schema upgrade, saving imports (idempotent, corrections, atomic), loading DataFrames."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from lenadash.config import get_settings
from lenadash.errors import StoreError  # noqa: F401  (re-exported)
from lenadash.store.models import (
    EVENT_KINDS,
    ClinicalEvent,
    ClinicalEventCreate,
    LabResult,
    Patient,
    PatientCreate,
    TreatmentCourse,
    TreatmentCourseCreate,
    Upload,
)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Rows per executemany batch; small enough to keep memory flat, large enough to amortise the call.
CHUNK_SIZE = 50_000
# Bound parameters per IN (...) lookup; below every backend's limit.
_IN_CHUNK = 500

LABS_COLUMNS = [
    "mrn", "collected_at", "analyte", "value", "unit", "comparator", "raw_value", "raw_unit",
    "raw_name", "loinc", "ref_low", "ref_high", "flag", "status", "line",
]
PATIENTS_COLUMNS = [
    "mrn", "name", "sex", "birth_date", "weight_kg", "indication", "start_date", "starting_dose_mg",
    "schedule", "combination", "reproductive_potential", "menses", "dialysis",
]
EVENTS_COLUMNS = [
    "mrn", "date", "event", "value", "detail", "temperature_c", "grade", "result", "dose_mg",
    "is_hold", "agent",
]
UPLOADS_COLUMNS = [
    "id", "file_name", "kind", "content_hash", "uploaded_at", "rows_read", "rows_imported",
    "rows_unchanged", "rows_superseding", "rows_rejected",
]
REJECT_FIELDS = ["file", "line", "column", "value", "reason", "message", "hint"]

# Which parsed column carries an event's `value` text (the table stores the parsed form only).
EVENT_VALUE_FIELD = {
    "fever": "temperature_c",
    "toxicity": "grade",
    "pregnancy_test": "result",
    "dose_change": "dose_mg",  # or "hold" when is_hold
    "thromboprophylaxis": "agent",
    "platelet_transfusion": None,
    "marrow_biopsy": None,
}
assert set(EVENT_VALUE_FIELD) == set(EVENT_KINDS), "every event kind needs its value field"
# The fields that, with patient and date, identify one event (mrn+date+kind+value).
_EVENT_KEY = ["patient_id", "date", "kind", "temperature_c", "grade", "result", "dose_mg", "is_hold", "agent"]


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


# --- engine ----------------------------------------------------------------------------------


def make_engine(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """Engine for `url` (default: settings.database_url), schema upgraded to the newest revision.

    SQLite: the file's folder is created, foreign keys are enforced and the journal is WAL.
    `upgrade=False` skips Alembic (used by the migration environment itself).
    """
    url = url or get_settings().database_url
    sa_url = make_url(url)
    kwargs: dict[str, Any] = {}
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(sa_url, **kwargs)
    except Exception as exc:  # unknown driver, malformed URL
        raise StoreError(
            f"cannot use database URL {sa_url.render_as_string(hide_password=True)!r}: {exc}. "
            "Use sqlite:///path/file.sqlite or postgresql+psycopg://user:password@host/dbname"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    # PostgreSQL needs no session setup: lab times are `timestamp without time zone` (the clinic's
    # wall clock, untouched by the session's TimeZone) and upload times `timestamptz` (instants).
    if upgrade:
        upgrade_schema(engine)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the dashboard read while an import writes; NORMAL is safe (consistent) under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(connection=None):
    """Alembic Config pointing at the packaged migrations, optionally bound to a connection."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic), in one transaction."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at; None for a database lenadash never touched."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def drop_everything(engine: Engine) -> None:
    """Remove every lenadash table and the Alembic version table (used by `demo --reset`)."""
    with engine.begin() as connection:
        SQLModel.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


# --- helpers ---------------------------------------------------------------------------------


def _as_bytes(data: bytes | BinaryIO) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "getvalue"):
        return data.getvalue()
    position = data.tell() if hasattr(data, "tell") else None
    raw = data.read()
    if position is not None and hasattr(data, "seek"):
        data.seek(position)
    return raw


def _content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _placeholder(connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def _insert_chunk(connection, sql: str, rows: list[tuple]) -> None:
    """One batch: PostgreSQL COPY, else DBAPI executemany; a module function so tests can make it
    fail mid-import."""
    if sql.startswith("COPY "):
        # psycopg's COPY is about ten times faster than executemany; same connection and transaction.
        with connection.connection.dbapi_connection.cursor() as cursor:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    connection.exec_driver_sql(sql, rows)


def _none_if_missing(values: list) -> list:
    return [None if (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))) else v for v in values]


def _clean_text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text_value = str(value).strip()
    return text_value or None


def rejected_rows(problems: pd.DataFrame | None, file_name: str) -> list[dict]:
    """Error rows of a problems table as plain dicts (warnings keep their row and are not rejects)."""
    if problems is None or len(problems) == 0:
        return []
    errors = problems
    if "severity" in problems.columns:
        errors = problems[problems["severity"].astype("str") == "error"]
    out = []
    for record in errors.to_dict("records"):
        item = {}
        for key in REJECT_FIELDS:
            value = record.get(key)
            if key == "line":
                item[key] = None if _clean_text(value) is None else int(value)
            elif key == "file":
                item[key] = _clean_text(value) or file_name
            else:
                item[key] = _clean_text(value) or ""
        out.append(item)
    return out


def _existing_upload(session: Session, content_hash: str, kind: str) -> Upload | None:
    return session.execute(
        select(Upload).where(Upload.content_hash == content_hash, Upload.kind == kind)
    ).scalars().first()


def _start_upload(session: Session, *, file_name: str, kind: str, raw: bytes, rows_read: int, rejects: list[dict]) -> tuple[Upload, bool]:
    """The new upload row of this file, flushed (its id is known), and False; or, when these bytes
    were already imported as `kind`, the earlier upload and True (nothing written).

    Rolls back on any error. The unique (content_hash, kind) index settles the race of two sessions
    importing the same new file at once: the later insert fails and finds the winner's upload.
    """
    content_hash = _content_hash(raw)
    previous = _existing_upload(session, content_hash, kind)
    if previous is not None:
        return previous, True
    upload = Upload(
        file_name=(file_name or "(unnamed)")[:255],
        kind=kind,
        content_hash=content_hash,
        content=raw,
        rows_read=int(rows_read or 0),
        rows_rejected=len(rejects),
        rejects_json=json.dumps(rejects, default=str),
    )
    try:
        session.add(upload)
        session.flush()
    except IntegrityError:
        session.rollback()
        previous = _existing_upload(session, content_hash, kind)
        if previous is None:  # some other integrity failure
            raise
        return previous, True
    except Exception:
        session.rollback()
        raise
    return upload, False


def _already(upload: Upload, *, file_name: str, rows_read: int, accepted: int, rejects: list[dict]) -> ImportSummary:
    return ImportSummary(
        upload_id=upload.id,
        kind=upload.kind,
        file_name=file_name,
        rows_read=int(rows_read or 0),
        rows_unchanged=accepted,
        rows_rejected=len(rejects),
        rejects=rejects,
        already_imported=True,
    )


def _patient_ids(connection, mrns: Iterable[str]) -> tuple[dict[str, int], int]:
    """MRN -> patient id, creating a bare patient (MRN only) for each unknown MRN.

    Returns the mapping and how many patients were created.
    """
    wanted = sorted({str(m) for m in mrns if _clean_text(m)})
    found = _lookup_patient_ids(connection, wanted)
    missing = [m for m in wanted if m not in found]
    if missing:
        ph = _placeholder(connection)
        connection.exec_driver_sql(f"INSERT INTO patient (mrn, name) VALUES ({ph}, {ph})", [(m, "") for m in missing])
        found.update(_lookup_patient_ids(connection, missing))
    return found, len(missing)


def _lookup_patient_ids(connection, mrns: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ph = _placeholder(connection)
    for chunk in _chunks(mrns, _IN_CHUNK):
        marks = ", ".join([ph] * len(chunk))
        for pid, mrn in connection.exec_driver_sql(f"SELECT id, mrn FROM patient WHERE mrn IN ({marks})", tuple(chunk)):
            found[mrn] = pid
    return found


def _reserve_ids(connection, table: str, count: int) -> np.ndarray:
    """`count` primary keys for rows about to be inserted (so corrections can point at them)."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (count,)
        ).all()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=count)
    # SQLite: the Upload row was written first in this transaction, so this connection already holds
    # the database's single write lock and nobody else can take these ids.
    start = connection.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar_one()
    return np.arange(start + 1, start + 1 + count, dtype=np.int64)


_FETCH_ROWS = 100_000


def _fetch_frame(connection, sql: str, params: tuple, columns: list[str], convert=None) -> pd.DataFrame:
    """Rows of a raw SELECT as a DataFrame, straight from the DBAPI cursor (SQLAlchemy Row objects
    cost several times more for a million rows). Fetched and `convert`ed in batches, so Python
    row tuples never exist for the whole result at once."""
    result = connection.exec_driver_sql(sql, params)
    frames = []
    try:
        while rows := result.cursor.fetchmany(_FETCH_ROWS):
            frame = pd.DataFrame(rows, columns=columns, dtype=object)
            del rows
            frames.append(convert(frame) if convert else frame)
    finally:
        result.close()
    if not frames:
        empty = pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
        return convert(empty) if convert else empty
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _to_datetime(values) -> pd.Series:
    """Naive datetime64[us] from SQLite text or PostgreSQL timestamps; aware values (upload times,
    timestamptz) become UTC first."""
    if not len(values):
        return pd.Series([], dtype="datetime64[us]")
    series = pd.to_datetime(pd.Series(values), format="ISO8601", utc=False)
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[us]")


def _datetime_params(connection, series: pd.Series) -> list:
    if connection.dialect.name == "sqlite":
        # SQLAlchemy's SQLite DateTime storage format, so ORM reads and range filters agree.
        text_values = np.datetime_as_string(series.to_numpy(dtype="datetime64[us]"), unit="us")
        return [s.replace("T", " ") for s in text_values.tolist()]
    return series.dt.to_pydatetime().tolist() if len(series) else []


def _column_lengths(table) -> dict[str, int]:
    return {c.name: c.type.length for c in table.columns if getattr(c.type, "length", None)}


@contextlib.contextmanager
def _committing(session: Session) -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back: an import is all or nothing."""
    try:
        yield
        session.commit()
    except Exception:
        session.rollback()
        raise


# --- labs ------------------------------------------------------------------------------------


def save_labs(*, session: Session, file_name: str, data: bytes | BinaryIO, lab_import) -> ImportSummary:
    """Store one lab file's accepted results (`lab_import` from ingest.read_labs) in one transaction.

    - The same file again (same SHA-256) writes nothing: `already_imported=True`.
    - Per result, the key is patient + analyte + collected_at. The same value (and comparator) as the
      current stored one is `unchanged`; a different value becomes current and the older row is kept
      with `superseded_by_id` pointing at it (a correction). Within one file the later line wins and
      earlier differing lines are kept as superseded history.
    - An MRN without a patient record gets a bare patient (MRN only), counted in `patients_created`.
    - Commits on success; on any error rolls back everything and re-raises.
    """
    raw = _as_bytes(data)
    results = lab_import.results
    rejects = rejected_rows(getattr(lab_import, "problems", None), file_name)
    rows_read = getattr(lab_import, "rows_read", len(results))
    upload, already = _start_upload(session, file_name=file_name, kind="labs", raw=raw, rows_read=rows_read, rejects=rejects)
    if already:
        return _already(upload, file_name=file_name, rows_read=rows_read, accepted=len(results), rejects=rejects)
    with _committing(session):
        connection = session.connection()
        counts, patients_created = _write_labs(connection, results, upload.id)
        upload.rows_imported, upload.rows_superseding, upload.rows_unchanged = counts
        session.add(upload)
    return ImportSummary(
        upload_id=upload.id,
        kind="labs",
        file_name=file_name,
        rows_read=int(rows_read or 0),
        rows_imported=counts[0],
        rows_superseding=counts[1],
        rows_unchanged=counts[2],
        rows_rejected=len(rejects),
        rejects=rejects,
        patients_created=patients_created,
    )


def _lab_frame(results: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("mrn", "collected_at", "analyte", "value", "unit") if c not in results.columns]
    if missing:
        raise StoreError(f"lab results lack the column(s) {missing}; pass ingest.read_labs(...) output")
    df = pd.DataFrame(
        {
            "mrn": results["mrn"].astype("str"),
            "collected_at": pd.to_datetime(results["collected_at"]).astype("datetime64[us]"),
            "analyte": results["analyte"].astype("str"),
            "value": pd.to_numeric(results["value"]).astype("float64"),
            "unit": results["unit"].astype("str"),
        }
    )
    comparator = results["comparator"] if "comparator" in results.columns else pd.Series("", index=results.index)
    df["comparator"] = comparator.astype("str").fillna("").replace("nan", "")
    for name in ("raw_value", "raw_unit", "raw_name"):
        df[name] = results[name].astype("str").fillna("") if name in results.columns else ""
    for name in ("loinc", "flag", "status"):
        df[name] = results[name] if name in results.columns else None
    for name in ("ref_low", "ref_high"):
        df[name] = pd.to_numeric(results[name]) if name in results.columns else np.nan
    df["source_line"] = results["line"] if "line" in results.columns else None
    if df["mrn"].isna().any() or (df["mrn"].str.strip() == "").any():
        raise StoreError("lab results have rows without an MRN; ingest should reject them (reason 'missing patient')")
    if df["collected_at"].isna().any() or df["value"].isna().any():
        raise StoreError("lab results have rows without collected_at or value; ingest should reject them")
    return df


def _write_labs(connection, results: pd.DataFrame, upload_id: int) -> tuple[tuple[int, int, int], int]:
    """Plan and write; returns ((imported, superseding, unchanged), patients_created)."""
    if len(results) == 0:
        return (0, 0, 0), 0
    df = _lab_frame(results)
    ids_by_mrn, patients_created = _patient_ids(connection, df["mrn"].unique())
    df["patient_id"] = df["mrn"].map(ids_by_mrn).astype("int64")
    df = df.drop(columns="mrn")
    df["_order"] = np.arange(len(df))
    df = df.sort_values(["patient_id", "analyte", "collected_at", "_order"], kind="stable").reset_index(drop=True)

    key_cols = ["patient_id", "analyte", "collected_at"]
    same_key_prev = _same_as_shifted(df, key_cols, 1)
    same_value_prev = same_key_prev & _same_as_shifted(df, ["value", "comparator"], 1)
    # Consecutive identical lines for one key are one result; the repeats count as unchanged.
    chain = df[~same_value_prev.to_numpy()].reset_index(drop=True)
    unchanged = int(same_value_prev.sum())
    del df, same_key_prev, same_value_prev  # a million-row import: keep one copy alive at a time

    group = (~_same_as_shifted(chain, key_cols, 1)).cumsum().to_numpy()
    old = _current_labs(connection, chain)
    if len(old):
        chain = chain.merge(old, on=key_cols, how="left", sort=False)
    else:  # nothing stored for these patients in this time span (a first import): no merge copy
        chain["old_id"], chain["old_value"], chain["old_comparator"] = np.nan, np.nan, None
    has_old = chain["old_id"].notna().to_numpy()
    equals_old = has_old & (chain["value"].to_numpy() == chain["old_value"].to_numpy()) & (
        chain["comparator"].to_numpy() == chain["old_comparator"].fillna("").astype("str").to_numpy()
    )
    is_first = np.r_[True, group[1:] != group[:-1]]
    is_last = np.r_[group[1:] != group[:-1], True]
    # The file's final value for a key is already current: nothing for that key is written.
    key_unchanged = np.zeros(group.max() + 1, dtype=bool)
    key_unchanged[group[is_last & equals_old]] = True
    # The file's first value equals the stored one and later lines correct it: skip the first only.
    drop = key_unchanged[group] | (is_first & equals_old)
    unchanged += int(drop.sum())
    write = chain[~drop].reset_index(drop=True)
    write_group = group[~drop]
    del chain
    if len(write) == 0:
        return (0, 0, unchanged), patients_created

    ids = _reserve_ids(connection, "lab_result", len(write))
    first_written = np.r_[True, write_group[1:] != write_group[:-1]]
    old_ids = write["old_id"].to_numpy()
    superseding = ~first_written | (first_written & ~np.isnan(old_ids.astype("float64")))
    # (successor id, superseded id): earlier line of the same key in this file, and the stored row.
    pairs = [(int(ids[i]), int(ids[i - 1])) for i in np.flatnonzero(~first_written)]
    pairs += [(int(ids[i]), int(old_ids[i])) for i in np.flatnonzero(first_written & superseding)]

    _insert_labs(connection, write, ids, upload_id)
    if pairs:
        ph = _placeholder(connection)
        connection.exec_driver_sql(f"UPDATE lab_result SET superseded_by_id = {ph} WHERE id = {ph}", pairs)
    n_superseding = int(superseding.sum())
    return (len(write) - n_superseding, n_superseding, unchanged), patients_created


def _same_as_shifted(df: pd.DataFrame, columns: list[str], periods: int) -> pd.Series:
    same = pd.Series(True, index=df.index)
    for column in columns:
        current, shifted = df[column], df[column].shift(periods)
        same &= (current == shifted).fillna(False).astype(bool)
    return same


def _current_labs(connection, chain: pd.DataFrame) -> pd.DataFrame:
    """Stored current results of the file's patients within its time span (the only rows it can touch)."""
    columns = ["patient_id", "analyte", "collected_at", "old_id", "old_value", "old_comparator"]
    ph = _placeholder(connection)
    lo, hi = _datetime_params(connection, pd.Series([chain["collected_at"].min(), chain["collected_at"].max()]))
    frames = []
    patient_ids = sorted(int(p) for p in chain["patient_id"].unique())
    for chunk in _chunks(patient_ids, _IN_CHUNK):
        marks = ", ".join([ph] * len(chunk))
        frames.append(_fetch_frame(
            connection,
            "SELECT patient_id, analyte, collected_at, id, value, comparator FROM lab_result "
            f"WHERE superseded_by_id IS NULL AND collected_at >= {ph} AND collected_at <= {ph} "
            f"AND patient_id IN ({marks})",
            (lo, hi, *chunk),
            columns,
            convert=_current_dtypes,
        ))
    return pd.concat(frames, ignore_index=True)


def _current_dtypes(old: pd.DataFrame) -> pd.DataFrame:
    old["patient_id"] = old["patient_id"].astype("int64")
    old["analyte"] = old["analyte"].astype("str")
    old["collected_at"] = _to_datetime(old["collected_at"].tolist())
    old["old_id"] = old["old_id"].astype("float64")
    old["old_value"] = old["old_value"].astype("float64")
    old["old_comparator"] = old["old_comparator"].astype("str")
    return old


_LAB_INSERT_COLUMNS = [
    "id", "patient_id", "upload_id", "collected_at", "analyte", "value", "unit", "comparator",
    "raw_value", "raw_unit", "raw_name", "loinc", "ref_low", "ref_high", "flag", "status", "source_line",
]


def _insert_labs(connection, write: pd.DataFrame, ids: np.ndarray, upload_id: int) -> None:
    """Insert in chunks; Python row tuples exist for one chunk at a time (memory stays flat)."""
    columns = _LAB_INSERT_COLUMNS
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        sql = f"COPY lab_result ({', '.join(columns)}) FROM STDIN"
    else:
        ph = _placeholder(connection)
        sql = f"INSERT INTO lab_result ({', '.join(columns)}) VALUES ({', '.join([ph] * len(columns))})"
    for start in range(0, len(write), CHUNK_SIZE):
        part = write.iloc[start : start + CHUNK_SIZE]
        values = _lab_chunk_values(connection, part, ids[start : start + CHUNK_SIZE], upload_id)
        _insert_chunk(connection, sql, list(zip(*(values[c] for c in columns))))


def _lab_chunk_values(connection, part: pd.DataFrame, ids: np.ndarray, upload_id: int) -> dict[str, list]:
    lengths = _column_lengths(LabResult.__table__)
    values: dict[str, list] = {
        "id": ids.tolist(),
        "patient_id": part["patient_id"].tolist(),
        "upload_id": [upload_id] * len(part),
        "collected_at": _datetime_params(connection, part["collected_at"]),
        "value": part["value"].tolist(),
        "ref_low": _none_if_missing(part["ref_low"].tolist()),
        "ref_high": _none_if_missing(part["ref_high"].tolist()),
        "source_line": [None if v is None else int(v) for v in _none_if_missing(part["source_line"].tolist())],
    }
    for name in ("analyte", "unit", "comparator", "raw_value", "raw_unit", "raw_name"):
        values[name] = part[name].astype("str").str.slice(0, lengths.get(name)).tolist()
    for name in ("loinc", "flag", "status"):
        values[name] = [None if v is None else str(v)[: lengths.get(name)] for v in _none_if_missing(part[name].tolist())]
    return values


def load_labs(*, session: Session, mrn: str | None = None) -> pd.DataFrame:
    """Current lab results (corrected values replace older ones) in the labs contract columns.

    `mrn=None` loads every patient. The store's `source_line` comes back as `line` (nullable Int64;
    NA for results entered without a file).
    """
    connection = session.connection()
    ph = _placeholder(connection)
    sql = (
        "SELECT p.mrn, l.collected_at, l.analyte, l.value, l.unit, l.comparator, l.raw_value, l.raw_unit, "
        "l.raw_name, l.loinc, l.ref_low, l.ref_high, l.flag, l.status, l.source_line "
        "FROM lab_result l JOIN patient p ON p.id = l.patient_id WHERE l.superseded_by_id IS NULL"
    )
    params: tuple = ()
    if mrn is not None:
        sql += f" AND p.mrn = {ph}"
        params = (mrn,)
    sql += " ORDER BY p.mrn, l.collected_at, l.analyte"
    return _fetch_frame(connection, sql, params, LABS_COLUMNS, convert=_labs_dtypes)


def _labs_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    df["collected_at"] = _to_datetime(df["collected_at"].tolist())
    for name in ("mrn", "analyte", "unit", "comparator", "raw_value", "raw_unit", "raw_name"):
        df[name] = df[name].astype("str")
    for name in ("value", "ref_low", "ref_high"):
        df[name] = pd.to_numeric(df[name]).astype("float64")
    for name in ("loinc", "flag", "status"):
        df[name] = _few_objects(df[name])
    df["line"] = pd.to_numeric(df["line"]).astype("Int64")
    return df


def _few_objects(column: pd.Series) -> pd.Series:
    """A str-or-None object column sharing one object per distinct value. The driver's million
    separate little strings would otherwise stay alive and pin freed memory (+~0.8 GB per 1M rows)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    lookup = np.array([*(str(u) for u in uniques), None], dtype=object)
    return pd.Series(lookup[codes], index=column.index, dtype=object)


# --- patients and courses --------------------------------------------------------------------


def _get_or_create_patient(session: Session, mrn: str) -> tuple[Patient, bool]:
    patient = session.execute(select(Patient).where(Patient.mrn == mrn)).scalars().first()
    if patient is not None:
        return patient, False
    patient = Patient.model_validate(PatientCreate(mrn=mrn))
    session.add(patient)
    session.flush()
    return patient, True


def _field(row: dict, name: str, default=None):
    value = row.get(name, default)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return default
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _upsert_course(session: Session, row: dict) -> tuple[TreatmentCourse, bool, bool]:
    """Patient by MRN and course by MRN + indication + start_date; returns (course, patient created, course created)."""
    mrn = _clean_text(row.get("mrn"))
    if mrn is None:
        raise StoreError("a patient row needs an MRN; fill the mrn column")
    patient, patient_created = _get_or_create_patient(session, mrn)
    patient_fields = {"mrn": mrn}
    for name in ("name", "sex", "birth_date", "weight_kg"):
        value = _field(row, name)
        patient_fields[name] = value if value is not None else getattr(patient, name)
    patient_fields["name"] = patient_fields["name"] or ""
    checked_patient = PatientCreate.model_validate(patient_fields)
    for name, value in checked_patient.model_dump().items():
        setattr(patient, name, value)
    session.add(patient)
    session.flush()

    course_fields = {name: _field(row, name) for name in TreatmentCourseCreate.model_fields if name != "patient_id"}
    course_fields = {k: v for k, v in course_fields.items() if v is not None}
    checked_course = TreatmentCourseCreate.model_validate({**course_fields, "patient_id": patient.id})
    course = session.execute(
        select(TreatmentCourse).where(
            TreatmentCourse.patient_id == patient.id,
            TreatmentCourse.indication == checked_course.indication,
            TreatmentCourse.start_date == checked_course.start_date,
        )
    ).scalars().first()
    course_created = course is None
    if course is None:
        course = TreatmentCourse.model_validate(checked_course)
    else:
        for name, value in checked_course.model_dump().items():
            setattr(course, name, value)
    session.add(course)
    session.flush()
    return course, patient_created, course_created


def upsert_patient_course(*, session: Session, row: dict) -> TreatmentCourse:
    """Create or update one patient (by MRN) and one course (by MRN + indication + start_date).

    `row` has the patients contract keys; missing/None patient fields keep what is stored.
    Validated through PatientCreate/TreatmentCourseCreate (pydantic ValidationError on bad values).
    Commits; returns the stored course.
    """
    with _committing(session):
        course, _, _ = _upsert_course(session, row)
    session.refresh(course)
    return course


def save_patients(*, session: Session, file_name: str, data: bytes | BinaryIO, table_import) -> ImportSummary:
    """Store a patients (courses) file from ingest.read_patients, in one transaction.

    Patients are matched by MRN and updated; a course is matched by MRN + indication + start_date
    and updated (re-importing a corrected file changes the course, never duplicates it). The same
    file again writes nothing (`already_imported`). Counts: rows_imported = new courses,
    rows_superseding = courses updated, rows_unchanged = courses identical to what was stored.
    """
    raw = _as_bytes(data)
    rows = table_import.rows
    rejects = rejected_rows(getattr(table_import, "problems", None), file_name)
    rows_read = getattr(table_import, "rows_read", len(rows))
    upload, already = _start_upload(session, file_name=file_name, kind="patients", raw=raw, rows_read=rows_read, rejects=rejects)
    if already:
        return _already(upload, file_name=file_name, rows_read=rows_read, accepted=len(rows), rejects=rejects)
    created = updated = same = patients_created = 0
    with _committing(session):
        for row in rows.to_dict("records"):
            before = _course_snapshot(session, row)
            course, patient_created, course_created = _upsert_course(session, row)
            patients_created += patient_created
            if course_created:
                created += 1
            elif before == _snapshot(course, session):
                same += 1
            else:
                updated += 1
        upload.rows_imported, upload.rows_superseding, upload.rows_unchanged = created, updated, same
        session.add(upload)
    return ImportSummary(
        upload_id=upload.id, kind="patients", file_name=file_name, rows_read=int(rows_read or 0),
        rows_imported=created, rows_superseding=updated, rows_unchanged=same, rows_rejected=len(rejects),
        rejects=rejects, patients_created=patients_created,
    )


def _snapshot(course: TreatmentCourse, session: Session) -> tuple:
    patient = session.get(Patient, course.patient_id)
    return (
        tuple(PatientCreate.model_validate(patient, from_attributes=True).model_dump().values()),
        tuple(TreatmentCourseCreate.model_validate(course, from_attributes=True).model_dump().values()),
    )


def _course_snapshot(session: Session, row: dict) -> tuple | None:
    mrn = _clean_text(row.get("mrn"))
    start = _field(row, "start_date")
    if mrn is None or start is None:
        return None
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            return None
    course = session.execute(
        select(TreatmentCourse)
        .join(Patient, Patient.id == TreatmentCourse.patient_id)
        .where(Patient.mrn == mrn, TreatmentCourse.indication == _field(row, "indication"), TreatmentCourse.start_date == start)
    ).scalars().first()
    return None if course is None else _snapshot(course, session)


def load_patients(*, session: Session, include_without_course: bool = False) -> pd.DataFrame:
    """One row per treatment course in the patients contract columns.

    Patients known only from lab files (bare MRN, no course) are left out unless
    `include_without_course=True`, where their course columns are None/NaN.
    """
    patient, course = Patient.__table__, TreatmentCourse.__table__
    columns = [patient.c[n] if n in patient.c else course.c[n] for n in PATIENTS_COLUMNS]
    statement = (
        select(*columns)
        .select_from(patient.join(course, course.c.patient_id == patient.c.id, isouter=include_without_course))
        .order_by(patient.c.mrn, course.c.start_date, course.c.id)
    )
    result = session.connection().execute(statement)
    df = pd.DataFrame.from_records(result.all(), columns=PATIENTS_COLUMNS)
    for name in ("mrn", "name", "indication", "schedule"):
        df[name] = df[name].astype("str")
    for name in ("sex", "combination", "menses"):
        df[name] = df[name].astype("object").where(df[name].notna(), None)
    for name in ("birth_date", "start_date"):
        df[name] = df[name].map(_as_date).astype("object")
    for name in ("weight_kg", "starting_dose_mg"):
        df[name] = pd.to_numeric(df[name]).astype("float64")
    for name in ("reproductive_potential", "dialysis"):
        df[name] = df[name].map(lambda v: bool(v) if v is not None and v == v else False).astype("bool")
    return df


def _as_date(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


# --- events ----------------------------------------------------------------------------------


def _event_fields(row: dict, patient_id: int) -> ClinicalEventCreate:
    kind = _clean_text(row.get("event", row.get("kind")))
    if kind not in EVENT_KINDS:
        raise StoreError(f"unknown event kind {kind!r}; use one of {', '.join(EVENT_KINDS)}")
    fields = {"patient_id": patient_id, "kind": kind, "date": _field(row, "date")}
    for name in ("temperature_c", "grade", "result", "dose_mg", "agent"):
        value = _field(row, name)
        if value is not None:
            fields[name] = value
    fields["is_hold"] = bool(_field(row, "is_hold", False))
    fields["detail"] = _clean_text(row.get("detail")) or ""
    return ClinicalEventCreate.model_validate(fields)


def _event_key(event_row) -> tuple:
    return tuple(getattr(event_row, name) for name in _EVENT_KEY)


def _find_event(session: Session, checked: ClinicalEventCreate) -> ClinicalEvent | None:
    candidates = session.execute(
        select(ClinicalEvent).where(
            ClinicalEvent.patient_id == checked.patient_id,
            ClinicalEvent.date == checked.date,
            ClinicalEvent.kind == checked.kind,
        )
    ).scalars().all()
    key = _event_key(checked)
    return next((c for c in candidates if _event_key(c) == key), None)


def _add_event(session: Session, row: dict, upload_id: int | None) -> tuple[ClinicalEvent, bool, bool]:
    mrn = _clean_text(row.get("mrn"))
    if mrn is None:
        raise StoreError("an event needs an MRN; fill the mrn column")
    patient, patient_created = _get_or_create_patient(session, mrn)
    checked = _event_fields(row, patient.id)
    existing = _find_event(session, checked)
    if existing is not None:
        return existing, patient_created, False
    stored = ClinicalEvent.model_validate(checked)
    stored.upload_id = upload_id
    session.add(stored)
    session.flush()
    return stored, patient_created, True


def add_event(*, session: Session, row: dict) -> ClinicalEvent:
    """Record one clinical event (events contract keys; `event` or `kind` names it).

    Idempotent on MRN + date + kind + value: recording the same event twice returns the stored one.
    Validated through ClinicalEventCreate. Commits.
    """
    with _committing(session):
        stored, _, _ = _add_event(session, row, None)
    session.refresh(stored)
    return stored


def save_events(*, session: Session, file_name: str, data: bytes | BinaryIO, table_import) -> ImportSummary:
    """Store an events file from ingest.read_events in one transaction, idempotent on
    MRN + date + kind + value (a repeated event is `unchanged`; the same file again writes nothing)."""
    raw = _as_bytes(data)
    rows = table_import.rows
    rejects = rejected_rows(getattr(table_import, "problems", None), file_name)
    rows_read = getattr(table_import, "rows_read", len(rows))
    upload, already = _start_upload(session, file_name=file_name, kind="events", raw=raw, rows_read=rows_read, rejects=rejects)
    if already:
        return _already(upload, file_name=file_name, rows_read=rows_read, accepted=len(rows), rejects=rejects)
    imported = same = patients_created = 0
    with _committing(session):
        for row in rows.to_dict("records"):
            _, patient_created, created = _add_event(session, row, upload.id)
            patients_created += patient_created
            imported += created
            same += not created
        upload.rows_imported, upload.rows_unchanged = imported, same
        session.add(upload)
    return ImportSummary(
        upload_id=upload.id, kind="events", file_name=file_name, rows_read=int(rows_read or 0),
        rows_imported=imported, rows_unchanged=same, rows_rejected=len(rejects), rejects=rejects,
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
    """Clinical events in the events contract columns; `value` is rebuilt from the parsed field.

    `mrn=None` loads every patient.
    """
    statement = select(Patient.mrn, ClinicalEvent).join(Patient, Patient.id == ClinicalEvent.patient_id)
    if mrn is not None:
        statement = statement.where(Patient.mrn == mrn)
    statement = statement.order_by(Patient.mrn, ClinicalEvent.date, ClinicalEvent.id)
    records = []
    for patient_mrn, stored in session.execute(statement).all():
        row = stored.model_dump()
        records.append(
            {
                "mrn": patient_mrn, "date": row["date"], "event": row["kind"],
                "value": _event_value(row["kind"], row), "detail": row["detail"] or "",
                "temperature_c": row["temperature_c"], "grade": row["grade"], "result": row["result"],
                "dose_mg": row["dose_mg"], "is_hold": bool(row["is_hold"]), "agent": row["agent"],
            }
        )
    df = pd.DataFrame.from_records(records, columns=EVENTS_COLUMNS)
    for name in ("mrn", "event", "value", "detail"):
        df[name] = df[name].astype("str")
    df["date"] = df["date"].astype("object")
    for name in ("temperature_c", "dose_mg"):
        df[name] = pd.to_numeric(df[name]).astype("float64")
    df["grade"] = pd.array(_none_if_missing(df["grade"].tolist()), dtype="Int64")
    df["is_hold"] = df["is_hold"].astype("bool")
    for name in ("result", "agent"):
        df[name] = df[name].astype("object").where(df[name].notna(), None)
    return df


# --- uploads ---------------------------------------------------------------------------------


def list_uploads(*, session: Session) -> pd.DataFrame:
    """Every upload, newest first (without the stored file bytes)."""
    table = Upload.__table__
    statement = select(*(table.c[name] for name in UPLOADS_COLUMNS)).order_by(table.c.id.desc())
    df = pd.DataFrame.from_records(session.connection().execute(statement).all(), columns=UPLOADS_COLUMNS)
    for name in ("file_name", "kind", "content_hash"):
        df[name] = df[name].astype("str")
    df["uploaded_at"] = _to_datetime(df["uploaded_at"].tolist())
    for name in ("id", "rows_read", "rows_imported", "rows_unchanged", "rows_superseding", "rows_rejected"):
        df[name] = df[name].astype("int64")
    return df


def data_version(*, session: Session) -> str:
    """A short token that changes whenever stored labs, patients, courses, events or uploads change
    (in this session or any other), so the dashboard can tell its cached frames are stale.

    Lab results, events and uploads are only ever added - a correction adds a row and points the old
    one at it, in the same transaction - so the highest id and the row count of each tell. Patients
    and courses are edited in place (a corrected patients file, the Setup page), so their rows are
    hashed whole: one row per patient or course, a few thousand at most.
    """
    connection = session.connection()
    parts: list = []
    for model in (LabResult, ClinicalEvent, Upload):
        table = model.__table__
        # two scalar subqueries: SQLite answers max(id) from the primary key and count(*) from the
        # smallest index (~6 ms for a million results); asked together it scans the table (~50 ms)
        highest = select(func.max(table.c.id)).scalar_subquery()
        count = select(func.count()).select_from(table).scalar_subquery()
        parts.append(tuple(connection.execute(select(highest, count)).one()))
    for model in (Patient, TreatmentCourse):
        table = model.__table__
        columns = sorted(table.c, key=lambda c: c.name)
        parts.append([tuple(row) for row in connection.execute(select(*columns).order_by(table.c.id))])
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def upload_rejects(*, session: Session, upload_id: int) -> list[dict]:
    """The rejected rows of one upload (line, column, value, reason, message, hint)."""
    upload = session.get(Upload, upload_id)
    return [] if upload is None else json.loads(upload.rejects_json)


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


def open_session(engine: Engine) -> Session:
    """A Session on `engine` (pages and the CLI get theirs here; only store opens sessions)."""
    return Session(engine)


def display_url(url: str) -> str:
    """A database URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)
