"""Single values in the dose engine: what counts as missing, numbers as a clinician writes them, engine rule ids."""

from __future__ import annotations

import math

import pandas as pd

# pseudo-analyte of a rule row: the grade of a recorded toxicity event (written as a whole number)
TOXICITY = "toxicity"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def _fmt(x) -> str:
    """Numbers as a clinician writes them: 1.0, 0.75, 30, 2.5."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    x = round(float(x), 3)
    if abs(x) < 10:
        text = f"{x:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return f"{x:g}"


def _mg(x) -> str:
    return f"{float(x):g}"


def _fmt_value(analyte: str, x) -> str:
    return str(int(x)) if analyte == TOXICITY else _fmt(x)


# Engine rule ids: decisions that come from elsewhere than a profile's dose rule, listed in a draw's `rules`
# beside the profile's rule ids (docs/assess.md). id -> (source, meaning). A closed list.
CLINICIAN_DOSE = "CLINICIAN-DOSE"
CLINICIAN_HOLD = "CLINICIAN-HOLD"
GRADE3_REVIEW = "GRADE3-REVIEW"
CYCLE_LIMIT = "CYCLE-LIMIT"
REMS_STOP = "REMS-STOP"
NO_COURSE = "NO-COURSE"
ENGINE_RULES: dict[str, tuple[str, str]] = {
    CLINICIAN_DOSE: ("clinician (dose_change event)", "a recorded dose_change gave the dose"),
    CLINICIAN_HOLD: ("clinician (dose_change event)", "a recorded dose_change hold; only a recorded dose ends it"),
    GRADE3_REVIEW: (
        "US PI 2.1-2.4 (other grade 3/4 toxicities)",
        "a non-haematologic lab graded >= 3, or a grade >= 3 toxicity event without a rule, asks for review",
    ),
    CYCLE_LIMIT: ("US PI 2.4 (FL/MZL: up to 12 cycles)", "past the label's cycle limit: continuing is a decision"),
    REMS_STOP: ("Lenalidomide REMS", "a positive pregnancy test or a missed period stopped treatment"),
    NO_COURSE: ("patients file", "lab results for a patient without a treatment course"),
}
