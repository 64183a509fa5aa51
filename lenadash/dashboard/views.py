"""Pure data shaping for the dashboard pages: worklist rows, flowsheets, hold spans, next-action cards."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

# --- presentation tables ---------------------------------------------------------------------

# Display names and canonical units (docs/architecture.md "Canonical analytes and units").
ANALYTE_LABELS: dict[str, tuple[str, str]] = {
    "anc": ("ANC", "10^9/L"),
    "plt": ("Platelets", "10^9/L"),
    "hgb": ("Hemoglobin", "g/dL"),
    "wbc": ("WBC", "10^9/L"),
    "alc": ("Lymphocytes", "10^9/L"),
    "creatinine": ("Creatinine", "mg/dL"),
    "ast": ("AST", "U/L"),
    "alt": ("ALT", "U/L"),
    "alp": ("ALP", "U/L"),
    "bilirubin": ("Bilirubin", "mg/dL"),
    "sodium": ("Sodium", "mmol/L"),
    "potassium": ("Potassium", "mmol/L"),
    "chloride": ("Chloride", "mmol/L"),
    "co2": ("CO2", "mmol/L"),
    "bun": ("BUN", "mg/dL"),
    "glucose": ("Glucose", "mg/dL"),
    "calcium": ("Calcium", "mg/dL"),
    "albumin": ("Albumin", "g/dL"),
    "total_protein": ("Total protein", "g/dL"),
}
FLOWSHEET_ORDER = tuple(ANALYTE_LABELS)

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

ACTION_LABELS = {
    "continue": "Continue",
    "hold": "HOLD",
    "stay_held": "Stay on hold",
    "resume": "Resume",
    "review": "Clinician review",
}

EVENT_LABELS = {
    "fever": "Fever",
    "platelet_transfusion": "Platelet transfusion",
    "toxicity": "Toxicity",
    "pregnancy_test": "Pregnancy test",
    "marrow_biopsy": "Marrow biopsy",
    "dose_change": "Dose change",
    "thromboprophylaxis": "Thromboprophylaxis",
}


def grade_colour(grade: Any) -> str:
    """Marker colour for a CTCAE grade; None/NaN (not graded) is grey."""
    return GRADE_COLOURS.get(_grade_or_none(grade), GRADE_COLOURS[None])


def _grade_or_none(grade: Any) -> int | None:
    if grade is None or (isinstance(grade, float) and np.isnan(grade)) or grade is pd.NA:
        return None
    try:
        return min(int(grade), 4)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> dt.date | None:
    """ISO text / Timestamp / date -> date; None, "" and NaT -> None."""
    if value is None or value == "" or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(ts) else ts.date()


# --- worklist --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagRule:
    """One worklist flag: a test on the patient's assessment, most urgent first."""

    key: str
    label: str
    test: str  # name of an interpreter in _FLAG_TESTS
    arg: Any
    source: str


# Ordered by urgency: the first flag a patient has sets its place in the worklist.
FLAG_RULES: tuple[FlagRule, ...] = (
    FlagRule("hold", "Hold now", "last_action_in", ("hold", "stay_held"), "US PI 2.1 dose modification tables"),
    FlagRule("review", "Review", "status_or_action_in", ("review",), "US PI 2.1 (clinician decision)"),
    FlagRule("grade3", "Grade >= 3", "last_grade_at_least", 3, "CTCAE v5.0"),
    FlagRule("cbc_overdue", "CBC overdue", "truthy", "labs_overdue", "US PI 5.3 monitoring schedule"),
    FlagRule("marrow_due", "Marrow biopsy due", "date_within_days", ("next_marrow_biopsy", 30),
             "MDS patient guide: marrow at 12 and 24 weeks"),
    FlagRule("pregnancy_due", "Pregnancy test due", "date_within_days", ("next_pregnancy_test", 7),
             "Lenalidomide REMS pregnancy testing"),
    FlagRule("vte_missing", "No thromboprophylaxis", "alert_mentions", ("thrombo", "vte"),
             "US PI 5.4 venous thromboembolism"),
    # Last: graded >= 3 but already so at baseline (e.g. creatinine on dialysis); the engine calls it
    # pre-existing, not a new toxicity (draw `preexisting`), so it is named but not ranked as one.
    FlagRule("grade3_baseline", "Grade >= 3 as at baseline", "last_grade_preexisting", 3,
             "CTCAE v5.0; dose engine: graded the same at baseline - pre-existing"),
)
FLAG_LABELS = {r.key: r.label for r in FLAG_RULES}


def _last_draw(patient: dict) -> dict:
    draws = patient.get("draws") or []
    return draws[-1] if draws else {}


def _test_last_action_in(patient: dict, arg, as_of: dt.date) -> bool:
    return _last_draw(patient).get("action") in arg or patient.get("status") == "held"


def _test_status_or_action_in(patient: dict, arg, as_of: dt.date) -> bool:
    return patient.get("status") in arg or _last_draw(patient).get("action") in arg


def grade3_analytes(patient: dict, *, at_least: int = 3) -> tuple[list[str], list[str]]:
    """Analytes of the latest draw graded >= `at_least` (CTCAE v5.0): (new, pre-existing), where
    pre-existing are those the engine found graded the same at baseline (draw `preexisting`)."""
    last = _last_draw(patient)
    known = set(last.get("preexisting") or [])
    high = [a for a, g in (last.get("grades") or {}).items() if (_grade_or_none(g) or 0) >= at_least]
    order = {a: i for i, a in enumerate(FLOWSHEET_ORDER)}
    high.sort(key=lambda a: (order.get(a, len(order)), a))
    return [a for a in high if a not in known], [a for a in high if a in known]


def _test_last_grade_at_least(patient: dict, arg, as_of: dt.date) -> bool:
    return bool(grade3_analytes(patient, at_least=arg)[0])


def _test_last_grade_preexisting(patient: dict, arg, as_of: dt.date) -> bool:
    return bool(grade3_analytes(patient, at_least=arg)[1])


def _test_truthy(patient: dict, arg, as_of: dt.date) -> bool:
    return bool(patient.get(arg))


def _test_date_within_days(patient: dict, arg, as_of: dt.date) -> bool:
    field, days = arg
    due = _date(patient.get(field))
    return due is not None and due <= as_of + dt.timedelta(days=days)


def _test_alert_mentions(patient: dict, arg, as_of: dt.date) -> bool:
    text = " ".join(patient.get("alerts") or []).lower()
    return any(word in text for word in arg)


_FLAG_TESTS = {
    "last_action_in": _test_last_action_in,
    "status_or_action_in": _test_status_or_action_in,
    "last_grade_at_least": _test_last_grade_at_least,
    "last_grade_preexisting": _test_last_grade_preexisting,
    "truthy": _test_truthy,
    "date_within_days": _test_date_within_days,
    "alert_mentions": _test_alert_mentions,
}


def patient_flags(patient: dict, *, as_of: dt.date) -> list[str]:
    """Worklist flag keys that apply to one assessed patient, most urgent first (FLAG_RULES)."""
    return [r.key for r in FLAG_RULES if _FLAG_TESTS[r.test](patient, r.arg, as_of)]


def _analyte_names(analytes: list[str]) -> str:
    return ", ".join(ANALYTE_LABELS.get(a, (a, ""))[0] for a in analytes)


def flag_text(patient: dict, flags: list[str]) -> str:
    """The worklist's Flags cell: flag labels in urgency order, '; '-separated; the grade flags name
    their analytes ("Grade >= 3: ANC, Platelets"; "Grade >= 3: Creatinine (as at baseline)")."""
    new, known = grade3_analytes(patient) if {"grade3", "grade3_baseline"} & set(flags) else ([], [])
    parts = []
    for f in flags:
        if f == "grade3":
            parts.append(f"Grade >= 3: {_analyte_names(new)}")
        elif f == "grade3_baseline":
            parts.append(f"Grade >= 3: {_analyte_names(known)} (as at baseline)")
        else:
            parts.append(FLAG_LABELS[f])
    return "; ".join(parts)


WORKLIST_COLUMNS = [
    "urgency", "mrn", "name", "indication", "cycle", "cycle_day", "status", "current_dose_mg",
    "anc", "anc_grade", "plt", "plt_grade", "hgb", "hgb_grade", "last_draw",
    "next_labs_due", "next_marrow_biopsy", "next_pregnancy_test", "flags", "flag_text",
]


def _latest_value(draws: list[dict], analyte: str) -> tuple[float | None, int | None]:
    for draw in reversed(draws):
        values = draw.get("values") or {}
        if analyte in values and values[analyte] is not None:
            return float(values[analyte]), _grade_or_none((draw.get("grades") or {}).get(analyte))
    return None, None


def current_cycle_day(patient: dict, *, as_of: dt.date) -> tuple[int | None, int | None]:
    """Cycle and day on `as_of`: the engine's (assess `cycle`/`cycle_day`) when given, else carried on
    from the latest draw's cycle/day in 28-day cycles (DOMAIN.md section 1), else from the start
    date; (None, None) before the start."""
    if patient.get("cycle") is not None and patient.get("cycle_day") is not None:
        return int(patient["cycle"]), int(patient["cycle_day"])
    last = _last_draw(patient)
    anchor = _date(last.get("date")) if last.get("cycle") else None
    if anchor is not None:
        cycle_start = anchor - dt.timedelta(days=int(last.get("cycle_day") or 1) - 1)
        cycle = int(last["cycle"])
    else:
        cycle_start = _date(patient.get("start_date"))
        cycle = 1
        if cycle_start is None or as_of < cycle_start:
            return None, None
    elapsed = (as_of - cycle_start).days
    if elapsed < 0:
        return cycle, int(last.get("cycle_day") or 1)
    return cycle + elapsed // 28, elapsed % 28 + 1


def worklist(result: dict, patients: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per patient from the assess JSON, ordered by urgency (FLAG_RULES order, then the
    next lab date). `patients` (store.load_patients) adds names; None leaves `name` blank."""
    as_of = _date(result.get("as_of")) or dt.date.today()
    names = {}
    if patients is not None and len(patients):
        names = dict(zip(patients["mrn"].astype(str), patients["name"].fillna("").astype(str)))
    rank = {r.key: i for i, r in enumerate(FLAG_RULES)}
    rows = []
    for p in result.get("patients") or []:
        draws = p.get("draws") or []
        flags = patient_flags(p, as_of=as_of)
        cycle, day = current_cycle_day(p, as_of=as_of)
        anc, anc_g = _latest_value(draws, "anc")
        plt, plt_g = _latest_value(draws, "plt")
        hgb, hgb_g = _latest_value(draws, "hgb")
        rows.append({
            "urgency": min((rank[f] for f in flags), default=len(FLAG_RULES)),
            "mrn": str(p.get("mrn", "")),
            "name": names.get(str(p.get("mrn", "")), ""),
            "indication": p.get("indication") or "",
            "cycle": cycle, "cycle_day": day,
            "status": p.get("status") or "",
            "current_dose_mg": p.get("current_dose_mg"),
            "anc": anc, "anc_grade": anc_g, "plt": plt, "plt_grade": plt_g, "hgb": hgb, "hgb_grade": hgb_g,
            "last_draw": _date(draws[-1].get("date")) if draws else None,
            "next_labs_due": _date(p.get("next_labs_due")),
            "next_marrow_biopsy": _date(p.get("next_marrow_biopsy")),
            "next_pregnancy_test": _date(p.get("next_pregnancy_test")),
            "flags": flags,
            "flag_text": flag_text(p, flags),
        })
    df = pd.DataFrame(rows, columns=WORKLIST_COLUMNS)
    if df.empty:
        return df
    for col in ("cycle", "cycle_day", "anc_grade", "plt_grade", "hgb_grade", "urgency"):
        df[col] = df[col].astype("Int64")
    for col in ("current_dose_mg", "anc", "plt", "hgb"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    due = pd.to_datetime(df["next_labs_due"]).astype("datetime64[ns]").fillna(pd.Timestamp.max)
    order = np.lexsort((df["mrn"].to_numpy(dtype=object), due.to_numpy(), df["urgency"].to_numpy(dtype="int64")))
    return df.iloc[order].reset_index(drop=True)


def filter_worklist(df: pd.DataFrame, *, indications: Iterable[str] = (), flags: Iterable[str] = (),
                    search: str = "") -> pd.DataFrame:
    """Rows whose indication is in `indications` and that carry any of `flags` (empty = all);
    `search` matches MRN or name, case-insensitive."""
    keep = pd.Series(True, index=df.index)
    indications, flags = list(indications), set(flags)
    if indications:
        keep &= df["indication"].isin(indications)
    if flags:
        keep &= df["flags"].map(lambda fs: bool(flags.intersection(fs)))
    if search.strip():
        needle = search.strip().lower()
        keep &= df["mrn"].str.lower().str.contains(needle, regex=False) | df["name"].str.lower().str.contains(
            needle, regex=False)
    return df[keep].reset_index(drop=True)


# --- one patient: results, spans, steps ------------------------------------------------------

RESULT_COLUMNS = [
    "date", "analyte", "value", "unit", "raw_value", "raw_unit", "ref_low", "ref_high", "grade",
    "action", "recommendation", "cycle", "cycle_day",
]


def draws_frame(patient: dict) -> pd.DataFrame:
    """Draw-level table: date, cycle, cycle_day, action, dose_mg, schedule, recommendation."""
    rows = []
    for d in patient.get("draws") or []:
        reasons = [r for r in (d.get("reasons") or []) if r]
        label = ACTION_LABELS.get(d.get("action"), str(d.get("action") or ""))
        rows.append({
            "date": pd.Timestamp(d["date"]),
            "cycle": d.get("cycle"),
            "cycle_day": d.get("cycle_day"),
            "action": d.get("action") or "",
            "dose_mg": d.get("dose_mg"),
            "schedule": d.get("schedule"),
            "recommendation": label + (": " + "; ".join(reasons) if reasons else ""),
        })
    df = pd.DataFrame(rows, columns=["date", "cycle", "cycle_day", "action", "dose_mg", "schedule", "recommendation"])
    df["date"] = pd.to_datetime(df["date"])
    df["dose_mg"] = pd.to_numeric(df["dose_mg"], errors="coerce").astype("float64")
    for col in ("cycle", "cycle_day"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    return df


def results_long(patient: dict, labs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per result for the patient: the stored lab (raw value, unit, reference range) joined
    to the engine's grade and the draw's recommendation. `labs` None: values from the draws only."""
    draws = draws_frame(patient)
    graded = [
        {"date": pd.Timestamp(d["date"]), "analyte": a, "draw_value": v,
         "grade": _grade_or_none((d.get("grades") or {}).get(a))}
        for d in patient.get("draws") or [] for a, v in (d.get("values") or {}).items()
    ]
    g = pd.DataFrame(graded, columns=["date", "analyte", "draw_value", "grade"])
    g["date"] = pd.to_datetime(g["date"])
    g["grade"] = pd.to_numeric(g["grade"], errors="coerce").astype("Int64")
    if labs is not None and len(labs):
        mrn = str(patient.get("mrn", ""))
        lab = labs[labs["mrn"].astype(str) == mrn] if "mrn" in labs.columns else labs
        lab = lab.assign(date=pd.to_datetime(lab["collected_at"]).dt.normalize())
        keep = ["date", "analyte", "value", "unit", "raw_value", "raw_unit", "ref_low", "ref_high", "collected_at"]
        lab = lab[[c for c in keep if c in lab.columns]].sort_values("collected_at")
        # A draw is one calendar date: keep the last result of an analyte that day, as the engine does.
        lab = lab.drop_duplicates(["date", "analyte"], keep="last").drop(columns="collected_at")
        out = lab.merge(g[["date", "analyte", "grade"]], on=["date", "analyte"], how="left")
    else:
        out = g.rename(columns={"draw_value": "value"})
        out["unit"] = out["analyte"].map(lambda a: ANALYTE_LABELS.get(a, ("", ""))[1])
        out["raw_value"] = out["value"].map(lambda v: "" if pd.isna(v) else f"{v:g}")
        out["raw_unit"] = out["unit"]
        out["ref_low"] = np.nan
        out["ref_high"] = np.nan
    out = out.merge(draws[["date", "action", "recommendation", "cycle", "cycle_day"]], on="date", how="left")
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    for col in ("ref_low", "ref_high"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["grade"] = pd.to_numeric(out["grade"], errors="coerce").astype("Int64")
    for col in ("unit", "raw_value", "raw_unit", "action", "recommendation"):
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    return out[RESULT_COLUMNS].sort_values(["date", "analyte"]).reset_index(drop=True)


def hold_spans(patient: dict, *, as_of: dt.date) -> pd.DataFrame:
    """Hold episodes (start, end, open, reason): the engine's `hold_spans` when assess gives them,
    else from the draw actions (a span starts at `hold`, ends at the draw that resumes or
    continues); a hold still open ends at `as_of` with open=True (DOMAIN.md section 2)."""
    spans = []
    if patient.get("hold_spans") is not None:
        for h in patient["hold_spans"]:
            start, end = _date(h.get("start")), _date(h.get("end"))
            if start is not None:
                spans.append({"start": start, "end": end or max(as_of, start), "open": end is None,
                              "reason": h.get("reason") or ""})
        return pd.DataFrame(spans, columns=["start", "end", "open", "reason"])
    start = None
    for d in patient.get("draws") or []:
        action, day = d.get("action"), _date(d.get("date"))
        if action in ("hold", "stay_held") and start is None:
            start, reason = day, "; ".join(d.get("reasons") or [])
        elif action in ("resume", "continue") and start is not None:
            spans.append({"start": start, "end": day, "open": False, "reason": reason})
            start = None
    if start is not None:
        spans.append({"start": start, "end": max(as_of, start), "open": True, "reason": reason})
    return pd.DataFrame(spans, columns=["start", "end", "open", "reason"])


def dose_steps(patient: dict, *, as_of: dt.date) -> pd.DataFrame:
    """Dose in effect over time as steps (date, dose_mg, schedule, action): 0 mg while held; the
    draw's dose where the engine gives one, else the dose carried from before."""
    start = _date(patient.get("start_date"))
    dose = patient.get("renal_starting_dose_mg") or patient.get("starting_dose_mg")
    rows = []
    if start is not None and dose:
        rows.append({"date": start, "dose_mg": float(dose), "schedule": None, "action": "start"})
    held = False
    for d in patient.get("draws") or []:
        if start is not None and _date(d.get("date")) < start:
            continue  # baseline draws before the start: no dose yet
        action = d.get("action")
        if d.get("dose_mg") is not None and action not in ("hold", "stay_held"):
            dose = float(d["dose_mg"])
        if action in ("hold", "stay_held"):
            held = True
        elif action in ("resume", "continue"):
            held = False
        rows.append({"date": _date(d.get("date")), "dose_mg": 0.0 if held else (float(dose) if dose else np.nan),
                     "schedule": d.get("schedule"), "action": action})
    if rows:
        last = rows[-1]
        rows.append({**last, "date": max(as_of, last["date"]), "action": "as_of"})
    return pd.DataFrame(rows, columns=["date", "dose_mg", "schedule", "action"])


def cycle_table(patient: dict, *, as_of: dt.date) -> pd.DataFrame:
    """Cycle starts and dosing days (cycle, start, end, dosing_end), anchored on the engine's
    cycle/day of each draw and extended in 28-day steps (DOMAIN.md section 1) up to `as_of`."""
    start = _date(patient.get("start_date"))
    starts: dict[int, dt.date] = {}
    for d in patient.get("draws") or []:
        if d.get("cycle") and d.get("cycle_day") and int(d["cycle_day"]) >= 1:  # not baseline draws
            s = _date(d["date"]) - dt.timedelta(days=int(d["cycle_day"]) - 1)
            starts[int(d["cycle"])] = min(starts.get(int(d["cycle"]), s), s)
    if start is not None:
        starts.setdefault(1, start)
    if not starts:
        return pd.DataFrame(columns=["cycle", "start", "end", "dosing_end"])
    schedule = patient.get("schedule") or next(
        (d.get("schedule") for d in reversed(patient.get("draws") or []) if d.get("schedule")), "21/28")
    dosing_days = 21 if str(schedule).startswith("21") else 28
    rows, cycle, cur = [], min(starts), starts[min(starts)]
    while cur <= as_of and cycle < 400:
        nxt = starts.get(cycle + 1, cur + dt.timedelta(days=28))
        rows.append({"cycle": cycle, "start": cur, "end": nxt,
                     "dosing_end": min(cur + dt.timedelta(days=dosing_days), nxt)})
        cycle, cur = cycle + 1, nxt
    return pd.DataFrame(rows, columns=["cycle", "start", "end", "dosing_end"])


WINDOW_PRESETS = ("Last cycle", "3 cycles", "6 months", "All")


def window_anchor(patient: dict, *, as_of: dt.date) -> dt.date:
    """The date the time windows count back from: the latest draw, or as_of when that is earlier
    (so a patient whose last draw is years old still shows their last cycles, not blank charts)."""
    dates = [x for x in (_date(d.get("date")) for d in patient.get("draws") or []) if x is not None]
    return min(max(dates), as_of) if dates else as_of


def window_range(preset: str, patient: dict, *, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """x-axis range for a time-window preset (WINDOW_PRESETS). 'Last cycle', '3 cycles' and '6 months'
    count back from window_anchor (latest draw or as_of, whichever is earlier) and end at as_of, or
    28 days after the anchor when as_of is later still; 'All' spans first draw/start to as_of."""
    anchor = window_anchor(patient, as_of=as_of)
    cycles = cycle_table(patient, as_of=anchor)
    dates = [_date(d.get("date")) for d in patient.get("draws") or []]
    first = min([x for x in dates + [_date(patient.get("start_date"))] if x is not None], default=as_of)
    end = min(as_of, anchor + dt.timedelta(days=28)) + dt.timedelta(days=3)
    if preset == "Last cycle" and len(cycles):
        return cycles["start"].iloc[-1] - dt.timedelta(days=1), end
    if preset == "3 cycles" and len(cycles):
        return cycles["start"].iloc[max(len(cycles) - 3, 0)] - dt.timedelta(days=1), end
    if preset == "6 months":
        return anchor - dt.timedelta(days=183), end
    if preset not in WINDOW_PRESETS:
        raise ValueError(f"unknown time window {preset!r}; choose one of {', '.join(WINDOW_PRESETS)}")
    return first - dt.timedelta(days=3), as_of + dt.timedelta(days=3)


def draws_in_window(patient: dict, window: tuple[dt.date, dt.date]) -> int:
    """How many draws fall inside a time window (both ends included)."""
    lo, hi = window
    return sum(1 for d in patient.get("draws") or [] if (day := _date(d.get("date"))) is not None and lo <= day <= hi)


def cycle_overlay(patient: dict, analyte: str) -> pd.DataFrame:
    """Values of one analyte by day of cycle, one group per cycle (cycle, cycle_day, value, grade, date)."""
    rows = [
        {"cycle": d.get("cycle"), "cycle_day": d.get("cycle_day"), "value": (d.get("values") or {}).get(analyte),
         "grade": _grade_or_none((d.get("grades") or {}).get(analyte)), "date": _date(d.get("date"))}
        for d in patient.get("draws") or []
        if (d.get("values") or {}).get(analyte) is not None and d.get("cycle") is not None
        and (d.get("cycle_day") or 0) >= 1
    ]
    df = pd.DataFrame(rows, columns=["cycle", "cycle_day", "value", "grade", "date"])
    for col in ("cycle", "cycle_day", "grade"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype("float64")
    return df.sort_values(["cycle", "cycle_day"]).reset_index(drop=True)


def flowsheet(patient: dict, *, since: dt.date | None = None,
              analytes: Iterable[str] = FLOWSHEET_ORDER) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Analytes x draws: (values, grades), rows labelled 'ANC (10^9/L)', columns by draw date
    (newest first). Only analytes with at least one value; `since` drops older draws."""
    draws = [d for d in patient.get("draws") or [] if since is None or _date(d.get("date")) >= since]
    draws = list(reversed(draws))
    cols = [f"{_date(d['date']):%d %b %y} "
            + ("baseline" if d.get("cycle") == 0 else f"C{d.get('cycle', '?')}D{d.get('cycle_day', '?')}")
            for d in draws]
    wanted = [a for a in analytes if any(a in (d.get("values") or {}) for d in draws)]
    extra = sorted({a for d in draws for a in (d.get("values") or {})} - set(wanted) - set(analytes))
    keys = wanted + extra
    values = pd.DataFrame(
        [[(d.get("values") or {}).get(a) for d in draws] for a in keys], columns=cols, dtype="float64")
    grades = pd.DataFrame(
        [[_grade_or_none((d.get("grades") or {}).get(a)) for d in draws] for a in keys], columns=cols, dtype=object)
    index = [f"{ANALYTE_LABELS.get(a, (a, ''))[0]} ({ANALYTE_LABELS.get(a, ('', ''))[1]})".replace(" ()", "")
             for a in keys]
    values.index = grades.index = pd.Index(index, name="analyte")
    # Draw dates can repeat in the label only if the engine emitted two draws on one day.
    return values, grades


# --- next action and dates ------------------------------------------------------------------


def next_action(patient: dict, *, rules: str = "", as_of: dt.date | None = None) -> dict:
    """What the label says now for the patient: headline, dose, reasons and source, from the
    latest draw's action (None fields when the patient has no draw yet).

    When the CBC is overdue (assess `labs_overdue`, US PI 5.3 schedule) the advice is stale:
    `overdue` holds "CBC overdue since <date>; the last advice is from a draw N days old" (N counted
    to `as_of`), and the card must not read as a plain continue. None when the CBC is not overdue."""
    last = _last_draw(patient)
    action = last.get("action")
    dose = last.get("dose_mg") if last.get("dose_mg") is not None else patient.get("current_dose_mg")
    schedule = last.get("schedule") or ""
    if action in ("hold", "stay_held"):
        headline = ACTION_LABELS[action] + " lenalidomide"
    elif action == "resume":
        headline = f"Resume at {dose:g} mg" + (f" ({schedule})" if schedule else "") if dose else "Resume"
    elif action == "continue":
        headline = f"Continue {dose:g} mg" + (f" ({schedule})" if schedule else "") if dose else "Continue"
    elif action == "review":
        headline = "Clinician review needed"
    else:
        headline = "No lab draw yet"
    sources = last.get("sources") or ([last["source"]] if last.get("source") else [])
    return {
        "action": action,
        "headline": headline,
        "status": patient.get("status"),
        "dose_mg": dose,
        "schedule": schedule or None,
        "date": _date(last.get("date")),
        "reasons": [r for r in (last.get("reasons") or []) if r] or (
            ["No hold or resume rule applies to the latest draw."] if action == "continue" else []),
        "source": "; ".join(sources) if sources else (
            f"rule profile {rules}; each reason names its label section and rule" if rules else None),
        "alerts": [a for a in (patient.get("alerts") or []) if a],
        "overdue": _overdue_text(patient, last, as_of),
        "resume": resume_plan(patient, profile=rules or "us_pi") if action in ("hold", "stay_held") else None,
    }


_RULE_ID = re.compile(r"\brule ([A-Za-z0-9_.-]+)\)")


def resume_plan(patient: dict, *, profile: str = "us_pi") -> str | None:
    """For a held course: the dose it resumes at and when, from the rules the engine named in the
    hold's reasons ("rule MM-PLT") and the dose ladder - e.g. "Resume at 20 mg when Platelets >= 30
    (next lower dose)". None when the patient is not held or no rule is named."""
    from lenadash.clinical import dosing

    draws = patient.get("draws") or []
    if not draws or draws[-1].get("action") not in ("hold", "stay_held"):
        return None
    episode = []  # the draws of the current hold, from its first hold draw
    for d in reversed(draws):
        if d.get("action") not in ("hold", "stay_held"):
            break
        episode.append(d)
    ids = list(dict.fromkeys(m for d in reversed(episode) for r in d.get("reasons") or [] for m in _RULE_ID.findall(r)))
    prof = dosing.load_profile(profile)
    rules = [r for r in prof.rules_for(patient.get("indication") or "") if r.rule in ids]
    if not rules:
        return None
    held_at = dose_now(patient)
    schedule = patient.get("schedule") or episode[-1].get("schedule") or ""
    ladder = prof.ladder(patient.get("indication") or "")
    start = patient.get("renal_starting_dose_mg") or patient.get("starting_dose_mg")
    targets = []
    for r in rules:
        if r.resume_dose == "next_lower":
            step = dosing.next_lower(ladder, held_at, schedule) if held_at is not None else None
            targets.append((step.dose_mg, step.schedule, "next lower dose") if step else (None, None, "at the floor"))
        elif r.resume_dose == "start":
            dose = min(float(start), held_at) if start and held_at is not None else (float(start) if start else None)
            targets.append((dose, None, "starting dose"))
        else:
            targets.append((float(r.resume_dose), None, "the dose the table gives"))
    when = " and ".join(dict.fromkeys(
        f"{ANALYTE_LABELS.get(r.analyte, (r.analyte, ''))[0]} {r.resume_op} {_threshold_text(r.resume_value)}"
        for r in rules))
    if any(t[0] is None for t in targets):
        return f"Held at the lowest dose: when {when}, a clinician decides whether to resume"
    dose, sched, why = min(targets, key=lambda t: t[0])
    return f"Resume at {dose:g} mg{f' ({sched})' if sched else ''} when {when} ({why})"


def _threshold_text(value: float) -> str:
    """As the label writes it: 30, 0.5, 1.0 (a whole number below 10 keeps one decimal)."""
    return f"{value:.1f}" if value == int(value) and value < 10 else f"{value:g}"


def _overdue_text(patient: dict, last: dict, as_of: dt.date | None) -> str | None:
    due = _date(patient.get("next_labs_due"))
    if not patient.get("labs_overdue") or due is None:
        return None
    text = f"CBC overdue since {due:%d %b %Y}"
    drawn = _date(last.get("date"))
    if drawn is not None and as_of is not None:
        age = (as_of - drawn).days
        text += f"; the last advice is from a draw {age:,} day{'s' if age != 1 else ''} old ({drawn:%d %b %Y})"
    elif drawn is None:
        text += "; there is no draw to advise on"
    return text


def upcoming(patient: dict, *, as_of: dt.date) -> pd.DataFrame:
    """Upcoming dates: next CBC, each open marrow biopsy with its week label, next pregnancy test;
    `overdue` when the date is before as_of (DOMAIN.md section 5)."""
    rows = []
    if patient.get("next_labs_due"):
        rows.append({"what": "Next CBC", "due": _date(patient["next_labs_due"]),
                     "why": patient.get("next_labs_reason") or ""})
    biopsies = [b for b in patient.get("marrow_biopsies") or [] if not b.get("done") and b.get("due")]
    overdue_biopsies = sorted((b for b in biopsies if _date(b["due"]) < as_of), key=lambda b: _date(b["due"]))
    if overdue_biopsies:
        # One line for the overdue ones: the earliest, with the count of the others (not 17 lines).
        first, others = overdue_biopsies[0], overdue_biopsies[1:]
        why = (f"{len(others)} later marrow biops{'y' if len(others) == 1 else 'ies'} also overdue "
               f"(up to week {others[-1].get('week')}, due {_date(others[-1]['due']):%d %b %Y})" if others else "")
        rows.append({"what": _biopsy_label(first), "due": _date(first["due"]), "why": why})
    for b in biopsies:
        if _date(b["due"]) >= as_of:
            rows.append({"what": _biopsy_label(b), "due": _date(b["due"])})
    if not any(r["what"].startswith("Marrow") for r in rows) and patient.get("next_marrow_biopsy"):
        rows.append({"what": "Marrow biopsy", "due": _date(patient["next_marrow_biopsy"])})
    if patient.get("next_pregnancy_test"):
        rows.append({"what": "Pregnancy test (REMS)", "due": _date(patient["next_pregnancy_test"]),
                     "why": patient.get("next_pregnancy_test_reason") or ""})
    df = pd.DataFrame(rows, columns=["what", "due", "why"])
    df["why"] = df["why"].fillna("")
    df["overdue"] = [d is not None and d < as_of for d in df["due"]]
    df["in_days"] = [None if d is None else (d - as_of).days for d in df["due"]]
    return df.sort_values("due", key=lambda s: pd.to_datetime(s)).reset_index(drop=True)


def _biopsy_label(biopsy: dict) -> str:
    week = biopsy.get("week")
    return f"Marrow biopsy (week {week})" if week else "Marrow biopsy"


def in_days_text(days: int | None) -> str:
    """'today', 'tomorrow', 'in 5 days'; '' when unknown."""
    if days is None:
        return ""
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def visit_identity(name: str | None, birth_date: Any, sex: str | None, *, as_of: dt.date) -> dict:
    """Initials and age in whole years for the visit view (no name, no MRN, no birth date);
    None age when the birth date is unknown."""
    parts = [p for p in str(name or "").replace(",", " ").split() if p[:1].isalpha()]
    initials = "".join(p[0].upper() + "." for p in parts[:3]) or "Patient"
    born = _date(birth_date)
    age = None
    if born is not None:
        age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    return {"initials": initials, "age": age, "sex": sex if sex in ("F", "M") else None}


def patient_label(mrn: str, name: Any) -> str:
    """How the pickers name a patient: "LD0001 - Ada Lovelace"; a patient known only from lab files
    (no name, no course) is "BIG0001 (no course yet)" rather than "BIG0001 -"."""
    text = "" if name is None or (isinstance(name, float) and name != name) else str(name).strip()
    return f"{mrn} - {text}" if text else f"{mrn} (no course yet)"


def find_patient(result: dict | None, mrn: str | None) -> dict | None:
    """The assessed patient with this MRN; None when absent."""
    if not result or not mrn:
        return None
    return next((p for p in result.get("patients") or [] if str(p.get("mrn")) == str(mrn)), None)


INDICATION_NAMES = {
    "MM": "Multiple myeloma (Rd)",
    "MM_MAINT": "Myeloma maintenance",
    "MDS": "del(5q) MDS",
    "MCL": "Mantle cell lymphoma",
    "FL": "Follicular lymphoma (R2)",
    "MZL": "Marginal zone lymphoma (R2)",
}
STATUS_LABELS = {"on_treatment": "on treatment", "held": "HELD", "review": "REVIEW"}
# The course status in words (the card's "Status:" line), not the engine's raw keys.
STATUS_WORDS = {"on_treatment": "on treatment", "held": "held", "review": "review",
                "not_started": "not started", "stopped": "stopped", "completed": "completed"}


def _with_grade(value: Any, grade: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    g = _grade_or_none(grade)
    return f"{value:g}" + (f"  G{g}" if g else "")


def worklist_display(df: pd.DataFrame) -> pd.DataFrame:
    """The worklist as the overview table shows it: one text column per clinical question."""
    def dose(row) -> str:
        d = row["current_dose_mg"]
        text = "" if pd.isna(d) else f"{d:g} mg"
        return f"{text} {STATUS_LABELS.get(row['status'], row['status'])}".strip()

    out = pd.DataFrame({
        "Flags": df["flag_text"],
        "MRN": df["mrn"],
        "Name": df["name"],
        "Indication": df["indication"],
        "Cycle": [f"C{c} D{d}" if pd.notna(c) else "" for c, d in zip(df["cycle"], df["cycle_day"])],
        "Dose / status": [dose(r) for _, r in df.iterrows()] if len(df) else [],
        "ANC": [_with_grade(v, g) for v, g in zip(df["anc"], df["anc_grade"])],
        "Platelets": [_with_grade(v, g) for v, g in zip(df["plt"], df["plt_grade"])],
        "Hgb": [_with_grade(v, g) for v, g in zip(df["hgb"], df["hgb_grade"])],
        # ISO text: sorts correctly, and a missing date shows blank rather than "None"
        "Next CBC": [_iso_or_blank(d) for d in df["next_labs_due"]],
        "Marrow biopsy": [_iso_or_blank(d) for d in df["next_marrow_biopsy"]],
        "Pregnancy test": [_iso_or_blank(d) for d in df["next_pregnancy_test"]],
    })
    return out


def _iso_or_blank(value: Any) -> str:
    day = _date(value)
    return "" if day is None else day.isoformat()


def dose_now(patient: dict) -> float | None:
    """The dose the course is at: the current dose, or while held the dose it was held at (the latest
    draw's dose before the hold, else the renal or label starting dose); None when unknown."""
    if patient.get("current_dose_mg") is not None:
        return float(patient["current_dose_mg"])
    for d in reversed(patient.get("draws") or []):
        if d.get("dose_mg") is not None:
            return float(d["dose_mg"])
    start = patient.get("renal_starting_dose_mg") or patient.get("starting_dose_mg")
    return float(start) if start else None


def thresholds_frame(rows: list[dict] | None) -> pd.DataFrame | None:
    """Label thresholds of one course (assess `thresholds` / dosing.thresholds rows: analyte, kind,
    op, value, source) as chart lines (analyte, value, label, source), hold and resume at one value
    merged into one line; None when there are none."""
    df = pd.DataFrame([r for r in rows or [] if r.get("value") is not None])
    if df.empty:
        return None
    df["label"] = [f"{k} {op} {v:g}" for k, op, v in zip(df["kind"], df["op"], df["value"])]
    return df.groupby(["analyte", "value"], as_index=False, sort=False).agg(
        label=("label", " / ".join), source=("source", lambda s: "; ".join(dict.fromkeys(s))))


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
    crcl = renal.crcl_ml_min(age_years=ages, weight_kg=pd.Series(float(weight), index=cr.index),
                             sex=pd.Series(person["sex"], index=cr.index), creatinine_mg_dl=cr["value"])
    out = pd.DataFrame({"date": dates.to_numpy(), "crcl_ml_min": pd.Series(crcl, index=cr.index).to_numpy(dtype="float64")})
    out = out.dropna()
    return out if len(out) else None


# --- setup form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartingDoses:
    """Starting-dose choices of one indication: the label's standard start and the allowed capsule doses."""

    standard_mg: float
    allowed_mg: tuple[float, ...]  # highest first: the dose ladder plus the renal starting doses
    source: str


def starting_doses(indication: str, profile: str = "us_pi") -> StartingDoses:
    """The label starting dose of an indication (rules/renal.csv, band CrCl >= 60, no dialysis) and the
    doses a course may start at: the indication's dose ladder (rules/ladders.csv via the rule
    profile) plus the renal starting doses, since a renally reduced start is a lower step (DOMAIN.md 1, 3)."""
    from lenadash.clinical import dosing, renal

    standard = renal.renal_starting_dose(indication=indication, crcl_ml_min=1000.0, dialysis=False)
    ladder = dosing.load_profile(profile).ladder(indication)
    table = renal.load_renal_rules()
    renal_doses = table.loc[table["indication"] == indication, "dose_mg"].dropna()
    allowed = sorted({float(s.dose_mg) for s in ladder} | {float(d) for d in renal_doses}, reverse=True)
    return StartingDoses(standard_mg=float(standard.dose_mg), allowed_mg=tuple(allowed), source=standard.source)


SETUP_REQUIRED = {"birth_date": "birth date", "sex": "sex", "weight_kg": "weight"}


def missing_setup_fields(record: dict) -> list[str]:
    """The Cockcroft-Gault inputs (DOMAIN.md section 3) a setup record lacks, in clinic words;
    [] when birth date, sex and weight are all given."""
    def blank(v) -> bool:
        return v is None or v == "" or (isinstance(v, float) and np.isnan(v))

    return [label for key, label in SETUP_REQUIRED.items() if blank(record.get(key))]


def and_join(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def dose_problem(indication: str, dose_mg: float | None, profile: str = "us_pi") -> str | None:
    """Why a starting dose cannot be saved for this indication, with the doses that can; None if fine."""
    doses = starting_doses(indication, profile)
    listed = ", ".join(f"{d:g}" for d in doses.allowed_mg)
    if dose_mg is None:
        return f"Enter the starting dose ({indication} label start {doses.standard_mg:g} mg)."
    if float(dose_mg) not in doses.allowed_mg:
        return (f"{float(dose_mg):g} mg is not a starting dose for {indication}: choose a capsule strength on its "
                f"dose ladder ({listed} mg). The label start is {doses.standard_mg:g} mg; a renally reduced "
                "start is a lower step.")
    return None
