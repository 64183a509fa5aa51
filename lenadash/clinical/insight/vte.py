"""VTE risk in myeloma: the IMPEDE VTE score (SAVED beside it) from recorded factors, and the prophylaxis on record."""

# Points and bands are data (rules/vte_scores.csv, rules/vte_risk_bands.csv), each row with its source and whether
# its value was verified (docs/insight.md says from where). A factor recorded for a patient whose points are not
# verified makes the score `review`, never a guess. Both scores were developed in multiple myeloma: other
# indications get no score. The factors are what the clinic recorded (`vte_risk_factor` events, on or before the
# as-of date; `none` = assessed, no factor); lenalidomide itself (IMPEDE's IMiD) and age >= 80 at the start (SAVED)
# come from the course. The recommendation is read on the score without the existing-prophylaxis points (the
# patient's own risk); the published score (with them) is reported beside it.

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import pandas as pd

from lenadash.clinical.notices import Notice
from lenadash.config import RULES_DIR

SCORES_FILE = RULES_DIR / "vte_scores.csv"
BANDS_FILE = RULES_DIR / "vte_risk_bands.csv"
MYELOMA = frozenset({"MM", "MM_MAINT"})
PROPHYLAXIS_POINTS = {"prophylactic": "prophylaxis_prophylactic", "therapeutic": "anticoag_therapeutic"}
# Agent classes (what the IMPEDE row "existing thromboprophylaxis" counts; the agent names as clinics write them)
AGENT_CLASS = {
    "aspirin": "antiplatelet",
    "asa": "antiplatelet",
    **dict.fromkeys(("enoxaparin", "dalteparin", "tinzaparin", "lmwh", "heparin", "fondaparinux"), "anticoagulant"),
    **dict.fromkeys(("warfarin", "apixaban", "rivaroxaban", "edoxaban", "dabigatran", "doac"), "anticoagulant"),
    **dict.fromkeys(("none", "stopped", "no"), "none"),
}
SOURCE = "IMPEDE VTE (Sanfilippo et al., Am J Hematol 2019;94:1176-1184)"


@lru_cache(maxsize=1)
def points_table() -> pd.DataFrame:
    """rules/vte_scores.csv: score, factor, points (NaN when not verified), verified, description, source."""
    t = pd.read_csv(SCORES_FILE, dtype=str, keep_default_na=False)
    t["points"] = pd.to_numeric(t["points"].replace("", float("nan")))
    if (t["source"].str.strip() == "").any():
        raise ValueError(f"{SCORES_FILE.name}: every row needs a source")
    bad = t[(t["verified"] == "yes") & t["points"].isna()]
    if len(bad):
        raise ValueError(f"{SCORES_FILE.name}: a verified row needs its points ({', '.join(bad['factor'])})")
    return t


@lru_cache(maxsize=1)
def bands_table() -> pd.DataFrame:
    """rules/vte_risk_bands.csv: score, band, min_points, max_points (NaN = open), anticoagulant_expected."""
    t = pd.read_csv(BANDS_FILE, dtype=str, keep_default_na=False)
    for c in ("min_points", "max_points", "six_month_vte_pct"):
        t[c] = pd.to_numeric(t[c].replace("", float("nan")))
    return t


@lru_cache(maxsize=1)
def _band_rows() -> tuple[dict, ...]:
    return tuple(bands_table().to_dict("records"))


@lru_cache(maxsize=4)
def _points_rows(name: str) -> dict[str, dict]:
    return {r["factor"]: r for r in points_table().to_dict("records") if r["score"] == name}


def band(score: str, points: float) -> dict:
    """The band row (band, anticoagulant_expected, six_month_vte_pct, source) a score's points fall in."""
    r = next(
        r
        for r in _band_rows()
        if r["score"] == score
        and (pd.isna(r["min_points"]) or r["min_points"] <= points)
        and (pd.isna(r["max_points"]) or points <= r["max_points"])
    )
    return {
        "band": r["band"],
        "anticoagulant_expected": {"yes": True, "no": False}.get(r["anticoagulant_expected"]),
        "six_month_vte_pct": None if pd.isna(r["six_month_vte_pct"]) else float(r["six_month_vte_pct"]),
        "source": r["source"],
    }


def agent_class(agent: str | None) -> str:
    """antiplatelet, anticoagulant, none, or unknown (a name lenadash does not know: review)."""
    if agent is None:
        return "none"
    return AGENT_CLASS.get(agent.strip().lower(), "unknown")


def score(name: str, factors: set[str], prophylaxis: str | None) -> dict:
    """One score: points with and without the existing-prophylaxis row, the band, the factors used, and `review`
    reasons (a factor whose points are not verified). prophylaxis: prophylactic, therapeutic or None."""
    rows = _points_rows(name)
    used = sorted(f for f in factors if f in rows)
    review = [f"{f}: {rows[f]['source']}" for f in used if rows[f]["verified"] != "yes"]
    own = float(sum(float(rows[f]["points"]) for f in used if rows[f]["verified"] == "yes"))
    extra = PROPHYLAXIS_POINTS.get(prophylaxis or "")
    with_prophylaxis = own + (float(rows[extra]["points"]) if extra in rows else 0.0)
    if review:
        return {"score": None, "score_without_prophylaxis": None, "band": None, "factors": used, "review": review}
    b = band(name, own)
    return {
        "score": with_prophylaxis,
        "score_without_prophylaxis": own,
        "band": b["band"],
        "anticoagulant_expected": b["anticoagulant_expected"],
        "six_month_vte_pct": b["six_month_vte_pct"],
        "factors": used,
        "review": [],
    }


def _latest(rows: list[tuple], as_of: dt.date) -> tuple | None:
    rows = sorted((r for r in rows if r[0] is not None and r[0] <= as_of), key=lambda r: r[0])
    return rows[-1] if rows else None


def course_vte(
    *,
    indication: str | None,
    combination: str | None,
    age_at_start: int | None,
    factor_events: list[tuple],
    prophylaxis_events: list[tuple],
    as_of: dt.date,
) -> tuple[dict, list[Notice]]:
    """The `vte` entry of one course and its notices (module comment)."""
    if (indication or "").upper() not in MYELOMA:
        return {"applicable": False, "why": "IMPEDE VTE and SAVED were developed in multiple myeloma"}, []
    recorded = {str(v).strip().lower() for d, v in factor_events if d is not None and d <= as_of and v}
    factors = (recorded - {"none"}) | {"imid"}
    if age_at_start is not None and age_at_start >= 80:
        factors.add("age_80")
    latest = _latest(prophylaxis_events, as_of)
    agent = None if latest is None else str(latest[1])
    klass = agent_class(agent)
    level = (
        "therapeutic"
        if "anticoag_therapeutic" in factors
        else ("prophylactic" if klass in ("antiplatelet", "anticoagulant") else None)
    )
    factors.discard("anticoag_therapeutic")
    entry: dict[str, Any] = {
        "applicable": True,
        "assessed": bool(recorded),
        "factors_recorded": sorted(recorded),
        "prophylaxis": None if latest is None else {"date": latest[0].isoformat(), "agent": agent, "class": klass},
        "impede": score("impede", factors, level),
        "saved": score("saved", factors, level),
    }
    dex = "dexamethasone" in (combination or "").lower()
    if not recorded:  # a score from the course alone would be a floor dressed as a risk: not given
        for s in ("impede", "saved"):
            entry[s].update(score=None, score_without_prophylaxis=None, band=None)
            entry[s]["review"].append("VTE risk factors not recorded (vte_risk_factor events, or none)")
    elif dex and not factors & {"dex_high", "dex_low"}:
        for s in ("impede", "saved"):
            entry[s].update(score=None, score_without_prophylaxis=None, band=None)
            entry[s]["review"].append(
                "dexamethasone combination: record its dose (vte_risk_factor dex_high or dex_low)"
            )
    return entry, _notices(entry, klass)


def _notices(entry: dict, klass: str) -> list[Notice]:
    imp = entry["impede"]
    out = []
    if not entry["assessed"]:
        return []  # nothing recorded yet: the clinic page counts it (VTE risk coverage), no notice per patient
    if imp["band"] is None:
        return [Notice("vte_score_review", "IMPEDE VTE score needs review: " + "; ".join(imp["review"]), SOURCE)]
    if klass == "unknown":
        agent = entry["prophylaxis"]["agent"]
        out.append(
            Notice("vte_score_review", f"thromboprophylaxis agent '{agent}' is not one lenadash knows: review", SOURCE)
        )
    pts = f"IMPEDE VTE {imp['score_without_prophylaxis']:g} before prophylaxis ({imp['band']} risk)"
    if imp.get("anticoagulant_expected") is True and klass in ("none", "antiplatelet"):
        on = "none" if klass == "none" else entry["prophylaxis"]["agent"]
        text = f"{pts}: the score's authors advise anticoagulant thromboprophylaxis at high risk; recorded: {on}"
        out.append(Notice("vte_prophylaxis_mismatch", text, SOURCE))
    elif imp.get("anticoagulant_expected") is False and klass == "anticoagulant":
        text = (
            f"{pts}: the score's authors advise avoiding anticoagulants at low risk; recorded: "
            f"{entry['prophylaxis']['agent']} (another indication for it may apply)"
        )
        out.append(Notice("vte_prophylaxis_mismatch", text, SOURCE, severity="info"))
    return out
