"""The first load of any page, and the CLI, with a database that cannot be used (a folder, a file that is no
database, a database locked by another program, a fresh read-only one, a server that does not answer): the
same clear message as the upload page (what happened and the fix), never Streamlit's generic error or a
traceback."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenadash import cli

REPO = Path(__file__).resolve().parents[1]
PAGES = ["start", "overview", "patient", "upload", "setup", "visit"]
# Each fault: what the message must say.
TOLD = {
    "folder": "cannot open the SQLite database file",
    "not a database": "is not a SQLite database",
    "locked": "busy",
    "read-only": "read-only",
    "server down": "check that the server runs",
}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture
def broken(request, tmp_path, monkeypatch):
    """(fault, database URL) for a database that cannot be used; the lock is held while the test runs."""
    fault = request.param
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LENADASH_LOCK_TIMEOUT_S", "1")
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    path = tmp_path / "clinic.sqlite"
    holder = None
    if fault == "folder":
        path.mkdir()
        url = f"sqlite:///{path}"
    elif fault == "not a database":
        path.write_text("not a database\n" * 200)
        url = f"sqlite:///{path}"
    elif fault == "locked":  # another program holds the write lock of a database lenadash never set up
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("CREATE TABLE other_program (x)")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO other_program VALUES (1)")
        url = f"sqlite:///{path}"
    elif fault == "read-only":  # a fresh file opened read-only: the schema cannot be written
        path.write_bytes(b"")
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        url = f"postgresql+psycopg://lenadash@127.0.0.1:{_closed_port()}/lenadash"
    monkeypatch.setenv("LENADASH_DATABASE_URL", url)
    yield fault, url
    if holder is not None:
        holder.rollback()
        holder.close()


def _first_load(page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    if page == "visit":
        at.query_params["visit"] = "1"
    elif page != "start":
        at.switch_page(f"app_pages/{'welcome' if page == 'start' else page}.py")
    return at.run()


@pytest.mark.parametrize("broken", list(TOLD), indirect=True)
@pytest.mark.parametrize("page", PAGES)
def test_the_first_load_of_any_page_says_why_the_database_cannot_be_used(broken, page):
    fault, _ = broken
    at = _first_load(page)
    assert not at.exception, [e.value for e in at.exception]  # Streamlit's generic error shows these
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("The clinic database cannot be used: "), errors
    assert TOLD[fault] in errors[0]
    assert "Traceback" not in errors[0] and "SELECT" not in errors[0] and "Something went wrong" not in errors[0]


@pytest.mark.parametrize("broken", list(TOLD), indirect=True)
@pytest.mark.parametrize("command", ["import", "assess"])
def test_the_cli_says_why_the_database_cannot_be_used(broken, command, capsys, sample_dir):
    fault, url = broken
    if command == "import":
        argv = ["import", "--db", url, str(sample_dir / "patients.csv")]
    else:
        argv = ["assess", "--db", url, "--as-of", "2026-03-01"]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == cli.EXIT_USAGE and out == "" and "Traceback" not in err
    assert err.startswith("lenadash: error: ") and err.count("\n") == 1
    if command == "assess" and fault == "folder":  # assess refuses a path that is not a database file first
        assert "no database at" in err
    else:
        assert TOLD[fault] in err, err
