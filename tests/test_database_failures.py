"""Every database failure is a clear message and nothing saved: read-only, a file that is no database,
a server that cannot be reached, a first start raced by another process; in the CLI and on the upload page."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from streamlit.testing.v1 import AppTest

from lenadash import cli, store

REPO = Path(__file__).resolve().parents[1]
SERVER_HINT = "check that the server runs"


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    return tmp_path / "data"


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _counts(url: str) -> tuple[int, int]:
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            return len(store.list_uploads(session=session)), len(store.load_labs(session=session))
    finally:
        engine.dispose()


def _read_only(path: Path) -> str:
    """A read-only connection to a real file (the tests run as root, which ignores chmod 0400)."""
    return f"sqlite:///file:{path}?mode=ro&uri=true"


# --- read-only, not a database, cannot be opened: the CLI -------------------------------------------


def test_a_read_only_database_refuses_the_import_with_its_own_message(capsys, tmp_path, sample_dir):
    path = tmp_path / "clinic.sqlite"
    assert _cli(capsys, "import", "--db", f"sqlite:///{path}", str(sample_dir / "patients.csv"))[0] == 0
    code, out, err = _cli(capsys, "import", "--db", _read_only(path), str(sample_dir / "epic_long_us.csv"))
    assert code == cli.EXIT_USAGE and out == "" and "Traceback" not in err
    assert "read-only" in err and "nothing was saved" in err and "permissions" in err and SERVER_HINT not in err
    assert _counts(f"sqlite:///{path}") == (1, 0)


def test_a_fresh_read_only_database_says_read_only_not_server(capsys, tmp_path, sample_dir):
    path = tmp_path / "fresh.sqlite"
    path.write_bytes(b"")
    code, _, err = _cli(capsys, "import", "--db", _read_only(path), str(sample_dir / "patients.csv"))
    assert code == cli.EXIT_USAGE and "read-only" in err and SERVER_HINT not in err
    assert path.read_bytes() == b""


def test_a_folder_or_a_file_that_is_no_database_is_a_message_not_a_traceback(capsys, tmp_path, sample_dir):
    code, _, err = _cli(capsys, "import", "--db", f"sqlite:///{tmp_path}", str(sample_dir / "patients.csv"))
    assert code == cli.EXIT_USAGE and "cannot open the SQLite database file" in err and SERVER_HINT not in err
    other = tmp_path / "notes.sqlite"
    other.write_text("not a database\n" * 200)
    code, _, err = _cli(capsys, "import", "--db", f"sqlite:///{other}", str(sample_dir / "patients.csv"))
    assert code == cli.EXIT_USAGE and "is not a SQLite database" in err and SERVER_HINT not in err
    assert other.read_text() == "not a database\n" * 200


@pytest.mark.postgres
def test_only_a_server_that_cannot_be_reached_says_check_that_the_server_runs(capsys, postgres_url, sample_dir):
    refused = make_url(postgres_url).set(port=1).render_as_string(hide_password=False)
    code, _, err = _cli(capsys, "import", "--db", refused, str(sample_dir / "patients.csv"))
    assert code == cli.EXIT_USAGE and SERVER_HINT in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("database_says", "told"),
    [
        ("database is locked", "busy"),
        ("database or disk is full", "disk holding the database is full"),
        ("attempt to write a readonly database", "read-only"),
    ],
)
def test_a_database_that_fails_on_connect_gets_its_own_message_not_the_server_hint(
    capsys, tmp_path, monkeypatch, sample_dir, database_says, told
):
    import sqlite3

    from sqlalchemy import Engine

    def refuse(self, *args, **kwargs):
        raise OperationalError("PRAGMA journal_mode=WAL", (), sqlite3.OperationalError(database_says))

    monkeypatch.setattr(Engine, "connect", refuse)
    code, _, err = _cli(
        capsys, "import", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", str(sample_dir / "patients.csv")
    )
    assert code == cli.EXIT_USAGE and told in err and SERVER_HINT not in err and "Traceback" not in err


# --- the first start raced by a second process --------------------------------------------------------

RACER = """
import sys, time
from lenadash import store
start = float(sys.argv[2])
while time.time() < start:
    pass
store.make_engine(sys.argv[1]).dispose()
print("ok")
"""


def _race(url: str, processes: int = 3) -> None:
    """Start `processes` real processes that call store.make_engine(url) at the same instant."""
    start = time.time() + 3.0  # every process imported and waiting before the start
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, url, str(start)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0 and out.strip() == "ok", err[-2000:]


def _at_head(url: str) -> None:
    engine = store.make_engine(url, upgrade=False)
    try:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(store.alembic_config()).get_current_head()
        assert store.schema_revision(engine) == head
    finally:
        engine.dispose()


@pytest.mark.parametrize("round_", range(3))
def test_three_processes_creating_a_fresh_sqlite_database_at_once_both_just_work(tmp_path, round_):
    url = f"sqlite:///{tmp_path / 'fresh' / 'lenadash.sqlite'}"
    _race(url)
    _at_head(url)


@pytest.mark.postgres
@pytest.mark.parametrize("round_", range(2))
def test_three_processes_creating_a_fresh_postgresql_database_at_once_both_just_work(postgres_url, round_):
    _race(postgres_url)
    _at_head(postgres_url)


# --- the upload page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("database_says", "told"),
    [
        ("database is locked", "busy"),
        ("database or disk is full", "disk holding the database is full"),
        ("attempt to write a readonly database", "read-only"),
    ],
)
def test_the_upload_page_says_what_the_database_refused_and_saves_nothing(
    tmp_path, monkeypatch, sample_dir, database_says, told
):
    import sqlite3

    from lenadash.store import labs as store_labs

    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    monkeypatch.setenv("LENADASH_DATABASE_URL", url)

    def refuse(*args, **kwargs):
        raise OperationalError(
            "INSERT INTO lab_result VALUES (?)", ("LD0001",), sqlite3.OperationalError(database_says)
        )

    monkeypatch.setattr(store_labs, "insert_chunk", refuse)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("app_pages/upload.py").run()
    name = "epic_long_us.csv"
    at.file_uploader[0].set_value([(name, (sample_dir / name).read_bytes(), "text/csv")]).run()
    at.button(key="commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert f"{name}: not saved - " in errors and told in errors and "nothing was saved" in errors
    assert "LD0001" not in errors and "INSERT" not in errors and SERVER_HINT not in errors
    assert _counts(url) == (0, 0)


def test_the_upload_page_on_a_read_only_database_says_so(tmp_path, monkeypatch, sample_dir):
    path = tmp_path / "clinic.sqlite"
    store.make_engine(f"sqlite:///{path}").dispose()
    monkeypatch.setenv("LENADASH_DATABASE_URL", _read_only(path))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("app_pages/upload.py").run()
    at.file_uploader[0].set_value([("patients.csv", (sample_dir / "patients.csv").read_bytes(), "text/csv")]).run()
    at.button(key="commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert "patients.csv: not saved - " in errors and "read-only" in errors and SERVER_HINT not in errors
    assert _counts(f"sqlite:///{path}") == (0, 0)
