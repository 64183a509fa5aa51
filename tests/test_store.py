"""Storage: saving imports (idempotent, corrections, atomic) and loading, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from lenadash import store
from lenadash.store.models import ClinicalEvent, LabResult, Patient, TreatmentCourse, Upload


@pytest.fixture
def db(db_url):
    engine = store.make_engine(db_url)
    with store.open_session(engine) as session:
        yield session
    engine.dispose()


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _labs(session) -> list[LabResult]:
    return list(session.execute(select(LabResult).order_by(LabResult.id)).scalars())


ANC_DAY1 = {"mrn": "SYN001", "collected_at": "2026-01-05 08:30", "analyte": "anc", "value": 1.2}
PLT_DAY1 = {"mrn": "SYN001", "collected_at": "2026-01-05 08:30", "analyte": "plt", "value": 95.0}
ANC_DAY8 = {"mrn": "SYN001", "collected_at": "2026-01-12 09:00", "analyte": "anc", "value": 0.8}


# --- the shared database fixtures ---------------------------------------------------------------


def _run_without_postgres(pytester, monkeypatch, require: bool):
    from pathlib import Path

    conftest = (Path(__file__).parent / "conftest.py").read_text()
    pytester.makeconftest(conftest.replace('pytest_plugins = ["pytester"]', "") + "\n_pg_bindir = lambda: None\n")
    pytester.makepyfile(test_needs_pg="def test_needs_pg(postgres_url):\n    assert postgres_url\n")
    monkeypatch.delenv("LENADASH_TEST_POSTGRES_URL", raising=False)
    monkeypatch.setenv("LENADASH_REQUIRE_SERVICES", "1" if require else "0")
    return pytester.runpytest_inprocess("-ra", "-p", "no:cacheprovider")


def test_without_postgresql_the_tests_skip_with_the_install_hint(pytester, monkeypatch):
    result = _run_without_postgres(pytester, monkeypatch, require=False)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*install PostgreSQL (apt-get install postgresql) to run the PostgreSQL tests*"])


def test_without_postgresql_required_services_fail_loudly(pytester, monkeypatch):
    result = _run_without_postgres(pytester, monkeypatch, require=True)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*LENADASH_REQUIRE_SERVICES=1 but PostgreSQL is missing*"])


# --- engine ----------------------------------------------------------------------------------


def test_make_engine_creates_the_sqlite_folder_with_wal_and_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'deeper' / 'clinic.sqlite'}"
    engine = store.make_engine(url)
    try:
        assert (tmp_path / "nested" / "deeper" / "clinic.sqlite").exists()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert store.schema_revision(engine) is not None
    finally:
        engine.dispose()


def test_make_engine_names_the_fix_for_an_unusable_url():
    with pytest.raises(store.StoreError, match="postgresql\\+psycopg://"):
        store.make_engine("nosuchdb+driver://x/y")


def test_foreign_keys_are_enforced(db):
    connection = db.connection()
    with pytest.raises(IntegrityError):
        connection.execute(
            text(
                "INSERT INTO treatment_course (indication, start_date, starting_dose_mg, schedule, dialysis, "
                "reproductive_potential, patient_id) VALUES ('MM', '2026-01-01', 25, '21/28', false, false, 999)"
            )
        )
        db.flush()
    db.rollback()


# --- labs ------------------------------------------------------------------------------------


def test_save_labs_then_load_labs_round_trips_the_contract(db, make_lab_import):
    lab_import = make_lab_import(
        [
            {
                **ANC_DAY1,
                "comparator": "",
                "raw_value": "1.2",
                "raw_unit": "K/uL",
                "raw_name": "Neutrophils Abs",
                "loinc": "751-8",
                "ref_low": 1.5,
                "ref_high": 7.0,
                "flag": "L",
                "status": "final",
            },
            {**PLT_DAY1, "comparator": "<", "raw_value": "<95"},
            {"mrn": "SYN002", "collected_at": "2026-01-06 10:15", "analyte": "hgb", "value": 9.1, "unit": "g/dL"},
        ]
    )
    summary = store.save_labs(session=db, file_name="cbc.csv", data=b"cbc-1", lab_import=lab_import)
    assert (summary.rows_imported, summary.rows_unchanged, summary.rows_superseding) == (3, 0, 0)
    assert summary.patients_created == 2 and not summary.already_imported and summary.kind == "labs"

    labs = store.load_labs(session=db)
    assert list(labs.columns) == store.LABS_COLUMNS
    assert str(labs["collected_at"].dtype).startswith("datetime64")
    anc = labs[labs["analyte"] == "anc"].iloc[0]
    assert anc["collected_at"] == pd.Timestamp("2026-01-05 08:30")
    assert (anc["value"], anc["loinc"], anc["ref_low"], anc["flag"], anc["line"]) == (1.2, "751-8", 1.5, "L", 2)
    plt = labs[labs["analyte"] == "plt"].iloc[0]
    assert (plt["comparator"], plt["raw_value"], plt["loinc"]) == ("<", "<95", None)
    assert pd.isna(plt["ref_low"])
    assert list(store.load_labs(session=db, mrn="SYN002")["analyte"]) == ["hgb"]


def test_upload_keeps_name_hash_size_counts_and_rejects_but_not_the_bytes(db, make_lab_import):
    problem = {
        "file": "cbc.csv",
        "line": 7,
        "column": "Result",
        "value": "TNP",
        "reason": "non-numeric result",
        "message": "TNP is not a number.",
        "hint": "Remove the row or enter the value.",
        "severity": "error",
    }
    warning = {**problem, "line": 8, "reason": "assumed unit", "severity": "warning"}
    lab_import = make_lab_import([ANC_DAY1], problems=[problem, warning])
    summary = store.save_labs(session=db, file_name="cbc.csv", data=b"raw,bytes\n", lab_import=lab_import)
    assert summary.rows_rejected == 1 and summary.rejects[0]["line"] == 7 and summary.rejects[0]["hint"]
    upload = db.get(Upload, summary.upload_id)
    # the original bytes (names, birth dates, comments) are not kept unless LENADASH_KEEP_UPLOADS=1
    assert upload.file_name == "cbc.csv" and upload.content == b"" and upload.size_bytes == len(b"raw,bytes\n")
    import hashlib

    assert upload.content_hash == hashlib.sha256(b"raw,bytes\n").hexdigest()
    assert (upload.rows_read, upload.rows_imported, upload.rows_rejected) == (3, 1, 1)
    assert json.loads(upload.rejects_json)[0]["reason"] == "non-numeric result"
    assert store.upload_rejects(session=db, upload_id=upload.id)[0]["value"] == "TNP"
    uploads = store.list_uploads(session=db)
    assert list(uploads.columns) == store.UPLOADS_COLUMNS and uploads.iloc[0]["rows_rejected"] == 1


def test_keep_uploads_keeps_the_original_bytes(db, make_lab_import, monkeypatch):
    monkeypatch.setenv("LENADASH_KEEP_UPLOADS", "1")
    summary = store.save_labs(
        session=db, file_name="cbc.csv", data=b"raw,bytes\n", lab_import=make_lab_import([ANC_DAY1])
    )
    upload = db.get(Upload, summary.upload_id)
    assert upload.content == b"raw,bytes\n" and upload.size_bytes == 10


def test_a_file_whose_bytes_were_not_kept_is_still_recognised_by_its_hash(db, make_lab_import):
    lab_import = make_lab_import([ANC_DAY1])
    first = store.save_labs(session=db, file_name="a.csv", data=b"bytes", lab_import=lab_import)
    assert db.get(Upload, first.upload_id).content == b""
    again = store.save_labs(session=db, file_name="b.csv", data=b"bytes", lab_import=lab_import)
    assert again.already_imported and again.upload_id == first.upload_id


def test_the_same_file_twice_writes_nothing(db, make_lab_import):
    lab_import = make_lab_import([ANC_DAY1, PLT_DAY1])
    first = store.save_labs(session=db, file_name="a.csv", data=b"same bytes", lab_import=lab_import)
    again = store.save_labs(session=db, file_name="a-copy.csv", data=b"same bytes", lab_import=lab_import)
    assert again.already_imported and again.upload_id == first.upload_id
    assert again.rows_imported == 0 and again.rows_unchanged == 2
    assert _count(db, Upload) == 1 and _count(db, LabResult) == 2


def test_same_results_in_a_different_file_are_unchanged(db, make_lab_import):
    store.save_labs(session=db, file_name="a.csv", data=b"v1", lab_import=make_lab_import([ANC_DAY1, PLT_DAY1]))
    summary = store.save_labs(
        session=db, file_name="b.csv", data=b"v2", lab_import=make_lab_import([PLT_DAY1, ANC_DAY1, ANC_DAY8])
    )
    assert (summary.rows_imported, summary.rows_unchanged, summary.rows_superseding) == (1, 2, 0)
    assert _count(db, LabResult) == 3


def test_a_corrected_value_becomes_current_and_the_old_row_is_kept(db, make_lab_import):
    store.save_labs(session=db, file_name="a.csv", data=b"v1", lab_import=make_lab_import([ANC_DAY1]))
    summary = store.save_labs(
        session=db, file_name="a-corrected.csv", data=b"v2", lab_import=make_lab_import([{**ANC_DAY1, "value": 0.9}])
    )
    assert (summary.rows_imported, summary.rows_superseding, summary.rows_unchanged) == (0, 1, 0)
    old, new = _labs(db)
    assert (old.value, new.value) == (1.2, 0.9)
    assert old.superseded_by_id == new.id and new.superseded_by_id is None
    assert list(store.load_labs(session=db)["value"]) == [0.9]


def test_a_changed_comparator_is_a_correction(db, make_lab_import):
    store.save_labs(session=db, file_name="a.csv", data=b"v1", lab_import=make_lab_import([ANC_DAY1]))
    summary = store.save_labs(
        session=db, file_name="b.csv", data=b"v2", lab_import=make_lab_import([{**ANC_DAY1, "comparator": "<"}])
    )
    assert summary.rows_superseding == 1
    assert list(store.load_labs(session=db)["comparator"]) == ["<"]


def test_within_one_file_the_later_line_wins_and_the_earlier_is_kept(db, make_lab_import):
    lab_import = make_lab_import([ANC_DAY1, PLT_DAY1, {**ANC_DAY1, "value": 0.7}])  # lines 2, 3, 4
    summary = store.save_labs(session=db, file_name="a.csv", data=b"v1", lab_import=lab_import)
    assert (summary.rows_imported, summary.rows_superseding) == (2, 1)
    anc = [r for r in _labs(db) if r.analyte == "anc"]
    earlier, later = sorted(anc, key=lambda r: r.source_line)
    assert (earlier.value, later.value) == (1.2, 0.7)
    assert earlier.superseded_by_id == later.id and later.superseded_by_id is None
    current = store.load_labs(session=db)
    assert current.loc[current["analyte"] == "anc", "value"].tolist() == [0.7]


def test_reimporting_a_file_with_an_internal_correction_changes_nothing(db, make_lab_import):
    records = [ANC_DAY1, {**ANC_DAY1, "value": 0.7}]
    store.save_labs(session=db, file_name="a.csv", data=b"v1", lab_import=make_lab_import(records))
    again = store.save_labs(session=db, file_name="a.csv", data=b"v1 re-exported", lab_import=make_lab_import(records))
    assert (again.rows_imported, again.rows_superseding, again.rows_unchanged) == (0, 0, 2)
    assert _count(db, LabResult) == 2


def test_a_file_that_starts_with_the_stored_value_and_corrects_it(db, make_lab_import):
    store.save_labs(session=db, file_name="a.csv", data=b"v1", lab_import=make_lab_import([ANC_DAY1]))
    records = [ANC_DAY1, {**ANC_DAY1, "value": 0.7}]
    summary = store.save_labs(session=db, file_name="b.csv", data=b"v2", lab_import=make_lab_import(records))
    assert (summary.rows_imported, summary.rows_superseding, summary.rows_unchanged) == (0, 1, 1)
    first, second = _labs(db)
    assert first.superseded_by_id == second.id and second.value == 0.7


def test_results_for_an_unregistered_mrn_are_kept_under_a_bare_patient(db, make_lab_import):
    summary = store.save_labs(
        session=db, file_name="a.csv", data=b"v1", lab_import=make_lab_import([{**ANC_DAY1, "mrn": "NEW9"}])
    )
    assert summary.patients_created == 1
    patient = db.execute(select(Patient).where(Patient.mrn == "NEW9")).scalars().one()
    assert (patient.sex, patient.birth_date) == (None, None)
    assert store.load_patients(session=db).empty
    bare = store.load_patients(session=db, include_without_course=True)
    assert bare["mrn"].tolist() == ["NEW9"] and bare["indication"].isna().all()


@pytest.mark.parametrize("failing_call", [1, 2])
def test_a_database_failure_mid_import_leaves_nothing_behind(db, make_lab_import, monkeypatch, failing_call):
    store.save_labs(session=db, file_name="before.csv", data=b"v0", lab_import=make_lab_import([PLT_DAY1]))
    calls = {"n": 0}
    real_insert = store._insert_chunk

    def flaky_insert(connection, sql, rows):
        calls["n"] += 1
        if calls["n"] == failing_call:
            raise RuntimeError("disk full (simulated)")
        real_insert(connection, sql, rows)

    monkeypatch.setattr(store.labs, "CHUNK_SIZE", 2)
    monkeypatch.setattr(store.labs, "insert_chunk", flaky_insert)
    records = [{**ANC_DAY1, "mrn": f"SYN1{i:02d}"} for i in range(7)] + [{**PLT_DAY1, "value": 20.0}]
    with pytest.raises(RuntimeError, match="simulated"):
        store.save_labs(session=db, file_name="big.csv", data=b"v1", lab_import=make_lab_import(records))
    assert calls["n"] == failing_call
    assert _count(db, Upload) == 1 and _count(db, LabResult) == 1 and _count(db, Patient) == 1
    assert db.execute(select(LabResult.superseded_by_id)).scalar_one() is None
    # and the same file imports cleanly afterwards
    monkeypatch.setattr(store.labs, "insert_chunk", real_insert)
    summary = store.save_labs(session=db, file_name="big.csv", data=b"v1", lab_import=make_lab_import(records))
    assert (summary.rows_imported, summary.rows_superseding, summary.patients_created) == (7, 1, 7)


def test_lab_times_are_clinic_wall_clock_times_whatever_the_session_zone(db_url, make_lab_import):
    """collected_at is `timestamp without time zone`: no session TimeZone shifts it (PostgreSQL runs
    this database in Auckland, 13 hours from UTC); the upload time is an instant, in UTC."""
    engine = store.make_engine(db_url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
                connection.exec_driver_sql(f"ALTER DATABASE \"{database}\" SET timezone = 'Pacific/Auckland'")
            engine.dispose()
        # the last: inside the hour Auckland repeats when its summer time ends
        times = [
            dt.datetime(2026, 1, 5, 8, 30),
            dt.datetime(2026, 1, 5, 23, 59, 59, 250000),
            dt.datetime(2026, 4, 5, 2, 30),
        ]
        with store.open_session(engine) as session:
            before = dt.datetime.now(dt.UTC)
            summary = store.save_labs(
                session=session,
                file_name="a.csv",
                data=b"v1",
                lab_import=make_lab_import([{**ANC_DAY1, "collected_at": t} for t in times]),
            )
            assert store.load_labs(session=session)["collected_at"].tolist() == [pd.Timestamp(t) for t in times]
            stored = [r.collected_at for r in _labs(session)]
            assert stored == times and stored[0].tzinfo is None
            uploaded_at = session.get(Upload, summary.upload_id).uploaded_at
            assert uploaded_at.utcoffset() == dt.timedelta(0) and before <= uploaded_at <= dt.datetime.now(dt.UTC)
            listed = store.list_uploads(session=session)["uploaded_at"].iloc[0]
            assert listed == pd.Timestamp(uploaded_at.replace(tzinfo=None))  # naive UTC in the table
            again = store.save_labs(
                session=session,
                file_name="b.csv",
                data=b"v2",
                lab_import=make_lab_import([{**ANC_DAY1, "collected_at": t} for t in times]),
            )
            assert again.rows_unchanged == 3 and again.rows_imported == 0  # the same keys are found again
    finally:
        engine.dispose()


def test_a_racing_import_of_the_same_file_is_reported_as_already_imported(db, make_lab_import, monkeypatch):
    """Two sessions import the same new file at once: both find no earlier upload, the unique
    (content_hash, kind) index stops the later insert, and it reports the winner's upload."""
    first = store.save_labs(session=db, file_name="a.csv", data=b"same bytes", lab_import=make_lab_import([ANC_DAY1]))
    real_lookup = store._existing_upload
    lookups = []

    def stale_lookup(session, content_hash, kind):  # the check ran before the other session committed
        lookups.append(kind)
        return None if len(lookups) == 1 else real_lookup(session, content_hash, kind)

    monkeypatch.setattr(store.uploads, "_existing_upload", stale_lookup)
    again = store.save_labs(session=db, file_name="a.csv", data=b"same bytes", lab_import=make_lab_import([ANC_DAY1]))
    assert again.already_imported and again.upload_id == first.upload_id and len(lookups) == 2
    assert _count(db, Upload) == 1 and _count(db, LabResult) == 1
    # the same bytes as another kind of file are a different upload
    events = SimpleNamespace(rows=pd.DataFrame(EVENTS[:1]), problems=None, rows_read=1)
    assert not store.save_events(
        session=db, file_name="a.csv", data=b"same bytes", table_import=events
    ).already_imported


def test_results_without_mrn_time_or_value_are_refused_whole(db, make_lab_import):
    for bad in ({**ANC_DAY1, "mrn": ""}, {**ANC_DAY1, "value": float("nan")}):
        with pytest.raises(store.StoreError, match="ingest should reject them"):
            store.save_labs(
                session=db, file_name="a.csv", data=repr(bad).encode(), lab_import=make_lab_import([PLT_DAY1, bad])
            )
    assert _count(db, Upload) == 0 and _count(db, LabResult) == 0


def test_an_empty_file_is_recorded_and_stores_no_results(db, make_lab_import):
    summary = store.save_labs(session=db, file_name="empty.csv", data=b"header only\n", lab_import=make_lab_import([]))
    assert summary.rows_imported == 0 and _count(db, Upload) == 1 and _count(db, LabResult) == 0


def test_overlong_raw_text_is_cut_to_the_column_rather_than_failing_the_import(db, make_lab_import):
    summary = store.save_labs(
        session=db, file_name="a.csv", data=b"v1", lab_import=make_lab_import([{**ANC_DAY1, "raw_name": "N" * 400}])
    )
    assert summary.rows_imported == 1
    assert len(store.load_labs(session=db)["raw_name"].iloc[0]) == 128


values = st.lists(
    st.tuples(
        st.sampled_from(["SYN1", "SYN2"]),
        st.sampled_from(["anc", "plt"]),
        st.integers(0, 3),
        st.sampled_from([0.4, 0.5, 1.0, 30.0]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=values)
def test_importing_the_same_results_twice_stores_nothing_new(tmp_path_factory, make_lab_import, records):
    engine = store.make_engine(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'p.sqlite'}")
    rows = [
        {"mrn": m, "analyte": a, "collected_at": dt.datetime(2026, 1, 1 + d, 8), "value": v} for m, a, d, v in records
    ]
    try:
        with store.open_session(engine) as session:
            store.save_labs(session=session, file_name="a.csv", data=b"first", lab_import=make_lab_import(rows))
            before = _count(session, LabResult)
            current = store.load_labs(session=session)
            again = store.save_labs(
                session=session, file_name="a.csv", data=b"second", lab_import=make_lab_import(rows)
            )
            assert again.rows_imported == 0 and again.rows_superseding == 0 and again.rows_unchanged == len(rows)
            assert _count(session, LabResult) == before
            pd.testing.assert_frame_equal(store.load_labs(session=session), current)
            # the current value per key is the last line's value for that key
            last = {(m, a, 1 + d): v for m, a, d, v in records}
            got = {(r.mrn, r.analyte, r.collected_at.day): r.value for r in current.itertuples()}
            assert got == last
    finally:
        engine.dispose()


# --- patients and courses --------------------------------------------------------------------


def _patients_import(rows: list[dict]):
    frame = pd.DataFrame(rows)
    return SimpleNamespace(rows=frame, problems=pd.DataFrame(), rows_read=len(rows))


MM_PATIENT = {
    "mrn": "SYN001",
    "name": "Test Patient One",
    "sex": "F",
    "birth_date": dt.date(1955, 3, 2),
    "weight_kg": 70.0,
    "indication": "MM",
    "start_date": dt.date(2026, 1, 5),
    "starting_dose_mg": 25.0,
    "schedule": "21/28",
    "combination": "dexamethasone",
    "reproductive_potential": False,
    "menses": None,
    "dialysis": False,
}


def test_save_patients_upserts_by_mrn_and_course_key(db, make_lab_import):
    store.save_labs(session=db, file_name="a.csv", data=b"labs", lab_import=make_lab_import([ANC_DAY1]))
    summary = store.save_patients(
        session=db, file_name="patients.csv", data=b"p1", table_import=_patients_import([MM_PATIENT])
    )
    assert (summary.rows_imported, summary.patients_created, summary.kind) == (1, 0, "patients")
    patients = store.load_patients(session=db)
    assert list(patients.columns) == store.PATIENTS_COLUMNS
    row = patients.iloc[0]
    assert (row["mrn"], row["sex"], row["birth_date"], row["start_date"]) == (
        "SYN001",
        "F",
        dt.date(1955, 3, 2),
        dt.date(2026, 1, 5),
    )
    assert row["dialysis"] is False or row["dialysis"] == False  # noqa: E712  (numpy bool)

    changed = {**MM_PATIENT, "starting_dose_mg": 10.0, "weight_kg": 68.0}
    summary = store.save_patients(
        session=db, file_name="patients.csv", data=b"p2", table_import=_patients_import([changed])
    )
    assert (summary.rows_imported, summary.rows_superseding, summary.rows_unchanged) == (0, 1, 0)
    patients = store.load_patients(session=db)
    assert len(patients) == 1 and patients.iloc[0]["starting_dose_mg"] == 10.0 and patients.iloc[0]["weight_kg"] == 68.0

    again = store.save_patients(
        session=db, file_name="patients.csv", data=b"p3", table_import=_patients_import([changed])
    )
    assert (again.rows_imported, again.rows_superseding, again.rows_unchanged) == (0, 0, 1)
    second_course = {
        **MM_PATIENT,
        "indication": "MM_MAINT",
        "start_date": dt.date(2026, 9, 1),
        "starting_dose_mg": 10.0,
        "schedule": "28/28",
        "combination": None,
    }
    store.save_patients(session=db, file_name="p.csv", data=b"p4", table_import=_patients_import([second_course]))
    assert _count(db, Patient) == 1 and _count(db, TreatmentCourse) == 2


def test_upsert_patient_course_validates_through_the_create_models(db):
    course = store.upsert_patient_course(session=db, row=MM_PATIENT)
    assert course.id is not None and course.starting_dose_mg == 25.0
    with pytest.raises(store.StoreError, match="treatment course starting dose: .*25; correct it"):
        store.upsert_patient_course(session=db, row={**MM_PATIENT, "starting_dose_mg": 40.0})
    with pytest.raises(store.StoreError, match="patient weight: ") as refused:
        store.upsert_patient_course(session=db, row={**MM_PATIENT, "weight_kg": -68.0})
    assert "-68" not in str(refused.value), "the message names the field, never the patient's value"
    with pytest.raises(store.StoreError, match="MRN"):
        store.upsert_patient_course(session=db, row={**MM_PATIENT, "mrn": " "})
    with pytest.raises(store.StoreError, match="patient MRN: string should have at most 64 characters") as long:
        store.upsert_patient_course(session=db, row={**MM_PATIENT, "mrn": "SECRET" * 20})
    assert "SECRET" not in str(long.value)
    assert _count(db, TreatmentCourse) == 1


# --- events ----------------------------------------------------------------------------------

EVENTS = [
    {
        "mrn": "SYN001",
        "date": dt.date(2026, 1, 12),
        "event": "fever",
        "value": "38.6",
        "detail": "",
        "temperature_c": 38.6,
    },
    {
        "mrn": "SYN001",
        "date": dt.date(2026, 1, 12),
        "event": "dose_change",
        "value": "hold",
        "detail": "ANC low",
        "is_hold": True,
    },
    {"mrn": "SYN001", "date": dt.date(2026, 1, 19), "event": "dose_change", "value": "20", "dose_mg": 20.0},
    {
        "mrn": "SYN001",
        "date": dt.date(2026, 1, 2),
        "event": "pregnancy_test",
        "value": "negative",
        "result": "negative",
    },
    {
        "mrn": "SYN001",
        "date": dt.date(2026, 1, 5),
        "event": "thromboprophylaxis",
        "value": "aspirin",
        "agent": "aspirin",
    },
    {"mrn": "SYN003", "date": dt.date(2026, 1, 7), "event": "toxicity", "value": "3", "grade": 3},
    {"mrn": "SYN003", "date": dt.date(2026, 1, 8), "event": "platelet_transfusion", "value": ""},
]


def test_save_events_is_idempotent_on_mrn_date_kind_value(db):
    table_import = SimpleNamespace(rows=pd.DataFrame(EVENTS), problems=pd.DataFrame(), rows_read=len(EVENTS))
    summary = store.save_events(session=db, file_name="events.csv", data=b"e1", table_import=table_import)
    assert (summary.rows_imported, summary.patients_created) == (7, 2)
    again = store.save_events(session=db, file_name="events.csv", data=b"e1 again", table_import=table_import)
    assert (again.rows_imported, again.rows_unchanged) == (0, 7)
    assert _count(db, ClinicalEvent) == 7
    another_dose = [{**EVENTS[2], "value": "15", "dose_mg": 15.0}]
    store.save_events(
        session=db,
        file_name="e2.csv",
        data=b"e2",
        table_import=SimpleNamespace(rows=pd.DataFrame(another_dose), problems=None, rows_read=1),
    )
    assert _count(db, ClinicalEvent) == 8

    events = store.load_events(session=db, mrn="SYN001")
    assert list(events.columns) == store.EVENTS_COLUMNS + ["recorded_by", "recorded_at"]  # who and when (0005)
    by_kind = {(r.event, r.value) for r in events.itertuples()}
    assert {
        ("fever", "38.6"),
        ("dose_change", "hold"),
        ("dose_change", "20"),
        ("dose_change", "15"),
        ("pregnancy_test", "negative"),
        ("thromboprophylaxis", "aspirin"),
    } == by_kind
    all_events = store.load_events(session=db)
    toxicity = all_events[all_events["event"] == "toxicity"].iloc[0]
    assert (toxicity["value"], toxicity["grade"]) == ("3", 3)
    assert str(all_events["grade"].dtype) == "Int64"


def test_add_event_validates_and_is_idempotent(db):
    first = store.add_event(session=db, row=EVENTS[0])
    second = store.add_event(session=db, row={**EVENTS[0], "detail": "typed twice"})
    assert first.id == second.id and _count(db, ClinicalEvent) == 1
    with pytest.raises(store.StoreError, match="unknown event kind"):
        store.add_event(session=db, row={**EVENTS[0], "event": "headache"})
    with pytest.raises(store.StoreError, match="event grade: "):
        store.add_event(session=db, row={**EVENTS[5], "grade": 9})


# --- noticing another session's edits ----------------------------------------------------------


def test_data_version_changes_with_every_edit_seen_from_another_session(db_url, make_lab_import):
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as viewer, store.open_session(engine) as editor:
            seen = [store.data_version(session=viewer)]

            def changed() -> bool:
                token = store.data_version(session=viewer)
                assert token == store.data_version(session=viewer), "the token is stable while nothing changes"
                fresh = token not in seen
                seen.append(token)
                return fresh

            store.save_labs(session=editor, file_name="a.csv", data=b"v1", lab_import=make_lab_import([ANC_DAY1]))
            assert changed(), "new results"
            store.save_labs(
                session=editor, file_name="b.csv", data=b"v2", lab_import=make_lab_import([{**ANC_DAY1, "value": 0.9}])
            )
            assert changed(), "a corrected result"
            store.save_labs(
                session=editor, file_name="c.csv", data=b"v3", lab_import=make_lab_import([{**ANC_DAY1, "value": 0.9}])
            )
            assert changed(), "an upload that changed no result (the Uploads view lists it)"
            store.save_labs(session=editor, file_name="c.csv", data=b"v3", lab_import=make_lab_import([ANC_DAY1]))
            assert not changed(), "the same file again writes nothing"
            store.upsert_patient_course(session=editor, row=MM_PATIENT)
            assert changed(), "a new course (and the bare patient completed)"
            store.upsert_patient_course(session=editor, row={**MM_PATIENT, "starting_dose_mg": 15.0})
            assert changed(), "a course edited in place"
            store.upsert_patient_course(session=editor, row={**MM_PATIENT, "starting_dose_mg": 15.0, "weight_kg": 64.0})
            assert changed(), "a patient edited in place"
            store.upsert_patient_course(session=editor, row={**MM_PATIENT, "starting_dose_mg": 15.0, "weight_kg": 64.0})
            assert not changed(), "saving identical values"
            store.add_event(session=editor, row=EVENTS[0])
            assert changed(), "a new event"
            store.add_event(session=editor, row=EVENTS[0])
            assert not changed(), "the same event again"
    finally:
        engine.dispose()


def test_a_patient_created_by_another_session_meanwhile_is_used_not_a_crash(db, make_lab_import, monkeypatch):
    """Race-free bare patients: between looking an MRN up and inserting it, another session (an
    import, the Setup page) may create that patient; the insert skips it and the results join it."""
    other = Patient(mrn="SYN001", name="")
    db.add(other)
    db.commit()
    lookup = store.labs._lookup_patient_ids
    calls = []

    def first_lookup_misses(connection, mrns):
        calls.append(list(mrns))
        return {} if len(calls) == 1 else lookup(connection, mrns)

    monkeypatch.setattr(store.labs, "_lookup_patient_ids", first_lookup_misses)
    summary = store.save_labs(session=db, file_name="a.csv", data=b"a", lab_import=make_lab_import([ANC_DAY1]))
    assert summary.rows_imported == 1 and len(calls) == 2
    assert db.execute(select(func.count()).select_from(Patient)).scalar_one() == 1
    assert store.load_labs(session=db)["mrn"].tolist() == ["SYN001"]


def test_the_database_refuses_a_second_current_result_for_one_key(db, make_lab_import):
    store.save_labs(session=db, file_name="a.csv", data=b"a", lab_import=make_lab_import([ANC_DAY1]))
    columns = "patient_id, upload_id, collected_at, analyte, value, unit, comparator, raw_value, raw_unit, raw_name"
    with pytest.raises(IntegrityError):
        db.execute(text(f"INSERT INTO lab_result ({columns}) SELECT {columns} FROM lab_result"))
    db.rollback()


def test_a_row_with_two_errors_is_one_rejected_row():
    """rows_rejected counts rows, not problems (issue 10): a line refused for two reasons is one row."""
    rejects = [
        {"file": "a.csv", "line": 4, "reason": "missing patient"},
        {"file": "a.csv", "line": 4, "reason": "unreadable date"},
        {"file": "a.csv", "line": 7, "reason": "no result"},
        {"file": "b.csv", "line": 4, "reason": "no result"},
        {"file": "a.csv", "line": None, "reason": "malformed row"},
    ]
    assert store.rejected_row_count(rejects) == 4
