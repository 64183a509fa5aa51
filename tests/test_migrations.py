"""Alembic migrations: head matches models.py, and upgrading keeps every stored row."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
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


# Lab collection times as revision 0001 held them: clinic wall-clock times, including midnight,
# microseconds, and a time that does not exist in New York (the spring-forward hour of 2026-03-08).
OLD_LAB_TIMES = [
    dt.datetime(2026, 1, 5, 8, 30),
    dt.datetime(2026, 1, 5, 8, 30),
    dt.datetime(2026, 1, 5, 23, 59, 59, 500000),
    dt.datetime(2026, 1, 6, 0, 0),
    dt.datetime(2026, 3, 8, 2, 30),
    dt.datetime(2026, 11, 1, 1, 30, 0, 1),
]
# Not UTC, so that a time zone applied anywhere on the way would show.
SESSION_ZONE = "America/New_York"


def _fill_at_first_revision(engine) -> None:
    """Rows written as lenadash at revision 0001 wrote them, with plain SQL against 0001's tables:
    on PostgreSQL `collected_at` is still `timestamptz`, written by a session pinned to UTC (the
    0001 store pinned every session); on SQLite it is DATETIME text in SQLAlchemy's format."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(text("SET LOCAL TIME ZONE 'UTC'"))
        connection.execute(
            text(
                "INSERT INTO patient (id, mrn, name, sex, birth_date, weight_kg) "
                "VALUES (1, 'SYN001', 'Test One', 'F', '1950-02-03', 61.5), (2, 'SYN002', '', NULL, NULL, NULL)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO treatment_course (id, patient_id, indication, start_date, starting_dose_mg, schedule, "
                "combination, dialysis, reproductive_potential, menses) "
                "VALUES (1, 1, 'MM', '2026-01-05', 25, '21/28', 'dexamethasone', false, false, NULL)"
            )
        )
        uploaded_at = dt.datetime(2026, 1, 6, tzinfo=dt.UTC)
        connection.execute(
            text(
                "INSERT INTO upload (id, file_name, kind, content_hash, uploaded_at, rows_read, rows_imported, "
                "rows_unchanged, rows_superseding, rows_rejected, rejects_json, content) "
                "VALUES (1, 'cbc.csv', 'labs', :hash, :at, 6, 6, 0, 0, 0, '[]', :content)"
            ),
            {
                "hash": "a" * 64,
                "content": b"mrn,anc\n",
                "at": uploaded_at if postgres else "2026-01-06 00:00:00.000000",
            },
        )
        for i, collected in reversed(list(enumerate(OLD_LAB_TIMES, start=1))):
            # row 1 is a corrected result, superseded by row 2 (same key; written first)
            connection.execute(
                text(
                    "INSERT INTO lab_result (id, patient_id, upload_id, collected_at, analyte, value, unit, "
                    "comparator, raw_value, raw_unit, raw_name, source_line, superseded_by_id) VALUES "
                    "(:id, 1, 1, :at, 'anc', :value, '10^9/L', '', :raw, 'K/uL', 'ANC', :line, :successor)"
                ),
                {
                    "id": i,
                    "at": collected.isoformat(sep=" ", timespec="microseconds"),
                    "value": 1.0 + i / 10,
                    "raw": f"{1.0 + i / 10:g}",
                    "line": i + 1,
                    "successor": 2 if i == 1 else None,
                },
            )
        connection.execute(
            text(
                "INSERT INTO clinical_event (id, patient_id, date, kind, temperature_c, is_hold, detail) "
                "VALUES (1, 1, '2026-01-07', 'fever', 38.7, false, '')"
            )
        )


def _at_first_revision(db_url):
    """An engine on `db_url` at revision 0001 whose sessions run in SESSION_ZONE (PostgreSQL)."""
    engine = store.make_engine(db_url, upgrade=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"ALTER DATABASE \"{database}\" SET timezone = '{SESSION_ZONE}'")
        engine.dispose()  # new connections pick the database's zone up
    store.upgrade_schema(engine, _revisions()[0])
    assert store.schema_revision(engine) == "0001"
    return engine


def _stored_lab_times(engine) -> list[dt.datetime]:
    """collected_at of every lab row, by id, as wall-clock times (0001's timestamptz read in UTC)."""
    with engine.connect() as connection:
        values = connection.execute(text("SELECT collected_at FROM lab_result ORDER BY id")).scalars().all()
    return [_wall_clock(v) for v in values]


def _wall_clock(value) -> dt.datetime:
    if isinstance(value, str):  # SQLite text
        return dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:  # 0001's timestamptz on PostgreSQL, written as UTC
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def test_upgrading_from_the_first_revision_keeps_every_row_and_lab_time(db_url):
    engine = _at_first_revision(db_url)
    try:
        _fill_at_first_revision(engine)
        assert _stored_lab_times(engine) == OLD_LAB_TIMES
        before = _snapshot(engine)
        store.upgrade_schema(engine)  # to head
        assert store.schema_revision(engine) == _revisions()[-1]
        after = _snapshot(engine)
        # every row kept; only the uploads' original bytes are cleared by 0003 (names, birth dates)
        assert after["upload"] == [(*row[:-1], b"") for row in before["upload"]]
        kept = ("upload", "clinical_event")
        assert {k: v for k, v in after.items() if k not in kept} == {k: v for k, v in before.items() if k not in kept}
        # 0005 adds who recorded an event and when, 0008 who voided it, when and why: NULL for every
        # event stored before them
        assert after["clinical_event"] == [(*row, None, None, None, None, None) for row in before["clinical_event"]]
        assert _stored_lab_times(engine) == OLD_LAB_TIMES
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SHOW TIME ZONE").scalar_one() == SESSION_ZONE
                kind = connection.exec_driver_sql(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'lab_result' AND column_name = 'collected_at'"
                ).scalar_one()
            assert kind == "timestamp without time zone"
    finally:
        engine.dispose()
    # and the upgraded database reads through the store as usual, wall-clock times unchanged
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as session:
            labs = store.load_labs(session=session)
            assert labs["collected_at"].tolist() == [pd.Timestamp(t) for t in sorted(OLD_LAB_TIMES[1:])]
            assert labs["line"].tolist() == [3, 4, 5, 6, 7]
            assert store.load_patients(session=session)["mrn"].tolist() == ["SYN001"]
            assert store.load_events(session=session)["value"].tolist() == ["38.7"]
            assert store.list_uploads(session=session)["uploaded_at"].tolist() == [pd.Timestamp("2026-01-06")]
    finally:
        engine.dispose()


def test_upgrading_merges_uploads_doubled_by_a_race(db_url):
    """0001 had no unique (content_hash, kind): a doubled upload is merged into the earliest one."""
    engine = _at_first_revision(db_url)
    try:
        _fill_at_first_revision(engine)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO upload (id, file_name, kind, content_hash, uploaded_at, rows_read, rows_imported, "
                    "rows_unchanged, rows_superseding, rows_rejected, rejects_json, content) VALUES "
                    "(2, 'cbc (1).csv', 'labs', :hash, :at, 1, 1, 0, 0, 0, '[]', :content), "
                    "(3, 'other.csv', 'events', :hash, :at, 1, 1, 0, 0, 0, '[]', :content)"
                ),
                {"hash": "a" * 64, "at": "2026-01-06 00:00:01", "content": b"mrn,anc\n"},
            )
            connection.execute(text("UPDATE lab_result SET upload_id = 2 WHERE id = 6"))
            connection.execute(text("UPDATE clinical_event SET upload_id = 3 WHERE id = 1"))
        before = _snapshot(engine)
        store.upgrade_schema(engine)
        after = _snapshot(engine)
        assert [row[-2] for row in after["upload"]] == [1, 3]  # (id, content) last: the twin of 1 went
        assert after["lab_result"] == [
            row if row[0] != 6 else (6, *row[1:3], 1, *row[4:]) for row in before["lab_result"]
        ]
        # a different kind is no twin; 0005 adds recorded_by and recorded_at, 0008 voided_by, voided_at and
        # void_reason, NULL for events stored before them
        assert after["clinical_event"] == [(*row, None, None, None, None, None) for row in before["clinical_event"]]
        assert len(after["patient"]) == 2 and len(after["treatment_course"]) == 1
    finally:
        engine.dispose()


def test_upgrading_to_0003_repairs_keys_with_two_current_results_and_clears_upload_bytes(db_url):
    """Concurrent imports at 0002 could leave one key with several current results: 0003 keeps the
    newest current and the others as its superseded history (nothing deleted), then the database
    refuses a second current result; the stored upload bytes are emptied, their size kept."""
    engine = _at_first_revision(db_url)
    try:
        _fill_at_first_revision(engine)
        store.upgrade_schema(engine, "0002")
        with engine.begin() as connection:
            # rows 7, 8 and 9: the key of row 3 (current) three more times; row 10 a different analyte
            for row_id, analyte in ((7, "anc"), (8, "anc"), (9, "anc"), (10, "plt")):
                connection.execute(
                    text(
                        "INSERT INTO lab_result (id, patient_id, upload_id, collected_at, analyte, value, unit, "
                        "comparator, raw_value, raw_unit, raw_name, superseded_by_id) "
                        "SELECT :id, patient_id, upload_id, collected_at, :analyte, :value, unit, comparator, "
                        "raw_value, raw_unit, raw_name, NULL FROM lab_result WHERE id = 3"
                    ),
                    {"id": row_id, "analyte": analyte, "value": float(row_id)},
                )
        before = _snapshot(engine)
        store.upgrade_schema(engine)
        after = _snapshot(engine)
        successor = {row[0]: row[-1] for row in after["lab_result"]}
        assert len(after["lab_result"]) == len(before["lab_result"]) == 10
        assert [successor[i] for i in (3, 7, 8, 9)] == [9, 9, 9, None]  # the newest stays current
        assert successor[10] is None and successor[1] == 2 and successor[2] is None
        assert [row[-1] for row in after["upload"]] == [b""]
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT size_bytes FROM upload").scalar_one() == len(b"mrn,anc\n")
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE lab_result SET superseded_by_id = NULL WHERE id = 8"))
    finally:
        engine.dispose()


def _snapshot(engine) -> dict:
    """Every row of every table by id; lab times as wall-clock times, so 0001's timestamptz and
    head's timestamp compare equal when they hold the same clinic time."""
    queries = {
        "patient": "SELECT * FROM patient",
        "treatment_course": "SELECT * FROM treatment_course",
        "upload": "SELECT file_name, kind, content_hash, uploaded_at, rows_read, rows_imported, rows_unchanged, "
        "rows_superseding, rows_rejected, rejects_json, id, content FROM upload",
        "lab_result": "SELECT id, patient_id, collected_at, upload_id, analyte, value, unit, comparator, raw_value, "
        "raw_unit, raw_name, loinc, ref_low, ref_high, flag, status, source_line, superseded_by_id "
        "FROM lab_result",
        "clinical_event": "SELECT * FROM clinical_event",
    }
    out = {}
    with engine.connect() as connection:
        for table, sql in queries.items():
            rows = [tuple(row) for row in connection.execute(text(f"{sql} ORDER BY id")).all()]
            if table == "lab_result":
                rows = [(row[0], row[1], _wall_clock(row[2]), *row[3:]) for row in rows]
            if table == "upload":
                rows = [(*row[:-1], bytes(row[-1])) for row in rows]
            out[table] = rows
    return out


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
