"""Revision 0008 (record_version, voided events) upgrades a database at 0007 that holds data, on SQLite and
PostgreSQL: every row kept, nothing voided, the new triggers in force; and it downgrades back to 0007."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import text

from lenadash import store

UTC_NOON = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def _at_0007(db_url):
    engine = store.make_engine(db_url, upgrade=False)
    store.upgrade_schema(engine, "0007")
    assert store.schema_revision(engine) == "0007"
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO patient (id, mrn, name, sex) VALUES (1, 'OLD001', 'Old Patient', 'F')"))
        connection.execute(
            text(
                "INSERT INTO treatment_course (id, patient_id, indication, start_date, starting_dose_mg, schedule, "
                "dialysis, reproductive_potential) VALUES (1, 1, 'MM', '2026-09-01', 25, '21/28', false, false)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO clinical_event (id, patient_id, date, kind, temperature_c, is_hold, detail, recorded_by, "
                "recorded_at) VALUES (1, 1, '2026-10-07', 'fever', 38.7, false, '', 'doc', :at)"
            ),
            {"at": UTC_NOON},
        )
    return engine


def test_upgrading_from_0007_keeps_every_event_unvoided_and_adds_append_only_versions(db_url):
    engine = _at_0007(db_url)
    try:
        store.upgrade_schema(engine, "0008")
        assert store.schema_revision(engine) == "0008"
        with store.open_session(engine) as session:
            events = store.load_events(session=session, include_voided=True)
            assert events[["mrn", "event", "value", "recorded_by"]].values.tolist() == [
                ["OLD001", "fever", "38.7", "doc"]
            ]
            assert events["voided_by"].isna().all() and events["voided_at"].isna().all()
            assert store.load_versions(session=session, mrn="OLD001").empty
            # the old event can be voided now, and then neither it nor its version can be deleted
            store.void_event(session=session, event_id=1, voided_by="doc", reason="test")
            assert store.load_events(session=session).empty
        for statement in (
            "DELETE FROM clinical_event",
            "DELETE FROM record_version",
            "UPDATE record_version SET id = 9",
        ):
            with pytest.raises(Exception, match="never deleted|append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_downgrading_0008_keeps_the_events_and_drops_the_versions(db_url):
    engine = _at_0007(db_url)
    try:
        store.upgrade_schema(engine, "0008")
        with engine.begin() as connection:
            command.downgrade(store.alembic_config(connection), "0007")
        assert store.schema_revision(engine) == "0007"
        assert "record_version" not in store.table_names(engine)
        with engine.begin() as connection:
            assert connection.execute(text("SELECT id, kind FROM clinical_event")).all() == [(1, "fever")]
            connection.execute(text("DELETE FROM clinical_event"))  # the trigger went with the revision
        store.upgrade_schema(engine, "0008")
        assert store.schema_revision(engine) == "0008"
    finally:
        engine.dispose()
