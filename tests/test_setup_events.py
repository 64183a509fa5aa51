"""The Setup page's event form records the issue-8 kinds: a planned marrow biopsy (its date is the
planned date, after today for any indication) and a missed period (REMS), with their help text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenadash.dashboard import setup_form

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120


@pytest.fixture
def empty_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LENADASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LENADASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("LENADASH_DEMO_DATABASE_URL", raising=False)
    return tmp_path


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _setup_with_patient(mrn: str, *, indication: str = "MM") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/setup.py").run()
    _no_exception(at)
    at.selectbox(key="setup_indication").select(indication).run()
    at.text_input(key="setup_mrn").input(mrn)
    at.text_input(key="setup_name").input("Test Person")
    at.selectbox(key="setup_sex").select("F")
    at.date_input(key="setup_birth").set_value(dt.date(1988, 3, 4))
    at.number_input(key="setup_weight").set_value(64.0)
    next(b for b in at.button if b.label == "Save patient and course").click().run()
    _no_exception(at)
    return at


def _record(at: AppTest, kind: str, when: dt.date, *, temperature: float | None = None) -> None:
    at.selectbox(key="event_kind").select(kind)
    at.date_input(key="event_date").set_value(when)
    if temperature is not None:
        at.number_input(key="event_temperature").set_value(temperature)
    next(b for b in at.button if b.label == "Record event").click().run()
    _no_exception(at)


def _stored_events():
    from lenadash import store
    from lenadash.config import get_settings

    engine = store.make_engine(get_settings().database_url)
    with store.open_session(engine) as s:
        events = store.load_events(session=s)
    engine.dispose()
    return events


def test_setup_records_a_planned_biopsy_and_a_missed_period(empty_env):
    at = _setup_with_patient("T0101")
    planned = dt.date.today() + dt.timedelta(days=24)  # a planned date lies ahead
    _record(at, "marrow_biopsy_planned", planned)
    assert not at.error, [e.value for e in at.error]
    missed = dt.date.today() - dt.timedelta(days=2)
    _record(at, "missed_period", missed)
    assert not at.error, [e.value for e in at.error]
    events = _stored_events().sort_values("date")
    assert events[["mrn", "event", "date"]].values.tolist() == [
        ["T0101", "missed_period", missed],
        ["T0101", "marrow_biopsy_planned", planned],
    ]
    assert (events["value"] == "").all()


def test_a_value_typed_for_another_kind_is_not_stored_with_a_missed_period(empty_env):
    at = _setup_with_patient("T0102")
    _record(at, "missed_period", dt.date.today(), temperature=38.7)
    events = _stored_events()
    assert events["event"].tolist() == ["missed_period"]
    assert events["temperature_c"].isna().all() and (events["value"] == "").all()


def test_the_event_form_says_what_the_new_kinds_record(empty_env):
    at = _setup_with_patient("T0103")
    picker = at.selectbox(key="event_kind")
    assert {"marrow_biopsy_planned", "missed_period"} <= set(picker.options) or {
        "Marrow biopsy planned",
        "Missed period",
    } <= set(picker.options)
    assert "Marrow biopsy planned**: no value; the date is the planned date" in picker.help
    assert "Missed period**: no value; the date is the day the period was missed" in picker.help
    assert "planned date" in at.date_input(key="event_date").help


def test_event_record_keeps_only_the_kinds_own_values():
    def record(kind: str) -> dict:
        return setup_form.event_record(
            mrn="T1",
            date=dt.date(2026, 12, 14),
            kind=kind,
            detail="",
            temperature_c=38.7,
            grade=3,
            result="positive",
            dose_mg=10.0,
            is_hold=True,
            agent="aspirin",
        )

    planned = record("marrow_biopsy_planned")
    assert [planned[k] for k in ("temperature_c", "grade", "result", "dose_mg", "is_hold", "agent")] == [
        None,
        None,
        None,
        None,
        False,
        None,
    ]
    assert record("fever")["temperature_c"] == 38.7 and record("fever")["grade"] is None
    assert record("dose_change")["is_hold"] and record("dose_change")["dose_mg"] == 10.0
    assert setup_form.event_problem(planned) is None and setup_form.event_problem(record("missed_period")) is None
