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


# CTCAE grade -> marker colour on the white chart; None = not graded. Chosen so that every pair stays at
# least 10 CIEDE2000 apart under normal vision, deuteranopia and protanopia (Machado et al. 2009
# simulation) and every colour has at least 3:1 contrast on white (WCAG 1.4.11); tests/test_palette.py
# checks both. Grade 0 is blue, not green, because green and red are what those viewers confuse; the
# marker shape (GRADE_SYMBOLS) and the "G3" text say the grade too, so colour never carries it alone.
GRADE_COLOURS: dict[int | None, str] = {
    0: "#2c7bb6",
    1: "#a07000",
    2: "#c2187f",
    3: "#9c1027",
    4: "#40004b",
    None: "#757575",
}
# Cell fills (flowsheet, legend chips, worklist counts): pale to mid tones that stay at least 10 CIEDE2000
# apart under the same simulations, each with the one dark text colour GRADE_TEXT at 4.4:1 or more
# (so every table that colours a cell by grade, the visit handout's too, keeps its dark text readable).
GRADE_FILLS: dict[int | None, str] = {
    0: "#e6f0fa",
    1: "#fff3b0",
    2: "#f6a04d",
    3: "#d6604d",
    4: "#a67dbd",
    None: "#ffffff",
}
GRADE_TEXT_COLOUR = "#1f1f1f"
GRADE_TEXT: dict[int | None, str] = dict.fromkeys(GRADE_FILLS, GRADE_TEXT_COLOUR)
# Marker shape per grade (plotly symbols): filled shapes grade 0-4, an open circle when not graded.
GRADE_SYMBOLS: dict[int | None, str] = {
    0: "circle",
    1: "square",
    2: "diamond",
    3: "triangle-up",
    4: "x",
    None: "circle-open",
}


def grade_colour(grade: Any) -> str:
    """Marker colour for a CTCAE grade; None/NaN (not graded) is grey."""
    return GRADE_COLOURS.get(grade_or_none(grade), GRADE_COLOURS[None])


def grade_symbol(grade: Any) -> str:
    """Marker shape for a CTCAE grade (GRADE_SYMBOLS); an open circle when not graded."""
    return GRADE_SYMBOLS.get(grade_or_none(grade), GRADE_SYMBOLS[None])


def grade_text(grade: Any) -> str:
    """ "G3" for grade 3; "" when not graded (None/NaN)."""
    g = grade_or_none(grade)
    return "" if g is None else f"G{g}"


# Fixed y ranges of the chart panels, in each analyte's canonical unit: wide enough to show the usual
# range and the label's thresholds, so that a normal value looks normal (Hgb 11.5-13 on an auto-scaled
# axis looked like a collapse) and two patients' charts read alike. An axis grows only for a value
# outside its range. Counts: ANC hold thresholds 0.5-1.0 and the 1.8-7.7 reference interval; platelets
# 25-50 (hold) to 450 (ULN); Hgb 6 (below CTCAE grade 3 at 8) to 17 (above the 16-18 ULN); WBC to 15.
# Chemistry: creatinine to 3 mg/dL (2.5x ULN); CrCl to 150 mL/min (the renal bands are 30 and 60);
# AST/ALT/ALP to 200 U/L; bilirubin to 3 mg/dL (3x ULN, CTCAE grade 2/3).
Y_RANGES: dict[str, tuple[float, float]] = {
    "anc": (0.0, 6.0),
    "plt": (0.0, 450.0),
    "hgb": (6.0, 17.0),
    "wbc": (0.0, 15.0),
    "creatinine": (0.0, 3.0),
    "crcl": (0.0, 150.0),
    "ast": (0.0, 200.0),
    "alt": (0.0, 200.0),
    "alp": (0.0, 200.0),
    "bilirubin": (0.0, 3.0),
}


def y_range(analyte: str, values: Any = ()) -> tuple[float, float] | None:
    """The panel's y range (Y_RANGES), widened by 5% of the span beyond any value outside it; None for an
    analyte without a fixed range (the axis scales itself)."""
    fixed = Y_RANGES.get(analyte)
    if fixed is None:
        return None
    lo, hi = fixed
    seen = [float(v) for v in values if v is not None and v == v]
    pad = 0.05 * (hi - lo)
    if seen and min(seen) < lo:
        lo = min(seen) - pad
    if seen and max(seen) > hi:
        hi = max(seen) + pad
    return lo, hi


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
