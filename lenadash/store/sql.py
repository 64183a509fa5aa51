"""SQL helpers the store's modules share: batches, placeholders, fast reads, time parameters, clean values, commits."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import Table, inspect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, SQLModel

from lenadash.errors import StoreError
from lenadash.vocab.frames import field_words

# Bound parameters per IN (...) lookup; below every backend's limit.
IN_CHUNK = 500
# Rows per DBAPI fetchmany when reading a frame.
FETCH_ROWS = 100_000


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def placeholder(connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def insert_chunk(connection, sql: str, rows: list[tuple] | bytes) -> None:
    """One batch: PostgreSQL COPY (of `rows` as bytes in the statement's format, or row by row), else DBAPI
    executemany; a module function so tests can make it fail mid-import."""
    if sql.startswith("COPY "):
        # psycopg's COPY is about ten times faster than executemany; same connection and transaction.
        dbapi = connection.dialect.dbapi
        try:
            with connection.connection.dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:
                if isinstance(rows, bytes):
                    copy.write(rows)
                else:
                    for row in rows:
                        copy.write_row(row)
        except dbapi.Error as exc:  # the raw cursor's error, as SQLAlchemy wraps any other statement's
            raise DBAPIError.instance(sql, None, exc, dbapi.Error, hide_parameters=True) from None
        return
    connection.exec_driver_sql(sql, rows)


def none_if_missing(values: list) -> list:
    return [None if (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))) else v for v in values]


def clean_text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    text_value = str(value).strip()
    return text_value or None


def field(row: dict, name: str, default=None):
    """A row's value as a plain Python value (dates for timestamps); `default` when it is missing."""
    value = row.get(name, default)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return default
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def as_date(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def fetch_frame(connection, sql: str, params: tuple, columns: list[str], convert=None) -> pd.DataFrame:
    """Rows of a raw SELECT as a DataFrame, straight from the DBAPI cursor (SQLAlchemy Row objects
    cost several times more for a million rows). Fetched and `convert`ed in batches, so Python
    row tuples never exist for the whole result at once."""
    result = connection.exec_driver_sql(sql, params)
    frames = []
    try:
        while rows := result.cursor.fetchmany(FETCH_ROWS):
            frame = pd.DataFrame(rows, columns=columns, dtype=object)
            del rows
            frames.append(convert(frame) if convert else frame)
    finally:
        result.close()
    if not frames:
        empty = pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
        return convert(empty) if convert else empty
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def to_datetime(values) -> pd.Series:
    """Naive datetime64[us] from SQLite text or PostgreSQL timestamps; aware values (upload times,
    timestamptz) become UTC first."""
    if not len(values):
        return pd.Series([], dtype="datetime64[us]")
    series = pd.to_datetime(pd.Series(values), format="ISO8601", utc=False)
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[us]")


def datetime_params(connection, series: pd.Series) -> list:
    if connection.dialect.name == "sqlite":
        # SQLAlchemy's SQLite DateTime storage format, so ORM reads and range filters agree.
        text_values = np.datetime_as_string(series.to_numpy(dtype="datetime64[us]"), unit="us")
        if text_values.dtype == np.dtype("<U26"):  # "YYYY-MM-DDTHH:MM:SS.ffffff": the T becomes a space in place
            letters = text_values.view("<U1").reshape(len(text_values), 26)
            letters[letters[:, 10] == "T", 10] = " "
            return text_values.tolist()
        return [s.replace("T", " ") for s in text_values.tolist()]
    return series.dt.to_pydatetime().tolist() if len(series) else []


def table_of(model: type[SQLModel]) -> Table:
    """The Table a SQLModel table class is mapped to (its `__table__`, which sqlmodel's types do not
    declare; the mapper's `local_table` is that same object)."""
    return cast(Table, inspect(model).local_table)


def column_lengths(table) -> dict[str, int]:
    return {c.name: c.type.length for c in table.columns if getattr(c.type, "length", None)}


@contextlib.contextmanager
def committing(session: Session) -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back: an import is all or nothing.

    A database that cannot take the write (locked, full, read-only, gone) is the user's to fix: a
    StoreError that says which and how, never the SQL or its parameters (they carry MRNs). Any other
    error is a bug and propagates as it is."""
    try:
        yield
        session.commit()
    except OperationalError as exc:
        session.rollback()
        failure = database_failure(exc)
        if failure is None:
            raise
        raise failure from None  # the chained error would print the statement and its parameters
    except IntegrityError as exc:
        session.rollback()
        collision = integrity_failure(exc)
        if collision is None:  # a NOT NULL or foreign key refused: lenadash's own bug
            raise
        raise collision from None
    except Exception:
        session.rollback()
        raise


# Any constant: the key of the PostgreSQL advisory lock every lenadash import of one database takes.
IMPORT_LOCK_KEY = 0x1E7ADA5


def one_import_at_a_time(session: Session) -> None:
    """Take the database's import lock for the rest of this session's transaction, so concurrent
    imports (processes, workstations) run one after the other and give exactly the serial result.
    Single saves from a form (a course, an event) take it too, so they never race an import.

    PostgreSQL: a transaction-level advisory lock (released by commit or rollback); waiting is bounded
    by the connection's lock_timeout (LENADASH_LOCK_TIMEOUT_S). SQLite: `BEGIN IMMEDIATE` takes the
    file's write lock before anything is read, waiting up to the busy timeout (the same setting); a
    transaction that already wrote holds that lock. A lock not granted in time is a StoreError
    "busy", nothing saved."""
    connection = session.connection()
    try:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({IMPORT_LOCK_KEY})")
        elif connection.dialect.name == "sqlite" and not getattr(
            connection.connection.dbapi_connection, "in_transaction", True
        ):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as exc:
        session.rollback()
        failure = database_failure(exc)
        if failure is None:
            raise
        raise failure from None


# What a database says when it cannot take a write, lower-cased -> what to tell the user (nothing was saved).
_FAILURES = (
    (
        ("database is locked", "lock timeout"),
        "the database is busy (locked by another import or program); nothing was saved - try again in a moment",
    ),
    (
        ("database or disk is full", "disk full", "no space left on device", "could not extend file"),
        "the disk holding the database is full; nothing was saved - free some space and import again",
    ),
    (
        ("readonly database", "read-only", "read only"),
        "the database is read-only here; nothing was saved - check the file's permissions or the database user's",
    ),
    (
        (
            "server closed the connection",
            "connection refused",
            "could not connect",
            "terminating connection",
            "unable to open database file",
        ),
        "the database went away during the import; nothing was saved - check that it runs and import again",
    ),
)


def database_failure(exc: OperationalError) -> StoreError | None:
    """The StoreError for a database that cannot take a write, or None when the error is not one of those."""
    text = str(exc.orig if exc.orig is not None else exc).lower()
    for needles, message in _FAILURES:
        if any(n in text for n in needles):
            return StoreError(message)
    return None


# What a unique key the database refused says (lower-cased), as SQLite and PostgreSQL name it -> which rows collided.
_COLLISIONS = (
    (
        ("uq_lab_result_current", "lab_result.patient_id, lab_result.analyte"),
        "a current result of the same patient, test and collection time",
    ),
    (("ix_patient_mrn", "patient.mrn"), "a patient with the same MRN"),
    (("_pkey", ".id"), "a row with the same id (the id sequence is behind the rows written outside lenadash)"),
)


def integrity_failure(exc: IntegrityError) -> StoreError | None:
    """The StoreError for a write a unique key of the database refused, or None for another integrity error
    (a NOT NULL or foreign key: a bug). lenadash reads what is stored under the import lock before it
    writes, so a collision means a row written outside lenadash (by SQL, another program) meanwhile or in a
    shape lenadash does not expect. Says which key, never the row (MRNs)."""
    text = str(exc.orig if exc.orig is not None else exc).lower()
    # SQLite: "UNIQUE constraint failed: ..."; PostgreSQL: "duplicate key value violates unique constraint ..."
    if "unique constraint" not in text:
        return None
    what = next((words for needles, words in _COLLISIONS if any(n in text for n in needles)), "another row")
    return StoreError(
        f"the database already holds {what}, written outside lenadash; nothing was saved - find what else "
        "writes to the database (a script, another program), correct or remove that row, and import again"
    )


def validated(model, fields: dict, *, what: str):
    """`model.model_validate(fields)`; a value the model refuses is the user's to fix, so it becomes a
    StoreError naming the field and the rule (never the value: it may be a patient's data)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{what} {_field_of(e)}: {e['msg'][:1].lower()}{e['msg'][1:]}" for e in exc.errors())
        raise StoreError(f"{problems}; correct it and save again") from exc


def _field_of(error: ErrorDetails) -> str:
    """The refused field of one pydantic error, in people's words (vocab.frames.FIELD_WORDS)."""
    loc = error.get("loc") or ()
    return field_words(str(loc[0])) if loc else "value"
