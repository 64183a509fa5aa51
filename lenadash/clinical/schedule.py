"""Monitoring schedules: next CBC, marrow biopsies, REMS pregnancy tests, course alerts (rules/monitoring.csv)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from lenadash.config import RULES_DIR

MONITORING_FILE = RULES_DIR / "monitoring.csv"
KINDS = ("cbc", "cbc_hold", "marrow_biopsy", "pregnancy_test", "thromboprophylaxis", "cycle_limit")


@lru_cache(maxsize=2)
def load_monitoring(path: str | Path = MONITORING_FILE) -> pd.DataFrame:
    """The monitoring calendars: one row per phase (kind, indication, days from the start, interval, source)."""
    rules = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("from_day", "to_day", "interval_days", "window_days", "count"):
        rules[col] = pd.to_numeric(rules[col].replace("", float("nan")))
    unknown = sorted(set(rules["kind"]) - set(KINDS))
    if unknown:
        raise ValueError(f"{Path(path).name}: unknown kind {unknown}; use one of {', '.join(KINDS)}")
    if (rules["source"].str.strip() == "").any():
        raise ValueError(f"{Path(path).name}: every row needs a source")
    calendar = rules["kind"].isin(["cbc", "cbc_hold", "marrow_biopsy", "pregnancy_test"])
    bad = rules[calendar & ~(rules["interval_days"] > 0)]
    if len(bad):
        lines = ", ".join(str(i + 2) for i in bad.index)
        raise ValueError(f"{Path(path).name} line {lines}: interval_days must be a whole number of days above 0")
    return rules


@cache
def _rows(kind: str, indication: str = "*") -> tuple[Mapping, ...]:
    """Rows of one kind for an indication (its own and the "*" rows) in file order, as read-only
    mappings of plain values (a blank number is NaN). Parsed once per (kind, indication): assess
    asks for them several times per course, and filtering the DataFrame each time dominated."""
    rules = load_monitoring()
    rows = rules[(rules["kind"] == kind) & rules["indication"].isin([indication, "*"])]
    return tuple(MappingProxyType(row) for row in rows.to_dict("records"))


def _day(x) -> dt.date:
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    return pd.Timestamp(x).date()


def _dates(values: Iterable | None, as_of: dt.date | None = None) -> list[dt.date]:
    out = sorted(
        {
            _day(v)
            for v in (values or [])
            if v is not None and not (isinstance(v, float) and math.isnan(v)) and not pd.isna(v)
        }
    )
    return [d for d in out if as_of is None or d <= as_of]


def _why(row) -> str:
    return f"{row['reason']} [{row['source']}]"


def _by_from_day(rows: tuple[Mapping, ...]) -> list[Mapping]:
    """Calendar phases in order of their first day (blank from_day last, as pandas sorts NaN)."""
    return sorted(rows, key=lambda r: (math.isnan(r["from_day"]), r["from_day"]))


def _next_in_calendar(rows: tuple[Mapping, ...], start: dt.date, after_day: int | None, *, windows: bool = True):
    """First scheduled date whose day offset is > after_day + the row's window (0 when `windows`
    is False); (date, row)."""
    for row in _by_from_day(rows):
        first, interval = int(row["from_day"]), int(row["interval_days"])
        end = math.inf if math.isnan(row["to_day"]) else int(row["to_day"])
        window = 0 if not windows or math.isnan(row["window_days"]) else int(row["window_days"])
        floor = -math.inf if after_day is None else after_day + window
        k = 0 if floor < first else math.floor((floor - first) / interval) + 1
        offset = first + k * interval
        if offset < end:
            return start + dt.timedelta(days=offset), row
    raise ValueError("monitoring.csv: the last CBC phase of an indication must be open-ended (to_day blank)")


def next_cbc(
    *,
    indication: str,
    start_date: dt.date,
    cbc_dates: Iterable,
    held: bool,
    as_of: dt.date,
) -> tuple[dt.date, bool, str]:
    """Next CBC due from the indication's calendar (DOMAIN.md section 5, rules/monitoring.csv).

    Calendar dates are start + the phase offsets in nominal 28-day cycles (day 0 = cycle 1 day 1).
    Due = the first calendar date after the last CBC on or before as_of, where a CBC drawn up to
    `window_days` (3) before a calendar date counts for it; the start itself when no CBC is recorded.
    While held: the earlier of that date and last CBC + 7 days (weekly during any hold).
    overdue = due < as_of (due today is not overdue).
    """
    start, as_of = _day(start_date), _day(as_of)
    rows = _rows("cbc", (indication or "").strip().upper())
    if not rows:
        known = ", ".join(dict.fromkeys(load_monitoring().query("kind == 'cbc'")["indication"]))
        raise ValueError(f"no CBC calendar for indication {indication!r}; use one of {known}")
    cbcs = _dates(cbc_dates, as_of)
    last = cbcs[-1] if cbcs else None
    due, row = _next_in_calendar(rows, start, None if last is None else (last - start).days)
    reason = _why(row) if last is not None else f"first CBC at the start (cycle 1 day 1); {_why(row)}"
    if held and last is not None:
        hold = _rows("cbc_hold")[0]
        hold_due = last + dt.timedelta(days=int(hold["interval_days"]))
        if hold_due <= due:
            due, reason = hold_due, _why(hold)
    return due, due < as_of, reason


def marrow_biopsies(*, start_date: dt.date, biopsy_dates: Iterable, as_of: dt.date) -> list[dict]:
    """Scheduled bone-marrow biopsies (MDS patient guide, DOMAIN.md section 5): 12 weeks, 24 weeks,
    then every 24 weeks after the start, through the first scheduled date after as_of.

    A recorded biopsy within `window_days` (28) before or after a scheduled date counts for it; one
    biopsy counts for at most one date (earliest unused biopsy first). Returns
    [{"due": date, "week": int, "done": bool}] in date order.
    """
    start, as_of = _day(start_date), _day(as_of)
    rows = _rows("marrow_biopsy")
    unused = _dates(biopsy_dates)
    out = []
    after = None
    while True:
        due, row = _next_in_calendar(rows, start, after, windows=False)
        window = dt.timedelta(days=int(row["window_days"]))
        match = next((b for b in unused if abs(b - due) <= window), None)
        if match is not None:
            unused.remove(match)
        out.append({"due": due, "week": (due - start).days // 7, "done": match is not None})
        after = (due - start).days
        if due > as_of:
            return out


def next_marrow_biopsy(*, start_date: dt.date, biopsy_dates: Iterable, as_of: dt.date) -> tuple[dt.date, bool]:
    """Earliest scheduled marrow biopsy not done (see marrow_biopsies); overdue when it is before as_of."""
    schedule = marrow_biopsies(start_date=start_date, biopsy_dates=biopsy_dates, as_of=as_of)
    due = next(s["due"] for s in schedule if not s["done"]) if any(not s["done"] for s in schedule) else None
    if due is None:  # every date through the first one after as_of is done: the one after that
        rows = _rows("marrow_biopsy")
        due, _ = _next_in_calendar(rows, _day(start_date), (schedule[-1]["due"] - _day(start_date)).days, windows=False)
    return due, due < _day(as_of)


def _result(x) -> str:
    return str(x).strip().lower() if x is not None and not pd.isna(x) else ""


def next_pregnancy_test(
    *,
    sex: str | None,
    reproductive_potential: bool,
    menses: str | None,
    start_date: dt.date,
    tests: Iterable[tuple],
    as_of: dt.date,
) -> tuple[dt.date | None, bool, str]:
    """Next REMS pregnancy test for a female of reproductive potential (DOMAIN.md section 5).

    Next = last negative test + 7 days when that test was fewer than 28 days after the start,
    else + 28 days (regular menses) or + 14 days (irregular, or menses not recorded); start + 7
    days when no negative test is recorded. overdue = due < as_of. Returns (None, False, reason)
    for everyone else, and (None, False, "... stop treatment ...") when a positive test is recorded.
    Results other than negative/positive are ignored (they neither restart nor satisfy the clock).
    """
    start, as_of = _day(start_date), _day(as_of)
    if (sex or "").strip().upper() != "F" or not reproductive_potential:
        return None, False, "no pregnancy testing: only females of reproductive potential are tested (REMS)"
    recorded = sorted(((_day(d), _result(r)) for d, r in (tests or []) if d is not None), key=lambda t: t[0])
    recorded = [t for t in recorded if t[0] <= as_of]
    positives = [d for d, r in recorded if r == "positive"]
    if positives:
        return (
            None,
            False,
            (
                f"positive pregnancy test on {positives[-1].isoformat()}: stop treatment and contact the prescriber "
                "(Lenalidomide REMS)"
            ),
        )
    negatives = [d for d, r in recorded if r == "negative"]
    rows = {r["condition"]: r for r in _rows("pregnancy_test")}
    if not negatives:
        row = rows["none"]
        due = start + dt.timedelta(days=int(row["interval_days"]))
    else:
        last = negatives[-1]
        if (last - start).days < int(rows["first_4_weeks"]["to_day"]):
            condition = "first_4_weeks"
        else:
            condition = "regular" if (menses or "").strip().lower() == "regular" else "irregular"
        row = rows[condition]
        due = last + dt.timedelta(days=int(row["interval_days"]))
    return due, due < as_of, _why(row)


def cycle_limit(indication: str | None) -> Mapping | None:
    """The `cycle_limit` row of rules/monitoring.csv for an indication (`count` = the last cycle the
    label gives, `reason`, `source`); None when the label sets no limit (e.g. MM, MDS)."""
    rows = _rows("cycle_limit", (indication or "").strip().upper())
    return min(rows, key=lambda r: r["count"]) if rows else None


def course_alerts(
    *,
    indication: str,
    combination: str | None,
    thromboprophylaxis_dates: Iterable,
    cycle: int | None,
    pregnancy_tests: Iterable[tuple] | None = None,
) -> list[str]:
    """Course-level alerts from rules/monitoring.csv, each naming its source:
    thromboprophylaxis expected with a dexamethasone combination and none recorded (US PI boxed
    warning); the FL/MZL 12-cycle limit (alert in cycle 12 and beyond; cycle None = not known,
    no alert); a positive pregnancy test (REMS: stop treatment).
    """
    alerts: list[str] = []
    ind = (indication or "").strip().upper()
    combo = (combination or "").strip().lower()
    for row in _rows("thromboprophylaxis"):
        if row["condition"] in combo and not _dates(thromboprophylaxis_dates):
            alerts.append(f"{row['reason'][0].upper()}{row['reason'][1:]} [{row['source']}].")
    for row in _rows("cycle_limit", ind):
        limit = int(row["count"])
        if cycle is not None and not pd.isna(cycle) and int(cycle) >= limit:
            where = "the last cycle" if int(cycle) == limit else f"beyond the {limit}-cycle limit"
            alerts.append(f"Cycle {int(cycle)}: {where}; {row['reason']} [{row['source']}].")
    positives = [_day(d) for d, r in (pregnancy_tests or []) if d is not None and _result(r) == "positive"]
    if positives:
        alerts.append(
            f"Positive pregnancy test on {max(positives).isoformat()}: stop treatment and contact the prescriber "
            "(Lenalidomide REMS)."
        )
    return alerts
