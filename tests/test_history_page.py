"""The patient page's History tab (dashboard.history + ui.history_tab): course and patient versions and events
with who, when and why, voided events marked; the Void control (reason required) where the role allows it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lenadash import access, store
from lenadash.access import Actor
from lenadash.dashboard import history, setup_form

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120
MRN = "LD-HIST-2"
UTC = dt.UTC


# --- the table (pure) ----------------------------------------------------------------------------------


def _versions(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=store.history.VERSION_COLUMNS)


def _events(rows: list[dict]) -> pd.DataFrame:
    columns = [*store.events.EVENT_COLUMNS, *store.events.RECORDER_COLUMNS, *store.events.VOID_COLUMNS]
    return pd.DataFrame.from_records(rows, columns=columns)


COURSE = {"indication": "MM", "start_date": "2026-10-01", "starting_dose_mg": 25.0, "schedule": "21/28"}


def _fever(**extra) -> dict:
    return {
        "mrn": MRN,
        "date": dt.date(2026, 11, 2),
        "event": "fever",
        "value": "38.9",
        "detail": "",
        "recorded_by": "nurse@clinic.test",
        "recorded_at": pd.Timestamp(2026, 11, 2, 9, 15, tz=UTC),
        "event_id": 7,
        "upload_id": None,
        "voided_by": None,
        "voided_at": pd.NaT,
        "void_reason": None,
        **extra,
    }


def test_history_lists_versions_and_events_newest_first_with_who_when_why():
    versions = _versions(
        [
            {
                "id": 1,
                "record_type": "treatment_course",
                "record_id": 1,
                "change": "created",
                "before": None,
                "after": COURSE,
                "changed_by": "doc@clinic.test",
                "changed_at": pd.Timestamp(2026, 10, 1, 8, 0, tz=UTC),
                "reason": "",
            },
            {
                "id": 2,
                "record_type": "treatment_course",
                "record_id": 1,
                "change": "edited",
                "before": COURSE,
                "after": {**COURSE, "starting_dose_mg": 15.0},
                "changed_by": "doc@clinic.test",
                "changed_at": pd.Timestamp(2026, 11, 5, 10, 30, tz=UTC),
                "reason": "CrCl 45",
            },
        ]
    )
    table = history.history_table(versions, _events([_fever()]))
    assert list(table.columns) == [*history.HISTORY_COLUMNS, "voided"]
    assert table["change"].tolist() == ["edited", "recorded", "created"]
    edit = table.iloc[0]
    assert edit["what"] == "starting dose 25 mg -> 15 mg" and edit["why"] == "CrCl 45"
    assert (edit["who"], edit["when"], edit["record"]) == (
        "doc@clinic.test",
        "2026-11-05 10:30",
        "course MM from 2026-10-01",
    )
    assert table.iloc[2]["what"] == "MM, 2026-10-01, 25 mg, 21/28"
    assert table.iloc[1]["record"] == "event Fever on 2026-11-02" and table.iloc[1]["what"] == "38.9 C"
    assert table.iloc[1]["why"] == "" and not table["voided"].any()


def test_a_voided_event_is_labelled_with_its_reason_and_no_longer_voidable():
    voided = _fever(
        voided_by="doc@clinic.test", voided_at=pd.Timestamp(2026, 11, 3, 7, 0, tz=UTC), void_reason="wrong patient"
    )
    later = _fever(event_id=8, date=dt.date(2026, 11, 4), recorded_at=pd.Timestamp(2026, 11, 4, 9, 0, tz=UTC))
    events = _events([voided, later])
    table = history.history_table(_versions([]), events)
    assert table["change"].tolist() == ["recorded", "VOIDED"] and table["voided"].tolist() == [False, True]
    assert table["why"].tolist() == ["", "wrong patient (voided by doc@clinic.test, 2026-11-03 07:00 UTC)"]
    assert table["who"].tolist() == ["nurse@clinic.test", "nurse@clinic.test"]  # who recorded it stays
    assert history.voidable_events(events)["event_id"].tolist() == [8]


def test_an_empty_history_is_an_empty_table_with_the_columns():
    table = history.history_table(_versions([]), _events([]))
    assert table.empty and list(table.columns) == [*history.HISTORY_COLUMNS, "voided"]


def test_an_imported_event_names_its_events_file_and_a_value_says_its_unit():
    events = _events([_fever(recorded_by=None, upload_id=3, event="toxicity", value="2", detail="rash")])
    table = history.history_table(_versions([]), events, {3: "events (march).csv"})
    assert (table["who"].iloc[0], table["change"].iloc[0]) == ("events file events (march).csv", "imported")
    assert table["what"].iloc[0] == "grade 2 - rash"


# --- the page ------------------------------------------------------------------------------------------


@pytest.fixture
def clinic_db(monkeypatch, tmp_path):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    from lenadash.config import get_settings

    engine = store.make_engine(get_settings().database_url)
    course = dict(
        mrn=MRN,
        name="<b>Hist</b> *Person*",
        sex="F",
        birth_date=dt.date(1960, 5, 5),
        weight_kg=70.0,
        indication="MM",
        start_date=dt.date(2026, 10, 1),
        starting_dose_mg=25.0,
        schedule="21/28",
        combination="",
        reproductive_potential=False,
        menses="-",
        dialysis=False,
    )
    fever = setup_form.event_record(
        mrn=MRN,
        date=dt.date(2026, 11, 2),
        kind="fever",
        detail="**bold** note",
        temperature_c=38.9,
        grade=None,
        result="",
        dose_mg=None,
        is_hold=False,
        agent="",
    )
    with store.open_session(engine) as s, access.acting_as(Actor("doc@clinic.test", frozenset({"clinician"}), "t")):
        setup_form.save_course(setup_form.course_record(**course), session=s)
        changed = setup_form.course_record(**{**course, "starting_dose_mg": 15.0})
        setup_form.save_course(changed, session=s, reason="renal: CrCl 45 <u>x</u>")
        setup_form.record_event(fever, session=s, recorded_by="doc@clinic.test")
    yield engine
    engine.dispose()


def _patient_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["patient_mrn"] = MRN
    at.session_state["lenadash_as_of"] = dt.date(2026, 11, 20)
    at.switch_page("app_pages/patient.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _history(at: AppTest) -> pd.DataFrame:
    shown = [d.value for d in at.dataframe if list(getattr(d.value, "columns", [])) == history.HISTORY_COLUMNS]
    shown = [pd.DataFrame(d) for d in shown]
    assert len(shown) == 1, "one history table on the page"
    return shown[0]


def test_the_history_tab_shows_the_edit_and_the_event_as_plain_text_and_voids_with_a_reason(clinic_db):
    at = _patient_page()
    assert "History" in [t.label for t in at.tabs]
    table = _history(at)
    assert table["change"].tolist() == ["recorded", "edited", "created"]
    assert table["why"].iloc[1] == "renal: CrCl 45 <u>x</u>"  # as typed: a dataframe cell, never Markdown
    assert table["what"].iloc[0] == "38.9 C - **bold** note"
    # no reason: refused, nothing voided
    at.text_input(key=f"void_reason_{MRN}").input("  ")
    next(b for b in at.button if b.label == "Void event").click().run()
    assert any("Not voided" in e.value for e in at.error)
    with store.open_session(clinic_db) as s:
        assert len(store.load_events(session=s)) == 1
    at.text_input(key=f"void_reason_{MRN}").input("entered for the wrong patient")
    next(b for b in at.button if b.label == "Void event").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = _history(at)
    assert table["change"].iloc[0] == "VOIDED"
    assert table["why"].iloc[0].startswith("entered for the wrong patient (voided by ")
    assert f"void_reason_{MRN}" not in [t.key for t in at.text_input]  # nothing left to void
    with store.open_session(clinic_db) as s:
        assert store.load_events(session=s).empty
        assert store.load_events(session=s, include_voided=True)["void_reason"].tolist() == [
            "entered for the wrong patient"
        ]


def test_a_viewer_sees_the_history_but_no_void_control(clinic_db, monkeypatch):
    viewer = Actor("viewer@clinic.test", frozenset({"viewer"}), "t")
    monkeypatch.setattr(access.actor, "current_actor", lambda: viewer)
    monkeypatch.setattr(access, "current_actor", lambda: viewer)
    at = _patient_page()
    assert len(_history(at)) == 3
    assert f"void_reason_{MRN}" not in [t.key for t in at.text_input]
    assert "Void event" not in [b.label for b in at.button]


def test_setup_asks_for_the_reason_of_a_dose_change_and_keeps_it_with_the_earlier_version(clinic_db):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["patient_mrn"] = MRN
    at.switch_page("app_pages/setup.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="setup_patient").value == MRN
    at.number_input(key=f"setup_dose_{MRN}_MM").set_value(10.0)
    next(b for b in at.button if b.label == "Save patient and course").click().run()
    assert [e.value for e in at.error] == [
        "Not saved: give the reason for changing the stored starting dose (kept in the patient's history)."
    ]
    at.text_input(key=f"setup_reason_{MRN}").input("CrCl 28: renal start")
    next(b for b in at.button if b.label == "Save patient and course").click().run()
    assert not at.error, [e.value for e in at.error]
    with store.open_session(clinic_db) as s:
        assert store.load_patients(session=s)["starting_dose_mg"].tolist() == [10.0]
        course = store.load_versions(session=s, mrn=MRN).query("record_type == 'treatment_course'")
    assert list(course["reason"]) == ["", "renal: CrCl 45 <u>x</u>", "CrCl 28: renal start"]
    assert (
        course["before"].iloc[-1]["starting_dose_mg"] == 15.0 and course["after"].iloc[-1]["starting_dose_mg"] == 10.0
    )


def test_the_void_picker_names_the_event_with_its_value_and_recorder():
    assert history.event_choice(_fever()) == "Fever 38.9 C on 2026-11-02 (recorded by nurse@clinic.test)"
    hold = _fever(event="dose_change", value="hold", recorded_by=None)
    assert history.event_choice(hold) == "Dose change hold on 2026-11-02 (recorded by an events file)"


@pytest.mark.parametrize(
    ("role", "voidable"),
    [
        ("clinician", {"fever", "dose_change", "pregnancy_test"}),
        ("nurse", {"fever", "pregnancy_test"}),
        ("pharmacist", {"pregnancy_test"}),
        ("viewer", set()),
    ],
)
def test_the_void_control_offers_the_events_the_role_may_record(role, voidable):
    with access.acting_as(Actor(f"{role}@clinic.test", frozenset({role}), "t")):
        offered = {k for k in ("fever", "dose_change", "pregnancy_test") if setup_form.may_void({"event": k})}
    assert offered == voidable
