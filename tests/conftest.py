"""Shared fixtures: databases (SQLite, and PostgreSQL in a throwaway cluster), sessions, sample data."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from lenadash.vocab.frames import LAB_COLUMNS

# pytester: tests/test_store.py checks the PostgreSQL skip/fail behaviour with it; conftest_oidc: the
# identity provider for the clinic-mode sign-in tests.
pytest_plugins = ["pytester", "tests.conftest_oidc"]

REPO = Path(__file__).resolve().parents[1]
PG_SKIP_MESSAGE = "install PostgreSQL (apt-get install postgresql) to run the PostgreSQL tests"


def _require_services() -> bool:
    return os.environ.get("LENADASH_REQUIRE_SERVICES") == "1"


def pytest_report_header(config) -> list[str]:
    """Say which services the run will use (CI logs show what was started)."""
    if os.environ.get("LENADASH_TEST_POSTGRES_URL"):
        postgres = "LENADASH_TEST_POSTGRES_URL"
    elif (bindir := _pg_bindir()) is not None:
        try:
            version = subprocess.run(
                [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except OSError:
            version = "version unknown"
        postgres = f"throwaway cluster from {bindir} ({version})"
    else:
        postgres = f"not found - {PG_SKIP_MESSAGE}"
    required = os.environ.get("LENADASH_REQUIRE_SERVICES", "0")
    return [f"lenadash: PostgreSQL tests: {postgres}; LENADASH_REQUIRE_SERVICES={required}"]


def pytest_collection_modifyitems(config, items) -> None:
    """Under pytest-xdist (`--dist loadgroup`) run the browser tests on one worker, one after the
    other: two Streamlit servers and two Chromiums at once on a 2-core machine only race each other
    towards their timeouts. Each test still has its own server port and data folder."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


# --- plain fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The repository's synthetic sample clinic (sample_data/)."""
    return REPO / "sample_data"


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite database file (not yet created) in the test's temp folder."""
    return f"sqlite:///{tmp_path / 'lenadash-test.sqlite'}"


@pytest.fixture
def engine(sqlite_url):
    """Engine on a fresh SQLite database, schema at head."""
    from lenadash.store import make_engine

    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    """A Session on the fresh SQLite `engine`."""
    from lenadash.store import open_session

    with open_session(engine) as s:
        yield s


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory) -> Path:
    """A folder whose `lenadash.sqlite` holds the sample clinic, imported once per test process through
    the real import path (imports.import_paths). Read-only: tests get a copy through `clinic_env`."""
    from lenadash import imports, store

    folder = tmp_path_factory.mktemp("clinic")
    engine = store.make_engine(f"sqlite:///{folder / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        summaries = imports.import_paths(session=s, paths=imports.sample_files())
    engine.dispose()
    assert sum(x.rows_imported for x in summaries) > 1000
    return folder


@pytest.fixture
def clinic_env(seeded_dir, monkeypatch, tmp_path) -> Path:
    """The app's settings pointed at a fresh copy of the sample clinic's database (the test may write),
    with the demo database apart; returns the data folder holding the copy."""
    shutil.copy(seeded_dir / "lenadash.sqlite", tmp_path / "lenadash.sqlite")
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", f"sqlite:///{tmp_path / 'lenadash.sqlite'}")
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite'}")
    monkeypatch.delenv("LENADASH_WATCH_FOLDER", raising=False)
    return tmp_path


@pytest.fixture
def empty_env(monkeypatch, tmp_path) -> Path:
    """The app's settings on an empty data folder: no clinic database yet, the default URLs."""
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_WATCH_FOLDER", raising=False)
    return tmp_path


# --- PostgreSQL --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _ThrowawayCluster:
    """A PostgreSQL cluster in a temp dir on 127.0.0.1 for one test session (Debian binaries).

    Under pytest-xdist each worker is its own session, so each worker gets its own cluster, folder
    and port; nothing is shared between workers."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.root = Path(tempfile.mkdtemp(prefix=f"lenadash-pg-{worker}-"))
        self.data = self.root / "data"
        self.port = _free_port()
        # initdb refuses to run as root: run the server as the `postgres` system user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)

    def _run(self, *args: str | Path) -> None:
        command = [*self.as_user, *map(str, args)]
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr or done.stdout}\n{tail}")

    def start(self) -> str:
        self._run(
            self.bindir / "initdb",
            "-D",
            self.data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        # -F: no fsync (a test cluster); listen on loopback only; socket in our own folder.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F"
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-o", options, "-w", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_server_url():
    """URL of a PostgreSQL server's maintenance database: LENADASH_TEST_POSTGRES_URL, else a
    throwaway cluster; skips (or fails under LENADASH_REQUIRE_SERVICES=1) without PostgreSQL."""
    given = os.environ.get("LENADASH_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _pg_bindir()
    if bindir is None:
        if _require_services():
            pytest.fail(f"LENADASH_REQUIRE_SERVICES=1 but PostgreSQL is missing: {PG_SKIP_MESSAGE}")
        pytest.skip(PG_SKIP_MESSAGE)
    cluster, url = _start_cluster(bindir)
    yield url
    cluster.stop()


def _start_cluster(bindir: Path, attempts: int = 3) -> tuple[_ThrowawayCluster, str]:
    """Start a cluster, retrying on a fresh port: under pytest-xdist every worker starts its own
    cluster, and a port the OS handed out free can be taken by another worker before the server binds it."""
    for attempt in range(1, attempts + 1):
        cluster = _ThrowawayCluster(bindir)
        try:
            return cluster, cluster.start()
        except Exception as exc:
            cluster.stop()
            if attempt == attempts:
                pytest.fail(f"could not start a throwaway PostgreSQL cluster from {bindir}: {exc}")
    raise AssertionError("unreachable")


@pytest.fixture
def postgres_url(postgres_server_url):
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"lenadash_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A fresh empty database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lenadash-test.sqlite'}"
    return request.getfixturevalue("postgres_url")


# --- building inputs without a file ---------------------------------------------------------------

LAB_DEFAULTS = {
    "unit": "10^9/L",
    "comparator": "",
    "raw_value": "",
    "raw_unit": "",
    "raw_name": "",
    "loinc": None,
    "ref_low": float("nan"),
    "ref_high": float("nan"),
    "flag": None,
    "status": None,
}


@pytest.fixture
def make_lab_import():
    """Factory: records (mrn, collected_at, analyte, value, ...) -> a LabImport-shaped object.

    Defaults fill the other contract columns; `line` defaults to the record's position + 2.
    """

    def build(records: list[dict], problems: list[dict] | None = None, rows_read: int | None = None):
        rows = []
        for i, record in enumerate(records):
            row = {**LAB_DEFAULTS, "line": i + 2, **record}
            row["raw_value"] = row["raw_value"] or f"{row['value']:g}"
            rows.append(row)
        results = pd.DataFrame(
            rows,
            columns=LAB_COLUMNS,
        )
        results["collected_at"] = pd.to_datetime(results["collected_at"])
        problem_frame = pd.DataFrame(
            problems or [],
            columns=[
                "file",
                "line",
                "column",
                "value",
                "reason",
                "message",
                "hint",
                "severity",
            ],
        )
        read = rows_read if rows_read is not None else len(records) + len(problems or [])
        return SimpleNamespace(results=results, problems=problem_frame, rows_read=read, shape="long")

    return build


def wait_for(predicate, timeout: float = 10.0, step: float = 0.1) -> bool:
    """Poll `predicate` until true or `timeout` seconds (for tests that start servers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
