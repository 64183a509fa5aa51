"""`python -m lenadash prepare` (issue 14): the day's kept assessment computed ahead of clinic hours, so the
overview's first open in a fresh app process assesses no patient, and a later import makes only the patients
it touched stale again. SQLite and PostgreSQL, through the CLI, the database and the app itself (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from lenadash import cli, imports, samples, store
from lenadash.dashboard import kept
from lenadash.store import summary
from lenadash.store.sql import table_of

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120
DAY = samples.TODAY.isoformat()
NEW_LABS = b"MRN,Collected,Test,Result,Units\nLD0001,2026-11-19 08:00,ANC,0.4,10^9/L\n"


@pytest.fixture
def clinic_db(db_url, monkeypatch, tmp_path) -> str:
    """The sample clinic in a fresh database (SQLite file or throwaway PostgreSQL), the app's settings on it."""
    engine = store.make_engine(db_url)
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=imports.sample_files())
    engine.dispose()
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LENADASH_DATABASE_URL", db_url)
    monkeypatch.setenv("LENADASH_DEMO_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite'}")
    kept.forget()
    yield db_url
    kept.forget()


def _first_open() -> AppTest:
    """The overview in a fresh app process (nothing kept in memory), as on the day's first visit."""
    kept.forget()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lenadash_as_of"] = samples.TODAY
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _kept_rows(url: str) -> dict[str, tuple[str, str]]:
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as s:
            return summary.read_summaries(session=s, rules="us_pi", as_of=samples.TODAY)
    finally:
        engine.dispose()


def _inputs(url: str) -> dict[str, str]:
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as s:
            return summary.patient_inputs(session=s)
    finally:
        engine.dispose()


def test_after_prepare_the_first_open_assesses_no_patient(clinic_db, capsys):
    assert _kept_rows(clinic_db) == {}
    assert cli.main(["prepare", "--db", clinic_db, "--date", DAY, "--rules", "us_pi"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    patients = _inputs(clinic_db)
    assert f"{len(patients)} patient(s), {len(patients)} assessed, 0 already kept" in out
    assert "LD0" not in out, "no MRN in what may end up in cron mail"
    rows = _kept_rows(clinic_db)
    assert {m: i for m, (i, _) in rows.items()} == patients, "a current summary for every patient"

    before = len(kept.ASSESSED)
    at = _first_open()
    assert kept.ASSESSED[before:] == [], "the first open read what prepare kept"
    assert "LD0001" in set(at.dataframe[0].value["MRN"])

    assert cli.main(["prepare", "--db", clinic_db, "--date", DAY]) == cli.EXIT_OK
    assert f"{len(patients)} patient(s), 0 assessed, {len(patients)} already kept" in capsys.readouterr().out


def test_an_import_after_prepare_makes_only_its_patient_stale(clinic_db, tmp_path):
    assert cli.main(["prepare", "--db", clinic_db, "--date", DAY]) == cli.EXIT_OK
    (tmp_path / "late.csv").write_bytes(NEW_LABS)
    engine = store.make_engine(clinic_db)
    with store.open_session(engine) as s:
        imports.import_paths(session=s, paths=[tmp_path / "late.csv"])
    engine.dispose()

    before = len(kept.ASSESSED)
    at = _first_open()
    assert kept.ASSESSED[before:] == ["LD0001"], "only the patient the late file named is assessed"
    row = at.dataframe[0].value.set_index("MRN").loc["LD0001"]
    assert str(row["ANC"]).startswith("0.4")


def test_prepare_keeps_what_the_app_would_keep(clinic_db):
    """The summaries prepare writes are the app's own: a first open without prepare writes the same JSON."""
    _first_open()
    by_app = _kept_rows(clinic_db)
    engine = store.make_engine(clinic_db)
    with store.open_session(engine) as s:  # derived rows: dropping them only costs a reassessment
        table = table_of(summary.CourseSummary)
        s.connection().execute(table.delete())
        s.commit()
        assert s.connection().execute(select(func.count()).select_from(table)).scalar() == 0
    engine.dispose()
    kept.forget()
    assert cli.main(["prepare", "--db", clinic_db, "--date", DAY]) == cli.EXIT_OK
    assert _kept_rows(clinic_db) == by_app


@pytest.mark.parametrize(
    "argv",
    [["prepare", "--date", "20-11-2026"], ["prepare", "--date", DAY, "--db", "sqlite:///{tmp}/missing.sqlite"]],
    ids=["bad-date", "no-such-file"],
)
def test_prepare_usage_errors(argv, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("lenadash: error:") and ("--date" in err or "no database" in err)
    assert not (tmp_path / "missing.sqlite").exists()
