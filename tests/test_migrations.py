"""Alembic migrations: head matches models.py, and upgrading keeps every stored row."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

from lenadash import store


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(store.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]  # oldest first


def test_the_revision_chain_is_linear_and_has_one_head():
    script = ScriptDirectory.from_config(store.alembic_config())
    assert len(script.get_heads()) == 1, "more than one Alembic head: merge the branches"
    assert _revisions()[0] == "0001"


def test_autogenerate_against_head_shows_no_difference(db_url):
    engine = store.make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
        assert diff == [], (
            "models.py and the migrations differ; write a revision with "
            f"`.venv/bin/alembic revision --autogenerate -m '...'`: {diff}"
        )
        assert store.schema_revision(engine) == _revisions()[-1]
    finally:
        engine.dispose()


def test_make_engine_on_an_up_to_date_database_changes_nothing(db_url):
    store.make_engine(db_url).dispose()
    engine = store.make_engine(db_url)
    try:
        assert store.schema_revision(engine) == _revisions()[-1]
    finally:
        engine.dispose()


def test_upgrading_from_the_first_revision_keeps_every_row(db_url):
    engine = store.make_engine(db_url, upgrade=False)
    try:
        store.upgrade_schema(engine, _revisions()[0])
        assert store.schema_revision(engine) == _revisions()[0]
        # Rows written with plain SQL as the first revision defines the tables.
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO patient (id, mrn, name, sex, birth_date, weight_kg) "
                "VALUES (1, 'SYN001', 'Test One', 'F', '1950-02-03', 61.5), (2, 'SYN002', '', NULL, NULL, NULL)"
            ))
            connection.execute(text(
                "INSERT INTO treatment_course (id, patient_id, indication, start_date, starting_dose_mg, schedule, "
                "combination, dialysis, reproductive_potential, menses) "
                "VALUES (1, 1, 'MM', '2026-01-05', 25, '21/28', 'dexamethasone', false, false, NULL)"
            ))
            connection.execute(
                text("INSERT INTO upload (id, file_name, kind, content_hash, uploaded_at, rows_read, rows_imported, "
                     "rows_unchanged, rows_superseding, rows_rejected, rejects_json, content) "
                     "VALUES (1, 'cbc.csv', 'labs', :hash, :at, 2, 2, 0, 0, 0, '[]', :content)"),
                {"hash": "a" * 64, "at": dt.datetime(2026, 1, 6, tzinfo=dt.timezone.utc), "content": b"mrn,anc\n"},
            )
            connection.execute(text(
                "INSERT INTO lab_result (id, patient_id, upload_id, collected_at, analyte, value, unit, comparator, "
                "raw_value, raw_unit, raw_name, source_line, superseded_by_id) VALUES "
                "(2, 1, 1, '2026-01-05 08:30:00', 'anc', 0.9, '10^9/L', '', '0.9', 'K/uL', 'ANC', 3, NULL), "
                "(1, 1, 1, '2026-01-05 08:30:00', 'anc', 1.2, '10^9/L', '', '1.2', 'K/uL', 'ANC', 2, 2)"
            ))
            connection.execute(text(
                "INSERT INTO clinical_event (id, patient_id, date, kind, temperature_c, is_hold, detail) "
                "VALUES (1, 1, '2026-01-07', 'fever', 38.7, false, '')"
            ))
        before = _snapshot(engine)
        store.upgrade_schema(engine)  # to head
        assert store.schema_revision(engine) == _revisions()[-1]
        assert _snapshot(engine) == before
    finally:
        engine.dispose()
    # and the upgraded database reads through the store as usual
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as session:
            labs = store.load_labs(session=session)
            assert labs["value"].tolist() == [0.9]
            assert store.load_patients(session=session)["mrn"].tolist() == ["SYN001"]
            assert store.load_events(session=session)["value"].tolist() == ["38.7"]
    finally:
        engine.dispose()


def _snapshot(engine) -> dict:
    tables = ["patient", "treatment_course", "upload", "lab_result", "clinical_event"]
    with engine.connect() as connection:
        return {t: sorted(map(tuple, connection.execute(text(f"SELECT * FROM {t} ORDER BY id")).all()), key=repr) for t in tables}


def test_downgrade_to_base_and_back(db_url):
    from alembic import command

    engine = store.make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.downgrade(store.alembic_config(connection), "base")
        assert set(store.table_names(engine)) <= {"alembic_version"}
        store.upgrade_schema(engine)
        assert {"patient", "lab_result", "upload"} <= set(store.table_names(engine))
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_works(url):
    engine = store.make_engine(url)
    try:
        assert "lab_result" in store.table_names(engine)
    finally:
        engine.dispose()


def test_the_no_difference_check_does_notice_a_model_change(sqlite_url):
    """Guard for the test above: a column missing from the migrations is reported."""
    from sqlalchemy import Column, Integer, MetaData

    changed = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["patient"].append_column(Column("height_cm", Integer, nullable=True))
    engine = store.make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), changed)
        assert [d[0] for d in diff] == ["add_column"]
    finally:
        engine.dispose()
