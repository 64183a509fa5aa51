"""Synthetic courses for the insight tests (never real patients): contract-shaped frames through assess()."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from dosing_cases import course

from lenadash.clinical import assess

START = dt.date(2026, 1, 5)
UNITS = {"anc": "10^9/L", "plt": "10^9/L", "wbc": "10^9/L", "hgb": "g/dL"}
NORMAL = {"anc": 3.0, "plt": 200.0, "hgb": 12.0}


def labs(draws, *, mrn: str = "T1", start: dt.date = START) -> pd.DataFrame:
    """Labs-contract rows (assess grades them). draws: [(study day, {analyte: value})]; day 0 = the start."""
    rows = []
    for i, (day, values) in enumerate(draws):
        for analyte, value in values.items():
            rows.append(
                {
                    "mrn": mrn,
                    "collected_at": pd.Timestamp(start) + pd.Timedelta(days=day, hours=8),
                    "analyte": analyte,
                    "value": float(value),
                    "unit": UNITS[analyte],
                    "comparator": "",
                    "raw_value": str(value),
                    "raw_unit": UNITS[analyte],
                    "raw_name": analyte,
                    "loinc": None,
                    "ref_low": np.nan,
                    "ref_high": np.nan,
                    "flag": None,
                    "status": "Final",
                    "line": i + 2,
                }
            )
    return pd.DataFrame(rows)


def events(rows, *, mrn: str = "T1", start: dt.date = START) -> pd.DataFrame:
    """Events-contract rows. rows: [(study day, kind, value[, detail])], parsed as the reader would."""
    out = []
    for row in rows:
        day, kind, value = row[:3]
        detail = row[3] if len(row) > 3 else ""
        out.append(
            {
                "mrn": mrn,
                "date": start + dt.timedelta(days=day),
                "event": kind,
                "value": str(value),
                "detail": detail,
                "temperature_c": float(value) if kind == "fever" else np.nan,
                "grade": int(value) if kind == "toxicity" else None,
                "result": value if kind == "pregnancy_test" else None,
                "dose_mg": float(value) if kind == "dose_change" and value != "hold" else np.nan,
                "is_hold": kind == "dose_change" and value == "hold",
                "agent": value if kind in ("thromboprophylaxis", "vte_risk_factor", "rems_authorization") else None,
            }
        )
    df = pd.DataFrame(out)
    df["grade"] = df["grade"].astype("Int64")
    return df


def assessed(indication: str, draws, *, as_of_day: int, evts=(), dose=None, schedule=None, **fields) -> dict:
    """The one patient entry of assess() for a synthetic course (`fields` overrides the course's columns)."""
    patients = pd.DataFrame([{**course(indication, dose=dose, schedule=schedule), **fields}])
    ev = events(evts) if evts else None
    result = assess.assess(patients, labs(draws), ev, as_of=START + dt.timedelta(days=as_of_day))
    (entry,) = result["patients"]
    return entry


def day(n: int) -> str:
    return (START + dt.timedelta(days=n)).isoformat()
