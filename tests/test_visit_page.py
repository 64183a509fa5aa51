"""The visit view as the patient sees it (AppTest on the sample clinic): their words, the next dates, the
handout and the care team's summary as two labelled downloads with a warning, no identifiers."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from test_handout import clinician_words, visible_text
from test_pages import _app, _no_exception, rems_dir, rems_env  # noqa: F401

from lenadash.dashboard import handout

VISIT = "app_pages/visit.py"


def _visit(mrn: str, **state) -> AppTest:
    at = _app(patient_mrn=mrn, **state)
    at.query_params["visit"] = "1"
    at.switch_page(VISIT).run()
    _no_exception(at)
    return at


def _shown_to_the_patient(at: AppTest) -> str:
    """The visit view's own words: titles, headings, cards, notes and the download area (the chart is
    charts.py's, the results table is behind an expander)."""
    parts = [t.value for t in at.title] + [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [visible_text(h.proto.body) for h in at.get("html") if "<style" not in h.proto.body]
    parts += [b.proto.label for b in at.get("download_button")]
    return "\n".join(parts)


def _summary_card(at: AppTest) -> str:
    cards = [h.proto.body for h in at.get("html") if "ld-card" in h.proto.body]
    return next(c for c in cards if "Your next dates" not in c)


@pytest.mark.parametrize(
    ("mrn", "headline"),
    [
        ("LD0014", "Your capsules stay paused"),
        ("LD0016", "Your capsules stay paused"),
        ("LD0012", "Your doctor will talk with you about your capsules"),
        ("LD0013", "Stop your capsules"),
        ("LD0017", "Keep taking your capsules: 10 mg"),
        ("LD0001", "Keep taking your capsules: 20 mg"),
        ("LD0099", "Your doctor will talk with you about your capsules"),  # labs, no treatment course
    ],
)
@pytest.mark.usefixtures("clinic_env")
def test_the_visit_view_speaks_the_patients_words(mrn, headline):
    at = _visit(mrn)
    shown = _shown_to_the_patient(at)
    assert headline in _summary_card(at)
    assert clinician_words(shown) == [], clinician_words(shown)
    page = at.session_state["lenadash_visit_handout"]
    assert headline in page and len(page.encode()) < 1_000_000 and "plotly" not in page.lower()


@pytest.mark.usefixtures("clinic_env")
def test_the_held_patient_hears_why_and_when():
    """LD0014 (MZL, held since 9 Nov for ANC 0.44): the count in words, the restart plan, the next blood test."""
    at = _visit("LD0014")
    card = visible_text(_summary_card(at))
    assert "Your neutrophils (a type of white blood cell that fights infection) are still too low" in card
    assert "When your neutrophils are back up to 1.0 or more, we plan to restart the capsules at 15 mg." in card
    dates = next(h.proto.body for h in at.get("html") if "Your next dates" in h.proto.body)
    assert "Next blood test: Monday 23 November" in dates


@pytest.mark.usefixtures("clinic_env")
def test_two_labelled_downloads_with_a_warning():
    at = _visit("LD0014")
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert set(buttons) == {handout.HANDOUT_LABEL, handout.CLINICIAN_LABEL}
    assert any(w.value.startswith("Both files contain patient health information") for w in at.warning)
    assert "one A4 or Letter page" in " ".join(c.value for c in at.caption)
    export = at.session_state["lenadash_visit_html"]  # the care team's summary keeps its sources
    assert "[US PI" in export and "Plotly.newPlot" in export
    page = at.session_state["lenadash_visit_handout"]
    assert "[US PI" not in page and "<svg" in page and "@page" in page


@pytest.mark.usefixtures("clinic_env")
def test_the_clinic_writes_its_name_on_the_handout_as_text():
    at = _visit("LD0014")
    at.text_input(key="handout_clinic").input("Riverside <b>Haematology</b> [call](https://x.example) 0123").run()
    _no_exception(at)
    page = at.session_state["lenadash_visit_handout"]
    assert "Riverside &lt;b&gt;Haematology&lt;/b&gt; [call](https://x.example) 0123" in page
    assert not re.search(r"<a\b", page)


@pytest.mark.usefixtures("clinic_env")
def test_the_first_neutropenia_hold_in_the_patients_words():
    """LD0001 on 28 Apr 2026 (MM, ANC 0.91): the hold and the restart at the starting dose, in words."""
    import datetime as dt

    at = _visit("LD0001", lenadash_as_of=dt.date(2026, 4, 28))
    card = visible_text(_summary_card(at))
    assert "When your neutrophils are back up to 1.0 or more, we plan to restart the capsules at 25 mg." in card
    assert "Next blood test: Monday 4 May" in _shown_to_the_patient(at)
    assert clinician_words(_shown_to_the_patient(at)) == []


@pytest.mark.usefixtures("rems_env")
def test_the_stopped_patient_is_told_to_stop_without_identifiers():
    at = _visit("LD0006")
    card = visible_text(_summary_card(at))
    assert "Stop your capsules" in card and "Please do not take any more" in card
    assert "The capsules are stopped for pregnancy safety reasons." not in card  # said by the action itself
    for shown in (_shown_to_the_patient(at), at.session_state["lenadash_visit_handout"]):
        assert "LD0006" not in shown and "Frankie" not in shown and "1988-07-14" not in shown
