"""Single values in the dose engine: what counts as missing, and numbers as a clinician writes them."""

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
