"""Real faults during an import: kill -9 of the import process at several points of a large import, and a
disk that fills up under SQLite. Afterwards the database holds all of the file or none of it, the earlier
data is intact, the database opens, a re-run imports the file fully; the user reads a message with its fix,
never a traceback (issue 10). SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from streamlit.testing.v1 import AppTest

from lenadash import samples, store

REPO = Path(__file__).resolve().parents[1]
LARGE_RESULTS = 60_000  # 60 patients x 1,000 results: a few seconds of writing
PROCESS_TIMEOUT_S = 240
# Where the kill lands: a share of the bytes the full import adds to the database (0: python still starting).
KILL_AT = (0.0, 0.02, 0.5, 0.9)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The large labs file (benchmark clinic, Epic long US layout) and a small earlier file."""
    folder = tmp_path_factory.mktemp("faults")
    large = samples.write_benchmark_clinic(folder / "large", 60, results_per_patient=LARGE_RESULTS // 60)["labs"]
    return {"large": large, "earlier": REPO / "sample_data" / "epic_long_us.csv"}


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENADASH_")}
    return {**env, "LENADASH_DATA_DIR": str(tmp_path / "data")}


def _import(url: str, path: Path, tmp_path: Path) -> subprocess.Popen:
    """`python -m lenadash import --db URL PATH` in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "lenadash", "import", "--db", url, str(path)],
        cwd=REPO,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=PROCESS_TIMEOUT_S)
    return process.returncode, out, err


def _held(url: str) -> tuple[int, int]:
    """(uploads, current lab results): opening the database (and upgrading it) must just work."""
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            return len(store.list_uploads(session=session)), len(store.load_labs(session=session))
    finally:
        engine.dispose()


# --- the database's size, to tell how far an import has written ---------------------------------------


class _SQLite:
    def __init__(self, folder: Path, name: str):
        self.path = folder / f"{name}.sqlite"
        self.url = f"sqlite:///{self.path}"

    def size(self) -> int:
        """Bytes in the file and its write-ahead log (uncommitted pages spill there)."""
        return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())

    def healthy(self) -> None:
        with sqlite3.connect(self.path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class _Postgres:
    def __init__(self, server_url: str, name: str):
        self.server_url, self.name = server_url, f"lenadash_fault_{name}_{uuid.uuid4().hex[:8]}"
        self.url = make_url(server_url).set(database=self.name).render_as_string(hide_password=False)
        self._admin("CREATE DATABASE " + self.name)
        self.engine = create_engine(self.url)

    def _admin(self, sql: str):
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                result = connection.execute(text(sql))
                return result.scalar() if result.returns_rows else None
        finally:
            admin.dispose()

    def size(self) -> int:
        """Bytes of the database on disk (uncommitted rows take pages too)."""
        return int(self._admin(f"SELECT pg_database_size('{self.name}')"))

    def healthy(self) -> None:
        """The server ends a killed client's backend as soon as it notices the closed socket, releasing the
        import lock; until then the next import waits for it (bounded by the lock timeout)."""
        held = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        deadline = time.monotonic() + 30
        with self.engine.connect() as connection:
            while connection.execute(held).scalar():
                assert time.monotonic() < deadline, "a killed import's lock outlived it by 30 s"
                time.sleep(0.1)

    def drop(self) -> None:
        self.engine.dispose()
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def make_database(request, tmp_path):
    """Factory of fresh, empty databases of one kind; all dropped afterwards."""
    made = []

    def make(name: str):
        db = (
            _SQLite(tmp_path, name)
            if request.param == "sqlite"
            else _Postgres(request.getfixturevalue("postgres_server_url"), name)
        )
        made.append(db)
        return db

    yield make
    for db in made:
        db.drop()


def _kill_when_written(process: subprocess.Popen, db, *, base: int, bytes_: int) -> str:
    """kill -9 the import once the database grew by `bytes_` (0: right away); where it landed."""
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    if bytes_ == 0:
        time.sleep(0.3)
    else:
        while process.poll() is None and db.size() - base < bytes_:
            assert time.monotonic() < deadline, "the import neither wrote nor ended"
            time.sleep(0.01)
    if process.poll() is not None:
        return "finished before the kill"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return "killed while writing" if bytes_ else "killed while starting"


@pytest.mark.timeout(900)  # five full imports and four killed ones; slow on a busy 2-core machine
def test_kill_9_during_a_large_import_leaves_all_or_nothing_and_a_rerun_imports_it(files, make_database, tmp_path):
    # The reference: the earlier file, then the large one, without a fault.
    reference = make_database("reference")
    assert _finish(_import(reference.url, files["earlier"], tmp_path))[0] == 0
    earlier, base = _held(reference.url), reference.size()
    status, out, err = _finish(_import(reference.url, files["large"], tmp_path))
    assert status == 0, err
    complete, grown = _held(reference.url), reference.size() - base
    assert complete == (2, earlier[1] + LARGE_RESULTS)

    landed = []
    for share in KILL_AT:
        db = make_database(f"kill{int(share * 100)}")
        assert _finish(_import(db.url, files["earlier"], tmp_path))[0] == 0
        start = db.size()
        where = _kill_when_written(_import(db.url, files["large"], tmp_path), db, base=start, bytes_=int(grown * share))
        db.healthy()
        held = _held(db.url)
        assert held in (earlier, complete), f"half an import after kill -9 at {share:.0%} ({where})"
        landed.append(f"{where}: {'all' if held == complete else 'nothing'} of the file")
        status, out, err = _finish(_import(db.url, files["large"], tmp_path))  # the re-run
        assert status == 0 and "Traceback" not in err, err
        assert _held(db.url) == complete, f"the re-run after kill -9 at {share:.0%} did not import it fully"
        db.healthy()
    print(f"\nkill -9 at {', '.join(f'{k:.0%}' for k in KILL_AT)} of the writing: {landed}")
    # The faults really cut the import's transaction: at least two kills left nothing of a file being written
    # (the 90 % kill may land while the commit is done: then the database holds all of it).
    cut = sum(w == "killed while writing: nothing of the file" for w in landed)
    assert cut >= 2, landed


# --- disk full (SQLite on a small tmpfs) --------------------------------------------------------------

TMPFS_SKIP = "mounting a 2 MB tmpfs needs root (CI runs as root): the disk-full test could not run here"


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs mounted for this test; skipped where mounting is not allowed, failed in CI."""
    where = tmp_path / "small-disk"
    where.mkdir()
    mount = shutil.which("mount")
    done = (
        subprocess.run([mount, "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True, text=True)
        if mount and os.geteuid() == 0
        else None
    )
    if done is None or done.returncode != 0:
        reason = f"{TMPFS_SKIP} ({done.stderr.strip() if done else 'not root'})"
        if os.environ.get("LENADASH_REQUIRE_SERVICES") == "1":
            pytest.fail(f"LENADASH_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _filled(small_disk: Path, files) -> tuple[str, tuple[int, int]]:
    """A clinic database on the small disk holding the earlier file; what it holds."""
    url = f"sqlite:///{small_disk / 'clinic.sqlite'}"
    from lenadash import cli

    assert cli.main(["import", "--db", url, str(files["earlier"])]) == 0
    return url, _held(url)


def test_disk_full_in_the_cli_is_a_message_with_its_fix_and_saves_nothing(small_disk, files, tmp_path):
    url, before = _filled(small_disk, files)
    status, out, err = _finish(_import(url, files["large"], tmp_path))
    assert status == 2 and out == "", (status, out, err)
    assert "Traceback" not in err and "INSERT" not in err and "SYN" not in err, err
    assert "disk holding the database is full" in err and "free some space" in err and "nothing was saved" in err
    assert _held(url) == before  # the earlier data intact, nothing of the large file
    _SQLite(small_disk, "clinic").healthy()


def test_disk_full_on_the_upload_page_is_a_message_with_its_fix_and_saves_nothing(
    small_disk, files, tmp_path, monkeypatch
):
    url, before = _filled(small_disk, files)
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LENADASH_DATABASE_URL", url)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=240)
    at.switch_page("app_pages/upload.py").run()
    name = files["large"].name
    at.file_uploader[0].set_value([(name, files["large"].read_bytes(), "text/csv")]).run()
    at.button(key="commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert f"{name}: not saved - " in errors and "disk holding the database is full" in errors, errors
    assert "free some space" in errors and "nothing was saved" in errors and "INSERT" not in errors
    assert _held(url) == before
