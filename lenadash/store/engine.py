"""The database itself: engines (SQLite pragmas), Alembic schema upgrades, sessions, URLs for messages."""

from __future__ import annotations

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

    SQLite: the file's folder is created, foreign keys are enforced and the journal is WAL.
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
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


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
    """Bring the schema to `revision` (Alembic), in one transaction.

    Several programs starting on a new database at once (imports, the app) upgrade one after the
    other: the first creates the tables, the others find them at head. A database already at head
    is left without taking any lock (an import running elsewhere does not hold the app up)."""
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
