"""Concurrent imports in real processes give exactly the serial result (SQLite and PostgreSQL), and
an import that cannot get the database in time stops with "busy", saving nothing."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from lenadash import cli, store
from lenadash.errors import StoreError

HEADER = "MRN,Patient Name,Collection Date/Time,Component,Result,Units,Reference Range,Flag,Result Status\n"
ANALYTES = [("WBC", "K/uL"), ("PLATELET COUNT", "K/uL"), ("NEUTROPHILS ABSOLUTE", "K/uL"), ("HEMOGLOBIN", "g/dL")]
DRAWS = [dt.datetime(2026, 3, 2, 9, 15) + dt.timedelta(days=7 * week) for week in range(8)]
# A process that neither finishes nor fails in this time is stuck (a lock never released).
PROCESS_TIMEOUT_S = 60


def _lab_lines(patients: range, *, corrected: bool = False) -> list[str]:
    """Deterministic results: the same patient, analyte and draw always give the same value, so
    overlapping files agree; `corrected` changes every third value (a lab's corrected export)."""
    lines = []
    for p in patients:
        for d, drawn in enumerate(DRAWS):
            for a, (component, unit) in enumerate(ANALYTES):
                value = 2.0 + (p * 7 + d * 3 + a) % 50 / 10
                if corrected and (p + d + a) % 3 == 0:
                    value += 0.5
                lines.append(f"SYN{p:04d},,{drawn:%m/%d/%Y %H:%M},{component},{value:g},{unit},,,Final\n")
    return lines


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text(HEADER + "".join(lines))
    return path


@pytest.fixture
def lab_files(tmp_path) -> dict[str, Path]:
    """150 patients x 8 draws x 4 analytes (4,800 results) per file; overlapping files share 50-100
    patients; two corrected exports of `base` with the same results in different bytes (line order)."""
    corrected = _lab_lines(range(150), corrected=True)
    return {
        "base": _write(tmp_path, "base.csv", _lab_lines(range(150))),
        "overlap": _write(tmp_path, "overlap.csv", _lab_lines(range(100, 250))),
        "middle": _write(tmp_path, "middle.csv", _lab_lines(range(50, 200))),
        "corrected": _write(tmp_path, "corrected.csv", corrected),
        "corrected_reordered": _write(tmp_path, "corrected_reordered.csv", corrected[::-1]),
    }


def _import_in_process(url: str, path: str, barrier, log: str) -> None:
    """A child process: the command line's import, started together with its siblings."""
    sys.stdout = sys.stderr = open(log, "w", buffering=1)  # noqa: SIM115 (open until the process ends, for its traceback)
    barrier.wait(timeout=PROCESS_TIMEOUT_S)
    sys.exit(cli.main(["import", "--db", url, path]))


def _import_at_once(url: str, paths: list[Path], logs: Path) -> list[tuple[int | None, str]]:
    """Each file imported by its own process, all started at the same moment; (exit code, output)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(paths))
    processes = []
    for i, path in enumerate(paths):
        log = logs / f"process-{i}.log"
        processes.append((context.Process(target=_import_in_process, args=(url, str(path), barrier, str(log))), log))
    for process, _ in processes:
        process.start()
    for process, _ in processes:
        process.join(PROCESS_TIMEOUT_S)
        if process.exitcode is None:
            process.kill()
    return [(process.exitcode, log.read_text() if log.exists() else "") for process, log in processes]


def _import_serially(url: str, paths: list[Path]) -> None:
    for path in paths:
        assert cli.main(["import", "--db", url, str(path)]) == 0


def _outcome(url: str) -> tuple[pd.DataFrame, dict]:
    """The current results (without the source line, which names whichever file landed a result
    first) and the counts that tell history: rows kept, rows superseded, keys with two current rows."""
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            labs = store.load_labs(session=session).drop(columns="line")
            connection = session.connection()
            counts = {
                "rows": connection.execute(text("SELECT COUNT(*) FROM lab_result")).scalar_one(),
                "superseded": connection.execute(
                    text("SELECT COUNT(*) FROM lab_result WHERE superseded_by_id IS NOT NULL")
                ).scalar_one(),
                "doubled_keys": connection.execute(
                    text(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM lab_result WHERE superseded_by_id IS NULL "
                        "GROUP BY patient_id, analyte, collected_at HAVING COUNT(*) > 1) AS doubled"
                    )
                ).scalar_one(),
                "patients": connection.execute(text("SELECT COUNT(*) FROM patient")).scalar_one(),
            }
    finally:
        engine.dispose()
    return labs.sort_values(["mrn", "collected_at", "analyte"]).reset_index(drop=True), counts


# (files imported before, files imported at once by separate processes)
SCENARIOS = {
    "the same new file three times": ([], ["base", "base", "base"]),
    "overlapping files with new patients": ([], ["base", "overlap", "middle"]),
    "corrected exports of stored results": (["base"], ["corrected", "corrected_reordered", "corrected"]),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_concurrent_imports_give_the_serial_result(scenario, db_url, lab_files, tmp_path):
    before, at_once = SCENARIOS[scenario]
    serial_url = f"sqlite:///{tmp_path / 'serial.sqlite'}"
    _import_serially(serial_url, [lab_files[name] for name in before + at_once])
    expected_labs, expected_counts = _outcome(serial_url)
    assert expected_counts["doubled_keys"] == 0 and len(expected_labs) > 0

    _import_serially(db_url, [lab_files[name] for name in before])
    results = _import_at_once(db_url, [lab_files[name] for name in at_once], tmp_path)

    assert [code for code, _ in results] == [0] * len(at_once), [output for _, output in results]
    labs, counts = _outcome(db_url)
    assert counts == expected_counts
    pd.testing.assert_frame_equal(labs, expected_labs)


def _holding_the_import_lock(url: str):
    """A connection of another program inside an import (it holds the database's import lock)."""
    engine = store.make_engine(url)
    session = store.open_session(engine)
    store.sql.one_import_at_a_time(session)
    if engine.dialect.name == "sqlite":
        assert session.connection().connection.dbapi_connection.in_transaction
    return engine, session


def test_an_import_waiting_longer_than_the_lock_timeout_is_busy_and_saves_nothing(
    db_url, lab_files, monkeypatch, make_lab_import
):
    monkeypatch.setenv("LENADASH_LOCK_TIMEOUT_S", "0.5")
    holder_engine, holder = _holding_the_import_lock(db_url)
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as session:
            record = {"mrn": "SYN0001", "collected_at": "2026-03-02 09:15", "analyte": "anc", "value": 1.2}
            started = dt.datetime.now()
            with pytest.raises(StoreError, match="busy"):
                store.save_labs(session=session, file_name="a.csv", data=b"a", lab_import=make_lab_import([record]))
            assert dt.datetime.now() - started < dt.timedelta(seconds=10)
        holder.rollback()
        with store.open_session(engine) as session:
            assert len(store.load_labs(session=session)) == 0
            assert len(store.list_uploads(session=session)) == 0
    finally:
        holder.close()
        holder_engine.dispose()
        engine.dispose()


def test_a_form_save_during_an_import_waits_for_it_and_is_busy_after_the_lock_timeout(db_url, monkeypatch):
    monkeypatch.setenv("LENADASH_LOCK_TIMEOUT_S", "0.5")
    holder_engine, holder = _holding_the_import_lock(db_url)
    engine = store.make_engine(db_url)
    row = {"mrn": "SYN0001", "indication": "MM", "start_date": dt.date(2026, 3, 2), "starting_dose_mg": 25.0}
    try:
        with store.open_session(engine) as session, pytest.raises(StoreError, match="busy"):
            store.upsert_patient_course(session=session, row={**row, "schedule": "21/28"})
        with store.open_session(engine) as session, pytest.raises(StoreError, match="busy"):
            store.add_event(session=session, row={"mrn": "SYN0001", "date": dt.date(2026, 3, 3), "kind": "fever"})
        holder.rollback()
        with store.open_session(engine) as session:
            store.upsert_patient_course(session=session, row={**row, "schedule": "21/28"})
            assert store.load_patients(session=session)["mrn"].tolist() == ["SYN0001"]
    finally:
        holder.close()
        holder_engine.dispose()
        engine.dispose()
