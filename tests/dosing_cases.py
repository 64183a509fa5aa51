"""Synthetic course builders for the dose-engine tests (never real patients)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from lenadash.clinical import dosing

START = dt.date(2026, 1, 5)
START_DOSE = {"MM": 25.0, "MM_MAINT": 10.0, "MDS": 10.0, "MCL": 25.0, "FL": 20.0, "MZL": 20.0}
NORMAL_VALUES = {"anc": 3.0, "plt": 200.0}
SCHEDULE = {"MM": "21/28", "MM_MAINT": "28/28", "MDS": "28/28", "MCL": "21/28", "FL": "21/28", "MZL": "21/28"}


def ctcae(analyte: str, value: float) -> int:
    """CTCAE v5 grade of ANC / platelets (DOMAIN.md §4), enough for the engine tests."""
    bands = {"anc": (0.5, 1.0, 1.5, 1.8), "plt": (25, 50, 75, 150)}[analyte]
    for grade, limit in zip((4, 3, 2, 1), bands):
        if value < limit:
            return grade
    return 0


def course(
    indication: str, *, dose: float | None = None, schedule: str | None = None, mrn: str = "T1", start: dt.date = START
) -> dict:
    return {
        "mrn": mrn,
        "name": "Test Patient",
        "sex": "F",
        "birth_date": dt.date(1960, 1, 1),
        "weight_kg": 70.0,
        "indication": indication,
        "start_date": start,
        "starting_dose_mg": float(dose if dose is not None else START_DOSE[indication]),
        "schedule": schedule or SCHEDULE[indication],
        "combination": None,
        "reproductive_potential": False,
        "menses": None,
        "dialysis": False,
    }


def labs_frame(draws, *, mrn: str = "T1", start: dt.date = START) -> pd.DataFrame:
    """draws: [(study day, {analyte: value or (value, grade)})]; day 0 = the start date."""
    rows = []
    for day, values in draws:
        when = pd.Timestamp(start) + pd.Timedelta(days=day, hours=8)
        for analyte, v in values.items():
            value, grade = v if isinstance(v, tuple) else (v, ctcae(analyte, v) if analyte in ("anc", "plt") else 0)
            rows.append(
                {
                    "mrn": mrn,
                    "collected_at": when,
                    "analyte": analyte,
                    "value": float(value),
                    "unit": "",
                    "comparator": "",
                    "grade": grade,
                }
            )
    df = pd.DataFrame(rows, columns=["mrn", "collected_at", "analyte", "value", "unit", "comparator", "grade"])
    df["grade"] = df["grade"].astype("Int64")
    return df


def events_frame(events, *, mrn: str = "T1", start: dt.date = START) -> pd.DataFrame:
    """events: [(study day, kind, value)] with value a temperature, grade, dose (mg), 'hold' or ''."""
    rows = []
    for day, kind, value in events:
        rows.append(
            {
                "mrn": mrn,
                "date": start + dt.timedelta(days=day),
                "event": kind,
                "value": str(value),
                "detail": "",
                "temperature_c": float(value) if kind == "fever" and value != "" else float("nan"),
                "grade": int(value) if kind == "toxicity" else None,
                "result": None,
                "dose_mg": float(value) if kind == "dose_change" and value != "hold" else float("nan"),
                "is_hold": kind == "dose_change" and value == "hold",
                "agent": None,
            }
        )
    df = pd.DataFrame(
        rows,
        columns=[
            "mrn",
            "date",
            "event",
            "value",
            "detail",
            "temperature_c",
            "grade",
            "result",
            "dose_mg",
            "is_hold",
            "agent",
        ],
    )
    df["grade"] = df["grade"].astype("Int64")
    return df


def run(
    indication: str, draws, *, events=(), dose: float | None = None, schedule: str | None = None, profile="us_pi"
) -> pd.DataFrame:
    patients = pd.DataFrame([course(indication, dose=dose, schedule=schedule)])
    return dosing.simulate(labs_frame(draws), patients, events_frame(events) if events else None, profile=profile)


def walk(indication: str, draws, **kw) -> list[tuple]:
    """[(study day, action, dose_mg)] for every step."""
    out = run(indication, draws, **kw)
    start = pd.Timestamp(START)
    return [
        ((d - start).days, a, None if pd.isna(m) else float(m))
        for d, a, m in zip(out["date"], out["action"], out["dose_mg"])
    ]


def last(indication: str, draws, **kw) -> tuple:
    """(action, dose_mg, schedule, reasons) of the last step."""
    out = run(indication, draws, **kw)
    row = out.iloc[-1]
    return row["action"], (None if pd.isna(row["dose_mg"]) else float(row["dose_mg"])), row["schedule"], row["reasons"]
