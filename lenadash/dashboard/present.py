"""Presentation tables of the dashboard: analyte rows and labels, grade colours, action, event and status words."""

from __future__ import annotations

from typing import Any

from lenadash.dashboard.assessed import grade_or_none
from lenadash.vocab.analytes import CANONICAL_UNIT, LABEL

# Row order of the flowsheet (a presentation choice: counts first, then kidney, liver, chemistry).
FLOWSHEET_ORDER: tuple[str, ...] = (
    "anc",
    "plt",
    "hgb",
    "wbc",
    "alc",
    "creatinine",
    "ast",
    "alt",
    "alp",
    "bilirubin",
    "sodium",
    "potassium",
    "chloride",
    "co2",
    "bun",
    "glucose",
    "calcium",
    "albumin",
    "total_protein",
)
# Display name and canonical unit per analyte, in flowsheet order (both from vocab.analytes).
ANALYTE_LABELS: dict[str, tuple[str, str]] = {a: (LABEL[a], CANONICAL_UNIT[a]) for a in FLOWSHEET_ORDER}


def analyte_label(analyte: str, default: str | None = None) -> str:
    """Short display name of an analyte ("ANC"); `default` (else the key itself) for one vocab does not know."""
    return LABEL.get(analyte, analyte if default is None else default)


def analyte_unit(analyte: str) -> str:
    """Canonical unit of an analyte ("10^9/L"); "" for one vocab does not know."""
    return CANONICAL_UNIT.get(analyte, "")


# CTCAE grade -> colour (markers and flowsheet cells); None = not graded.
GRADE_COLOURS: dict[int | None, str] = {
    0: "#2e7d32",
    1: "#c9a227",
    2: "#ef6c00",
    3: "#c62828",
    4: "#6a1b9a",
    None: "#757575",
}
# Lighter fills for table cells, same order as GRADE_COLOURS.
GRADE_FILLS: dict[int | None, str] = {
    0: "#e8f5e9",
    1: "#fff8d6",
    2: "#ffe0b2",
    3: "#ffcdd2",
    4: "#e1bee7",
    None: "#ffffff",
}


def grade_colour(grade: Any) -> str:
    """Marker colour for a CTCAE grade; None/NaN (not graded) is grey."""
    return GRADE_COLOURS.get(grade_or_none(grade), GRADE_COLOURS[None])


# The grading version the assessment used (its top-level `grading`, pinned by the rule profile), as printed.
GRADING_NAMES = {"ctcae_v5": "CTCAE v5.0", "ctcae_v6": "CTCAE v6.0"}


def grading_name(grading: str | None) -> str:
    """ "CTCAE v5.0" for `ctcae_v5`; an unknown key is shown as it is, never as another version."""
    return GRADING_NAMES.get(grading or "ctcae_v5", str(grading))


ACTION_LABELS = {
    "continue": "Continue",
    "hold": "HOLD",
    "stay_held": "Stay on hold",
    "resume": "Resume",
    "review": "Clinician review",
    "stop": "STOP",
}
# The card's colour per latest action: red for hold and stop (REMS), orange for review, green to dose.
ACTION_TONES = {
    "hold": "hold",
    "stay_held": "hold",
    "stop": "hold",
    "review": "review",
    "continue": "ok",
    "resume": "ok",
}

# Words for vocab.course.EVENT_KINDS (tests hold the two to the same keys).
EVENT_LABELS = {
    "fever": "Fever",
    "platelet_transfusion": "Platelet transfusion",
    "toxicity": "Toxicity",
    "pregnancy_test": "Pregnancy test",
    "marrow_biopsy": "Marrow biopsy",
    "marrow_biopsy_planned": "Marrow biopsy planned",
    "missed_period": "Missed period",
    "dose_change": "Dose change",
    "thromboprophylaxis": "Thromboprophylaxis",
    "vte_risk_factor": "VTE risk factor",
    "rems_authorization": "REMS authorization",
}

# The worklist's dose/status cell.
STATUS_LABELS = {"on_treatment": "on treatment", "held": "HELD", "review": "REVIEW", "stopped": "STOPPED"}
# The course status in words (the card's "Status:" line), not the engine's raw keys.
STATUS_WORDS = {
    "on_treatment": "on treatment",
    "held": "held",
    "review": "review",
    "not_started": "not started",
    "stopped": "stopped",
    "completed": "completed",
}
