"""The database itself: engines (SQLite pragmas), Alembic schema upgrades, sessions, URLs for messages."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel

from lenadash.config import get_settings
from lenadash.errors import StoreError

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
    if sa_url.get_backend_name() == "sqlite":
        _make_sqlite_folder(sa_url.database or "")
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
    """A connection; a server that is down or a wrong host, port, user or password is the user's to fix
    (StoreError). Only connecting is translated: an error in a statement is a bug and stays one."""
    try:
        return engine.connect()
    except OperationalError as exc:
        reason = " ".join(str(exc.orig or exc).split()).split(" (Background")[0]
        raise StoreError(
            f"cannot use the database ({reason}); check that the server runs and the --db URL / "
            "LENADASH_DATABASE_URL (host, port, user, password, database name) is right"
        ) from exc


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

    with _connect(engine) as connection, connection.begin():
        command.upgrade(alembic_config(connection), revision)


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
