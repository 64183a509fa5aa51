"""The reason sentences of the dose engine: data in (rule, value, dose, date), the clinician's text out."""

# The walk decides; these functions only word its decisions. Each sentence cites the rule's source and the
# indication so that a clinician can check it against the label.

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from lenadash.clinical.dosing.profiles import DoseRule
from lenadash.clinical.dosing.values import TOXICITY, _fmt, _fmt_value, _mg
from lenadash.vocab import analytes

# Analyte names in reasons. ANC, Platelets and WBC are vocab's display labels; the reasons keep "Hgb" (vocab
# shows "Hemoglobin") and name the toxicity-event pseudo-analyte, which vocab does not know.
LABEL = {
    **{a: analytes.LABEL[a] for a in ("anc", "plt", "wbc")},
    "hgb": "Hgb",
    TOXICITY: "Toxicity grade",
}
CBC_WEEKLY = "during a hold the PI asks for a CBC weekly"


def label(analyte: str) -> str:
    return LABEL.get(analyte, analyte)


def value_text(analyte: str, value) -> str:
    """ "ANC 0.4", "Platelets 28", "Toxicity grade 3"."""
    return f"{label(analyte)} {_fmt_value(analyte, value)}"


# --- citations ---------------------------------------------------------------------------------


def cite(rule: DoseRule, indication: str | None) -> str:
    return f"({rule.source}, {indication}; rule {rule.rule})"


def cite_many(rules: Sequence[DoseRule], indication: str | None) -> str:
    if len(rules) == 1:
        return cite(rules[0], indication)
    sources = ", ".join(dict.fromkeys(r.source for r in rules))
    return f"({sources}, {indication}; rules {', '.join(r.rule for r in rules)})"


# --- courses the engine cannot walk ------------------------------------------------------------


def before_start() -> str:
    return "before the start of treatment (cycle 0): no dose rule applies; baseline draw"


def no_starting_dose() -> str:
    return "no starting dose recorded for this course: add starting_dose_mg to the patients file"


def no_rules_for(profile_id: str, indication, indications: Iterable[str]) -> str:
    return (
        f"profile {profile_id} has no dose rules or ladder for indication {indication!r}: "
        f"use one of {sorted(indications)}"
    )


def unusable_course(problem: str) -> str:
    return f"{problem}; clinician review"


# --- what a draw or an event shows -------------------------------------------------------------


def fever_without_temperature() -> str:
    return "fever recorded without a temperature: the >= 38.5 C rules cannot be applied; clinician review"


def graded(analyte: str, grade: int) -> str:
    return f"{analyte} grade {grade}"


def preexisting(graded_texts: list[str]) -> str:
    return f"{', '.join(graded_texts)} (CTCAE v5.0): as at baseline - pre-existing, not a new toxicity"


def non_haematologic_review(graded_texts: list[str]) -> str:
    return (
        f"{', '.join(graded_texts)} (CTCAE v5.0): clinician review - not an automatic hold, the PI asks "
        "whether the toxicity is related to lenalidomide (US PI 2.1-2.4, other grade 3/4 toxicities)"
    )


def toxicity_without_rule(grade: float, profile_id: str, indication) -> str:
    return (
        f"recorded grade {_fmt(grade)} toxicity: profile {profile_id} has no automatic rule for "
        f"{indication}; clinician review"
    )


def missing_baseline(analyte: str, value: float, rule: DoseRule, indication: str | None) -> str:
    name = label(analyte)
    return (
        f"{name} {_fmt(round(value, 3))}: rule {rule.rule} ({rule.condition()}) needs a baseline "
        f"{name} (latest on or before the start, up to 30 days before) and none was "
        f"found: clinician review {cite(rule, indication)}"
    )


def trigger(
    analyte: str,
    value: float,
    rule: DoseRule,
    threshold: float,
    *,
    baseline: float | None = None,
    below_since: dt.date | None = None,
    below_days: int | None = None,
    fever_c: float | None = None,
    transfusion: bool = False,
) -> str:
    """ "ANC 0.4 < 0.5 for 8 days (below since ...) with fever 38.9 C": the count, the rule's threshold and
    whichever extra condition (share of baseline, persistence, fever, transfusion) the rule needed."""
    extra = ""
    if baseline is not None:
        extra += f" ({_fmt(rule.hold_value * 100)}% of baseline {_fmt(baseline)})"
    if below_since is not None:
        extra += f" for {below_days} days (below since {below_since.isoformat()})"
    if fever_c is not None:
        extra += f" with fever {_fmt(fever_c)} C"
    if transfusion:
        extra += " with platelet transfusion"
    return f"{value_text(analyte, value)} {rule.hold_op} {_fmt_value(analyte, threshold)}{extra}"


# --- hold, stay held, recover, resume ----------------------------------------------------------


def hold(trigger_text: str, rules: Sequence[DoseRule], indication: str | None) -> str:
    return f"{trigger_text}: hold {cite_many(rules, indication)}"


def hold_at_floor(dose_mg: float, schedule: str) -> str:
    return f"already at the floor ({_mg(dose_mg)} mg {schedule}): on recovery the clinician decides"


def also_triggers(trigger_text: str, rules: Sequence[DoseRule], indication: str | None) -> str:
    return f"{trigger_text}: also triggers while held - no further step down {cite_many(rules, indication)}"


def _held_since(start: dt.date) -> str:
    return f"held since {start.isoformat()}"


def held_by_clinician(start: dt.date) -> str:
    return f"{_held_since(start)} by a clinician (dose_change hold): resume needs a recorded dose"


def waiting_for_count(start: dt.date, analyte: str, value, rule: DoseRule, indication: str | None) -> str:
    shown = "not measured yet" if value is None else _fmt_value(analyte, value)
    return (
        f"{_held_since(start)}: {label(analyte)} {shown}, resume when {rule.resume_op} "
        f"{_fmt_value(analyte, rule.resume_value)} {cite(rule, indication)}"
    )


def recovered(counts: Iterable[tuple[str, float, DoseRule]]) -> str:
    """ "ANC 1.2 >= 1.0; Platelets 45 >= 30": each triggering count with the threshold it reached."""
    return "; ".join(f"{value_text(a, v)} {r.resume_op} {_fmt_value(a, r.resume_value)}" for a, v, r in counts)


def recovered_at_floor(
    recovered_text: str, dose_mg: float, schedule: str, sources: Iterable[str], indication: str | None
) -> str:
    return (
        f"{recovered_text}: counts recovered, but the hold began at the floor "
        f"({_mg(dose_mg)} mg {schedule}): clinician decision "
        f"({', '.join(dict.fromkeys(sources))}, {indication})"
    )


def no_lower_dose(recovered_text: str, indication) -> str:
    return f"{recovered_text}: no lower dose on the {indication} ladder: clinician decision"


def resume_basis(basis: str, ladder_source: str | None = None) -> str:
    """Why this resume dose: the words for a ResumePlan's `basis`."""
    if basis == "next_lower":
        return f"next lower dose ({ladder_source})"
    return {
        "starting_dose": "starting dose",
        "dose_at_hold": "dose at the hold (not above it)",
        "table": "dose the table gives",
    }[basis]


def resume(recovered_text: str, dose_mg: float, schedule: str, why: str, rule: DoseRule, indication: str | None) -> str:
    return f"{recovered_text}: resume at {_mg(dose_mg)} mg {schedule} ({why}) {cite(rule, indication)}"


def awaiting_decision(since: dt.date) -> str:
    return f"awaiting a clinician decision since {since.isoformat()} (record a dose_change event with the new dose)"


# --- the clinician's dose_change events --------------------------------------------------------


def clinician_hold(when: dt.date) -> str:
    return f"clinician recorded a hold on {when.isoformat()} (dose_change event)"


def clinician_hold_while_held(when: dt.date) -> str:
    return f"{clinician_hold(when)}: already held"


def clinician_dose(dose_mg: float, when: dt.date) -> str:
    return (
        f"clinician recorded {_mg(dose_mg)} mg on {when.isoformat()} (dose_change event): "
        "overrides the simulated dose from this date on"
    )


# --- REMS stop ---------------------------------------------------------------------------------

STOP_EVENT_WORDS = {"pregnancy_test": "positive pregnancy test", "missed_period": "missed period"}


def rems_stop(event_kind: str, when: dt.date) -> str:
    return (
        f"{STOP_EVENT_WORDS.get(event_kind, event_kind)} on {when.isoformat()}: stop treatment, no count-based "
        "resume; the prescriber decides (record a dose_change event) (Lenalidomide REMS)"
    )


def still_stopped(since: dt.date) -> str:
    return f"stopped since {since.isoformat()} (Lenalidomide REMS): restarts only with a recorded dose_change"


# --- dates and cycles --------------------------------------------------------------------------


def on_event_date(when: dt.date, text: str) -> str:
    """A reason raised on an event-only date, shown on the next draw."""
    return f"{when.isoformat()}: {text}"


def beyond_cycle_limit(cycle: int, limit: int, limit_row: Mapping) -> str:
    return (
        f"cycle {cycle}: beyond the {limit}-cycle limit - {limit_row['reason']} "
        f"[{limit_row['source']}]: continuing is a clinician decision (record a dose_change event)"
    )


def continued_beyond_cycle_limit(cycle: int, limit: int, limit_row: Mapping, decided_on: dt.date) -> str:
    return (
        f"cycle {cycle}: beyond the {limit}-cycle limit [{limit_row['source']}]: continued by the "
        f"clinician's decision (dose_change event on {decided_on.isoformat()})"
    )


def planned_rest(cycle_day: int, schedule: str) -> str:
    return f"day {cycle_day} of {schedule}: planned rest, not a hold"
