"""Plain language for the patient: the assessment's action, resume plan, notices and next dates in words."""

# Built from the structured assessment (docs/assess.md: the card's action, `resume_plan`, notice `kind` and
# `due`, the next dates), never from the clinician's sentences: those name rule ids and label sections.
# One table of wording per patient action (ACTION_WORDS) and per notice kind (NOTICE_WORDS); a test holds
# both to the engine's closed lists and checks that nothing here reads like the clinician's card.

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lenadash.dashboard import cards
from lenadash.dashboard.assessed import as_date, last_draw
from lenadash.vocab.course import CYCLE_DAYS, DOSING_DAYS

# The actions a patient hears about: the card's action (cards.card_action), with a lower dose on a
# continue told apart as `reduce`, and `no_draw` before the first blood test.
# action -> (tone, headline, what it means). {dose} is the dose in mg, {old} the dose before.
ACTION_WORDS: dict[str, tuple[str, str, str]] = {
    "continue": (
        "ok",
        "Keep taking your capsules: {dose} mg",
        "Your last blood test did not call for a change, so keep taking {dose} mg.",
    ),
    "reduce": (
        "ok",
        "Your new dose: {dose} mg",
        "Your dose has been lowered from {old} mg to {dose} mg. Take the new dose from now on.",
    ),
    "hold": (
        "hold",
        "Pause your capsules",
        "Your {counts} are low, so we are pausing the capsules. Do not take any until we tell you to start again.",
    ),
    "stay_held": (
        "hold",
        "Your capsules stay paused",
        "Your {counts} are still too low, so the capsules stay paused. Do not take any until we tell you to "
        "start again.",
    ),
    "resume": (
        "ok",
        "Start your capsules again: {dose} mg",
        "Your blood counts have recovered, so you can start the capsules again at {dose} mg.",
    ),
    "stop": (
        "hold",
        "Stop your capsules",
        "We have stopped the capsules. Please do not take any more; your doctor will talk with you about what "
        "happens next.",
    ),
    "review": (
        "review",
        "Your doctor will talk with you about your capsules",
        "Your doctor needs to look at your results before deciding about the capsules, and will tell you what to do.",
    ),
    "no_draw": (
        "none",
        "Waiting for your first blood test",
        "We do not have a blood test result on this treatment yet. Your care team will tell you what to do.",
    ),
}

# The counts the dose rules watch, as a patient hears them: (name, what it is).
COUNT_WORDS: dict[str, tuple[str, str]] = {
    "anc": ("neutrophils", "a type of white blood cell that fights infection"),
    "plt": ("platelets", "cells that help your blood to clot"),
    "toxicity": ("side effect", ""),
}

# Every notice kind (clinical/notices.py KINDS) in the patient's words. {due} is the notice's date in words;
# the *_due kinds are also the lines of the next-dates list.
NOTICE_WORDS: dict[str, str] = {
    "stopped": "The capsules are stopped for pregnancy safety reasons.",
    "hold": "The capsules are paused.",
    "review": "Your doctor will look at your results with you before deciding about the capsules.",
    "grade3": "One of your other blood tests (for example a liver or kidney test) needs your doctor's attention; "
    "they will talk with you about it.",
    "cbc_overdue": "Your blood test is overdue (it was due {due}). Please have it as soon as you can.",
    "cbc_due": "Next blood test: {due}",
    "biopsy_overdue": "Your bone marrow test is overdue (it was due {due}). Your care team will arrange it.",
    "biopsy_due": "Next bone marrow test: {due}",
    "pregnancy_test_overdue": "Your pregnancy test is overdue (it was due {due}). Please have it as soon as you can.",
    "pregnancy_test_due": "Next pregnancy test: {due}",
    "rems_pretreatment_missing": "We are missing a record of a pregnancy test from before you started; your care "
    "team will check this with you.",
    "thromboprophylaxis_missing": "This treatment can raise the risk of blood clots; your doctor will talk with you "
    "about a medicine to prevent them.",
    "renal_dose_above_label": "Your kidney test suggests a lower dose may suit you better; your doctor will check "
    "your dose.",
    "renal_band_fall": "Your kidney test has changed; your doctor will check whether your dose should change.",
    "renal_not_studied": "Your kidney test is in a range where this medicine has not been well studied; your "
    "doctor will talk with you about it.",
    "renal_no_crcl": "We do not have a kidney test from when you started; your care team may ask for one.",
    "stale_creatinine": "Your kidney test from when you started is quite old; your care team may repeat it.",
    "cycle_limit": "You have had the planned number of treatment cycles; your doctor will talk with you about "
    "what comes next.",
    "labs_without_course": "Your treatment details are not entered here yet, so we cannot summarise your "
    "treatment; your care team will add them.",
    "cbc_overdue_escalated": "Your blood test is well overdue. Please contact your care team today to have it.",
    "vte_prophylaxis_mismatch": "Your doctor will check the medicine you take to prevent blood clots.",
    "vte_score_review": "Your care team will look at your risk of blood clots with you.",
    "pregnancy_test_before_prescription": "You need a pregnancy test before your next capsules can be "
    "prescribed; your care team will arrange it.",
}
# A hold for a side effect (a recorded toxicity, no count): the hold sentences without a count.
SIDE_EFFECT_HOLD = {
    "hold": "A side effect needs a pause, so we are pausing the capsules. Do not take any until we tell you to "
    "start again.",
    "stay_held": "The side effect still needs a pause, so the capsules stay paused. Do not take any until we "
    "tell you to start again.",
}
# Notices the action's own sentence already says (not repeated under "Also").
SAID_BY_ACTION = {"hold": ("hold", "stay_held"), "stopped": ("stop",), "review": ("review",)}
# Notices that are dates: shown in the dates list, not under "Also".
DATE_KINDS = (
    "cbc_due",
    "cbc_overdue",
    "biopsy_due",
    "biopsy_overdue",
    "pregnancy_test_due",
    "pregnancy_test_overdue",
)

# A continue when the blood test is overdue (assess `labs_overdue`): the advice rests on an old test (the
# overdue test itself is in the dates list).
OVERDUE_ADVICE = "Your last blood test ({last}) did not call for a change: keep taking {dose} mg until the new one."

# The schedule in words (vocab.course DOSING_DAYS). Only the days, not how often a day: a renal regimen
# can be every other day, and the prescription says which.
SCHEDULE_WORDS = {
    "21/28": "Take them as prescribed on days 1 to 21 of each 28-day cycle, then 7 days without capsules.",
    "28/28": "Take them as prescribed on all 28 days of each cycle, with no break.",
}
# A restart on another schedule than now (MM maintenance: 5 mg every day -> 5 mg on days 1-21).
SCHEDULE_SHORT = {"21/28": "on days 1 to 21 of each 28-day cycle", "28/28": "on all 28 days of each cycle"}
# Where today falls in the cycle (assess `cycle`, `cycle_day` of the date), said while the capsules are taken.
TODAY_WORDS = {
    "dosing": "Today is day {day} of cycle {cycle}.",
    "rest": "Today is day {day} of cycle {cycle}: one of the 7 days without capsules.",
}


@dataclass
class DateLine:
    """One date the patient should know: what (the notice kind), when, whether it is past, and the line."""

    kind: str
    due: dt.date
    overdue: bool
    text: str


@dataclass
class PatientSummary:
    """What the patient is told: the action's tone and headline, sentences, dates and other notes."""

    action: str
    tone: str
    headline: str
    sentences: list[str] = field(default_factory=list)
    dates: list[DateLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    latest: str = ""

    def texts(self) -> list[str]:
        """Every piece of text of the summary, in reading order."""
        return [self.headline, *self.sentences, self.latest, *(d.text for d in self.dates), *self.notes]


def long_date(day: dt.date, *, as_of: dt.date) -> str:
    """ "Monday 23 November"; the year too when it is not the year of `as_of`."""
    text = f"{day:%A} {day.day} {day:%B}"
    return text if day.year == as_of.year else f"{text} {day.year}"


def _number(value: float) -> str:
    """1.0, 0.44, 30: a count as the chart shows it (a whole number below 10 keeps one decimal)."""
    return f"{value:.1f}" if value == int(value) and value < 10 else f"{value:g}"


def _joined(words: list[str]) -> str:
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def _count_names(analytes: list[str], *, explain: bool) -> str:
    """ "neutrophils (a type of white blood cell that fights infection)"; several joined with "and"."""
    names = []
    for a in dict.fromkeys(analytes):
        name, what = COUNT_WORDS.get(a, ("blood counts", ""))
        names.append(f"{name} ({what})" if explain and what else name)
    return _joined(names) or "blood counts"


def patient_action(card: dict, patient: dict) -> str:
    """The patient's action: the card's action (cards.next_action), `reduce` for a continue at a lower
    dose than the draw before, `no_draw` without a draw, `review` for a resume without a dose."""
    action = card.get("action")
    if action is None:
        return "no_draw"
    if action in ("continue", "resume") and card.get("dose_mg") is None:
        return "review"  # no dose to tell: the clinician says it
    if action == "continue" and (old := _previous_dose(patient)) is not None and (card.get("dose_mg") or 0) < old:
        return "reduce"
    return action if action in ACTION_WORDS else "review"


def _previous_dose(patient: dict) -> float | None:
    """The dose of the latest draw before the last one that has a dose; None when there is none."""
    for d in reversed((patient.get("draws") or [])[:-1]):
        if d.get("dose_mg") is not None:
            return float(d["dose_mg"])
    return None


def _held_counts(patient: dict, action: str) -> list[str]:
    """The counts that hold the capsules: a new hold's triggers; while held, the resume conditions whose
    count is still below its value on the latest draw (all of them when none is known)."""
    plan = patient.get("resume_plan") or {}
    triggers = [str(t.get("analyte")) for t in plan.get("triggers") or []]
    if action == "hold":
        return triggers
    values = last_draw(patient).get("values") or {}
    when = plan.get("when") or []
    low = [str(w["analyte"]) for w in when if w.get("analyte") in values and values[w["analyte"]] < w["value"]]
    return low or [str(w.get("analyte")) for w in when] or triggers


def _resume_sentence(patient: dict) -> str:
    """When and at what dose the capsules restart (the engine's `resume_plan`), in words."""
    plan = patient.get("resume_plan") or {}
    when = [w for w in plan.get("when") or [] if w.get("analyte") in COUNT_WORDS]
    if not when:
        return "Your doctor will tell you when to start again."
    conditions = _joined(
        [
            "the side effect has eased"
            if w["analyte"] == "toxicity"
            else f"your {COUNT_WORDS[w['analyte']][0]} are back up to {_number(float(w['value']))} or more"
            for w in when
        ]
    )
    if plan.get("dose_mg") is None:
        return f"When {conditions}, your doctor will decide the dose to restart at."
    schedule = plan.get("schedule")
    now = patient.get("schedule") or last_draw(patient).get("schedule")
    on = f", {SCHEDULE_SHORT[schedule]}" if schedule in SCHEDULE_SHORT and now and schedule != now else ""
    return f"When {conditions}, we plan to restart the capsules at {float(plan['dose_mg']):g} mg{on}."


def _action_sentences(action: str, card: dict, patient: dict, *, as_of: dt.date) -> list[str]:
    """The action's sentence (ACTION_WORDS) filled in, and what follows from it."""
    counts = _held_counts(patient, action) if action in ("hold", "stay_held") else []
    dose = card.get("dose_mg")
    old = _previous_dose(patient)
    first = ACTION_WORDS[action][2].format(
        dose=f"{dose:g}" if dose is not None else "",
        old=f"{old:g}" if old is not None else "",
        counts=_count_names([c for c in counts if c != "toxicity"], explain=True),
    )
    if counts == ["toxicity"]:
        first = SIDE_EFFECT_HOLD[action]
    sentences = [first]
    if action in ("hold", "stay_held"):
        sentences.append(_resume_sentence(patient))
    if action == "resume" and old is not None and dose is not None and dose < old:
        sentences.append(f"This is a lower dose than before ({old:g} mg).")
    last = as_date(last_draw(patient).get("date"))
    if patient.get("labs_overdue") and last is not None and action == "continue" and dose is not None:
        sentences[0] = OVERDUE_ADVICE.format(last=long_date(last, as_of=as_of), dose=f"{dose:g}")
    if action in ("continue", "reduce", "resume") and (words := SCHEDULE_WORDS.get(card.get("schedule") or "")):
        sentences.append(words)
        sentences += _today_in_cycle(patient, str(card.get("schedule")))
    return sentences


def _today_in_cycle(patient: dict, schedule: str) -> list[str]:
    """ "Today is day 25 of cycle 9: one of the 7 days without capsules." (assess `cycle`, `cycle_day` of the
    date; days after the schedule's dosing days are planned rest, DOMAIN.md section 1); [] when unknown."""
    cycle, day = patient.get("cycle"), patient.get("cycle_day")
    if not isinstance(cycle, int) or not isinstance(day, int) or cycle < 1 or not 1 <= day <= CYCLE_DAYS:
        return []
    rest = day > DOSING_DAYS.get(schedule, CYCLE_DAYS)
    return [TODAY_WORDS["rest" if rest else "dosing"].format(day=day, cycle=cycle)]


def _first_open_biopsy(patient: dict) -> dt.date | None:
    """The earliest marrow biopsy not done (assess `marrow_biopsies`), else `next_marrow_biopsy`."""
    open_ = [as_date(b.get("due")) for b in patient.get("marrow_biopsies") or [] if not b.get("done")]
    dates = [d for d in open_ if d is not None]
    return min(dates) if dates else as_date(patient.get("next_marrow_biopsy"))


def date_lines(patient: dict, *, as_of: dt.date) -> list[DateLine]:
    """The next blood test, bone marrow test and pregnancy test, each due or overdue, in date order."""
    found = [
        ("cbc", as_date(patient.get("next_labs_due"))),
        ("biopsy", _first_open_biopsy(patient)),
        ("pregnancy_test", as_date(patient.get("next_pregnancy_test"))),
    ]
    lines = []
    for what, due in found:
        if due is None:
            continue
        kind = f"{what}_overdue" if due < as_of else f"{what}_due"
        lines.append(DateLine(kind, due, due < as_of, NOTICE_WORDS[kind].format(due=long_date(due, as_of=as_of))))
    return sorted(lines, key=lambda line: line.due)


def notice_text(notice: dict, *, as_of: dt.date) -> str:
    """One notice (assess `notices`) in the patient's words: its kind's line with its date filled in."""
    due = as_date(notice.get("due"))
    words = NOTICE_WORDS.get(str(notice.get("kind")), "Your care team will talk with you about your results.")
    return words.format(due=long_date(due, as_of=as_of) if due is not None else "earlier")


def _notes(patient: dict, action: str, *, as_of: dt.date) -> list[str]:
    """The notices that are neither dates nor said by the action's sentence, in the patient's words, once each."""
    kept = [
        n
        for n in cards.notices_of(patient)
        if n.get("kind") not in DATE_KINDS and action not in SAID_BY_ACTION.get(str(n.get("kind")), ())
    ]
    return list(dict.fromkeys(notice_text(n, as_of=as_of) for n in kept))


def latest_counts(patient: dict, *, as_of: dt.date) -> str:
    """ "Your latest blood test (Monday 16 November): neutrophils 0.78, platelets 201." ; "" without one."""
    last = last_draw(patient)
    day, values = as_date(last.get("date")), last.get("values") or {}
    shown = [f"{COUNT_WORDS[a][0]} {_number(float(values[a]))}" for a in ("anc", "plt") if values.get(a) is not None]
    if day is None or not shown:
        return ""
    return f"Your latest blood test ({long_date(day, as_of=as_of)}): {', '.join(shown)}."


def summary(patient: dict, *, as_of: dt.date, card: dict | None = None) -> PatientSummary:
    """The patient's summary on `as_of`: from the card (cards.next_action, made here when not given), the
    resume plan, the notices and the next dates of the assessment; no rule ids, no label sections."""
    card = card if card is not None else cards.next_action(patient, as_of=as_of)
    action = patient_action(card, patient)
    tone, headline, _ = ACTION_WORDS[action]
    if tone == "ok" and patient.get("labs_overdue"):
        tone = "stale"  # advice from an old blood test: not a plain green go-ahead (as the clinician's card)
    dose = card.get("dose_mg")
    return PatientSummary(
        action=action,
        tone=tone,
        headline=headline.format(dose=f"{dose:g}" if dose is not None else ""),
        sentences=_action_sentences(action, card, patient, as_of=as_of),
        dates=date_lines(patient, as_of=as_of),
        notes=_notes(patient, action, as_of=as_of),
        latest=latest_counts(patient, as_of=as_of),
    )
