"""Rows written outside lenadash that collide with its keys - a current result of the same patient, test and
time written by another program's trigger during the import, ids written past the sequence - end an import
in a clear message and no half import, never a raw IntegrityError; on SQLite and PostgreSQL, in the CLI and
on the upload page's path."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from lenadash import cli, imports, store
from lenadash.errors import StoreError

LABS = (
    "mrn,collected_at,analyte,value,unit\n"
    "BC0001,2026-01-19 08:30,anc,1.2,10^9/L\n"
    "BC0001,2026-01-19 08:30,plt,150,10^9/L\n"
    "BC0002,2026-01-19 08:30,anc,2.2,10^9/L\n"
)
OUTSIDE = "written outside lenadash"

# Another program's trigger: on every ANC result, it writes a current platelet result of the same patient and
# time (id below lenadash's), so lenadash's own platelet row then breaks the one-current-result key.
SQLITE_TRIGGER = """
CREATE TRIGGER other_program AFTER INSERT ON lab_result WHEN NEW.analyte = 'anc' BEGIN
  INSERT INTO lab_result (id, patient_id, collected_at, analyte, value, unit, comparator, raw_value, raw_unit,
                          raw_name)
  VALUES (-NEW.id, NEW.patient_id, NEW.collected_at, 'plt', 99, '10^9/L', '', '99', '', 'outside');
END
"""
POSTGRES_TRIGGER = (
    """
CREATE FUNCTION other_program() RETURNS trigger AS $$ BEGIN
  INSERT INTO lab_result (id, patient_id, collected_at, analyte, value, unit, comparator, raw_value, raw_unit,
                          raw_name)
  VALUES (-NEW.id, NEW.patient_id, NEW.collected_at, 'plt', 99, '10^9/L', '', '99', '', 'outside');
  RETURN NEW;
END $$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER other_program AFTER INSERT ON lab_result FOR EACH ROW WHEN (NEW.analyte = 'anc') "
    "EXECUTE FUNCTION other_program()",
)


def _sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _held(url: str) -> dict:
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            return {
                "uploads": len(store.list_uploads(session=session)),
                "labs": len(store.load_labs(session=session)),
                "patients": len(store.load_patients(session=session, include_without_course=True)),
            }
    finally:
        engine.dispose()


def _earlier(url: str, tmp_path) -> dict:
    """The schema and one earlier file, so 'nothing saved' can be told from 'everything lost'."""
    earlier = tmp_path / "earlier.csv"
    earlier.write_text("mrn,collected_at,analyte,value,unit\nBC0009,2026-01-12 08:30,anc,1.9,10^9/L\n")
    assert cli.main(["import", "--db", url, str(earlier)]) == 0
    return _held(url)


def _import_cli(url: str, tmp_path, capsys) -> tuple[int, str]:
    path = tmp_path / "labs.csv"
    path.write_text(LABS)
    capsys.readouterr()
    code = cli.main(["import", "--db", url, str(path)])
    out, err = capsys.readouterr()
    return code, out + err


def _import_page(url: str) -> str:
    """The upload page's path: commit_uploads reports the StoreError as the file's refusal."""
    prepared = imports.read_upload("labs.csv", LABS.encode())
    engine = store.make_engine(url)
    try:
        with store.open_session(engine) as session:
            outcomes = list(imports.commit_uploads(session=session, prepared=[prepared]))
    finally:
        engine.dispose()
    assert len(outcomes) == 1 and outcomes[0].summary is None
    return str(outcomes[0].refused)


def _no_leak(message: str) -> None:
    assert "Traceback" not in message and "INSERT" not in message and "COPY" not in message
    assert "BC0001" not in message and "BC0002" not in message and "Key (" not in message


@pytest.mark.parametrize("path", ["cli", "page"])
def test_a_current_result_written_by_another_program_during_the_import_is_a_message(db_url, tmp_path, capsys, path):
    before = _earlier(db_url, tmp_path)
    _sql(db_url, *((SQLITE_TRIGGER,) if db_url.startswith("sqlite") else POSTGRES_TRIGGER))
    if path == "cli":
        code, message = _import_cli(db_url, tmp_path, capsys)
        assert code == cli.EXIT_USAGE
    else:
        message = _import_page(db_url)
    assert OUTSIDE in message and "current result of the same patient, test and collection time" in message
    assert "nothing was saved" in message
    _no_leak(message)
    assert _held(db_url) == before  # no half import: the trigger's rows went with the rollback


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["patient", "upload", "lab_result"])
def test_ids_written_past_the_sequence_are_a_message_not_a_traceback(postgres_url, tmp_path, capsys, table):
    before = _earlier(postgres_url, tmp_path)
    # Another program (a restore without setval, a script) wrote rows with explicit ids: the ones the sequence
    # gives next (`g` runs over the 200 ids after the highest one lenadash wrote).
    ids = f"generate_series((SELECT max(id) FROM {table}) + 1, (SELECT max(id) FROM {table}) + 200) AS g"
    rows = {
        "patient": f"INSERT INTO patient (id, mrn, name) SELECT g, 'X' || g, '' FROM {ids}",
        "upload": "INSERT INTO upload (id, file_name, kind, content_hash, size_bytes, uploaded_at, rows_read,"
        " rows_imported, rows_superseding, rows_unchanged, rows_rejected, rejects_json, content)"
        f" SELECT g, 'x', 'labs', 'h' || g, 0, now(), 0, 0, 0, 0, 0, '[]', '' FROM {ids}",
        "lab_result": "INSERT INTO lab_result (id, patient_id, collected_at, analyte, value, unit, comparator,"
        " raw_value, raw_unit, raw_name)"
        " SELECT g, (SELECT min(id) FROM patient), '2020-01-01'::timestamp + g * interval '1 hour', 'wbc', 5,"
        f" '10^9/L', '', '5', '', 'outside' FROM {ids}",
    }[table]
    _sql(postgres_url, rows)
    after_outside = _held(postgres_url)
    code, message = _import_cli(postgres_url, tmp_path, capsys)
    assert code == cli.EXIT_USAGE, message
    assert OUTSIDE in message and "nothing was saved" in message
    assert "same id" in message or "same MRN" in message
    _no_leak(message)
    assert _held(postgres_url) == after_outside
    assert before["uploads"] <= after_outside["uploads"]


def test_integrity_failure_names_the_key_never_the_row():
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    from lenadash.store.sql import integrity_failure

    raw = sqlite3.IntegrityError("UNIQUE constraint failed: patient.mrn")
    error = integrity_failure(IntegrityError("INSERT INTO patient (mrn) VALUES (?)", ("BC0001",), raw))
    assert isinstance(error, StoreError) and "same MRN" in str(error) and "BC0001" not in str(error)
    not_null = sqlite3.IntegrityError("NOT NULL constraint failed: lab_result.unit")
    assert integrity_failure(IntegrityError("INSERT", (), not_null)) is None  # lenadash's own bug: not dressed up
