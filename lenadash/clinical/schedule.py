"""Monitoring schedules: next CBC, marrow biopsies, REMS pregnancy tests, course alerts (rules/monitoring.csv)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import pandas as pd

from lenadash.clinical.notices import Notice
from lenadash.config import RULES_DIR

MONITORING_FILE = RULES_DIR / "monitoring.csv"
KINDS = (
    "cbc",
    "cbc_hold",
    "marrow_biopsy",
    "marrow_biopsy_planned",
    "pregnancy_test",
    "pregnancy_test_pre",
    "pregnancy_test_missed",
    "thromboprophylaxis",
    "cycle_limit",
)


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


class Due(NamedTuple):
    """What is due next: the date (None = nothing due), whether it is past, the reason (for people, citing
    the source) and the source itself (data: the monitoring row's `source`)."""

    date: dt.date | None
    overdue: bool
    reason: str
    source: str


def _due(date: dt.date | None, as_of: dt.date, reason: str, row: Mapping | None) -> Due:
    return Due(date, date is not None and date < as_of, reason, "" if row is None else str(row["source"]))


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
) -> Due:
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
            due, reason, row = hold_due, _why(hold), hold
    return _due(due, as_of, reason, row)


def marrow_biopsies(
    *,
    start_date: dt.date,
    biopsy_dates: Iterable,
    as_of: dt.date,
    indication: str | None = "MDS",
    planned_dates: Iterable = (),
) -> list[dict]:
    """Bone-marrow biopsies: the indication's calendar (rules/monitoring.csv; only MDS has one, from the MDS
    patient guide, DOMAIN.md section 5: 12 weeks, 24 weeks, then every 24 weeks after the start, listed
    through the first date after as_of) and the clinician's planned dates (`marrow_biopsy_planned`
    events, any indication).

    A recorded biopsy within `window_days` (28) before or after a due date counts for it; one biopsy
    counts for at most one calendar date (earliest unused biopsy first) and, separately, for at most one
    planned date (a plan is usually the plan for a calendar biopsy). Returns [{"due": date, "week": int,
    "done": bool}] for calendar dates and [{"due", "week": None, "done", "planned": True}] for planned
    ones, in date order (a calendar date before a planned one on the same day).
    """
    start, as_of = _day(start_date), _day(as_of)
    rows = _rows("marrow_biopsy", (indication or "").strip().upper())
    out = []
    unused = _dates(biopsy_dates)
    after = None
    while rows:
        due, row = _next_in_calendar(rows, start, after, windows=False)
        match = _take(unused, due, int(row["window_days"]))
        out.append({"due": due, "week": (due - start).days // 7, "done": match})
        after = (due - start).days
        if due > as_of:
            break
    unused = _dates(biopsy_dates)
    window = int(_rows("marrow_biopsy_planned")[0]["window_days"])
    for due in _dates(planned_dates):
        out.append({"due": due, "week": None, "done": _take(unused, due, window), "planned": True})
    return sorted(out, key=lambda b: (b["due"], "planned" in b))


def _take(unused: list[dt.date], due: dt.date, window_days: int) -> bool:
    """Take the earliest unused biopsy within window_days of `due` (it counts for that date); found or not."""
    match = next((b for b in unused if abs(b - due) <= dt.timedelta(days=window_days)), None)
    if match is not None:
        unused.remove(match)
    return match is not None


def next_marrow_biopsy(
    *,
    start_date: dt.date,
    biopsy_dates: Iterable,
    as_of: dt.date,
    indication: str | None = "MDS",
    planned_dates: Iterable = (),
) -> tuple[dt.date | None, bool]:
    """Earliest calendar or planned marrow biopsy not done (see marrow_biopsies); overdue when it is before
    as_of. None when nothing is due: no calendar for the indication and every planned date done (or none)."""
    listed = marrow_biopsies(
        start_date=start_date,
        biopsy_dates=biopsy_dates,
        as_of=as_of,
        indication=indication,
        planned_dates=planned_dates,
    )
    due = min((b["due"] for b in listed if not b["done"]), default=None)
    calendar = [b for b in listed if not b.get("planned")]
    if due is None and calendar:  # every date through the first one after as_of is done: the one after that
        rows = _rows("marrow_biopsy", (indication or "").strip().upper())
        start = _day(start_date)
        due, _ = _next_in_calendar(rows, start, (calendar[-1]["due"] - start).days, windows=False)
    return due, due is not None and due < _day(as_of)


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
    missed_periods: Iterable = (),
) -> Due:
    """Next REMS pregnancy test for a female of reproductive potential (DOMAIN.md section 5).

    Next = last negative test + 7 days when that test was fewer than 28 days after the start,
    else + 28 days (regular menses) or + 14 days (irregular, or menses not recorded); start + 7
    days when no negative test is recorded. A missed period after the last negative test asks for a
    test on the day it was recorded. Holds and stops change nothing: the tests go on the same
    (REMS). overdue = due < as_of. Returns (None, False, reason) for everyone else, and
    (None, False, "... stop treatment ...") when the latest test is positive (it answers the question;
    a later negative test starts the clock again). Results other than negative/positive are ignored.
    """
    start, as_of = _day(start_date), _day(as_of)
    if (sex or "").strip().upper() != "F" or not reproductive_potential:
        return _due(None, as_of, "no pregnancy testing: only females of reproductive potential are tested (REMS)", None)
    recorded = sorted(((_day(d), _result(r)) for d, r in (tests or []) if d is not None), key=lambda t: t[0])
    recorded = [t for t in recorded if t[0] <= as_of and t[1] in ("negative", "positive")]
    if recorded and recorded[-1][1] == "positive":
        why = (
            f"positive pregnancy test on {recorded[-1][0].isoformat()}: stop treatment and contact the prescriber "
            "(Lenalidomide REMS)"
        )
        return _due(None, as_of, why, _rows("pregnancy_test_missed")[0])
    negatives = [d for d, r in recorded if r == "negative"]
    missed = [d for d in _dates(missed_periods, as_of) if not negatives or d > negatives[-1]]
    if missed:
        row = _rows("pregnancy_test_missed")[0]
        return _due(missed[0], as_of, _why(row), row)
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
    return _due(due, as_of, _why(row), row)


def pretreatment_tests_missing(
    *, sex: str | None, reproductive_potential: bool, start_date: dt.date, tests: Iterable[tuple]
) -> list[Mapping]:
    """The REMS pre-treatment pregnancy tests not on record (DOMAIN.md section 5): a negative test 10-14
    days before the start and one within 24 hours before it (on the start date or the day before), the
    windows being the `pregnancy_test_pre` rows of rules/monitoring.csv (days before the start, both ends
    included). Both are asked for, as the label does; one negative test in the 14 days does not stand for
    the other. Returns the rows of the missing tests ([] when both are recorded, or the patient is not a
    female of reproductive potential)."""
    if (sex or "").strip().upper() != "F" or not reproductive_potential:
        return []
    start = _day(start_date)
    before = [(start - _day(d)).days for d, r in (tests or []) if d is not None and _result(r) == "negative"]
    return [
        row
        for row in _rows("pregnancy_test_pre")
        if not any(int(row["from_day"]) <= b <= int(row["to_day"]) for b in before)
    ]


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
) -> list[Notice]:
    """Course-level notices from rules/monitoring.csv, each with its kind and source:
    `thromboprophylaxis_missing` (a dexamethasone combination and none recorded; US PI boxed warning) and
    `cycle_limit` (FL/MZL: in cycle 12 and beyond; cycle None = not known, nothing). A positive pregnancy
    test is not here: it stops treatment in the dose engine, and assess raises the `stopped` notice.
    `pregnancy_tests` is accepted for 0.1 callers and not used.
    """
    out: list[Notice] = []
    ind = (indication or "").strip().upper()
    combo = (combination or "").strip().lower()
    for row in _rows("thromboprophylaxis"):
        if row["condition"] in combo and not _dates(thromboprophylaxis_dates):
            text = f"{row['reason'][0].upper()}{row['reason'][1:]} [{row['source']}]."
            out.append(Notice("thromboprophylaxis_missing", text, row["source"]))
    for row in _rows("cycle_limit", ind):
        limit = int(row["count"])
        if cycle is not None and not pd.isna(cycle) and int(cycle) >= limit:
            where = "the last cycle" if int(cycle) == limit else f"beyond the {limit}-cycle limit"
            text = f"Cycle {int(cycle)}: {where}; {row['reason']} [{row['source']}]."
            out.append(Notice("cycle_limit", text, row["source"]))
    return out
