"""The next-action card's colour comes from the most severe notice, not only the action (issue 9 item 5),
and the screen-shared card (visit=True) shows no rule ids. Driven against the engine's output of real
assessed courses (assess.assess), rendered by ui.next_action_card in a Streamlit script (AppTest)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from dosing_cases import course, events_frame
from streamlit.testing.v1 import AppTest

from lenadash.clinical import assess, notices
from lenadash.dashboard import cards

START = dt.date(2026, 1, 5)
UNITS = {"anc": "10^9/L", "plt": "10^9/L", "wbc": "10^9/L", "hgb": "g/dL", "creatinine": "mg/dL"}
NORMAL = {"anc": 3.0, "plt": 200.0, "wbc": 5.5, "hgb": 12.5}


def _labs(mrn: str, draws) -> pd.DataFrame:
    """Contract-shaped labs, graded by assess. draws: [(study day, {analyte: value})]."""
    rows = [
        {
            "mrn": mrn,
            "collected_at": pd.Timestamp(START) + pd.Timedelta(days=day, hours=8),
            "analyte": analyte,
            "value": float(value),
            "unit": UNITS[analyte],
            "comparator": "",
            "raw_value": str(value),
            "raw_unit": UNITS[analyte],
            "raw_name": analyte,
            "loinc": None,
            "ref_low": np.nan,
            "ref_high": np.nan,
            "flag": None,
            "status": "Final",
            "line": i + 2,
        }
        for i, (day, values) in enumerate(draws)
        for analyte, value in values.items()
    ]
    return pd.DataFrame(rows)


def assessed(indication: str, draws, *, as_of: dt.date, events=(), mrn: str = "T1") -> dict:
    """The engine's entry for one synthetic course (baseline draw with creatinine on day -3)."""
    draws = [(-3, {**NORMAL, "creatinine": 0.8}), *draws]
    patients = pd.DataFrame([course(indication, mrn=mrn, start=START)])
    ev = events_frame(list(events), mrn=mrn, start=START) if events else None
    result = assess.assess(patients, _labs(mrn, draws), ev, as_of=as_of)
    return result["patients"][0]


def weekly_normal(until_day: int) -> list:
    return [(day, dict(NORMAL)) for day in range(0, until_day + 1, 7)]


def render(card: dict, *, visit: bool = False) -> str:
    """The card's HTML as ui.next_action_card renders it in a Streamlit script."""

    def script():
        import streamlit as st

        from lenadash.dashboard import ui

        ui.next_action_card(st.session_state["card"], visit=st.session_state["visit"])

    at = AppTest.from_function(script, default_timeout=60)
    at.session_state["card"] = card
    at.session_state["visit"] = visit
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return next(h.proto.body for h in at.get("html") if "ld-card" in h.proto.body)


def test_an_overdue_marrow_biopsy_makes_a_continue_card_amber_not_green():
    """MDS, counts normal, CBC on schedule, the week-12 biopsy three months overdue: the label says
    continue, but the card must not be a plain green 'Continue'."""
    as_of = START + dt.timedelta(days=84 + 91)
    patient = assessed("MDS", weekly_normal(84 + 90), as_of=as_of)
    assert patient["status"] == "on_treatment" and patient["draws"][-1]["action"] == "continue"
    assert not patient["labs_overdue"]
    assert "biopsy_overdue" in [n["kind"] for n in patient["notices"]]
    card = cards.next_action(patient, rules="us_pi", as_of=as_of)
    html = render(card)
    assert "ld-ok" not in html
    assert 'data-tone="amber"' in html
    assert "marrow biopsy overdue since 2026-03-30" in html
    # the notice is listed under the action
    assert html.index("Continue 10 mg") < html.index("marrow biopsy overdue")


def test_an_overdue_pregnancy_test_makes_the_card_amber():
    as_of = START + dt.timedelta(days=60)
    draws = weekly_normal(56)
    patients = pd.DataFrame([{**course("MM", start=START), "reproductive_potential": True, "menses": "regular"}])
    ev = pd.DataFrame(
        [
            {
                "mrn": "T1",
                "date": START - dt.timedelta(days=12),
                "event": "pregnancy_test",
                "value": "negative",
                "detail": "",
                "temperature_c": np.nan,
                "grade": None,
                "result": "negative",
                "dose_mg": np.nan,
                "is_hold": False,
                "agent": None,
            },
            {
                "mrn": "T1",
                "date": START,
                "event": "pregnancy_test",
                "value": "negative",
                "detail": "",
                "temperature_c": np.nan,
                "grade": None,
                "result": "negative",
                "dose_mg": np.nan,
                "is_hold": False,
                "agent": None,
            },
            {
                "mrn": "T1",
                "date": START,
                "event": "thromboprophylaxis",
                "value": "aspirin",
                "detail": "",
                "temperature_c": np.nan,
                "grade": None,
                "result": None,
                "dose_mg": np.nan,
                "is_hold": False,
                "agent": "aspirin",
            },
        ]
    )
    ev["grade"] = ev["grade"].astype("Int64")
    labs = _labs("T1", [(-3, {**NORMAL, "creatinine": 0.8}), *draws])
    patient = assess.assess(patients, labs, ev, as_of=as_of)["patients"][0]
    kinds = [n["kind"] for n in patient["notices"]]
    assert "pregnancy_test_overdue" in kinds and patient["draws"][-1]["action"] == "continue", kinds
    html = render(cards.next_action(patient, rules="us_pi", as_of=as_of))
    assert 'data-tone="amber"' in html and "ld-ok" not in html


def test_a_hold_is_red_and_a_plain_continue_green():
    held = assessed("MM", [*weekly_normal(21), (25, {"anc": 0.44, "plt": 180.0})], as_of=START + dt.timedelta(days=26))
    assert held["status"] == "held"
    assert 'data-tone="red"' in render(cards.next_action(held, rules="us_pi", as_of=START + dt.timedelta(days=26)))
    fine = assessed("MM", weekly_normal(21), as_of=START + dt.timedelta(days=22))
    tones = [cards.NOTICE_TONES[n["kind"]] for n in fine["notices"]]
    assert "red" not in tones and "amber" not in tones, fine["notices"]
    assert 'data-tone="green"' in render(cards.next_action(fine, rules="us_pi", as_of=START + dt.timedelta(days=22)))


def test_every_notice_kind_has_a_card_tone():
    assert set(cards.NOTICE_TONES) == set(notices.KINDS)
    assert set(cards.NOTICE_TONES.values()) <= {"red", "amber", "none"}
    assert cards.NOTICE_TONES["stopped"] == cards.NOTICE_TONES["hold"] == "red"
    assert cards.NOTICE_TONES["biopsy_overdue"] == cards.NOTICE_TONES["pregnancy_test_overdue"] == "amber"


@pytest.mark.parametrize(
    ("action", "kinds", "tone"),
    [
        ("continue", [], "green"),
        ("continue", ["cbc_due", "biopsy_due"], "green"),
        ("continue", ["biopsy_overdue"], "amber"),
        ("resume", ["pregnancy_test_overdue"], "amber"),
        ("review", [], "amber"),
        ("hold", ["biopsy_overdue"], "red"),
        ("continue", ["stopped"], "red"),
        (None, [], "none"),
        (None, ["labs_without_course"], "amber"),
    ],
)
def test_card_tone_is_the_most_severe_of_action_and_notices(action, kinds, tone):
    card = {"action": action, "notices": [{"kind": k, "severity": notices.KINDS[k][0], "text": k} for k in kinds]}
    assert cards.card_tone(card) == tone


RULE_ID = re.compile(r"\b(?:MM|MDS|MCL|FL|MZL|CLINICIAN|GRADE3|CYCLE|REMS|NO)-[A-Z0-9-]+\b")


def test_the_screen_shared_card_shows_no_rule_ids():
    """MDS without a baseline platelet count: the review notice quotes the engine's reasons ("rule
    MDS-PLT-EARLY-B100 ... needs a baseline") with their rule ids and sources; the visit card (screen-shared
    with the patient) must show none of them, the clinician's card keeps them."""
    as_of = START + dt.timedelta(days=15)
    draws = [
        (-3, {"anc": 3.0, "wbc": 5.0, "hgb": 12.0, "creatinine": 0.8}),
        (7, dict(NORMAL)),
        (14, {**NORMAL, "plt": 40.0}),
    ]
    patients = pd.DataFrame([course("MDS", start=START)])
    patient = assess.assess(patients, _labs("T1", draws), None, as_of=as_of)["patients"][0]
    card = cards.next_action(patient, rules="us_pi", as_of=as_of)
    assert RULE_ID.search(" ".join(card["alerts"])), card["alerts"]  # the notice text has them
    html = render(card, visit=True)
    assert not RULE_ID.search(html), html
    assert "US PI" not in html and "rule" not in html.lower(), html
    assert "Clinician review needed" in html
    assert RULE_ID.search(render(card))  # the clinician's card keeps them


def test_a_clinicians_hold_recorded_after_a_continue_draw_makes_the_card_red_with_the_decision():
    """Modify -> hold on a continuing course (a dose_change hold dated after the latest draw, with who):
    the engine holds (CLINICIAN-HOLD), and the card reads HOLD, red, with the recorded decision."""
    as_of = START + dt.timedelta(days=24)
    patients = pd.DataFrame([course("MM", start=START)])
    labs = _labs("T1", [(-3, {**NORMAL, "creatinine": 0.8}), *weekly_normal(21)])
    events = events_frame([(23, "dose_change", "hold")], start=START)
    events["recorded_by"], events["recorded_at"] = "alice", pd.Timestamp("2026-01-28T10:42", tz="UTC")
    patient = assess.assess(patients, labs, events, as_of=as_of)["patients"][0]
    card = cards.next_action(patient, rules="us_pi", as_of=as_of, events=events)
    assert card["action"] == "hold" and card["decision"]["recorded_by"] == "alice"
    html = render(card)
    assert 'data-tone="red"' in html and "HOLD lenalidomide" in html
    assert "Decision recorded 28 Jan 2026: hold (by alice, 28 Jan 10:42 UTC)" in html
