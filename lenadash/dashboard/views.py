"""The page-facing facade of 0.1's `lenadash.views`: every public shaping name, from its module by noun.

The pages and the dashboard import the modules themselves (worklist, patient, timeline, cards,
setup_form, present); this module keeps `from lenadash import views; views.next_action(...)` working
for scripts written against 0.1.
"""

from __future__ import annotations

from lenadash.dashboard.cards import (
    dose_now,
    find_patient,
    in_days_text,
    next_action,
    patient_label,
    resume_plan,
    upcoming,
    visit_identity,
)
from lenadash.dashboard.present import (
    ACTION_LABELS,
    ANALYTE_LABELS,
    EVENT_LABELS,
    FLOWSHEET_ORDER,
    GRADE_COLOURS,
    GRADE_FILLS,
    STATUS_LABELS,
    STATUS_WORDS,
    grade_colour,
)
from lenadash.dashboard.results import (
    RESULT_COLUMNS,
    crcl_series,
    cycle_overlay,
    draws_frame,
    flowsheet,
    results_long,
    thresholds_frame,
)
from lenadash.dashboard.setup_form import (
    SETUP_REQUIRED,
    StartingDoses,
    and_join,
    dose_problem,
    missing_setup_fields,
    starting_doses,
)
from lenadash.dashboard.timeline import (
    WINDOW_PRESETS,
    cycle_table,
    dose_steps,
    draws_in_window,
    hold_spans,
    window_anchor,
    window_range,
)
from lenadash.dashboard.worklist import (
    FLAG_LABELS,
    FLAG_RULES,
    WORKLIST_COLUMNS,
    FlagRule,
    current_cycle_day,
    filter_worklist,
    flag_text,
    grade3_analytes,
    patient_flags,
    worklist,
    worklist_display,
)
from lenadash.vocab.course import INDICATION_NAMES

__all__ = [
    "ACTION_LABELS",
    "ANALYTE_LABELS",
    "EVENT_LABELS",
    "FLAG_LABELS",
    "FLAG_RULES",
    "FLOWSHEET_ORDER",
    "FlagRule",
    "GRADE_COLOURS",
    "GRADE_FILLS",
    "INDICATION_NAMES",
    "RESULT_COLUMNS",
    "SETUP_REQUIRED",
    "STATUS_LABELS",
    "STATUS_WORDS",
    "StartingDoses",
    "WINDOW_PRESETS",
    "WORKLIST_COLUMNS",
    "and_join",
    "crcl_series",
    "current_cycle_day",
    "cycle_overlay",
    "cycle_table",
    "dose_now",
    "dose_problem",
    "dose_steps",
    "draws_frame",
    "draws_in_window",
    "filter_worklist",
    "find_patient",
    "flag_text",
    "flowsheet",
    "grade3_analytes",
    "grade_colour",
    "hold_spans",
    "in_days_text",
    "missing_setup_fields",
    "next_action",
    "patient_flags",
    "patient_label",
    "resume_plan",
    "results_long",
    "starting_doses",
    "thresholds_frame",
    "upcoming",
    "visit_identity",
    "window_anchor",
    "window_range",
    "worklist",
    "worklist_display",
]
