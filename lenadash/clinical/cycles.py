"""Treatment cycles: course assignment, cycle and day of cycle, dosing vs rest days, baselines, hold spans."""

from __future__ import annotations

import numpy as np
import pandas as pd

# 28-day cycles; days of each cycle on which a capsule is taken (DOMAIN.md §1: days 22-28 of 21/28 are planned rest)
from lenadash.vocab.course import CYCLE_DAYS, DOSING_DAYS

BASELINE_LOOKBACK_DAYS = 30  # baseline = latest value on or before start, up to 30 days before (DOMAIN.md §2)
# A course recorded without a schedule is taken as continuous: every day of the cycle is a dosing day.
UNKNOWN_SCHEDULE = "28/28"


def map_keys(keys: pd.Series, mapping: pd.Series) -> pd.Series:
    """`keys.map(mapping)` (same values and dtype) for a long column of few distinct keys, e.g. the
    MRN of each of a million results: each distinct key is looked up once, then spread by position
    (about 10x faster than Series.map on 1M strings)."""
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    per_key = pd.Series(uniques, name=keys.name).map(mapping)
    return pd.Series(per_key.array.take(codes), index=keys.index, name=keys.name)


def to_day(values) -> pd.Series:
    """Calendar days as datetime64[us] at midnight (one resolution everywhere, so merges line up)."""
    return pd.to_datetime(pd.Series(values)).dt.normalize().astype("datetime64[us]")


def course_id(mrn, start_date) -> str:
    """Stable text key of one treatment course: `MRN/YYYY-MM-DD`."""
    return f"{mrn}/{pd.Timestamp(start_date).date().isoformat()}"


def courses_frame(patients: pd.DataFrame) -> pd.DataFrame:
    """The patients (courses) table with `course_id` and a day-resolution `start` timestamp added.

    Raises ValueError naming the missing columns when `patients` does not follow the contract.
    """
    missing = {"mrn", "start_date"} - set(patients.columns)
    if missing:
        raise ValueError(
            f"patients table lacks column(s) {sorted(missing)}; expected the patients contract "
            "(docs/architecture.md): mrn, indication, start_date, starting_dose_mg, schedule, ..."
        )
    out = patients.copy()
    out["mrn"] = out["mrn"].astype(str)
    out["start"] = to_day(out["start_date"]).to_numpy()
    if out["start"].isna().any():
        bad = out.loc[out["start"].isna(), "mrn"].tolist()
        raise ValueError(f"course(s) without a start date for MRN {bad}: fill in start_date (YYYY-MM-DD)")
    out["course_id"] = pd.Series(
        [course_id(m, s) for m, s in zip(out["mrn"], out["start"])], index=out.index, dtype=object
    )
    out["mrn"] = out["mrn"].astype(object)
    if out["course_id"].duplicated().any():
        dup = out.loc[out["course_id"].duplicated(), "course_id"].tolist()
        raise ValueError(f"duplicate course(s) {dup}: one course per patient and start date")
    return out.reset_index(drop=True)


def is_dosing_day(cycle_day, schedule) -> np.ndarray:
    """True where `cycle_day` is a capsule day of `schedule` ("21/28": days 1-21; "28/28": every day).

    Source: DOMAIN.md §1. Cycle 0 (before the start, cycle_day <= 0) is never a dosing day.
    Vectorised: both arguments may be scalars or array-likes of the same length.
    """
    day = np.asarray(pd.Series(cycle_day, dtype="float64"))
    last = pd.Series(schedule, dtype=object).map(DOSING_DAYS)
    if last.isna().any():
        bad = sorted(set(pd.Series(schedule, dtype=object)[last.isna()].astype(str)))
        raise ValueError(f"unknown schedule {bad}: use one of {sorted(DOSING_DAYS)}")
    return (day >= 1) & (day <= np.asarray(last, dtype="float64"))


def assign_courses(labs: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Each lab row with its course, cycle, day of cycle and whether that day is a dosing day.

    A result belongs to the latest course of its MRN that started on or before its date; results
    before the first course belong to that course as pre-treatment (cycle 0, cycle_day = days
    relative to the start, so -1 is the day before day 1). Day 1 of cycle 1 is the start date and
    every cycle has 28 days (DOMAIN.md §1). Adds: `date` (calendar day of collection), `course_id`,
    `start`, `cycle`, `cycle_day`, `dosing_day` (course schedule; planned rest days are False).
    Rows of an MRN without any course keep `course_id` None and cycle/day NA.
    """
    courses = courses_frame(patients)
    out = labs.copy(deep=False)  # copy-on-write: the added columns never reach the caller's frame
    out["mrn"] = out["mrn"].astype(str)
    if "date" not in out.columns:
        out["date"] = to_day(out["collected_at"]).to_numpy()
    else:
        out["date"] = to_day(out["date"]).to_numpy()
    courses = courses.sort_values(["mrn", "start"], kind="stable").reset_index(drop=True)
    # one sorted int64 key per (MRN, day): the latest course started on or before a draw is a binary
    # search away; a draw before the MRN's first course goes to that first course (pre-treatment).
    # MRN codes: the courses' in order of appearance (so ascending, as courses are sorted by MRN),
    # then the MRNs that have labs but no course; a missing MRN is -1.
    c_code, c_uniques = pd.factorize(courses["mrn"])
    l_raw, l_uniques = pd.factorize(out["mrn"])  # the lab MRN strings hashed once, not as objects
    l_map = pd.Index(c_uniques).get_indexer(l_uniques)
    l_map = np.where(l_map >= 0, l_map, len(c_uniques) + np.arange(len(l_uniques)))
    l_code = np.where(l_raw >= 0, l_map[np.clip(l_raw, 0, None)] if len(l_map) else -1, -1)
    c_day = courses["start"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    l_day = out["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    shift = np.int64(1 << 32)
    c_key = c_code.astype(np.int64) * shift + c_day + (1 << 31)
    l_key = l_code.astype(np.int64) * shift + l_day + (1 << 31)
    pos = np.searchsorted(c_key, l_key, side="right") - 1
    same = (pos >= 0) & (c_code[np.clip(pos, 0, None)] == l_code) if len(courses) else np.zeros(len(out), bool)
    first_of = pd.Series(np.arange(len(courses))).groupby(c_code).min() if len(courses) else pd.Series(dtype=int)
    first = pd.Series(l_code).map(first_of).to_numpy(dtype=float, na_value=np.nan) if len(out) else np.array([])
    chosen = np.where(same, pos, first)
    has = ~np.isnan(chosen.astype(float))
    take = np.where(has, chosen, 0).astype(np.int64)
    cid = courses["course_id"].to_numpy(dtype=object)
    out["course_id"] = pd.Series(
        # numpy's stub: None as x/y of where (an object None, not "omitted") is not ArrayLike
        np.where(has, cid[take] if len(courses) else None, None),  # type: ignore[arg-type]
        index=out.index,
        dtype=object,
    )
    starts = courses["start"].to_numpy(dtype="datetime64[us]")
    out["start"] = np.where(has, starts[take] if len(courses) else np.datetime64("NaT"), np.datetime64("NaT")).astype(
        "datetime64[us]"
    )
    offset = np.where(has, l_day - (c_day[take] if len(courses) else 0), 0)
    cycle = np.where(offset < 0, 0, offset // CYCLE_DAYS + 1)
    day = np.where(offset < 0, offset, offset % CYCLE_DAYS + 1)
    out["cycle"] = pd.array(np.where(has, cycle, 0), dtype="Int64")
    out["cycle_day"] = pd.array(np.where(has, day, 0), dtype="Int64")
    if (~has).any():
        out.loc[~has, ["cycle", "cycle_day"]] = pd.NA
    if "schedule" in courses:
        sched = courses["schedule"].astype(object).to_numpy()
    else:
        sched = np.full(len(courses), UNKNOWN_SCHEDULE, object)
    sched = np.where(pd.isna(sched), UNKNOWN_SCHEDULE, sched)
    if len(courses):
        last_day = pd.Series(sched).map(DOSING_DAYS).fillna(CYCLE_DAYS).to_numpy(dtype=np.int64)
    else:
        last_day = np.array([], np.int64)
    limit = last_day[take] if len(courses) else np.zeros(len(out), np.int64)
    out["dosing_day"] = has & (day >= 1) & (day <= limit)
    return out


def cycle_of(start_date, on) -> tuple[int, int]:
    """(cycle, cycle_day) of calendar day `on` for a course started on `start_date` (cycle 0 before start)."""
    offset = (pd.Timestamp(on).normalize() - pd.Timestamp(start_date).normalize()).days
    if offset < 0:
        return 0, offset
    return offset // CYCLE_DAYS + 1, offset % CYCLE_DAYS + 1


def baseline(labs: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Per course and analyte: the latest value on or before the start date, up to 30 days before.

    Source: DOMAIN.md §2 (definition of the baseline count). Returns columns `course_id`, `mrn`,
    `analyte`, `baseline_value`, `baseline_date`; a course/analyte without a value in that window
    has no row (callers treat the absence as "no baseline", never as a guess).
    """
    courses = courses_frame(patients)[["mrn", "start", "course_id"]]
    cols = ["course_id", "mrn", "analyte", "baseline_value", "baseline_date"]
    if labs.empty or courses.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    lab = labs[["mrn", "collected_at", "analyte", "value"]].copy()
    lab["mrn"] = lab["mrn"].astype(str)
    lab["date"] = to_day(lab["collected_at"]).to_numpy()
    lab = lab[lab["value"].notna()]
    # only results in some course's window can be a baseline: cut the table before the merge
    first = courses.groupby("mrn")["start"].min() - pd.Timedelta(days=BASELINE_LOOKBACK_DAYS)
    last_start = courses.groupby("mrn")["start"].max()
    lo = map_keys(lab["mrn"], first).to_numpy("datetime64[us]")
    hi = map_keys(lab["mrn"], last_start).to_numpy("datetime64[us]")
    day = lab["date"].to_numpy("datetime64[us]")
    lab = lab[(day >= lo) & (day <= hi)]
    merged = lab.merge(courses, on="mrn")
    lag = (merged["start"] - merged["date"]).dt.days
    merged = merged[(lag >= 0) & (lag <= BASELINE_LOOKBACK_DAYS)]
    merged = merged.sort_values(["course_id", "analyte", "collected_at"])
    last = merged.drop_duplicates(["course_id", "analyte"], keep="last")
    out = pd.DataFrame(
        {
            "course_id": last["course_id"].astype(object),
            "mrn": last["mrn"].astype(object),
            "analyte": last["analyte"].astype(object),
            "baseline_value": last["value"].astype(float),
            "baseline_date": last["date"],
        }
    )
    return out.reset_index(drop=True)


def hold_spans(steps: pd.DataFrame) -> pd.DataFrame:
    """Hold intervals from the dose engine's output (`dosing.simulate`), one row per hold episode.

    `start` is the date the hold began, `end` the date treatment resumed or the clinician was asked
    to decide (None while the hold is still open). Columns: course_id, mrn, start, end, reason.
    """
    cols = ["course_id", "mrn", "start", "end", "reason"]
    if steps.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    s = steps.sort_values(["course_id", "date"])
    held = s["held"].to_numpy(dtype=bool)
    course = s["course_id"].to_numpy(dtype=object)
    prev_held = np.r_[False, held[:-1]]
    prev_course = np.r_[None, course[:-1]]
    new_course = course != prev_course
    starts = held & (~prev_held | new_course)
    ends = ~held & prev_held & ~new_course
    rows = []
    open_span = None
    dates = s["date"].to_numpy()
    mrns = s["mrn"].to_numpy(dtype=object)
    reasons = s["reasons"].to_numpy(dtype=object)
    for i in range(len(s)):
        if open_span is not None and (new_course[i] or ends[i]):
            open_span["end"] = None if new_course[i] else pd.Timestamp(dates[i]).date()
            rows.append(open_span)
            open_span = None
        if starts[i]:
            why = "; ".join(reasons[i]) if isinstance(reasons[i], (list, tuple)) else str(reasons[i])
            open_span = {
                "course_id": course[i],
                "mrn": mrns[i],
                "start": pd.Timestamp(dates[i]).date(),
                "end": None,
                "reason": why,
            }
    if open_span is not None:
        rows.append(open_span)
    return pd.DataFrame(rows, columns=cols)
