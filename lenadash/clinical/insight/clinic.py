"""Clinic figures from the assess JSON, by indication and period (docs/insight.md, "Clinic page")."""

# A cycle belongs to the period when its day 1 does; a reduction or a hold when its date does; a required CBC or
# REMS test when its due date does. Patients counted by status are the courses started on or before the period's
# end, with their status on the as-of date. Medians and percentages leave out what has nothing to count (a
# course without planned dose in the period; a period without a required CBC): None, never 0.

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass

from lenadash.vocab.course import CYCLE_DAYS

STATUSES = ("on_treatment", "held", "review", "stopped")
HOLD_CAUSES = ("anc", "plt", "toxicity", "clinician", "unrecorded")
MYELOMA = ("MM", "MM_MAINT")


@dataclass(frozen=True)
class Period:
    """Both ends included; None = open."""

    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lo", "" if self.start is None else self.start.isoformat())
        object.__setattr__(self, "_hi", "9999" if self.end is None else self.end.isoformat())

    def has(self, iso: str | None) -> bool:
        """Whether an ISO date (YYYY-MM-DD) falls in the period (ISO dates compare as text)."""
        return iso is not None and self._lo <= iso <= self._hi  # type: ignore[attr-defined]


def courses(result: dict, *, indications=None, period: Period | None = None) -> list[dict]:
    """The assessed courses of the chosen indications (all when None) started on or before the period's end."""
    period = period or Period()
    out = []
    for p in result.get("patients", []):
        if p.get("course_id") is None or p.get("exposure") is None and p.get("monitoring") is None:
            continue
        if indications and p.get("indication") not in indications:
            continue
        if period.end is not None and p["start_date"] > period.end.isoformat():
            continue
        out.append(p)
    return out


def _cycle_start(p: dict, cycle: int) -> str:
    return (dt.date.fromisoformat(p["start_date"]) + dt.timedelta(days=(cycle - 1) * CYCLE_DAYS)).isoformat()


def course_row(p: dict, period: Period) -> dict:
    """One course's figures in the period (the clinic table's row and what the clinic figures add up)."""
    e = p.get("exposure") or {}
    cycles = [c for c in e.get("cycles", []) if c["planned_mg"] > 0 and period.has(_cycle_start(p, c["cycle"]))]
    planned = sum(c["planned_mg"] for c in cycles)
    delivered = sum(c["delivered_mg"] for c in cycles)
    holds = [h for h in e.get("holds", []) if period.has(h["start"])]
    cbc = [c for c in (p.get("monitoring") or {}).get("calendar", []) if period.has(c["due"])]
    rems = [c for c in (p.get("rems") or {}).get("calendar", []) if period.has(c["due"])]
    vte = p.get("vte") or {}
    return {
        "mrn": p["mrn"],
        "name": p.get("name") or "",
        "indication": p.get("indication"),
        "status": p.get("status"),
        "cycles": len(cycles),
        "planned_mg": planned,
        "delivered_mg": delivered,
        "rdi": None if planned <= 0 else round(delivered / planned, 3),
        "reductions": sum(period.has(r["date"]) for r in e.get("reduction_steps", [])),
        "holds": len(holds),
        "hold_causes": Counter(c for h in holds for c in h["causes"]),
        "cbc_required": len(cbc),
        "cbc_on_time": sum(c["status"] == "on_time" for c in cbc),
        "rems_required": len(rems),
        "rems_on_time": sum(bool(c["on_time"]) for c in rems),
        "vte_applicable": bool(vte.get("applicable")),
        "vte_assessed": bool(vte.get("assessed")),
        "impede_band": (vte.get("impede") or {}).get("band"),
        "vte_mismatch": any(n["kind"] == "vte_prophylaxis_mismatch" and n["severity"] != "info" for n in p["notices"]),
        "cbc_months": Counter((c["due"][:7], c["status"] == "on_time") for c in cbc),
    }


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def summary(rows: list[dict]) -> dict:
    """The clinic figures (docs/insight.md): counts by status, median RDI, reductions and holds per 100 cycles
    (holds by cause), on-time CBC %, REMS tests on time %, VTE risk coverage."""
    cycles = sum(r["cycles"] for r in rows)
    rdis = [r["rdi"] for r in rows if r["rdi"] is not None]
    causes: Counter = Counter()
    for r in rows:
        causes.update(r["hold_causes"])
    vte = [r for r in rows if r["vte_applicable"]]
    assessed = [r for r in vte if r["vte_assessed"]]
    return {
        "patients": len(rows),
        "by_status": {s: sum(r["status"] == s for r in rows) for s in STATUSES},
        "cycles": cycles,
        "median_rdi": None if not rdis else round(statistics.median(rdis), 3),
        "reductions_per_100_cycles": None
        if cycles == 0
        else round(100 * sum(r["reductions"] for r in rows) / cycles, 1),
        "holds_per_100_cycles": None if cycles == 0 else round(100 * sum(r["holds"] for r in rows) / cycles, 1),
        "holds_per_100_cycles_by_cause": {
            c: None if cycles == 0 else round(100 * causes[c] / cycles, 1)
            for c in HOLD_CAUSES
            if causes[c] or c in ("anc", "plt")
        },
        "cbc_on_time_pct": _pct(sum(r["cbc_on_time"] for r in rows), sum(r["cbc_required"] for r in rows)),
        "rems_on_time_pct": _pct(sum(r["rems_on_time"] for r in rows), sum(r["rems_required"] for r in rows)),
        "vte_patients": len(vte),
        "vte_assessed_pct": _pct(len(assessed), len(vte)),
        "vte_covered_pct": _pct(
            sum(not r["vte_mismatch"] and r["impede_band"] is not None for r in assessed), len(vte)
        ),
        "impede_bands": dict(Counter(r["impede_band"] or "not scored" for r in vte)),
    }


def on_time_by_month(rows: list[dict]) -> list[dict]:
    """[{month: YYYY-MM, required, on_time, on_time_pct}] of the required CBCs, by due month."""
    months: Counter = Counter()
    for r in rows:
        months.update(r["cbc_months"])
    out = []
    for m in sorted({m for m, _ in months}):
        on, late = months[(m, True)], months[(m, False)]
        out.append({"month": m, "required": on + late, "on_time": on, "on_time_pct": _pct(on, on + late)})
    return out
