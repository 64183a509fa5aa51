"""Cockcroft-Gault creatinine clearance and the renal starting dose (bands in rules/renal.csv)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from lenadash.clinical.notices import Notice
from lenadash.config import RULES_DIR

RENAL_FILE = RULES_DIR / "renal.csv"
CREATININE_UMOL_L_PER_MG_DL = 88.4  # DOMAIN.md section 3 and 6
CG_SOURCE = "Cockcroft-Gault: (140 - age) x weight / (72 x creatinine), x 0.85 for women"
# CrCl is compared with the band edges at 6 decimals, as grading compares labs, so that a
# computed 59.99999999999999 is 60.
_DECIMALS = 6
BAND_ORDER = (">=60", "30-<60", "<30", "dialysis")


@dataclass(frozen=True)
class RenalDose:
    """The PI renal starting dose for one indication and CrCl: dose_mg None when CrCl is unknown."""

    dose_mg: float | None
    regimen: str
    band: str
    not_studied: bool
    source: str


# --- age and clearance ----------------------------------------------------------------------------


def age_years(birth_date: dt.date | None, on_date: dt.date | None) -> int | None:
    """Whole years on `on_date` (the creatinine draw date); None when either date is missing.

    The birthday itself counts (a patient born 1950-03-10 is 76 on 2026-03-10); a 29 February
    birthday falls on 1 March in non-leap years.
    """
    if birth_date is None or on_date is None or pd.isna(birth_date) or pd.isna(on_date):
        return None
    b, d = pd.Timestamp(birth_date), pd.Timestamp(on_date)
    return int(d.year - b.year - ((d.month, d.day) < (b.month, b.day)))


def age_years_series(birth_dates, on_dates) -> pd.Series:
    """Vectorised age_years: whole years per row as Int64 (NA where a date is missing)."""
    # plain pd.Series: the one-date side is rebuilt from a datetime64 array below, which the stubs cannot follow
    b: pd.Series = pd.to_datetime(pd.Series(birth_dates), errors="coerce")
    d: pd.Series = pd.to_datetime(pd.Series(on_dates), errors="coerce")
    if len(b) != len(d) and len(b) != 1 and len(d) != 1:
        raise ValueError(f"age_years_series: {len(b)} birth dates but {len(d)} dates; pass one per row")
    if len(b) == 1 and len(d) > 1:
        b = pd.Series(np.repeat(b.to_numpy(), len(d)), index=d.index)
    if len(d) == 1 and len(b) > 1:
        d = pd.Series(np.repeat(d.to_numpy(), len(b)), index=b.index)
    before_birthday = (d.dt.month.to_numpy() * 100 + d.dt.day.to_numpy()) < (
        b.dt.month.to_numpy() * 100 + b.dt.day.to_numpy()
    )
    years = d.dt.year.to_numpy(dtype=float, na_value=np.nan) - b.dt.year.to_numpy(dtype=float, na_value=np.nan)
    years = years - before_birthday
    missing = np.isnan(years)
    return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, years).astype(np.int64), missing), index=b.index)


def creatinine_umol_l_to_mg_dl(umol_l):
    """Creatinine umol/L -> mg/dL (divide by 88.4; DOMAIN.md section 3)."""
    return umol_l / CREATININE_UMOL_L_PER_MG_DL


def _column(x) -> pd.Series:
    """A scalar or Series as a Series (None -> NA), so both take the same vectorised path."""
    if isinstance(x, pd.Series):
        return x
    return pd.Series(np.atleast_1d(np.asarray(np.nan if x is None else x, dtype=object)))


def _numbers(x) -> np.ndarray:
    return pd.to_numeric(_column(x), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _sex_factor(sex) -> np.ndarray:
    """0.85 for F, 1.0 for M, NaN otherwise (Cockcroft-Gault's correction for women)."""
    up = _column(sex).astype("string").str.strip().str.upper().fillna("").to_numpy(dtype=object)
    return np.select([up == "F", up == "M"], [0.85, 1.0], np.nan)


def crcl_ml_min(*, age_years, weight_kg, sex, creatinine_mg_dl):
    """Cockcroft-Gault creatinine clearance in mL/min (actual body weight), x 0.85 for women.

    Source: DOMAIN.md section 3 (the PI's renal table uses Cockcroft-Gault). Works on scalars
    (returns float, or None) and on Series (returns a float Series, NaN where unknown). Unknown =
    age, weight or sex missing, sex not F/M, or creatinine missing or not above 0.
    """
    series = [x for x in (age_years, weight_kg, sex, creatinine_mg_dl) if isinstance(x, pd.Series)]
    age, weight, creat = _numbers(age_years), _numbers(weight_kg), _numbers(creatinine_mg_dl)
    factor = _sex_factor(sex)
    with np.errstate(divide="ignore", invalid="ignore"):
        crcl = (140.0 - age) * weight / (72.0 * creat) * factor
    crcl = np.where(creat > 0, crcl, np.nan)
    if series:
        return pd.Series(crcl, index=series[0].index, dtype=float)
    value = float(crcl[0])
    return None if math.isnan(value) else value


# --- renal starting dose --------------------------------------------------------------------------


@lru_cache(maxsize=2)
def load_renal_rules(path: str | Path = RENAL_FILE) -> pd.DataFrame:
    """The renal starting-dose table: one row per indication and band, each with its source."""
    rules = pd.read_csv(
        path, dtype={"indication": str, "band": str, "regimen": str, "source": str}, keep_default_na=False
    )
    for col in ("crcl_low", "crcl_high", "dose_mg", "interval_h", "not_studied_below"):
        rules[col] = pd.to_numeric(rules[col].replace("", np.nan))
    rules["dialysis"] = rules["dialysis"].astype(str).str.lower().eq("true")
    if (rules["source"].str.strip() == "").any():
        raise ValueError(f"{Path(path).name}: every row needs a source")
    return rules


@dataclass(frozen=True)
class _Band:
    """One row of rules/renal.csv as plain Python values (NaN edges read as open ends)."""

    band: str
    dialysis: bool
    crcl_low: float
    crcl_high: float
    dose_mg: float
    regimen: str
    not_studied_below: float  # NaN = studied at any CrCl of this band
    source: str


@cache
def _bands_by_indication() -> dict[str, tuple[_Band, ...]]:
    """rules/renal.csv parsed once into {indication: rows in file order}: the per-course lookups
    are then plain comparisons, not DataFrame filters (assess calls them thousands of times)."""
    rules = load_renal_rules()
    out: dict[str, list[_Band]] = {}
    # the stubs type each cell as any scalar; renal.csv's columns are read with known dtypes (load_renal_rules)
    for r in cast(Iterable[Any], rules.itertuples(index=False)):
        lo, hi = float(r.crcl_low), float(r.crcl_high)
        out.setdefault(r.indication, []).append(
            _Band(
                band=str(r.band),
                dialysis=bool(r.dialysis),
                crcl_low=-math.inf if math.isnan(lo) else lo,
                crcl_high=math.inf if math.isnan(hi) else hi,
                dose_mg=float(r.dose_mg),
                regimen=str(r.regimen),
                not_studied_below=float(r.not_studied_below),
                source=str(r.source),
            )
        )
    return {k: tuple(v) for k, v in out.items()}


def _rules_for(indication: str) -> tuple[_Band, ...]:
    bands = _bands_by_indication()
    rows = bands.get((indication or "").strip().upper())
    if not rows:
        known = ", ".join(bands)
        raise ValueError(f"unknown indication {indication!r}; use one of {known}")
    return rows


def renal_starting_dose(*, indication: str, crcl_ml_min: float | None, dialysis: bool) -> RenalDose:
    """PI renal starting dose (DOMAIN.md section 3, rules/renal.csv) for a CrCl at the start.

    Dialysis picks the dialysis row whatever the CrCl. CrCl None (and no dialysis) gives
    dose_mg None and band "unknown". not_studied: CrCl < 11 without dialysis, < 7 on dialysis.
    """
    rows = _rules_for(indication)
    crcl = None if crcl_ml_min is None or pd.isna(crcl_ml_min) else round(float(crcl_ml_min), _DECIMALS)
    if dialysis:
        row = next((r for r in rows if r.dialysis), None)
        if row is None:
            raise ValueError(f"rules/renal.csv: no dialysis row for {indication}")
    elif crcl is None:
        return RenalDose(
            dose_mg=None,
            regimen="CrCl unknown: renal starting dose not set (needs creatinine, weight, age and sex)",
            band="unknown",
            not_studied=False,
            source=rows[0].source,
        )
    else:
        match = [r for r in rows if not r.dialysis and r.crcl_low <= crcl < r.crcl_high]
        if not match:
            raise ValueError(f"rules/renal.csv: no {indication} band holds CrCl {crcl} mL/min")
        row = match[0]
    below = row.not_studied_below
    not_studied = crcl is not None and not math.isnan(below) and crcl < below
    return RenalDose(
        dose_mg=row.dose_mg,
        regimen=row.regimen,
        band=row.band,
        not_studied=bool(not_studied),
        source=row.source,
    )


def _fmt(x: float | None) -> str:
    # renal_alerts formats a start CrCl only where one was known (a band, a not-studied range or a fall)
    assert x is not None, "a CrCl is formatted only where it is known"
    return f"{x:.0f}" if x >= 10 else f"{x:.1f}"


def _cited(text: str, source: str) -> str:
    """The notice text with its source, as 0.1's alerts read: "... daily (US PI 2.5)."."""
    return f"{text.removesuffix('.')} ({source})."


def renal_alerts(
    *,
    indication: str,
    starting_dose_mg: float | None,
    crcl_at_start: float | None,
    crcl_latest: float | None,
    dialysis: bool,
) -> list[Notice]:
    """Renal notices for one course (DOMAIN.md section 3), each with its kind and source.

    - `renal_dose_above_label`: the prescribed starting dose (mg per administration) is above the PI
      renal starting dose;
    - `renal_no_crcl`: CrCl unknown at the start (the check cannot be made);
    - `renal_band_fall`: CrCl fell into a lower band during treatment: review, not an automatic change
      (the PI adjusts the starting dose only);
    - `renal_not_studied`: CrCl in a range where lenalidomide was not studied (at the start, or later).
    """
    out: list[Notice] = []
    start = renal_starting_dose(indication=indication, crcl_ml_min=crcl_at_start, dialysis=dialysis)
    src = start.source.split(";")[0]
    if start.dose_mg is None:
        text = (
            "No CrCl at the start (creatinine, weight, age or sex missing): the renal starting dose cannot be checked."
        )
        out.append(Notice("renal_no_crcl", _cited(text, src), src))
    elif starting_dose_mg is not None and not pd.isna(starting_dose_mg) and float(starting_dose_mg) > start.dose_mg:
        where = "on dialysis" if dialysis else f"CrCl {_fmt(crcl_at_start)} mL/min ({start.band})"
        label = start.regimen if start.regimen != "no change" else f"{start.dose_mg:g} mg daily"
        text = (
            f"Starting dose {float(starting_dose_mg):g} mg exceeds the renal starting dose for {indication} "
            f"{where}: {label}."
        )
        out.append(Notice("renal_dose_above_label", _cited(text, src), src))
    limit, on = (7, " on dialysis") if dialysis else (11, " without dialysis")
    if start.not_studied:
        text = f"CrCl {_fmt(crcl_at_start)} mL/min at the start: lenalidomide was not studied below {limit} mL/min{on}."
        out.append(Notice("renal_not_studied", _cited(text, src), src))
    if crcl_latest is not None and not pd.isna(crcl_latest):
        latest = renal_starting_dose(indication=indication, crcl_ml_min=crcl_latest, dialysis=dialysis)
        if (
            start.band in BAND_ORDER
            and latest.band in BAND_ORDER
            and BAND_ORDER.index(latest.band) > BAND_ORDER.index(start.band)
        ):
            text = (
                f"CrCl fell from {_fmt(crcl_at_start)} mL/min ({start.band}) at the start to "
                f"{_fmt(crcl_latest)} mL/min ({latest.band}): review the dose; the PI adjusts the starting dose "
                "only, so this is not an automatic change."
            )
            out.append(Notice("renal_band_fall", _cited(text, src), src))
        if latest.not_studied and not start.not_studied:
            text = f"Latest CrCl {_fmt(crcl_latest)} mL/min: lenalidomide was not studied below {limit} mL/min{on}."
            out.append(Notice("renal_not_studied", _cited(text, src), src))
    return out
