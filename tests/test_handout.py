"""The patient's words (patient_words) and the one-page handout (handout): every action and notice kind has
plain wording, no visit text reads like the clinician's card, and each sample patient's handout is small."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import html as html_lib
import re
from pathlib import Path

import handout_cases as cases
import pytest

from lenadash.clinical import notices
from lenadash.clinical.dosing.values import ENGINE_RULES
from lenadash.dashboard import handout, patient_words

REPO = Path(__file__).resolve().parents[1]
ONE_MB = 1_000_000

ACTIONS = ("continue", "hold", "stay_held", "resume", "reduce", "stop", "review")


def _rule_ids() -> set[str]:
    """Every rule id a draw can carry: the profiles' dose and start rules (rules/*.csv) and the engine's own."""
    ids = set(ENGINE_RULES)
    for path in (REPO / "lenadash" / "rules").glob("dose_*.csv"):
        with path.open(encoding="utf-8") as f:
            ids |= {row["rule"] for row in csv.DictReader(f) if row.get("rule")}
    return ids


RULE_IDS = _rule_ids()
# What the clinician's card says and the patient's words must not: rule ids (MM-ANC-FIRST, CLINICIAN-DOSE: capitals
# joined by hyphens, values.py ENGINE_RULES and rules/dose_*.csv), label sections and sources, the engine's
# words, clinical abbreviations a patient does not use.
CLINICIAN_WORDS = re.compile(
    r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b|\bPI\b|§|\bdose_change\b|\bnotices?\b|\bREMS\b|\bCTCAE\b|\brules?\b"
    r"|\bTable\b|\bsection\b|\blabel\b|\bSmPC\b|\bCBC\b|\bANC\b|\bclinician\b|\bstay_held\b|\bgrade\b|[\[\]]"
)


def clinician_words(text: str) -> list[str]:
    found = CLINICIAN_WORDS.findall(text) + [r for r in RULE_IDS if r in text]
    return sorted(set(found))


def visible_text(page: str) -> str:
    """The text a reader sees in an HTML page (styles dropped, tags removed, the SVG chart's text kept)."""
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_check_catches_the_clinicians_words():
    """The check itself can fail: the clinician's card and notices trip it."""
    for text in (
        "held since 2026-11-09: ANC 0.78, resume when >= 1.0 (US PI 2.4 (FL/MZL), MZL; rule MZL-ANC-G4)",
        "stopped since 2026-11-18: the prescriber decides (record a dose_change event to restart at a dose)",
        "Rules: CLINICIAN-DOSE",
        "label § 2.1",
        "pregnancy test due 2026-12-14 [Lenalidomide REMS]",
    ):
        assert clinician_words(text), text


def test_every_action_has_patient_wording():
    assert set(ACTIONS) <= set(patient_words.ACTION_WORDS)
    for action, (tone, headline, sentence) in patient_words.ACTION_WORDS.items():
        assert tone and headline and sentence, action


def test_every_notice_kind_has_patient_wording():
    """The closed list of notice kinds (clinical/notices.py) and the patient's table are the same keys."""
    assert set(patient_words.NOTICE_WORDS) == set(notices.KINDS)
    assert all(patient_words.NOTICE_WORDS[k].strip() for k in notices.KINDS)


def _wording_tables() -> list[tuple[str, str]]:
    tables = [
        *((f"action {k}", " ".join(v[1:])) for k, v in patient_words.ACTION_WORDS.items()),
        *((f"notice {k}", v) for k, v in patient_words.NOTICE_WORDS.items()),
        *((f"schedule {k}", v) for k, v in patient_words.SCHEDULE_WORDS.items()),
        *((f"schedule short {k}", v) for k, v in patient_words.SCHEDULE_SHORT.items()),
        *((f"today {k}", v) for k, v in patient_words.TODAY_WORDS.items()),
        *((f"side effect {k}", v) for k, v in patient_words.SIDE_EFFECT_HOLD.items()),
        ("overdue", patient_words.OVERDUE_ADVICE),
        *((f"count {k}", " ".join(v)) for k, v in patient_words.COUNT_WORDS.items()),
    ]
    return tables


@pytest.mark.parametrize(("what", "text"), _wording_tables(), ids=lambda x: str(x)[:30])
def test_the_wording_tables_have_no_clinician_words(what, text):
    assert clinician_words(text) == [], what


def test_patient_words_never_read_the_clinicians_sentences():
    """Built from data: patient_words reads no `reasons`, `text`, `alerts` or `headline` of the assessment."""
    tree = ast.parse((REPO / "lenadash" / "dashboard" / "patient_words.py").read_text(encoding="utf-8"))
    keys = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    subscripts = {
        node.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
    }
    assert not ({"reasons", "text", "alerts", "headline", "resume", "source", "overdue"} & (keys | subscripts))


# --- the sample clinic, through the real import, store and engine -----------------------------


@pytest.fixture(scope="module")
def clinic() -> dict:
    return cases.sample_clinic()


def _assessed_on(clinic: dict, mrn: str, day: dt.date) -> dict:
    from lenadash.clinical import assess

    result = assess.assess(clinic["patients"], clinic["labs"], clinic["events"], as_of=day)
    return next(p for p in result["patients"] if p["mrn"] == mrn)


def _latest_with(clinic: dict, action: str) -> tuple[str, dt.date]:
    """A sample patient and date whose card action (cards.card_action) is `action`: the latest treatment draw
    with that action; a stop is recorded after the last draw (REMS), so the stopped patient today."""
    from lenadash import samples

    if action == "stop":
        return next(p["mrn"] for p in clinic["result"]["patients"] if p["status"] == "stopped"), samples.TODAY
    for p in clinic["result"]["patients"]:
        for d in reversed(p["draws"]):
            if d["action"] == action and p["start_date"] and d["date"] >= p["start_date"]:
                return p["mrn"], dt.date.fromisoformat(d["date"])
    raise AssertionError(f"no sample draw with action {action}")


@pytest.mark.parametrize("action", ["continue", "hold", "stay_held", "resume", "review", "stop"])
def test_each_engine_action_of_the_sample_clinic_in_plain_words(clinic, action):
    """For each action the engine takes in the sample clinic: the patient assessed on that draw's date gets
    that action's wording, and none of the clinician's words."""
    mrn, day = _latest_with(clinic, action)
    patient = _assessed_on(clinic, mrn, day)
    words = patient_words.summary(patient, as_of=day)
    assert words.action == action, (mrn, day, words)
    text = " ".join(words.texts())
    assert clinician_words(text) == [], text
    assert words.headline and words.sentences


def test_first_neutropenia_hold_reads_as_the_issue_asks(clinic):
    """LD0001 (MM, 25 mg), ANC 0.91 on 27 Apr 2026: held; the next blood test a week later."""
    day = dt.date(2026, 4, 28)
    words = patient_words.summary(_assessed_on(clinic, "LD0001", day), as_of=day)
    assert words.action in ("hold", "stay_held")
    assert words.sentences[0].startswith("Your neutrophils (a type of white blood cell that fights infection) are"), (
        words.sentences
    )
    assert "pausing the capsules" in words.sentences[0] or "stay paused" in words.sentences[0]
    assert (
        "When your neutrophils are back up to 1.0 or more, we plan to restart the capsules at 25 mg." in words.sentences
    )
    assert [d.text for d in words.dates][0] == "Next blood test: Monday 4 May"


def test_held_for_platelets_names_platelets_and_the_next_blood_test(clinic):
    patient = next(p for p in clinic["result"]["patients"] if p["mrn"] == "LD0016")
    words = patient_words.summary(patient, as_of=dt.date(2026, 11, 20))
    assert words.headline == "Your capsules stay paused"
    assert words.sentences[0].startswith("Your platelets (cells that help your blood to clot) are still too low")
    assert "When your platelets are back up to 30 or more, we plan to restart the capsules at 20 mg." in words.sentences
    assert [d.text for d in words.dates] == ["Next blood test: Monday 23 November"]


def test_a_lower_dose_reads_as_reduce():
    """A continue at a lower dose than the draw before (a clinician's dose change) is a new, lower dose."""
    patient = {
        "status": "on_treatment",
        "current_dose_mg": 15.0,
        "draws": [
            {"date": "2026-11-02", "action": "continue", "dose_mg": 20.0, "schedule": "21/28", "values": {}},
            {"date": "2026-11-16", "action": "continue", "dose_mg": 15.0, "schedule": "21/28", "values": {}},
        ],
        "next_labs_due": "2026-11-30",
    }
    words = patient_words.summary(patient, as_of=dt.date(2026, 11, 20))
    assert words.action == "reduce" and words.headline == "Your new dose: 15 mg"
    assert words.sentences[0] == "Your dose has been lowered from 20 mg to 15 mg. Take the new dose from now on."
    assert [d.text for d in words.dates] == ["Next blood test: Monday 30 November"]


def test_a_clinicians_hold_and_a_hold_without_a_dose_leave_the_restart_to_the_doctor():
    draws = [{"date": "2026-11-16", "action": "hold", "dose_mg": None, "schedule": "21/28", "values": {"anc": 0.4}}]
    clinician = {"status": "held", "draws": draws, "resume_plan": {"dose_mg": None, "when": [], "triggers": []}}
    words = patient_words.summary(clinician, as_of=dt.date(2026, 11, 20))
    assert words.action == "hold" and "Your doctor will tell you when to start again." in words.sentences
    floor = {
        "status": "held",
        "draws": draws,
        "resume_plan": {
            "dose_mg": None,
            "when": [{"analyte": "anc", "op": ">=", "value": 1.0}],
            "triggers": [{"analyte": "anc", "value": 0.4}],
        },
    }
    words = patient_words.summary(floor, as_of=dt.date(2026, 11, 20))
    assert "When your neutrophils are back up to 1.0 or more, your doctor will decide the dose to restart at." in (
        words.sentences
    )


@pytest.mark.parametrize("kind", sorted(notices.KINDS))
def test_every_notice_kind_reaches_the_patient_in_their_words(kind):
    """A patient with one notice of each kind: dates in the dates list, the rest under 'Also' (or said by
    the action's own sentence), never the notice's clinician text."""
    due = "2026-11-30" if kind.endswith(("_due", "_overdue")) else None
    notice = {"kind": kind, "severity": "action", "text": "US PI 2.1 rule MM-PLT", "source": "US PI", "due": due}
    patient = {
        "status": "on_treatment",
        "draws": [{"date": "2026-11-16", "action": "continue", "dose_mg": 10.0, "schedule": "28/28", "values": {}}],
        "notices": [notice],
    }
    words = patient_words.summary(patient, as_of=dt.date(2026, 11, 20))
    text = " ".join(words.texts())
    assert clinician_words(text) == [], text
    if kind not in patient_words.DATE_KINDS:
        assert patient_words.NOTICE_WORDS[kind].format(due="Monday 30 November") in words.notes


def test_every_sample_handout_is_plain_small_and_anonymous(clinic):
    """Every sample patient's handout: under 1 MB, no plotly.js, the chart an inline SVG, print CSS with @page,
    no rule ids or label sections in what it shows, no MRN, name or birth date."""
    from lenadash import samples

    sizes = {}
    for mrn in cases.mrns():
        page = cases.handout(mrn)
        sizes[mrn] = len(page.encode("utf-8"))
        assert sizes[mrn] < ONE_MB, (mrn, sizes[mrn])
        assert "plotly" not in page.lower() and "<script" not in page
        assert "@page" in page and "@media print" in page
        assert mrn == "LD0099" or page.count("<svg") == 1, mrn  # LD0099 has labs but no course: a chart still
        shown = visible_text(page)
        assert clinician_words(shown) == [], (mrn, clinician_words(shown))
        for p in samples.PATIENTS:
            assert p.mrn not in page and p.name not in page, mrn
            assert p.birth_date.isoformat() not in page, mrn
        assert "Riverside Haematology, 0123 456 789" in shown
    assert max(sizes.values()) < 100_000, sizes  # the old visit export was 4.8 MB


def test_the_clinic_name_is_text():
    page = cases.handout("LD0014", clinic="<img src=x onerror=alert(1)> [x](https://example.org) **bold**")
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_only_the_handout_imports_matplotlib():
    package = REPO / "lenadash"
    importers = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if re.search(r"^\s*(import|from) matplotlib", p.read_text(encoding="utf-8"), flags=re.M)
    )
    assert importers == ["dashboard/handout.py"]


def test_the_chart_has_both_panels_the_lines_today_and_the_dose(clinic):
    patient = next(p for p in clinic["result"]["patients"] if p["mrn"] == "LD0014")
    page = cases.handout("LD0014")
    svg = page[page.index("<svg") : page.index("</svg>")]
    text = visible_text(svg)
    for shown in ("Neutrophils", "Platelets", "Today", "Next blood test", "pause / restart 1.0", "pause 0.5", "paused"):
        assert shown in text, shown
    assert "20 mg" in text  # the dose strip: 20 mg until the hold
    assert patient["resume_plan"]["dose_mg"] == 15.0
    assert "restart the capsules at 15 mg" in visible_text(page)
    assert handout.chart_window(patient, as_of=dt.date(2026, 11, 20))[1] >= dt.date(2026, 11, 23)


def test_a_stop_recorded_after_the_last_draw_drops_the_dose_strip_to_stopped(clinic):
    """LD0013: a positive pregnancy test on 18 Nov after the last draw (16 Nov, continue 20 mg) stops treatment;
    the handout's dose strip must not go on showing 20 mg the patient is told not to take."""
    patient = next(p for p in clinic["result"]["patients"] if p["mrn"] == "LD0013")
    assert patient["status"] == "stopped" and patient["draws"][-1]["action"] == "continue"
    page = cases.handout("LD0013")
    svg = visible_text(page[page.index("<svg") : page.index("</svg>")])
    assert "stopped" in svg.split() and "Stop your capsules" in page


def test_a_course_without_a_blood_test_yet_has_a_handout_without_a_chart():
    patient = {"status": "on_treatment", "indication": "MM", "start_date": "2026-11-16", "draws": [], "notices": []}
    patient["next_labs_due"] = "2026-11-23"
    page = handout.patient_handout(patient, identity={"initials": "A.B.", "age": 70}, as_of=dt.date(2026, 11, 20))
    shown = visible_text(page)
    assert "Waiting for your first blood test" in shown and "Next blood test: Monday 23 November" in shown
    assert "<svg" not in page and clinician_words(shown) == []


def test_the_chart_gives_way_to_text():
    heights = [handout.chart_height(lines) for lines in range(0, 40)]
    assert heights[0] == handout.CHART_HEIGHT_IN[1] and heights[-1] == handout.CHART_HEIGHT_IN[0]
    assert heights == sorted(heights, reverse=True)


@pytest.mark.parametrize(("day", "said"), [(5, "Today is day 5 of cycle 3."), (25, "without capsules")])
def test_today_in_the_cycle_says_a_rest_day(day, said):
    patient = {
        "status": "on_treatment",
        "cycle": 3,
        "cycle_day": day,
        "draws": [{"date": "2026-11-16", "action": "continue", "dose_mg": 20.0, "schedule": "21/28", "values": {}}],
    }
    words = patient_words.summary(patient, as_of=dt.date(2026, 11, 20))
    assert any(said in s for s in words.sentences), words.sentences
    assert ("without capsules." in words.sentences[-1]) == (day > 21)


def test_a_restart_on_another_schedule_says_which_days():
    """MM maintenance held at 5 mg every day resumes at 5 mg on days 1-21 (the engine's resume_plan.schedule)."""
    patient = {
        "status": "held",
        "schedule": "28/28",
        "draws": [
            {"date": "2026-11-16", "action": "hold", "dose_mg": None, "schedule": "28/28", "values": {"anc": 0.4}}
        ],
        "resume_plan": {
            "dose_mg": 5.0,
            "schedule": "21/28",
            "when": [{"analyte": "anc", "op": ">=", "value": 0.5}],
            "triggers": [{"analyte": "anc", "value": 0.4}],
        },
    }
    words = patient_words.summary(patient, as_of=dt.date(2026, 11, 20))
    assert (
        "When your neutrophils are back up to 0.5 or more, we plan to restart the capsules at 5 mg, "
        "on days 1 to 21 of each 28-day cycle." in words.sentences
    )


def test_the_handout_dose_strip_drops_on_the_day_of_the_stop():
    """LD0013 (golden sample clinic): last draw 16 Nov on 20 mg, positive pregnancy test 18 Nov, as of 20 Nov:
    the handout's dose strip shows no dose after 18 Nov (the patient never reads 20 mg for days after a stop)."""
    import json

    import pandas as pd

    from lenadash.dashboard import cards, handout

    golden = json.loads((Path(__file__).parent / "golden" / "sample_clinic_assess.json").read_text())
    patient = next(p for p in golden["patients"] if p["mrn"] == "LD0013")
    events = pd.DataFrame(
        {"mrn": ["LD0013"], "date": [dt.date(2026, 11, 18)], "event": ["pregnancy_test"], "result": ["positive"]}
    )
    as_of = dt.date(2026, 11, 20)
    steps = handout._dose_steps(patient, as_of=as_of, stopped_on=cards.stop_date(patient, events=events, as_of=as_of))
    assert steps[steps["dose_mg"] > 0]["date"].max() == dt.date(2026, 11, 18)
    assert steps[steps["date"] > dt.date(2026, 11, 18)]["dose_mg"].eq(0).all()
