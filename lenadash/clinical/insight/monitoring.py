"""Monitoring adherence: each required CBC of the indication's calendar (weekly while held) on time, late or missed."""

# Definitions (docs/insight.md). Required CBCs: the calendar dates of the indication's `cbc` rows of
# rules/monitoring.csv (start + from_day + k x interval_days, before to_day; day 0 = cycle 1 day 1), except
# those inside a hold span, where the PI asks for a CBC weekly instead: hold start + 7, + 14, ... before the hold
# ends (the hold itself starts with a draw). Nothing is required after a REMS stop. A requirement is
# - on time: a CBC drawn within +/- window_days (3 in monitoring.csv, the window next_cbc already uses) of the
#   due date; the first one (cycle 1 day 1) is the baseline CBC, on time from 30 days before the start (the
#   engine's baseline window, DOMAIN.md §2) to 3 days after;
# - late: no CBC on time, but one drawn after the window and before the next requirement's window opens
#   (late_by_days = drawn - due);
# - missed: neither, and the next requirement's window has opened (or as_of passed it) with no CBC;
# - overdue: neither, the window has closed, and the next requirement's window has not opened yet: still open;
# - pending: the on-time window has not closed by as_of (not counted).
# Each draw answers one requirement at most. cbc_required = on_time + late + missed + overdue.

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable
from functools import lru_cache

from lenadash.clinical import schedule
from lenadash.clinical.cycles import BASELINE_LOOKBACK_DAYS

HOLD_WINDOW_DAYS = 3  # the same +/- 3 days as the calendar rows: a weekly CBC's window never reaches the next
HOLD_INTERVAL_DAYS = 7  # rules/monitoring.csv cbc_hold: weekly while held (US PI dose modification tables)


@lru_cache(maxsize=16)
def _phases(indication: str) -> tuple[tuple[int, int | None, int, int, str], ...]:
    """(from_day, to_day or None, interval, window, source) of the indication's CBC rows, read once."""
    rules = schedule.load_monitoring()
    rows = rules[(rules["kind"] == "cbc") & (rules["indication"] == indication)]
    return tuple(
        (
            int(r["from_day"]),
            None if math.isnan(r["to_day"]) else int(r["to_day"]),
            int(r["interval_days"]),
            3 if math.isnan(r["window_days"]) else int(r["window_days"]),
            str(r["source"]),
        )
        for r in rows.to_dict("records")
    )


def calendar(indication: str, start: dt.date, until: dt.date) -> list[tuple[dt.date, int, str]]:
    """(due date, window days, source) of every calendar CBC from the start up to `until` (included)."""
    out = []
    horizon = (until - start).days
    for first, to_day, step, window, source in _phases((indication or "").strip().upper()):
        end = horizon + 1 if to_day is None else min(to_day, horizon + 1)
        out += [(start + dt.timedelta(days=off), window, source) for off in range(first, end, step)]
    return sorted(out)


def requirements(
    indication: str, start: dt.date, as_of: dt.date, holds: list[dict], stopped_since: dt.date | None
) -> list[dict]:
    """Every required CBC up to as_of (module comment): {due, window_days, kind: calendar|hold, source}."""
    until = as_of if stopped_since is None else min(as_of, stopped_since)
    spans = [
        (
            dt.date.fromisoformat(h["start"]),
            dt.date.fromisoformat(h["end"]) if h.get("end") else until + dt.timedelta(1),
        )
        for h in holds
    ]
    reqs = [
        {"due": d, "window_days": w, "early_days": BASELINE_LOOKBACK_DAYS if d == start else w, "kind": "calendar"}
        | {"source": s}
        for d, w, s in calendar(indication, start, until)
        if not any(a <= d < b for a, b in spans)
    ]
    for a, b in spans:
        d = a + dt.timedelta(days=HOLD_INTERVAL_DAYS)
        while d < b and d <= until:
            reqs.append(
                {"due": d, "window_days": HOLD_WINDOW_DAYS, "early_days": HOLD_WINDOW_DAYS, "kind": "hold"}
                | {"source": "US PI dose modification tables"}
            )
            d += dt.timedelta(days=HOLD_INTERVAL_DAYS)
    return sorted(reqs, key=lambda r: r["due"])


def _first(draws: list[dt.date], used: set[dt.date], lo: dt.date, hi: dt.date) -> dt.date | None:
    """The earliest unused draw in [lo, hi] (draws sorted)."""
    for d in draws[bisect.bisect_left(draws, lo) :]:
        if d > hi:
            return None
        if d not in used:
            return d
    return None


def adherence(reqs: list[dict], cbc_dates: Iterable[dt.date], as_of: dt.date) -> list[dict]:
    """Each requirement with its status, the draw that answered it and late_by_days (module comment)."""
    draws = sorted(set(cbc_dates))
    used: set[dt.date] = set()
    out = []
    for i, r in enumerate(reqs):
        due, w = r["due"], dt.timedelta(days=r["window_days"])
        nxt = reqs[i + 1] if i + 1 < len(reqs) else None
        next_opens = None if nxt is None else nxt["due"] - dt.timedelta(days=nxt["early_days"])
        drawn = _first(draws, used, due - dt.timedelta(days=r["early_days"]), due + w)
        status, late_by = "on_time", None
        if drawn is None:
            late_end = as_of if next_opens is None else min(as_of, next_opens - dt.timedelta(days=1))
            drawn = _first(draws, used, due + w + dt.timedelta(days=1), late_end)
            if drawn is not None:
                status, late_by = "late", (drawn - due).days
            elif due + w >= as_of:
                status = "pending"
            elif next_opens is not None and next_opens <= as_of:
                status = "missed"
            else:
                status = "overdue"
        if drawn is not None:
            used.add(drawn)
        out.append(
            {
                "due": due.isoformat(),
                "kind": r["kind"],
                "status": status,
                "drawn": None if drawn is None else drawn.isoformat(),
                "late_by_days": late_by,
            }
        )
    return out


def summary(rows: list[dict]) -> dict:
    """The `monitoring` entry: counts by status, on-time percentage and the late days."""
    count = {s: sum(r["status"] == s for r in rows) for s in ("on_time", "late", "missed", "overdue", "pending")}
    required = count["on_time"] + count["late"] + count["missed"] + count["overdue"]
    return {
        "cbc_required": required,
        "cbc_on_time": count["on_time"],
        "cbc_late": count["late"],
        "cbc_missed": count["missed"],
        "cbc_overdue": count["overdue"],
        "cbc_pending": count["pending"],
        "on_time_pct": None if required == 0 else round(100 * count["on_time"] / required, 1),
        "late_days": [r["late_by_days"] for r in rows if r["status"] == "late"],
        "calendar": [r for r in rows if r["status"] != "pending"],
    }


def course_monitoring(
    *,
    indication: str | None,
    start: dt.date,
    as_of: dt.date,
    cbc_dates: Iterable[dt.date],
    holds: list[dict],
    stopped_since: dt.date | None = None,
) -> dict | None:
    """The `monitoring` entry of one course; None for an indication without a CBC calendar."""
    if not indication or as_of < start:
        return None
    reqs = requirements(indication, start, as_of, holds, stopped_since)
    if not reqs and not _phases(indication.strip().upper()):
        return None
    return summary(adherence(reqs, cbc_dates, as_of))
