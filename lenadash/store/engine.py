"""The database itself: engines (SQLite pragmas), Alembic schema upgrades, sessions, URLs for messages."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, DBAPIError, OperationalError
from sqlmodel import Session, SQLModel

from lenadash.config import get_settings
from lenadash.errors import StoreError
from lenadash.store.sql import database_failure

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """Engine for `url` (default: settings.database_url), schema upgraded to the newest revision.

    SQLite: the file's folder is created (0700) and the file itself (0600; SQLite gives its -wal and
    -shm files the database file's mode), both only readable by this user;
    foreign keys are enforced and the journal is WAL.
    `upgrade=False` skips Alembic (used by the migration environment itself).
    Raises StoreError for a URL it cannot use or a database server it cannot reach.
    """
    url = url or get_settings().database_url
    sa_url = make_url(url)
    kwargs: dict[str, Any] = {}
    lock_timeout_s = get_settings().lock_timeout_s
    if sa_url.get_backend_name() == "sqlite":
        _make_sqlite_folder(sa_url.database or "")
        kwargs["connect_args"] = {"timeout": lock_timeout_s}
    elif sa_url.get_backend_name() == "postgresql":
        # No statement waits forever for a lock (another import's, a migration's): it fails with
        # "canceling statement due to lock timeout", which the store reports as busy.
        kwargs["connect_args"] = {"options": f"-c lock_timeout={int(lock_timeout_s * 1000)}"}
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


def _make_sqlite_folder(database: str) -> None:
    """The database's folder and empty file, private to this user when lenadash creates them (patient
    data: a 0755 folder and a 0644 file would let every account on the machine read the clinic)."""
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.parent.chmod(0o700)  # mkdir's mode is masked by the umask; only ever narrower, but be exact
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the dashboard read while an import writes; NORMAL is safe (consistent) under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _connect(engine: Engine) -> Connection:
    """A connection; a database that cannot be opened is the user's to fix (StoreError, see
    connection_failure). Only connecting is translated: an error in a statement is a bug and stays one."""
    try:
        return engine.connect()
    except (OperationalError, DatabaseError) as exc:
        failure = connection_failure(engine, exc)
        if failure is None:
            raise
        raise failure from exc


# Connecting failed before any database answered: the server's (or the file's) to check, not busy or full.
_NOT_REACHED = ("connection refused", "could not connect", "server closed the connection", "unable to open")


def connection_failure(engine: Engine, exc: DBAPIError) -> StoreError | None:
    """The StoreError for a database that cannot be opened, with its own fix: busy, read-only or full
    (store.sql.database_failure), a SQLite file that cannot be opened or is no database, and only for
    a database server one that says to check that the server runs. None for anything else (a bug)."""
    reason = " ".join(str(exc.orig or exc).split()).split(" (Background")[0]
    text_lower = reason.lower()
    if engine.dialect.name == "sqlite":
        where = engine.url.database or "(in memory)"
        if "unable to open database file" in text_lower:
            return StoreError(
                f"cannot open the SQLite database file {where}: check that it is a file (not a folder), that "
                "its folder exists and that you may write there - or fix the --db URL / LENADASH_DATABASE_URL"
            )
        if "file is not a database" in text_lower:
            return StoreError(
                f"{where} is not a SQLite database (another kind of file); check the --db URL / LENADASH_DATABASE_URL"
            )
    if not isinstance(exc, OperationalError):
        return None
    known = database_failure(exc)
    if known is not None and not any(word in text_lower for word in _NOT_REACHED):
        return known  # busy, read-only, full
    if engine.dialect.name == "sqlite":
        return StoreError(f"cannot use the SQLite database ({reason}); check the --db URL / LENADASH_DATABASE_URL")
    return StoreError(
        f"cannot use the database ({reason}); check that the server runs and the --db URL / "
        "LENADASH_DATABASE_URL (host, port, user, password, database name) is right"
    )


def alembic_config(connection=None):
    """Alembic Config pointing at the packaged migrations, optionally bound to a connection."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


# How long a first start waits for another process that is creating the same fresh database.
UPGRADE_WAIT_SECONDS = 60.0


# What a database says when another process created the same table or version row a moment earlier.
@contextlib.contextmanager
def database_errors(engine: Engine) -> Iterator[None]:
    """Around a read outside an import: a database that cannot be used (gone, busy, not a database) becomes
    its StoreError (connection_failure: what happened and the fix, never the SQL or its parameters); any
    other error is a bug and propagates as it is."""
    try:
        yield
    except DBAPIError as exc:
        failure = connection_failure(engine, exc)
        if failure is None:
            raise
        raise failure from None  # the chained error would print the statement and its parameters


_RACE_WORDS = ("already exists", "duplicate key", "unique constraint", "database is locked")


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic), in one transaction.

    Several programs starting on a new database at once (imports, the app, two workstations) upgrade
    one after the other: the first creates the tables, the others find them at head; one that still
    loses a race waits and retries until the winner's schema is there. A database that cannot take the
    schema (read-only, full) is a StoreError saying so."""
    deadline = time.monotonic() + UPGRADE_WAIT_SECONDS
    while True:
        try:
            _upgrade_once(engine, revision)
            return
        except DBAPIError as exc:
            raced = any(word in str(exc.orig or exc).lower() for word in _RACE_WORDS)
            if not raced or time.monotonic() > deadline:
                failure = database_failure(exc) if isinstance(exc, OperationalError) else None
                if failure is None:
                    raise
                raise failure from None
        time.sleep(0.2)


def _upgrade_once(engine: Engine, revision: str) -> None:
    """One upgrade attempt under the one-upgrade-at-a-time lock. A database already at head is left
    without taking any lock (an import running elsewhere does not hold the app up)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    if revision == "head" and schema_revision(engine) in ScriptDirectory.from_config(alembic_config()).get_heads():
        return
    with _connect(engine) as connection, connection.begin():
        _one_upgrade_at_a_time(connection)
        command.upgrade(alembic_config(connection), revision)


# Any constant, other than the imports' one (store/sql.py IMPORT_LOCK_KEY).
_UPGRADE_LOCK_KEY = 0x1E7ADA6


def _one_upgrade_at_a_time(connection: Connection) -> None:
    """PostgreSQL: an advisory lock until the upgrade commits. SQLite: `BEGIN IMMEDIATE`, which also
    makes the upgrade's DDL one transaction (the driver would otherwise commit each statement)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK_KEY})")
    elif connection.dialect.name == "sqlite" and not getattr(
        connection.connection.dbapi_connection, "in_transaction", True
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at; None for a database lenadash never touched."""
    from alembic.runtime.migration import MigrationContext

    with _connect(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def drop_everything(engine: Engine) -> None:
    """Remove every lenadash table and the Alembic version table (used by `demo --reset`)."""
    with _connect(engine) as connection, connection.begin():
        SQLModel.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


def open_session(engine: Engine) -> Session:
    """A Session on `engine` (pages and the CLI get theirs here; only store opens sessions)."""
    return Session(engine)


def display_url(url: str) -> str:
    """A database URL with any password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)
