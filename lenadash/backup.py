"""`python -m lenadash backup PATH` and `restore PATH`: a consistent copy of the clinic database while
the app is reading it, and back.

SQLite through its online backup API (`sqlite3.Connection.backup`: pages copied under a read
transaction, so readers and the WAL are fine); PostgreSQL through `pg_dump -Fc` / `pg_restore`
(Debian's binaries, the newest installed major version, or the first on PATH). A restore replaces
the database's lenadash tables with the backup's; it refuses a backup whose schema is newer than
this lenadash knows, and upgrades an older one (Alembic) after restoring it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from lenadash import store
from lenadash.errors import StoreError


def backup(*, url: str, path: Path) -> str:
    """Write a backup of the database at `url` to `path` (a new file, readable by this user only) and
    return its schema revision."""
    if path.exists():
        raise StoreError(f"{path} exists; a backup never overwrites a file - choose a new name")
    engine = store.make_engine(url, upgrade=False)
    try:
        revision = store.schema_revision(engine)
    finally:
        engine.dispose()
    if revision is None:
        raise StoreError(f"{store.display_url(url)} holds no lenadash database; nothing to back up")
    _private(path)
    try:
        if make_url(url).get_backend_name() == "sqlite":
            _sqlite_copy(_sqlite_file(url), path, self_contained=True)
        else:
            _run([_pg_binary("pg_dump"), "--format=custom", "--no-owner", f"--file={path}", _libpq(url)])
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return revision


def restore(*, url: str, path: Path) -> tuple[str, str | None]:
    """Replace the database at `url` with the backup at `path`, then upgrade it to this lenadash's
    schema. Returns (the backup's revision, the revision now)."""
    if not path.is_file():
        raise StoreError(f"no backup at {path}")
    sqlite = make_url(url).get_backend_name() == "sqlite"
    revision = _sqlite_revision(path) if sqlite else _dump_revision(path)
    _refuse_unknown(revision)
    engine = store.make_engine(url, upgrade=False)
    try:
        if sqlite:
            _sqlite_copy(path, _sqlite_file(url))
        else:
            _clear_postgres(engine)
            _run([_pg_binary("pg_restore"), "--no-owner", "--single-transaction", f"--dbname={_libpq(url)}", str(path)])
        store.upgrade_schema(engine)
        return revision, store.schema_revision(engine)
    finally:
        engine.dispose()


def _refuse_unknown(revision: str) -> None:
    """A backup from a newer lenadash (a revision this one has no migration for) is refused."""
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory.from_config(store.alembic_config()).walk_revisions()}
    if revision not in known:
        raise StoreError(
            f"the backup's schema ({revision}) is newer than this lenadash knows; restore it with the "
            "lenadash version that wrote it (or a newer one) - nothing was changed"
        )


# --- SQLite -----------------------------------------------------------------------------------------


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise StoreError("backup and restore need an SQLite database file (not an in-memory database)")
    return Path(database).expanduser()


def _sqlite_copy(source: Path, target: Path, *, self_contained: bool = False) -> None:
    """Copy `source` into `target` page by page with SQLite's online backup API; `self_contained`: the
    copy in rollback-journal mode, one file with no -wal/-shm beside it (a backup file)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=1024)
            if self_contained:
                dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot copy {source} to {target}: {exc}") from exc
    finally:
        src.close()


def _sqlite_revision(path: Path) -> str:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a lenadash SQLite backup ({exc})") from exc
    if row is None:
        raise StoreError(f"{path} is not a lenadash backup (no schema revision)")
    return str(row[0])


# --- PostgreSQL -------------------------------------------------------------------------------------


def _pg_binary(name: str) -> str:
    """Debian's newest /usr/lib/postgresql/N/bin/NAME (pg_dump must be at least the server's major
    version), else NAME on PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise StoreError(f"{name} is not installed: apt-get install postgresql-client")
    return on_path


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection URI (postgresql://...), password included: it goes to
    the child process's arguments, never to a message."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3600)
    if done.returncode != 0:
        # The libpq URI can carry a password: name the program only, and its own message.
        message = re.sub(r"postgres(ql)?://\S+", "(database)", done.stderr.strip())[-1000:]
        raise StoreError(f"{Path(command[0]).name} failed: {message}")


def _dump_revision(path: Path) -> str:
    """The alembic_version row inside a pg_dump custom-format file."""
    done = subprocess.run(
        [_pg_binary("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    if done.returncode != 0:
        raise StoreError(f"{path} is not a lenadash PostgreSQL backup (pg_restore: {done.stderr.strip()[-300:]})")
    lines = done.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines):
            return lines[i + 1].strip()
    raise StoreError(f"{path} is not a lenadash backup (no schema revision)")


# The PostgreSQL functions lenadash's triggers call: the audit trail (0007), versions and events (0008).
TRIGGER_FUNCTIONS = ("lenadash_audit_append_only", "lenadash_versions_append_only", "lenadash_events_never_deleted")


def _clear_postgres(engine) -> None:
    """Drop lenadash's tables (and the trigger functions of revisions 0007 and 0008) so the backup's own come
    back whole."""
    store.drop_everything(engine)
    with engine.begin() as connection:
        for function in TRIGGER_FUNCTIONS:
            connection.execute(text(f"DROP FUNCTION IF EXISTS {function}() CASCADE"))


def _private(path: Path) -> None:
    """Create `path` empty with mode 0600 (a backup holds every patient), its folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
