"""backup/restore round-trips on SQLite and PostgreSQL while another process reads the database; a
restore replaces what is there, upgrades an older schema and refuses a newer one."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import text

from lenadash import backup, imports, store
from lenadash.errors import StoreError

# Reads the database in a loop until killed: the app's side of "while the app is reading".
READER = """
import sys, time
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
reads = 0
while True:
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM lab_result")).scalar_one()
    reads += 1
    print(reads, flush=True)
"""


@pytest.fixture
def other_url(request, db_url, tmp_path):
    """A second fresh database of the same kind as `db_url` (the restore target)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    server = request.getfixturevalue("postgres_server_url")
    name = f"lenadash_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _contents(url: str) -> dict[str, list]:
    engine = store.make_engine(url, upgrade=False)
    with engine.connect() as connection:
        found = {
            table: sorted(map(tuple, connection.execute(text(f"SELECT * FROM {table}")).all()), key=repr)
            for table in ("patient", "lab_result", "upload", "audit_event", "clinic_user", "alembic_version")
        }
    engine.dispose()
    return found


def _clinic(url: str, sample_dir) -> None:
    engine = store.make_engine(url)
    with store.open_session(engine) as session:
        imports.import_paths(session=session, paths=[sample_dir / "patients.csv", sample_dir / "epic_long_us.csv"])
        store.people.save_user(session=session, email="lead@clinic.test", roles=["admin"])
    engine.dispose()


def test_backup_and_restore_round_trip_while_another_process_reads(db_url, other_url, tmp_path, sample_dir):
    _clinic(db_url, sample_dir)
    before = _contents(db_url)
    assert len(before["lab_result"]) > 1000 and len(before["audit_event"]) == 2
    reader = subprocess.Popen([sys.executable, "-c", READER, db_url], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and int(reader.stdout.readline()) == 1  # reading before the backup
        path = tmp_path / "clinic.backup"
        assert backup.backup(url=db_url, path=path) == before["alembic_version"][0][0]
        assert reader.poll() is None, "the reader died during the backup"
        assert path.stat().st_mode & 0o077 == 0, "a backup holds every patient: this user's only"
        assert backup.restore(url=other_url, path=path) == (before["alembic_version"][0][0],) * 2
    finally:
        reader.kill()
        reader.wait()
    assert _contents(other_url) == before
    # Restoring over a database that changed since replaces it with the backup's state.
    engine = store.make_engine(db_url)
    with store.open_session(engine) as session:
        store.people.save_user(session=session, email="late@clinic.test", roles=["viewer"])
    engine.dispose()
    backup.restore(url=db_url, path=path)
    assert _contents(db_url) == before
    with pytest.raises(StoreError, match="never overwrites"):
        backup.backup(url=db_url, path=path)


def test_restore_upgrades_an_older_schema(db_url, other_url, tmp_path):
    engine = store.make_engine(db_url, upgrade=False)
    store.upgrade_schema(engine, "0004")
    engine.dispose()
    path = tmp_path / "old.backup"
    assert backup.backup(url=db_url, path=path) == "0004"
    was, now = backup.restore(url=other_url, path=path)
    assert was == "0004" and now == _contents(other_url)["alembic_version"][0][0]
    assert now != "0004"


def test_restore_refuses_a_newer_schema_and_changes_nothing(db_url, other_url, tmp_path, sample_dir):
    engine = store.make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    path = tmp_path / "new.backup"
    backup.backup(url=db_url, path=path)
    _clinic(other_url, sample_dir)
    before = _contents(other_url)
    with pytest.raises(StoreError, match="newer than this lenadash knows"):
        backup.restore(url=other_url, path=path)
    assert _contents(other_url) == before
