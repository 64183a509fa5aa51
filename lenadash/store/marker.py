"""What a database is: the demo marker, and whether two database URLs name the same database.

The sample clinic must never mix with real patients. Text is no identity (a SQLite file has many
spellings: `/./`, `//`, a symlinked folder, a relative path; a PostgreSQL server answers to
`localhost` and `127.0.0.1`), so a SQLite file is compared by its resolved path and a PostgreSQL
database by what the server says about itself once connected. And only a database that carries
the demo marker (written when lenadash made it the demo database), or one that is empty, is ever
loaded with the sample clinic or dropped by `demo --reset`.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from lenadash.errors import StoreError
from lenadash.store.engine import _connect, display_url
from lenadash.store.models import LenadashMarker
from lenadash.store.sql import table_of

DEMO = "demo"
MARKER_TABLE = "lenadash_marker"
_DATA_TABLES = ("patient", "treatment_course", "upload", "lab_result", "clinical_event")
GIVE_DEMO_ITS_OWN = (
    "give demo its own database (LENADASH_DEMO_DATABASE_URL or --db, e.g. sqlite:///<folder>/demo.sqlite)"
)


# --- the same database? ---------------------------------------------------------------------------


def _sqlite_file(url: URL) -> str | None:
    """The resolved path of a SQLite file URL; None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in str(url):
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return os.path.realpath(os.path.expanduser(database))


def _same_sqlite_file(a: URL, b: URL) -> bool:
    path_a, path_b = _sqlite_file(a), _sqlite_file(b)
    if path_a is None or path_b is None:
        return False  # an in-memory database is its own connection's and no file's
    if os.path.exists(path_a) and os.path.exists(path_b):
        return os.path.samefile(path_a, path_b)  # hard links too
    return path_a == path_b


_IDENTITY_SQL = (
    "SELECT host(inet_server_addr()), inet_server_port(), current_setting('port'), "
    "current_database(), pg_postmaster_start_time()"
)


def _server_identity(url: URL) -> tuple[Any, ...] | None:
    """(server address, port, port setting, database, server start time) as the server reports them,
    or None when it cannot be reached (then the demo marker is the guard)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            row = connection.execute(text(_IDENTITY_SQL)).one()
            return tuple(row)
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _same_server_database(a: URL, b: URL) -> bool:
    ident_a, ident_b = _server_identity(a), _server_identity(b)
    if ident_a is None or ident_b is None:
        return False
    addr_a, port_a, setting_a, db_a, started_a = ident_a
    addr_b, port_b, setting_b, db_b, started_b = ident_b
    if db_a != db_b:
        return False
    # Same address and port; or (a socket connection has no address) the same postmaster on the same port.
    return (addr_a is not None and (addr_a, port_a) == (addr_b, port_b)) or (started_a, setting_a) == (
        started_b,
        setting_b,
    )


def same_database(url_a: str, url_b: str) -> bool:
    """True when the two URLs reach the same database, however each is spelled: a SQLite file by its
    resolved path (realpath, samefile), PostgreSQL by the server's own address, port and database
    name after connecting. False for two backends, or a server that cannot be reached."""
    a, b = make_url(url_a), make_url(url_b)
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return _same_sqlite_file(a, b)
    if a.get_backend_name() == "postgresql":
        return _same_server_database(a, b)
    return a == b


def refuse_the_clinic_as_demo(*, demo_url: str, clinic_url: str) -> None:
    """StoreError when the demo URL reaches the clinic database, whatever its spelling."""
    if same_database(demo_url, clinic_url):
        raise StoreError(
            f"refused: the demo database {display_url(demo_url)} is the clinic database "
            f"({display_url(clinic_url)}, spelled differently); the sample clinic must never mix with real "
            f"patients, so nothing was dropped or loaded - {GIVE_DEMO_ITS_OWN}"
        )


# --- the marker -------------------------------------------------------------------------------------


def _is_marked_demo(connection: Connection, tables: set[str]) -> bool:
    if MARKER_TABLE not in tables:
        return False
    kind = connection.execute(text(f"SELECT kind FROM {MARKER_TABLE} WHERE id = 1")).scalar()
    return kind == DEMO


def _own_tables() -> frozenset[str]:
    """Tables lenadash itself makes (every model registered by now: lenadash.store imports them all);
    anything else in a database means it is not a fresh or lenadash one."""
    return frozenset(SQLModel.metadata.tables) | {"alembic_version"}


def _is_empty(connection: Connection, tables: set[str]) -> bool:
    """No table but lenadash's own, and none of those holds a patient, course, upload, result or event."""
    if tables - _own_tables():
        return False
    return not any(
        connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() for table in _DATA_TABLES if table in tables
    )


def claim_for_demo(engine: Engine) -> None:
    """Check that the sample clinic may be loaded into (or `--reset` may drop) this database: it
    carries the demo marker, or it is empty. StoreError otherwise, before anything is written."""
    with _connect(engine) as connection:
        tables = set(inspect(connection).get_table_names())
        if _is_marked_demo(connection, tables) or _is_empty(connection, tables):
            return
    raise StoreError(
        f"refused: {display_url(engine.url.render_as_string(hide_password=False))} holds data and is not a "
        "lenadash sample-clinic database (it has no demo marker); nothing was dropped or loaded - "
        f"{GIVE_DEMO_ITS_OWN}. If it is a sample-clinic database made by an older lenadash, delete it "
        "yourself and run demo again"
    )


def mark_demo(engine: Engine) -> None:
    """Write the demo marker (schema at head); a database already marked stays as it is."""
    marker = table_of(LenadashMarker)
    try:
        with _connect(engine) as connection, connection.begin():
            if not _is_marked_demo(connection, set(inspect(connection).get_table_names())):
                connection.execute(marker.insert().values(id=1, kind=DEMO, created_at=dt.datetime.now(dt.UTC)))
    except IntegrityError:  # another process marked it at the same moment
        pass


def is_demo_database(engine: Engine) -> bool:
    """True when this database carries the demo marker."""
    with _connect(engine) as connection:
        return _is_marked_demo(connection, set(inspect(connection).get_table_names()))
