"""Dose-modification engine: walks each course's draws and events through a versioned rule profile."""

# profiles reads the rule tables and ladders, steps prepares one row per (course, date) and runs simulate,
# walk is the per-course state machine, reasons words its decisions, thresholds gives the chart lines.
# The names below are the engine's public surface, as in lenadash 0.1's dosing.py.

from lenadash.clinical.dosing import profiles, reasons, steps, values, walk
from lenadash.clinical.dosing.profiles import (
    DEFAULT_PROFILE,
    EARLY_WINDOW_DAYS,
    EPISODES,
    LADDER_COLUMNS,
    OPS,
    OTHER_TOXICITY,
    PROFILE_COLUMNS,
    RULE_COLUMNS,
    RULES_DIR,
    WINDOWS,
    DoseRule,
    LadderStep,
    Profile,
    ProfileError,
    at_floor,
    list_profiles,
    load_profile,
    next_lower,
)
from lenadash.clinical.dosing.reasons import LABEL
from lenadash.clinical.dosing.steps import STEP_COLUMNS, simulate

# the function, bound after the submodule of the same name was imported, so `dosing.thresholds(...)` works
from lenadash.clinical.dosing.thresholds import thresholds
from lenadash.clinical.dosing.values import (
    CLINICIAN_DOSE,
    CLINICIAN_HOLD,
    CYCLE_LIMIT,
    ENGINE_RULES,
    GRADE3_REVIEW,
    NO_COURSE,
    REMS_STOP,
    TOXICITY,
)
from lenadash.clinical.dosing.walk import (
    ACTIONS,
    BASES,
    FEVER_C,
    HAEMATOLOGIC,
    NEUTROPENIA_ITSELF,
    CourseWalk,
    Episode,
    ResumePlan,
    State,
)

__all__ = [
    "ACTIONS",
    "BASES",
    "CLINICIAN_DOSE",
    "CLINICIAN_HOLD",
    "CYCLE_LIMIT",
    "ENGINE_RULES",
    "GRADE3_REVIEW",
    "NO_COURSE",
    "REMS_STOP",
    "DEFAULT_PROFILE",
    "EARLY_WINDOW_DAYS",
    "EPISODES",
    "FEVER_C",
    "HAEMATOLOGIC",
    "LABEL",
    "LADDER_COLUMNS",
    "NEUTROPENIA_ITSELF",
    "OPS",
    "OTHER_TOXICITY",
    "PROFILE_COLUMNS",
    "RULES_DIR",
    "RULE_COLUMNS",
    "STEP_COLUMNS",
    "TOXICITY",
    "WINDOWS",
    "CourseWalk",
    "DoseRule",
    "Episode",
    "LadderStep",
    "Profile",
    "ProfileError",
    "ResumePlan",
    "State",
    "at_floor",
    "list_profiles",
    "load_profile",
    "next_lower",
    "profiles",
    "reasons",
    "simulate",
    "steps",
    "thresholds",
    "values",
    "walk",
]
