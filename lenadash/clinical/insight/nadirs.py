"""Nadirs per cycle and count (ANC, platelets, haemoglobin): value, cycle day, grade, recovery, trend."""

# Definitions (docs/insight.md): the nadir of a count in a cycle is its lowest value among the cycle's draws
# (the earliest draw when two are equally low). Recovery is measured against the count's hold threshold, the
# highest hold line the course's rules draw for it (`thresholds` in the assess entry: the value below which
# some rule holds): recovery_days = days from the nadir draw to the first later draw at or above it (0 when
# the nadir itself is at or above it; None when no later draw has recovered by the as-of date, or when the
# count has no hold threshold, as haemoglobin). The trend is the least-squares slope of the nadir values over
# the cycle numbers, given from three cycles with a nadir on; `deepening` when it is negative and the last
# nadir is below the first.

from __future__ import annotations

import datetime as dt

import numpy as np

NADIR_ANALYTES = ("anc", "plt", "hgb")
TREND_MIN_CYCLES = 3


def hold_thresholds(thresholds: list[dict]) -> dict[str, float]:
    """{analyte: highest hold value} over the course's hold lines (`<` / `<=` lines only)."""
    out: dict[str, float] = {}
    for line in thresholds or []:
        if line.get("kind") == "hold" and line.get("op") in ("<", "<=") and line.get("value") is not None:
            a = line["analyte"]
            out[a] = max(out.get(a, -np.inf), float(line["value"]))
    return out


def _series(draws: list[dict]) -> dict[str, list[tuple[str, int, int, float, int | None]]]:
    """{analyte: [(ISO date, cycle, cycle_day, value, grade)]} of the draws on or after the start, one pass."""
    out: dict[str, list] = {a: [] for a in NADIR_ANALYTES}
    for d in draws:
        if d.get("cycle") is None or d["cycle"] < 1:
            continue
        values = d["values"]
        for a in NADIR_ANALYTES:
            v = values.get(a)
            if v is not None:
                out[a].append((d["date"], d["cycle"], d["cycle_day"], float(v), d["grades"].get(a)))
    return out


def _recovery_days(series, i: int, threshold: float | None) -> int | None:
    if threshold is None:
        return None
    date, _, _, value, _ = series[i]
    if value >= threshold:
        return 0
    later = next((d for d, _, _, v, _ in series[i + 1 :] if v >= threshold), None)
    return None if later is None else (dt.date.fromisoformat(later) - dt.date.fromisoformat(date)).days


def course_nadirs(draws: list[dict], thresholds: list[dict]) -> list[dict]:
    """The `nadirs` entry: one row per (cycle, analyte) with a draw, in cycle then analyte order."""
    limits = hold_thresholds(thresholds)
    rows = []
    by_analyte = _series(draws)
    for analyte in NADIR_ANALYTES:
        series = by_analyte[analyte]
        best: dict[int, int] = {}
        for i, (_, cycle, _, value, _) in enumerate(series):
            if cycle not in best or value < series[best[cycle]][3]:
                best[cycle] = i
        for cycle, i in best.items():
            _, _, day, value, grade = series[i]
            rows.append(
                {
                    "cycle": cycle,
                    "analyte": analyte,
                    "value": value,
                    "cycle_day": day,
                    "grade": None if grade is None else int(grade),
                    "recovery_days": _recovery_days(series, i, limits.get(analyte)),
                    "hold_threshold": limits.get(analyte),
                }
            )
    rows.sort(key=lambda r: (r["cycle"], NADIR_ANALYTES.index(r["analyte"])))
    return rows


def nadir_trend(nadirs: list[dict]) -> dict[str, dict]:
    """{analyte: {cycles, slope_per_cycle, deepening}} from the nadir rows (slope None under 3 cycles)."""
    out = {}
    for analyte in NADIR_ANALYTES:
        pts = [(r["cycle"], r["value"]) for r in nadirs if r["analyte"] == analyte]
        if not pts:
            continue
        slope = None
        if len(pts) >= TREND_MIN_CYCLES:
            x = np.array([c for c, _ in pts], dtype=float)
            y = np.array([v for _, v in pts], dtype=float)
            slope = round(float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()), 4)
        out[analyte] = {
            "cycles": len(pts),
            "slope_per_cycle": slope,
            "deepening": bool(slope is not None and slope < 0 and pts[-1][1] < pts[0][1]),
        }
    return out
