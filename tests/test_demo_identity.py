"""The sample clinic never mixes with real patients: the demo database is known by its marker, and the
clinic database is never the demo target however its URL is spelled (CLI and the welcome page)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from streamlit.testing.v1 import AppTest

from lenadash import cli, imports, store

REPO = Path(__file__).resolve().parents[1]
CLINIC_PATIENTS = (
    b"mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg,schedule\n"
    b"CL0001,Real Person,F,1950-02-03,70,MM,2026-01-05,25,21/28\n"
)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    return tmp_path / "data"


def _seed_clinic(url: str) -> None:
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            imports.import_file(session=session, file_name="patients.csv", data=CLINIC_PATIENTS)
    finally:
        engine.dispose()


def _clinic_state(url: str) -> tuple[list[str], list[str], bool]:
    """(MRNs, upload file names, carries the demo marker) of a database."""
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            mrns = sorted(store.load_patients(session=session, include_without_course=True)["mrn"])
            uploads = sorted(store.list_uploads(session=session)["file_name"])
        return mrns, uploads, store.is_demo_database(engine)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_clinic(tmp_path, monkeypatch) -> Path:
    """A clinic SQLite file with one real-looking patient, configured as the clinic database."""
    path = tmp_path / "clinic" / "lenadash.sqlite"
    url = f"sqlite:///{path}"
    _seed_clinic(url)
    monkeypatch.setenv("LENADASH_DATABASE_URL", url)
    return path


def _spellings(path: Path, tmp_path: Path) -> dict[str, str]:
    """The clinic file under other names: `/./`, `//`, `..`, a symlinked folder, a hard link."""
    (tmp_path / "linked").symlink_to(path.parent, target_is_directory=True)
    os.link(path, tmp_path / "hardlink.sqlite")
    folder, name = str(path.parent), path.name
    return {
        "dot": f"sqlite:///{folder}/./{name}",
        "double slash": f"sqlite:///{folder.replace('/clinic', '//clinic')}//{name}",
        "dot dot": f"sqlite:///{folder}/../clinic/{name}",
        "symlinked folder": f"sqlite:///{tmp_path / 'linked' / name}",
        "hard link": f"sqlite:///{tmp_path / 'hardlink.sqlite'}",
    }


SPELLINGS = ["dot", "double slash", "dot dot", "symlinked folder", "hard link"]


def _refused(capsys, *argv: str) -> str:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == cli.EXIT_USAGE and out == "", (code, out, err)
    assert err.startswith("lenadash: error: refused") and "Traceback" not in err
    assert "nothing was dropped or loaded" in err and "LENADASH_DEMO_DATABASE_URL or --db" in err
    return err


# --- SQLite through the CLI ------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("reset", [True, False], ids=["reset", "load"])
def test_demo_refuses_the_clinic_file_however_it_is_spelled(capsys, tmp_path, sqlite_clinic, spelling, reset):
    before = _clinic_state(f"sqlite:///{sqlite_clinic}")
    url = _spellings(sqlite_clinic, tmp_path)[spelling]
    err = _refused(capsys, "demo", *(["--reset"] if reset else []), "--db", url)
    assert "is the clinic database" in err and "never mix with real patients" in err
    assert _clinic_state(f"sqlite:///{sqlite_clinic}") == before == (["CL0001"], ["patients.csv"], False)


def test_demo_refuses_a_relative_path_to_the_clinic_from_another_folder(capsys, tmp_path, sqlite_clinic, monkeypatch):
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    err = _refused(capsys, "demo", "--reset", "--db", "sqlite:///../../clinic/lenadash.sqlite")
    assert "is the clinic database" in err
    assert _clinic_state(f"sqlite:///{sqlite_clinic}") == (["CL0001"], ["patients.csv"], False)
    # and the clinic configured by a relative URL, the demo by the absolute one
    monkeypatch.setenv("LENADASH_DATABASE_URL", "sqlite:///../../clinic/lenadash.sqlite")
    _refused(capsys, "demo", "--db", f"sqlite:///{sqlite_clinic}")


def test_a_database_with_data_and_no_demo_marker_is_never_the_demo(capsys, tmp_path, sqlite_clinic, monkeypatch):
    """Even when lenadash does not know it is the clinic (another clinic's file, a copy, a different
    LENADASH_DATABASE_URL), a database holding data without the marker is neither dropped nor loaded."""
    monkeypatch.setenv("LENADASH_DATABASE_URL", f"sqlite:///{tmp_path / 'other-clinic.sqlite'}")
    for argv in (["demo", "--reset"], ["demo"]):
        err = _refused(capsys, *argv, "--db", f"sqlite:///{sqlite_clinic}")
        assert "has no demo marker" in err
    assert _clinic_state(f"sqlite:///{sqlite_clinic}") == (["CL0001"], ["patients.csv"], False)


def test_a_database_with_tables_lenadash_did_not_make_is_never_the_demo(capsys, tmp_path):
    path = tmp_path / "someone-elses.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE billing (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    _refused(capsys, "demo", "--reset", "--db", f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert [r[0] for r in connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))] == [
            "billing"
        ]
    engine.dispose()


def test_a_fresh_database_becomes_the_demo_one_and_is_marked(capsys, tmp_path, sqlite_clinic, sample_dir):
    url = f"sqlite:///{tmp_path / 'new' / 'demo.sqlite'}"
    assert cli.main(["demo", "--db", url]) == 0
    mrns, uploads, marked = _clinic_state(url)
    assert marked and len(uploads) == len(imports.sample_files(sample_dir)) and "CL0001" not in mrns
    # marked, so it may be reset and loaded again; the clinic is untouched throughout
    assert cli.main(["demo", "--reset", "--db", url]) == 0 and _clinic_state(url)[2]
    assert _clinic_state(f"sqlite:///{sqlite_clinic}") == (["CL0001"], ["patients.csv"], False)


def test_an_empty_lenadash_database_may_become_the_demo_one(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    store.make_engine(url).dispose()  # schema, no rows, no marker
    assert cli.main(["demo", "--db", url]) == 0
    assert _clinic_state(url)[2]


def test_same_database_compares_sqlite_files_not_text(tmp_path):
    path = tmp_path / "a.sqlite"
    for spelling in (f"sqlite:///{tmp_path}/./a.sqlite", f"sqlite:///{tmp_path}//a.sqlite"):
        assert store.same_database(f"sqlite:///{path}", spelling)  # before the file exists too
    assert not store.same_database(f"sqlite:///{path}", f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert not store.same_database("sqlite://", "sqlite://")  # two in-memory databases are two databases


# --- the welcome page ------------------------------------------------------------------------------


def test_explore_the_sample_clinic_refuses_the_clinic_file_spelled_differently(tmp_path, sqlite_clinic, monkeypatch):
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", _spellings(sqlite_clinic, tmp_path)["symlinked folder"])
    # the welcome page itself: with a clinic that holds patients, app.py opens on the overview
    at = AppTest.from_file(str(REPO / "app_pages" / "welcome.py"), default_timeout=120).run()
    at.button(key="explore_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert errors.startswith("Could not open the sample clinic: refused") and "is the clinic database" in errors
    assert "lenadash_demo" not in at.session_state or not at.session_state["lenadash_demo"]
    assert _clinic_state(f"sqlite:///{sqlite_clinic}") == (["CL0001"], ["patients.csv"], False)


# --- PostgreSQL ------------------------------------------------------------------------------------


def _as_localhost(url: str) -> str:
    return make_url(url).set(host="localhost").render_as_string(hide_password=False)


@pytest.mark.postgres
def test_demo_refuses_the_clinic_on_postgresql_by_localhost(capsys, postgres_url, monkeypatch):
    assert make_url(postgres_url).host == "127.0.0.1"
    _seed_clinic(postgres_url)
    monkeypatch.setenv("LENADASH_DATABASE_URL", postgres_url)
    err = _refused(capsys, "demo", "--reset", "--db", _as_localhost(postgres_url))
    assert "is the clinic database" in err
    # the other way round: the clinic configured as localhost, demo given as 127.0.0.1
    monkeypatch.setenv("LENADASH_DATABASE_URL", _as_localhost(postgres_url))
    _refused(capsys, "demo", "--db", postgres_url)
    assert _clinic_state(postgres_url) == (["CL0001"], ["patients.csv"], False)


@pytest.mark.postgres
def test_postgresql_without_the_marker_is_refused_and_a_fresh_one_is_marked(capsys, postgres_url, monkeypatch):
    _seed_clinic(postgres_url)
    # the clinic configured elsewhere: only the marker stands between demo and these patients
    monkeypatch.setenv("LENADASH_DATABASE_URL", "sqlite:///elsewhere.sqlite")
    err = _refused(capsys, "demo", "--reset", "--db", _as_localhost(postgres_url))
    assert "has no demo marker" in err
    assert _clinic_state(postgres_url) == (["CL0001"], ["patients.csv"], False)


@pytest.mark.postgres
def test_same_database_on_postgresql_asks_the_server(postgres_url, postgres_server_url):
    assert store.same_database(postgres_url, _as_localhost(postgres_url))
    assert not store.same_database(postgres_url, postgres_server_url)  # same server, another database
    # a server that cannot be reached is not provably the same (the marker guards that case)
    unreachable = make_url(postgres_url).set(port=1).render_as_string(hide_password=False)
    assert not store.same_database(postgres_url, unreachable)


@pytest.mark.postgres
def test_a_fresh_postgresql_database_becomes_the_demo_one(capsys, postgres_url, sample_dir):
    assert cli.main(["demo", "--db", postgres_url]) == 0
    assert cli.main(["demo", "--reset", "--db", _as_localhost(postgres_url)]) == 0
    _, uploads, marked = _clinic_state(postgres_url)
    assert marked and len(uploads) == len(imports.sample_files(sample_dir))
