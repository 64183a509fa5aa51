"""History, not overwrites (issue 11 item 5): course and patient edits keep every earlier version with who,
when and why; an event entered in error is voided with a reason, never deleted, and leaves the assessment;
the database refuses DELETE of events and any change to a version. Store-level, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from lenadash import access, cli, imports, ingest, store
from lenadash.access import AccessDenied, Actor
from lenadash.dashboard import setup_form
from lenadash.errors import InputError, StoreError

REPO = Path(__file__).resolve().parents[1]
MRN = "LD-HIST-1"
DOCTOR = Actor("doc@clinic.test", frozenset({"clinician"}), "10.0.0.8")
NURSE = Actor("nurse@clinic.test", frozenset({"nurse"}), "10.0.0.9")


@pytest.fixture
def db(db_url):
    engine = store.make_engine(db_url)
    with store.open_session(engine) as session:
        yield session
    engine.dispose()


def _course(**changes) -> dict:
    fields = dict(
        mrn=MRN,
        name="Test Patient",
        sex="M",
        birth_date=dt.date(1950, 1, 1),
        weight_kg=80.0,
        indication="MM",
        start_date=dt.date(2026, 10, 1),
        starting_dose_mg=25.0,
        schedule="21/28",
        combination="dexamethasone",
        reproductive_potential=False,
        menses="",
        dialysis=False,
    )
    return setup_form.course_record(**{**fields, **changes})


def _event(kind: str, day: dt.date = dt.date(2026, 11, 2), **values) -> dict:
    fields = {"temperature_c": None, "grade": None, "result": "", "dose_mg": None, "is_hold": False, "agent": ""}
    return setup_form.event_record(mrn=MRN, date=day, kind=kind, detail="typed note", **{**fields, **values})


def _stored_event(session, kind: str) -> dict:
    events = store.load_events(session=session, mrn=MRN, include_voided=True)
    return events[events["event"] == kind].iloc[-1].to_dict()


# --- versions ------------------------------------------------------------------------------------------


def test_a_course_edited_twice_keeps_both_earlier_versions_in_order(db):
    with access.acting_as(DOCTOR):
        setup_form.save_course(_course(), session=db)
        setup_form.save_course(_course(starting_dose_mg=15.0), session=db, reason="CrCl 45 on new labs")
        setup_form.save_course(_course(starting_dose_mg=15.0, schedule="28/28"), session=db, reason="maintenance")
    versions = store.load_versions(session=db, mrn=MRN)
    course = versions[versions["record_type"] == "treatment_course"]
    assert list(course["change"]) == ["created", "edited", "edited"]
    assert course["before"].iloc[0] is None and course["after"].iloc[0]["starting_dose_mg"] == 25.0
    first, second = course.iloc[1], course.iloc[2]
    assert (first["before"]["starting_dose_mg"], first["after"]["starting_dose_mg"]) == (25.0, 15.0)
    assert (second["before"]["schedule"], second["after"]["schedule"]) == ("21/28", "28/28")
    assert second["before"]["starting_dose_mg"] == 15.0  # the version the second edit replaced
    assert list(course["reason"]) == ["", "CrCl 45 on new labs", "maintenance"]
    assert set(course["changed_by"]) == {DOCTOR.name}
    assert course["changed_at"].is_monotonic_increasing and course["changed_at"].dt.tz is not None
    # the current row is the latest version; nothing was duplicated
    patients = store.load_patients(session=db)
    assert patients[["starting_dose_mg", "schedule"]].values.tolist() == [[15.0, "28/28"]]


def test_a_dose_relevant_change_needs_a_reason_and_a_name_correction_does_not(db):
    with access.acting_as(DOCTOR):
        setup_form.save_course(_course(), session=db)
        for change in ({"starting_dose_mg": 10.0}, {"weight_kg": 60.0}, {"schedule": "28/28"}, {"dialysis": True}):
            with pytest.raises(InputError, match="reason"):
                setup_form.save_course(_course(**change), session=db, reason="  ")
        setup_form.save_course(_course(name="Test Patience"), session=db)
    assert store.load_patients(session=db)[["name", "starting_dose_mg", "weight_kg"]].values.tolist() == [
        ["Test Patience", 25.0, 80.0]
    ]
    versions = store.load_versions(session=db, mrn=MRN)
    patient = versions[versions["record_type"] == "patient"]
    assert len(patient) == 1 and patient["before"].iloc[0]["name"] == "Test Patient"
    assert patient["after"].iloc[0]["name"] == "Test Patience" and patient["reason"].iloc[0] == ""


def test_completing_a_patient_known_from_lab_files_needs_no_reason(db):
    store.courses.get_or_create_patient(db, MRN)
    db.commit()
    assert setup_form.course_changes(_course(), session=db) == []
    with access.acting_as(DOCTOR):
        setup_form.save_course(_course(), session=db)  # no reason: the stored values were blank
    assert store.load_patients(session=db)["name"].tolist() == ["Test Patient"]


def _patients_file(dose: str) -> bytes:
    return (
        "mrn,name,sex,birth_date,weight_kg,indication,start_date,starting_dose_mg\n"
        f"{MRN},Test Patient,M,1950-01-01,80,MM,2026-10-01,{dose}\n"
    ).encode()


def test_a_reimported_patients_file_that_changes_a_course_leaves_a_version(db):
    for name, dose in (("patients.csv", "25"), ("patients (corrected).csv", "15")):
        data = _patients_file(dose)
        store.save_patients(session=db, file_name=name, data=data, table_import=ingest.read_patients(io.BytesIO(data)))
    versions = store.load_versions(session=db, mrn=MRN)
    course = versions[versions["record_type"] == "treatment_course"]
    assert list(course["change"]) == ["created", "edited"]
    assert list(course["changed_by"]) == ["import patients.csv", "import patients (corrected).csv"]
    assert list(course["reason"]) == ["import", "import"]
    assert (course["before"].iloc[1]["starting_dose_mg"], course["after"].iloc[1]["starting_dose_mg"]) == (25.0, 15.0)


# --- void ----------------------------------------------------------------------------------------------


def test_voiding_keeps_the_row_marks_it_and_leaves_it_out_of_the_events_assessed(db):
    with access.acting_as(DOCTOR):
        setup_form.save_course(_course(), session=db)
        setup_form.record_event(_event("fever", temperature_c=38.9), session=db, recorded_by=DOCTOR.name)
        fever = _stored_event(db, "fever")
        setup_form.void_event(fever, reason="entered for the wrong patient", session=db)
    assert store.load_events(session=db).empty  # what the engine gets
    kept = store.load_events(session=db, mrn=MRN, include_voided=True)
    assert len(kept) == 1 and kept["voided_by"].iloc[0] == DOCTOR.name
    assert kept["void_reason"].iloc[0] == "entered for the wrong patient" and kept["voided_at"].notna().all()
    version = store.load_versions(session=db, mrn=MRN).iloc[-1]
    assert (version["record_type"], version["change"], version["reason"]) == (
        "clinical_event",
        "voided",
        "entered for the wrong patient",
    )
    assert version["before"]["temperature_c"] == 38.9 and version["after"]["voided_by"] == DOCTOR.name
    trail = store.audit.load(session=db)
    voided = trail[trail["action"] == "event_voided"]
    assert len(voided) == 1 and voided["actor"].iloc[0] == DOCTOR.name
    detail = json.loads(voided["detail"].iloc[0])
    assert (detail["before"]["voided"], detail["after"]["voided"]) == (False, True)
    assert "wrong patient" not in voided["detail"].iloc[0]  # free text stays out of the trail


def test_voiding_needs_a_reason_the_role_that_records_that_kind_and_happens_once(db):
    with access.acting_as(DOCTOR):
        setup_form.save_course(_course(), session=db)
        setup_form.record_event(_event("fever", temperature_c=38.9), session=db, recorded_by=DOCTOR.name)
        setup_form.record_event(_event("dose_change", is_hold=True), session=db, recorded_by=DOCTOR.name)
    fever, hold = _stored_event(db, "fever"), _stored_event(db, "dose_change")
    with access.acting_as(NURSE):
        with pytest.raises(AccessDenied):  # a hold is a dose decision: not the nurse's to void
            setup_form.void_event(hold, reason="wrong", session=db)
        with pytest.raises(InputError, match="reason"):
            setup_form.void_event(fever, reason=" ", session=db)
        setup_form.void_event(fever, reason="duplicate of the clinic note", session=db)
        with pytest.raises(StoreError, match="voided already"):
            setup_form.void_event(fever, reason="again", session=db)
    with access.acting_as(Actor("v@clinic.test", frozenset({"viewer"}), "x")), pytest.raises(AccessDenied):
        setup_form.void_event(hold, reason="wrong", session=db)
    assert store.load_events(session=db)["event"].tolist() == ["dose_change"]


def test_a_voided_event_recorded_again_is_a_new_event_but_an_import_does_not_bring_it_back(db):
    with access.acting_as(DOCTOR):
        setup_form.save_course(_course(), session=db)
        setup_form.record_event(_event("fever", temperature_c=38.9), session=db, recorded_by=DOCTOR.name)
        setup_form.void_event(_stored_event(db, "fever"), reason="wrong day", session=db)
    data = f"mrn,date,event,value\n{MRN},2026-11-02,fever,38.9\n".encode()
    summary = store.save_events(session=db, file_name="events.csv", data=data, table_import=ingest.read_events(data))
    assert (summary.rows_imported, summary.rows_unchanged) == (0, 1)
    assert store.load_events(session=db).empty
    with access.acting_as(DOCTOR):
        setup_form.record_event(_event("fever", temperature_c=38.9), session=db, recorded_by=DOCTOR.name)
    assert len(store.load_events(session=db)) == 1
    assert len(store.load_events(session=db, include_voided=True)) == 2


def test_a_voided_hold_no_longer_holds_and_the_assessment_is_as_before(db_url, capsys):
    """The sample clinic in a database: a clinician hold recorded for LD0002 (on treatment, 10 mg) holds; once
    voided, the assessment is byte for byte the golden one again (tests/golden/sample_clinic_assess_db.json)."""
    assert cli.main(["import", "--db", db_url, *map(str, imports.sample_files())]) == 0
    argv = ["assess", "--db", db_url, "--as-of", "2026-11-20", "--format", "json"]

    def assessed() -> str:
        capsys.readouterr()
        assert cli.main(argv) == 0
        return capsys.readouterr().out

    golden = (REPO / "tests" / "golden" / "sample_clinic_assess_db.json").read_text(encoding="utf-8")
    assert assessed() == golden
    engine = store.make_engine(db_url)
    try:
        with store.open_session(engine) as session, access.acting_as(DOCTOR):
            hold = setup_form.event_record(
                mrn="LD0002",
                date=dt.date(2026, 11, 16),
                kind="dose_change",
                detail="",
                temperature_c=None,
                grade=None,
                result="",
                dose_mg=None,
                is_hold=True,
                agent="",
            )
            setup_form.record_event(hold, session=session, recorded_by=DOCTOR.name)
            held = next(p for p in json.loads(assessed())["patients"] if p["mrn"] == "LD0002")
            assert held["status"] == "held" and held["hold_spans"][-1]["start"] == "2026-11-16"
            events = store.load_events(session=session, mrn="LD0002", include_voided=True)
            recorded = events[events["recorded_by"] == DOCTOR.name].iloc[0].to_dict()
            setup_form.void_event(recorded, reason="meant for another patient", session=session)
    finally:
        engine.dispose()
    assert assessed() == golden


# --- nothing deleted -----------------------------------------------------------------------------------


def test_the_database_refuses_to_delete_an_event_or_change_a_version(db):
    with access.acting_as(DOCTOR):
        setup_form.save_course(_course(), session=db)
        setup_form.record_event(_event("fever", temperature_c=38.9), session=db, recorded_by=DOCTOR.name)
        setup_form.save_course(_course(starting_dose_mg=15.0), session=db, reason="renal")
    refused = (
        "DELETE FROM clinical_event",
        "UPDATE record_version SET reason = 'rewritten'",
        "DELETE FROM record_version",
    )
    for statement in refused:
        with pytest.raises(Exception, match="voided, never deleted|append-only"):
            db.connection().execute(text(statement))
        db.rollback()
    assert len(store.load_events(session=db)) == 1
    assert list(store.load_versions(session=db, mrn=MRN)["reason"]) == ["", "renal"]


# A DELETE of a clinical event, written any way lenadash writes SQL.
_DELETES = re.compile(r"DELETE\s+FROM|sqlalchemy\s+import[^\n]*\bdelete\b|\.delete\(|TRUNCATE", re.IGNORECASE)


def test_no_code_in_the_application_deletes_rows_but_user_roles():
    """Events are voided and versions appended; the only deletes in the application are a user's role
    (store/people.py: roles are not clinical records and the audit trail keeps each change) and the kept
    assessment's derived rows (store/summary.py: course_summary, recomputed from the records)."""
    found = []
    paths = [*(REPO / "lenadash").rglob("*.py"), *(REPO / "app_pages").glob("*.py"), REPO / "app.py"]
    for path in paths:
        if "versions" in path.parts:  # migrations: the schema's own history (0002 merged doubled uploads)
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if _DELETES.search(code):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    derived = ("lenadash/store/people.py", "lenadash/store/summary.py")
    assert [f for f in found if not f.startswith(derived)] == []
    assert any(f.startswith("lenadash/store/people.py") for f in found), "the guard no longer sees deletes"
