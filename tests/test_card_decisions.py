"""Recording the decision on the card (issue 9 items 6 and 7): Accept and Modify write clinician-recorded
dose_change events with who and when, the page reassesses and the card shows the decision; the note for
the record is built from the structured decision; the dose history per cycle; one click from the upcoming
card. Pages driven with AppTest against a real temporary database holding the sample clinic."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lenadash.dashboard import cards, decisions, dose_history
from lenadash.errors import InputError

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 120


def _patient_page(mrn: str) -> AppTest:
    from lenadash import samples

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lenadash_as_of"] = samples.TODAY
    at.session_state["patient_mrn"] = mrn
    at.switch_page("app_pages/patient.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _card(at: AppTest) -> str:
    return next(
        h.proto.body for h in at.get("html") if "ld-card" in h.proto.body and "<h2>Upcoming" not in h.proto.body
    )


def _events(folder: Path) -> pd.DataFrame:
    from lenadash import store

    engine = store.make_engine(f"sqlite:///{folder / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        events = store.load_events(session=s)
    engine.dispose()
    return events


def _button(at: AppTest, label_start: str):
    return next(b for b in at.button if str(b.label).startswith(label_start))


def test_accept_records_the_hold_with_who_and_when_and_the_card_shows_it(clinic_env):
    from lenadash import samples

    at = _patient_page("LD0016")  # MM, held for platelets 22 at 25 mg
    accept = _button(at, "Accept")
    assert accept.label == "Accept: hold" and not accept.disabled
    before = dt.datetime.now(dt.UTC)
    accept.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    events = _events(clinic_env)
    mine = events[(events["mrn"] == "LD0016") & (events["event"] == "dose_change")]
    row = mine.iloc[-1]
    assert row["date"] == samples.TODAY and bool(row["is_hold"]) and row["value"] == "hold"
    assert row["recorded_by"] == getpass.getuser()
    assert before - dt.timedelta(seconds=1) <= row["recorded_at"].to_pydatetime() <= dt.datetime.now(dt.UTC)
    assert row["detail"].startswith("accepted: hold")
    # reassessed: still held with the same resume plan (an accepted engine hold stays the engine's episode)
    card = _card(at)
    assert "Resume at 20 mg when Platelets &gt;= 30" in card, card
    assert f"Decision recorded {samples.TODAY:%d %b %Y}: hold (by {getpass.getuser()}" in card
    accept = _button(at, "Accept")
    assert accept.disabled and accept.label == "Accepted (recorded)"


def test_modify_needs_a_reason_then_records_another_dose(clinic_env):
    at = _patient_page("LD0016")
    choice = at.selectbox(key="modify_choice_LD0016")
    assert choice.options[0] == "Hold" and "15 mg" in choice.options
    choice.set_value(15.0)
    next(b for b in at.button if b.label == "Record this decision").click().run()
    assert any("say why the decision differs" in e.value for e in at.error), [e.value for e in at.error]
    assert not (
        _events(clinic_env).query("mrn == 'LD0016' and event == 'dose_change'")["detail"].str.startswith("modified")
    ).any()
    at.selectbox(key="modify_choice_LD0016").set_value(15.0)
    at.text_input(key="modify_reason_LD0016").input("patient prefers a lower dose; platelets recovering")
    next(b for b in at.button if b.label == "Record this decision").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    row = _events(clinic_env).query("mrn == 'LD0016' and event == 'dose_change'").iloc[-1]
    assert row["dose_mg"] == 15.0 and not row["is_hold"]
    assert row["detail"] == "modified: patient prefers a lower dose; platelets recovering"
    assert row["recorded_by"] == getpass.getuser()
    # reassessed: the clinician's dose ended the hold; the card says so, green, with the decision
    card = _card(at)
    assert "<h2>Resume at 15 mg (21/28)</h2>" in card and 'data-tone="green"' in card, card
    assert "Decision recorded" in card and "modified: patient prefers a lower dose" in card
    assert "supersedes the draw" in card
    assert _button(at, "Accepted").disabled


def test_accept_and_modify_are_not_on_the_visit_card(clinic_env):
    at = _patient_page("LD0016")
    at.query_params["visit"] = "1"
    at.switch_page("app_pages/visit.py").run()
    assert not at.exception
    labels = [str(b.label) for b in at.button]
    assert not any(label.startswith("Accept") for label in labels), labels
    assert "Record this decision" not in labels and "Mark biopsy done" not in labels
    assert not [c for c in at.get("code")], "no note on the screen-shared view"


def test_the_note_is_copyable_plain_text_from_the_decision(clinic_env):
    at = _patient_page("LD0016")
    note = at.get("code")[0].proto.code_text
    assert note.startswith("Lenalidomide held since ")
    assert "for Platelets 22 (G4)" in note and "resume 20 mg when Platelets >= 30" in note
    assert "; CBC " in note and note.endswith("]")
    assert "LD0016" not in note


# --- the note, built from the structured decision ---------------------------------------------------------


def _held_card(**extra) -> dict:
    card = {
        "mrn": "T1",
        "action": "hold",
        "headline": "HOLD lenalidomide",
        "dose_mg": None,
        "schedule": "21/28",
        "date": dt.date(2026, 11, 9),
        "rules": ["MM-ANC-LATER"],
        "plan": {
            "dose_mg": 15.0,
            "schedule": "21/28",
            "when": [{"analyte": "anc", "op": ">=", "value": 1.0}],
            "rule": "MM-ANC-LATER",
            "source": "US PI 2.4",
            "basis": "next_lower",
        },
        "held_since": dt.date(2026, 11, 9),
        "held_for": [{"analyte": "anc", "value": 0.44, "grade": 4}],
        "counts": [{"analyte": "anc", "value": 0.44, "grade": 4}],
        "next_cbc": dt.date(2026, 11, 23),
        "cbc_overdue": False,
        "notices": [],
        "sources": [],
        "decision": None,
    }
    return {**card, **extra}


def test_note_against_the_issue_example():
    assert decisions.note(_held_card()) == (
        "Lenalidomide held since 9 Nov for ANC 0.44 (G4); CBC Mon 23 Nov; resume 15 mg when ANC >= 1.0 [US PI 2.4]"
    )


def test_note_does_not_read_the_sentences():
    """The note is made from the fields: replacing every sentence on the card changes nothing."""
    card = _held_card(headline="xxx", reasons=["yyy"], alerts=["zzz"], resume="www")
    assert decisions.note(card) == decisions.note(_held_card())


def test_note_names_overdue_tests_and_the_recorded_decision():
    card = _held_card(
        notices=[{"kind": "biopsy_overdue", "severity": "action", "text": "...", "due": "2026-03-30"}],
        decision={"date": dt.date(2026, 11, 16), "is_hold": True, "dose_mg": None, "recorded_by": "alice"},
    )
    note = decisions.note(card)
    assert "marrow biopsy overdue since 30 Mar" in note and "decision recorded 16 Nov by alice: hold" in note


def test_note_for_continue_and_for_no_dose_plan():
    card = {
        "action": "continue",
        "dose_mg": 2.5,
        "schedule": "21/28",
        "date": dt.date(2026, 11, 9),
        "counts": [{"analyte": "anc", "value": 1.6, "grade": 2}, {"analyte": "plt", "value": 120.0, "grade": 1}],
        "next_cbc": dt.date(2026, 12, 7),
        "sources": [],
    }
    assert decisions.note(card) == (
        "Lenalidomide 2.5 mg 21/28 continued (ANC 1.6 (G2), Platelets 120 (G1) on 9 Nov); CBC Mon 7 Dec"
    )
    resumed = {**card, "action": "resume", "dose_mg": 15.0, "rules": ["MM-ANC-LATER"]}
    assert decisions.note(resumed).startswith("Lenalidomide: resume at 15 mg 21/28 (ANC 1.6 (G2)")
    assert decisions.note(resumed).endswith("[MM-ANC-LATER]")
    floor = _held_card(plan={**_held_card()["plan"], "dose_mg": None})
    assert "when ANC >= 1.0 the clinician decides the dose" in decisions.note(floor)


# --- Accept and Modify as events ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "dose", "is_hold", "event_dose", "label"),
    [
        ("hold", None, True, None, "Accept: hold"),
        ("stay_held", None, True, None, "Accept: hold"),
        ("resume", 15.0, False, 15.0, "Accept: resume 15 mg"),
        ("continue", 2.5, False, 2.5, "Accept: continue 2.5 mg"),
    ],
)
def test_accept_records_the_advice(action, dose, is_hold, event_dose, label):
    card = {"mrn": "T1", "action": action, "dose_mg": dose, "rules": ["R1"]}
    assert decisions.advice(card)["label"] == label
    event = decisions.accept_event(card, on=dt.date(2026, 11, 16))
    assert (event["event"], event["is_hold"], event["dose_mg"], event["date"]) == (
        "dose_change",
        is_hold,
        event_dose,
        dt.date(2026, 11, 16),
    )
    assert "(R1)" in event["detail"]


@pytest.mark.parametrize("action", ["review", "stop", None])
def test_nothing_to_accept_without_an_advised_dose(action):
    card = {"mrn": "T1", "action": action, "dose_mg": None}
    assert decisions.advice(card) is None
    with pytest.raises(InputError):
        decisions.accept_event(card, on=dt.date(2026, 11, 16))


def test_modify_requires_a_reason():
    card = {"mrn": "T1", "action": "hold"}
    with pytest.raises(InputError, match="say why"):
        decisions.modify_event(card, on=dt.date(2026, 11, 16), choice=10.0, reason="  ")
    held = decisions.modify_event(card, on=dt.date(2026, 11, 16), choice=decisions.HOLD, reason="infection")
    assert held["is_hold"] and held["dose_mg"] is None and held["detail"] == "modified: infection"
    assert decisions.modify_choices("MM")[:3] == ["hold", 25.0, 20.0]


def test_the_recorder_is_the_operating_system_user():
    assert decisions.who() == getpass.getuser()


# --- the store: who and when ------------------------------------------------------------------------------


def test_events_from_a_form_carry_who_and_when_imported_ones_none(clinic_env):
    from lenadash import store

    events = _events(clinic_env)
    assert events["recorded_by"].isna().all()  # imported from sample_data/events.csv
    engine = store.make_engine(f"sqlite:///{clinic_env / 'lenadash.sqlite'}")
    with store.open_session(engine) as s:
        stored = store.add_event(
            session=s,
            row={"mrn": "LD0001", "date": dt.date(2026, 11, 16), "event": "marrow_biopsy"},
            recorded_by="drsmith",
        )
        assert stored.recorded_by == "drsmith" and stored.recorded_at is not None
    engine.dispose()
    row = _events(clinic_env).query("event == 'marrow_biopsy' and mrn == 'LD0001'").iloc[-1]
    assert row["recorded_by"] == "drsmith" and str(row["recorded_at"].tz) == "UTC"


# --- the upcoming card's one click -----------------------------------------------------------------------


def test_mark_biopsy_done_records_it_on_the_as_of_date(clinic_env):
    from lenadash import samples

    at = _patient_page("LD0001")  # MM with a planned marrow biopsy
    assert any("Marrow biopsy" in h.proto.body for h in at.get("html") if "<h2>Upcoming" in h.proto.body)
    _button(at, "Mark biopsy done").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    row = _events(clinic_env).query("mrn == 'LD0001' and event == 'marrow_biopsy'").iloc[-1]
    assert row["date"] == samples.TODAY and row["recorded_by"] == getpass.getuser()


def _pregnancy_patient() -> str:
    from lenadash import samples

    return next(p.mrn for p in samples.PATIENTS if getattr(p, "reproductive_potential", False))


def test_record_pregnancy_test_from_the_upcoming_card(clinic_env):
    mrn = _pregnancy_patient()
    at = _patient_page(mrn)
    _button(at, "Record test").click().run()
    assert any("choose the result" in e.value for e in at.error), [e.value for e in at.error]
    at.radio(key=f"pregnancy_result_{mrn}").set_value("negative")
    at.radio(key=f"pregnancy_type_{mrn}").set_value("urine")
    _button(at, "Record test").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    row = _events(clinic_env).query(f"mrn == '{mrn}' and event == 'pregnancy_test'").iloc[-1]
    assert (row["result"], row["detail"], row["recorded_by"]) == ("negative", "urine test", getpass.getuser())


# --- dose history --------------------------------------------------------------------------------------------


def _draw(day: int, action: str, dose, rules=(), cycle=None) -> dict:
    start = dt.date(2026, 1, 5)
    return {
        "date": str(start + dt.timedelta(days=day)),
        "cycle": cycle if cycle is not None else day // 28 + 1,
        "action": action,
        "dose_mg": dose,
        "rules": list(rules),
    }


def test_dose_history_per_cycle_from_the_engines_draws_and_the_recorded_decisions():
    start = dt.date(2026, 1, 5)
    patient = {
        "mrn": "T1",
        "start_date": str(start),
        "starting_dose_mg": 25.0,
        "draws": [
            _draw(-3, "continue", None, cycle=0),
            _draw(7, "continue", 25.0),
            _draw(14, "hold", None, ["MM-ANC-FIRST"]),
            _draw(21, "stay_held", None, ["MM-ANC-FIRST"]),
            _draw(28, "resume", 20.0, ["MM-ANC-FIRST-TOX"]),
            _draw(42, "continue", 20.0),
            _draw(58, "continue", 15.0, ["CLINICIAN-DOSE"]),
        ],
        "hold_spans": [{"start": str(start + dt.timedelta(days=14)), "end": str(start + dt.timedelta(days=28))}],
    }
    events = pd.DataFrame(
        [
            {
                "mrn": "T1",
                "date": start + dt.timedelta(days=58),
                "event": "dose_change",
                "dose_mg": 15.0,
                "is_hold": False,
                "recorded_by": "alice",
            }
        ]
    )
    table = dose_history.dose_history(patient, events, as_of=start + dt.timedelta(days=60))
    assert table["cycle"].tolist() == [1, 2, 3]
    assert table["planned"].tolist() == ["25 mg", "held", "20 mg"]
    assert table["taken"].tolist() == ["25 mg", "20 mg", "20 mg -> 15 mg"]
    assert table["days_held"].tolist() == [14, 0, 0]
    assert table["reductions"].tolist() == [0, 1, 1]
    assert "hold: MM-ANC-FIRST" in table["changes"][0]
    assert "resume 20 mg: MM-ANC-FIRST-TOX" in table["changes"][1]
    assert "15 mg recorded by alice" in table["changes"][2] and "CLINICIAN-DOSE" in table["changes"][2]


def test_dose_history_is_empty_before_the_start():
    patient = {"mrn": "T1", "start_date": "2026-01-05", "starting_dose_mg": 25.0, "draws": []}
    assert dose_history.dose_history(patient, None, as_of=dt.date(2026, 1, 1)).empty
    assert dose_history.dose_history({"mrn": "T1"}, None, as_of=dt.date(2026, 1, 1)).empty


def test_the_patient_page_has_a_dose_history_tab(clinic_env):
    at = _patient_page("LD0016")
    assert "Dose history" in [t.label for t in at.tabs]
    table = next(d.value for d in at.dataframe if "What changed it (rule, decision)" in d.value.columns)
    assert len(table) >= 1 and (table["Cycle"] >= 1).all()


def test_card_facts_carry_the_recorded_decision_since_the_draw():
    events = pd.DataFrame(
        [
            {
                "mrn": "T1",
                "date": dt.date(2026, 11, 1),
                "event": "dose_change",
                "dose_mg": 20.0,
                "is_hold": False,
                "detail": "",
                "recorded_by": None,
                "recorded_at": None,
            },
            {
                "mrn": "T1",
                "date": dt.date(2026, 11, 16),
                "event": "dose_change",
                "dose_mg": float("nan"),
                "is_hold": True,
                "detail": "accepted: hold",
                "recorded_by": "alice",
                "recorded_at": None,
            },
        ]
    )
    got = cards.recorded_decision(events, "T1", since=dt.date(2026, 11, 9))
    assert got is not None and got["is_hold"] and got["recorded_by"] == "alice" and got["dose_mg"] is None
    assert cards.recorded_decision(events, "T1", since=dt.date(2026, 11, 17)) is None
