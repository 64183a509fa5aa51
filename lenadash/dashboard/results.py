"""One patient's results as tables: draws, results with their grades, cycle overlay, flowsheet, thresholds, CrCl."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from lenadash.dashboard.assessed import as_date, grade_or_none, required_date
from lenadash.dashboard.present import ACTION_LABELS, FLOWSHEET_ORDER, analyte_label, analyte_unit

DRAW_COLUMNS = ["date", "cycle", "cycle_day", "action", "dose_mg", "schedule", "recommendation"]
RESULT_COLUMNS = [
    "date",
    "analyte",
    "value",
    "unit",
    "raw_value",
    "raw_unit",
    "ref_low",
    "ref_high",
    "grade",
    "action",
    "recommendation",
    "cycle",
    "cycle_day",
]


def _draw_row(draw: dict) -> dict:
    reasons = [r for r in (draw.get("reasons") or []) if r]
    action = draw.get("action")
    label = ACTION_LABELS.get(action, str(action)) if action else ""
    return {
        "date": pd.Timestamp(draw["date"]),
        "cycle": draw.get("cycle"),
        "cycle_day": draw.get("cycle_day"),
        "action": draw.get("action") or "",
        "dose_mg": draw.get("dose_mg"),
        "schedule": draw.get("schedule"),
        "recommendation": label + (": " + "; ".join(reasons) if reasons else ""),
    }


def draws_frame(patient: dict) -> pd.DataFrame:
    """Draw-level table: date, cycle, cycle_day, action, dose_mg, schedule, recommendation."""
    df = pd.DataFrame([_draw_row(d) for d in patient.get("draws") or []], columns=DRAW_COLUMNS)
    df["date"] = pd.to_datetime(df["date"])
    df["dose_mg"] = pd.to_numeric(df["dose_mg"], errors="coerce").astype("float64")
    for col in ("cycle", "cycle_day"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    return df


def _graded(patient: dict) -> pd.DataFrame:
    """The engine's value and grade of every result in the draws (date, analyte, draw_value, grade)."""
    graded = [
        {
            "date": pd.Timestamp(d["date"]),
            "analyte": a,
            "draw_value": v,
            "grade": grade_or_none((d.get("grades") or {}).get(a)),
        }
        for d in patient.get("draws") or []
        for a, v in (d.get("values") or {}).items()
    ]
    g = pd.DataFrame(graded, columns=["date", "analyte", "draw_value", "grade"])
    g["date"] = pd.to_datetime(g["date"])
    g["grade"] = pd.to_numeric(g["grade"], errors="coerce").astype("Int64")
    return g


def _stored_results(patient: dict, labs: pd.DataFrame, graded: pd.DataFrame) -> pd.DataFrame:
    """The stored labs of the patient (raw value, unit, reference range) with the engine's grade."""
    mrn = str(patient.get("mrn", ""))
    lab = labs[labs["mrn"].astype(str) == mrn] if "mrn" in labs.columns else labs
    lab = lab.assign(date=pd.to_datetime(lab["collected_at"]).dt.normalize())
    keep = ["date", "analyte", "value", "unit", "raw_value", "raw_unit", "ref_low", "ref_high", "collected_at"]
    lab = lab[[c for c in keep if c in lab.columns]].sort_values("collected_at")
    # A draw is one calendar date: keep the last result of an analyte that day, as the engine does.
    lab = lab.drop_duplicates(["date", "analyte"], keep="last").drop(columns="collected_at")
    return lab.merge(graded[["date", "analyte", "grade"]], on=["date", "analyte"], how="left")


def _results_from_draws(graded: pd.DataFrame) -> pd.DataFrame:
    """Results when no stored labs are given: the draws' values in the canonical unit, no reference range."""
    out = graded.rename(columns={"draw_value": "value"})
    out["unit"] = out["analyte"].map(analyte_unit)
    out["raw_value"] = out["value"].map(lambda v: "" if pd.isna(v) else f"{v:g}")
    out["raw_unit"] = out["unit"]
    out["ref_low"] = np.nan
    out["ref_high"] = np.nan
    return out


def results_long(patient: dict, labs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per result for the patient: the stored lab (raw value, unit, reference range) joined
    to the engine's grade and the draw's recommendation. `labs` None: values from the draws only."""
    draws = draws_frame(patient)
    graded = _graded(patient)
    out = _stored_results(patient, labs, graded) if labs is not None and len(labs) else _results_from_draws(graded)
    out = out.merge(draws[["date", "action", "recommendation", "cycle", "cycle_day"]], on="date", how="left")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    for col in ("ref_low", "ref_high"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["grade"] = pd.to_numeric(out["grade"], errors="coerce").astype("Int64")
    for col in ("unit", "raw_value", "raw_unit", "action", "recommendation"):
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    return out[RESULT_COLUMNS].sort_values(["date", "analyte"]).reset_index(drop=True)


def cycle_overlay(patient: dict, analyte: str) -> pd.DataFrame:
    """Values of one analyte by day of cycle, one group per cycle (cycle, cycle_day, value, grade, date)."""
    rows = [
        {
            "cycle": d.get("cycle"),
            "cycle_day": d.get("cycle_day"),
            "value": (d.get("values") or {}).get(analyte),
            "grade": grade_or_none((d.get("grades") or {}).get(analyte)),
            "date": as_date(d.get("date")),
        }
        for d in patient.get("draws") or []
        if (d.get("values") or {}).get(analyte) is not None
        and d.get("cycle") is not None
        and (d.get("cycle_day") or 0) >= 1
    ]
    df = pd.DataFrame(rows, columns=["cycle", "cycle_day", "value", "grade", "date"])
    for col in ("cycle", "cycle_day", "grade"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype("float64")
    return df.sort_values(["cycle", "cycle_day"]).reset_index(drop=True)


def _draw_heading(draw: dict) -> str:
    """A flowsheet column: '02 Mar 26 C2D8', 'baseline' for a draw before the start, the date alone for a
    patient without a treatment course (no cycle: the header used to read '16 Nov 26 CNoneDNone')."""
    cycle, day = draw.get("cycle"), draw.get("cycle_day")
    when = "baseline" if cycle == 0 else "" if cycle is None or day is None else f"C{cycle}D{day}"
    return f"{as_date(draw['date']):%d %b %y} {when}".rstrip()


def flowsheet(
    patient: dict, *, since: dt.date | None = None, analytes: Iterable[str] = FLOWSHEET_ORDER
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Analytes x draws: (values, grades), rows labelled 'ANC (10^9/L)', columns by draw date
    (newest first). Only analytes with at least one value; `since` drops older draws."""
    draws = [d for d in patient.get("draws") or [] if since is None or required_date(d.get("date")) >= since]
    draws = list(reversed(draws))
    cols = [_draw_heading(d) for d in draws]
    wanted = [a for a in analytes if any(a in (d.get("values") or {}) for d in draws)]
    extra = sorted({a for d in draws for a in (d.get("values") or {})} - set(wanted) - set(analytes))
    keys = wanted + extra
    values = pd.DataFrame(
        [[(d.get("values") or {}).get(a) for d in draws] for a in keys], columns=cols, dtype="float64"
    )
    grades = pd.DataFrame(
        [[grade_or_none((d.get("grades") or {}).get(a)) for d in draws] for a in keys], columns=cols, dtype=object
    )
    index = [f"{analyte_label(a)} ({analyte_unit(a)})".replace(" ()", "") for a in keys]
    values.index = grades.index = pd.Index(index, name="analyte")
    # Draw dates can repeat in the label only if the engine emitted two draws on one day.
    return values, grades


def thresholds_frame(rows: list[dict] | None) -> pd.DataFrame | None:
    """Label thresholds of one course (assess `thresholds` / dosing.thresholds rows: analyte, kind,
    op, value, source) as chart lines (analyte, value, label, source), hold and resume at one value
    merged into one line; None when there are none."""
    df = pd.DataFrame([r for r in rows or [] if r.get("value") is not None])
    if df.empty:
        return None
    df["label"] = [f"{k} {op} {v:g}" for k, op, v in zip(df["kind"], df["op"], df["value"])]
    return df.groupby(["analyte", "value"], as_index=False, sort=False).agg(
        label=("label", " / ".join), source=("source", lambda s: "; ".join(dict.fromkeys(s)))
    )


def crcl_series(labs: pd.DataFrame, person: dict) -> pd.DataFrame | None:
    """Cockcroft-Gault CrCl (renal.crcl_ml_min, DOMAIN.md section 3) at each creatinine draw:
    (date, crcl_ml_min). None when age, weight or sex is unknown, or there is no creatinine."""
    from lenadash.clinical import renal

    if labs is None or labs.empty or not person.get("birth_date") or not person.get("sex"):
        return None
    weight = person.get("weight_kg")
    if weight is None or pd.isna(weight):
        return None
    cr = labs[labs["analyte"] == "creatinine"]
    if cr.empty:
        return None
    dates = pd.to_datetime(cr["collected_at"]).dt.normalize()
    ages = renal.age_years_series(pd.Series([person["birth_date"]] * len(cr), index=cr.index), dates.dt.date)
    crcl = renal.crcl_ml_min(
        age_years=ages,
        weight_kg=pd.Series(float(weight), index=cr.index),
        sex=pd.Series(person["sex"], index=cr.index),
        creatinine_mg_dl=cr["value"],
    )
    crcl_values = pd.Series(crcl, index=cr.index).to_numpy(dtype="float64")
    out = pd.DataFrame({"date": dates.to_numpy(), "crcl_ml_min": crcl_values}).dropna()
    return out if len(out) else None
