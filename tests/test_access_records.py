"""Recorded events, dose decisions and course edits check the role in lenadash code (setup_form, which the
Setup page and the card's Accept/Modify both call) and leave an audit row with what was recorded."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lenadash import access, store
from lenadash.access import AccessDenied, Actor
from lenadash.dashboard import decisions, setup_form

MRN = "LD-AUDIT-1"
DAY = dt.date(2026, 11, 20)


def _event(kind: str, **values) -> dict:
    fields = {"temperature_c": None, "grade": None, "result": "", "dose_mg": None, "is_hold": False, "agent": ""}
    return setup_form.event_record(mrn=MRN, date=DAY, kind=kind, detail="typed note", **{**fields, **values})


def _course() -> dict:
    return setup_form.course_record(
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


EVENTS = {
    "fever": {"temperature_c": 38.6},
    "dose_change": {"dose_mg": 15.0},
    "pregnancy_test": {"result": "negative"},
}
# role -> the event kinds it may record (issue 11: nurse records events but no dose decisions;
# pharmacist REMS records; viewer nothing; clinician everything)
MAY_RECORD = {
    "clinician": {"fever", "dose_change", "pregnancy_test"},
    "nurse": {"fever", "pregnancy_test"},
    "pharmacist": {"pregnancy_test"},
    "viewer": set(),
    "admin": set(),
}


@pytest.mark.parametrize("role", sorted(MAY_RECORD))
@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_recording_an_event_checks_the_role_and_is_audited(session, role, kind):
    actor = Actor(f"{role}@clinic.test", frozenset({role}), "10.0.0.7")
    with access.acting_as(actor):
        if kind not in MAY_RECORD[role]:
            with pytest.raises(AccessDenied):
                setup_form.record_event(_event(kind, **EVENTS[kind]), session=session, recorded_by=decisions.who())
            assert store.load_events(session=session).empty and store.audit.load(session=session).empty
            return
        setup_form.record_event(_event(kind, **EVENTS[kind]), session=session, recorded_by=decisions.who())
    events = store.load_events(session=session)
    assert list(events["recorded_by"]) == [f"{role}@clinic.test"]
    trail = store.audit.load(session=session)
    assert list(trail["action"]) == ["dose_decision" if kind == "dose_change" else "event_recorded"]
    assert (trail["actor"][0], trail["source"][0], trail["patient_mrn"][0]) == (actor.name, "10.0.0.7", MRN)
    after = json.loads(trail["detail"][0])["after"]
    assert after["event"] == kind and "typed note" not in trail["detail"][0]


@pytest.mark.parametrize("role", ["nurse", "pharmacist", "viewer", "admin"])
def test_only_a_clinician_edits_a_course(session, role):
    with access.acting_as(Actor("x@clinic.test", frozenset({role}), "x")), pytest.raises(AccessDenied):
        setup_form.save_course(_course(), session=session)
    assert store.load_patients(session=session).empty


def test_a_course_edit_is_audited_without_the_patients_name(session):
    with access.acting_as(Actor("doc@clinic.test", frozenset({"clinician"}), "x")):
        setup_form.save_course(_course(), session=session)
    trail = store.audit.load(session=session)
    assert list(trail["action"]) == ["course_edit"] and trail["patient_mrn"][0] == MRN
    assert json.loads(trail["detail"][0])["after"]["starting_dose_mg"] == 25.0
    assert "Test Patient" not in trail["detail"][0] and "1950" not in trail["detail"][0]
