"""Step preparation and `simulate`: labs and events become one row per (course, date), walked course by course."""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pandas as pd

from lenadash.clinical import cycles
from lenadash.clinical.dosing.profiles import DEFAULT_PROFILE, _as_profile
from lenadash.clinical.dosing.values import TOXICITY
from lenadash.clinical.dosing.walk import CourseWalk

STEP_COLUMNS = (
    "course_id",
    "mrn",
    "date",
    "is_draw",
    "cycle",
    "cycle_day",
    "action",
    "dose_mg",
    "schedule",
    "dosing_day",
    "reasons",
    "needs_review",
    "held",
    "rules",
    "preexisting",
    "reviews",
    "resume_plan",
    "stop",
)
EVENT_COLUMNS = ("fever_c", "fever_no_temp", "transfusion", "tox_grade", "dose_changes", "stop")
_KEY = ["course_id", "date"]


def simulate(
    labs: pd.DataFrame,
    patients: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    profile=DEFAULT_PROFILE,
    baselines: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Walk every course's draws and events in date order through the dose rules of `profile`.

    Sources: the profile's rule rows (default `us_pi`: US PI 2.1-2.4 as in DOMAIN.md §2) and
    ladders. `labs` follow the labs contract plus a `grade` column (grading.grade); `patients` are
    courses; `events` the events contract (fever, platelet_transfusion, toxicity, dose_change, and the REMS
    stop events - a positive pregnancy_test, missed_period - used).
    `baselines` defaults to `cycles.baseline(labs, patients)`.

    Returns one row per course and step date (every draw, plus event-only dates of a toxicity or
    dose_change or stop event, `is_draw` False): `action` (continue | hold | stay_held | resume | review | stop),
    `dose_mg` to take after this step (None while held or when the clinician must decide), the
    `schedule` in effect, `dosing_day` (False on planned rest days and before the start), `reasons`
    (list of strings citing rule and source), `needs_review`, `held` (state after the step),
    `rules` (ids of the rules that decided the step: profile rule ids and the engine's ids, values.ENGINE_RULES),
    `preexisting` (non-haematologic analytes graded >= 3 on this draw that were already at least that grade
    at baseline: noted, not reviewed), `reviews` ([(notice kind, reason)] of the reasons that ask for review),
    `resume_plan` (on a course's last step while held: the plan the walk will resume by, else None) and
    `stop` ({"since", "event"} while a REMS stop is in force, else None).
    """
    prof = _as_profile(profile)
    rule_analytes = sorted({r.analyte for r in prof.rules if r.analyte != TOXICITY})
    steps, courses, base_grade, g3 = _prepare_steps(labs, patients, events, rule_analytes)
    if baselines is None:
        baselines = cycles.baseline(labs, courses)
    base = {(c, a): v for c, a, v in zip(baselines["course_id"], baselines["analyte"], baselines["baseline_value"])}
    by_course = {cid: c for cid, c in zip(courses["course_id"], courses.to_dict("records"))}
    idx = {c: i for i, c in enumerate(steps.columns)}
    out: list[tuple] = []
    # the steps are sorted by course: each run of one course's records is walked on its own
    records = steps.itertuples(index=False, name=None)
    for cid, recs in itertools.groupby(records, key=operator.itemgetter(idx["course_id"])):
        out.extend(CourseWalk(by_course[cid], idx, prof, base, base_grade, g3).run(recs))
    result = pd.DataFrame(out, columns=list(STEP_COLUMNS))
    result["date"] = np.array(result["date"].to_numpy(), dtype="datetime64[D]").astype("datetime64[us]")
    return result


def _prepare_steps(
    labs: pd.DataFrame, patients: pd.DataFrame, events: pd.DataFrame | None, rule_analytes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """One row per (course, date) with the values, grades and events the walk needs.

    Returns (steps, courses, baseline grade by (course, analyte), [(analyte, grade >= 3)] by (course, date)).
    """
    if "grade" not in labs.columns:
        raise ValueError("labs need a `grade` column (CTCAE grade, 0 = normal): run grading.grade(labs) first")
    courses = cycles.courses_frame(patients)
    lab = _course_results(labs, courses)
    draws = _draws(lab, rule_analytes)
    g3 = _grade3_by_draw(lab) if len(lab) else {}
    steps = _with_events(draws, events, courses)
    steps = steps.merge(courses[["course_id", "mrn", "start"]], on="course_id", how="left")
    steps = steps.sort_values(_KEY, kind="stable").reset_index(drop=True)
    # python dates: cheap to iterate and subtract in the per-course walk
    steps["date"] = steps["date"].to_numpy("datetime64[D]").astype(object)
    return steps, courses, _baseline_grades(lab), g3


def _course_results(labs: pd.DataFrame, courses: pd.DataFrame) -> pd.DataFrame:
    """Results with a value, assigned to a course, the last of each (course, date, analyte), with `eff`."""
    assigned = {"course_id", "date", "start"} <= set(labs.columns)  # already through cycles.assign_courses
    keep = [
        c
        for c in ("mrn", "collected_at", "analyte", "value", "comparator", "grade", "date", "course_id", "start")
        if c in labs.columns
    ]
    lab = labs[keep]
    lab = lab.assign(mrn=lab["mrn"].astype(object), analyte=lab["analyte"].astype(object))
    if "comparator" in lab:
        lab = lab.assign(comparator=lab["comparator"].fillna("").astype(object))
    if not assigned:
        lab = cycles.assign_courses(lab.drop(columns=[c for c in ("course_id", "start") if c in lab]), courses)
    lab = lab[lab["course_id"].notna() & lab["value"].notna()]
    lab = lab.sort_values("collected_at", kind="stable")
    lab = lab.drop_duplicates(["course_id", "date", "analyte"], keep="last")
    return lab.assign(
        eff=_effective_values(lab), analyte=lab["analyte"].astype(object), course_id=lab["course_id"].astype(object)
    )


def _effective_values(lab: pd.DataFrame) -> np.ndarray:
    # "<0.5" is below 0.5: compare it as a hair under; ">90" as a hair over.
    comp = lab["comparator"].fillna("").astype(object) if "comparator" in lab else pd.Series("", index=lab.index)
    eff = lab["value"].astype(float).round(6).to_numpy()
    return np.where(comp == "<", eff - 1e-6, np.where(comp == ">", eff + 1e-6, eff))


def _draws(lab: pd.DataFrame, rule_analytes: list[str]) -> pd.DataFrame:
    """One row per (course, date) drawn, a column per rule analyte (NaN = not measured that day)."""
    draws = lab[_KEY].drop_duplicates()
    if len(lab):
        wide = lab[lab["analyte"].isin(rule_analytes)].pivot(index=_KEY, columns="analyte", values="eff")
        draws = draws.merge(wide.reset_index(), on=_KEY, how="left")
    for a in rule_analytes:
        if a not in draws:
            draws[a] = np.nan
    draws["is_draw"] = True
    return draws


def _grade3_by_draw(lab: pd.DataFrame) -> dict:
    """{(course, date): [(analyte, grade), ...]} of results graded >= 3 (few in practice)."""
    g = lab[lab["grade"].fillna(0).astype(int) >= 3]
    g = g.sort_values(["course_id", "date", "analyte"], kind="stable")
    g3: dict = {}
    for c, d, a, gr in zip(
        g["course_id"].to_numpy(dtype=object),
        g["date"].to_numpy("datetime64[D]").astype(object),
        g["analyte"].to_numpy(dtype=object),
        g["grade"].to_numpy(dtype=int),
    ):
        g3.setdefault((c, d), []).append((a, int(gr)))
    return g3


def _with_events(draws: pd.DataFrame, events: pd.DataFrame | None, courses: pd.DataFrame) -> pd.DataFrame:
    """The draws with their day's events, plus event-only dates of a toxicity or dose_change event."""
    if events is None or not len(events):
        steps = draws
        for c in EVENT_COLUMNS:
            steps[c] = None
        return steps
    agg = _events_by_day(events, courses)
    relevant = agg[agg["tox_grade"].notna() | (agg["dose_changes"].map(len) > 0) | agg["stop"].notna()][_KEY]
    steps = draws.merge(agg, on=_KEY, how="left")
    extra = relevant.merge(draws[_KEY], on=_KEY, how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"][_KEY].merge(agg, on=_KEY)
    extra["is_draw"] = False
    return pd.concat([steps, extra], ignore_index=True) if len(extra) else steps


def _events_by_day(events: pd.DataFrame, courses: pd.DataFrame) -> pd.DataFrame:
    """Fever, platelet transfusion, toxicity grade and clinician dose changes by (course, date)."""
    ev = events.copy()
    ev["date"] = cycles.to_day(ev["date"]).to_numpy()
    ev = cycles.assign_courses(ev, courses)
    ev = ev[ev["course_id"].notna()]
    kind = ev["event"].astype(object)
    temp, grade, dose = (
        pd.to_numeric(ev[c], errors="coerce") if c in ev else pd.Series(np.nan, index=ev.index)
        for c in ("temperature_c", "grade", "dose_mg")
    )
    is_hold = ev["is_hold"].fillna(False).astype(bool) if "is_hold" in ev else pd.Series(False, index=ev.index)
    result = ev["result"].astype(object) if "result" in ev else pd.Series(None, index=ev.index, dtype=object)
    result = result.where(result.notna(), ev["value"].astype(object) if "value" in ev else None)
    positive = (kind == "pregnancy_test") & (result.astype(str).str.strip().str.lower() == "positive")
    # a positive test outranks a missed period on the same day (the walk words the stronger reason)
    stop = pd.Series(None, index=ev.index, dtype=object)
    stop[(kind == "missed_period").to_numpy()] = "missed_period"
    stop[positive.to_numpy()] = "pregnancy_test"
    e = pd.DataFrame(
        {
            "course_id": ev["course_id"].astype(object),
            "date": ev["date"],
            "fever_c": temp.where(kind == "fever"),
            "fever_no_temp": (kind == "fever") & temp.isna(),
            "transfusion": kind == "platelet_transfusion",
            "tox_grade": grade.where(kind == "toxicity"),
            "stop": stop,
            "dc": [
                (None if np.isnan(d) else float(d), bool(h)) if k == "dose_change" else None
                for k, d, h in zip(kind, dose.to_numpy(dtype=float), is_hold)
            ],
        }
    )
    return (
        e.groupby(_KEY)
        .agg(
            fever_c=("fever_c", "max"),
            fever_no_temp=("fever_no_temp", "any"),
            transfusion=("transfusion", "any"),
            tox_grade=("tox_grade", "max"),
            dose_changes=("dc", lambda s: tuple(x for x in s if x is not None)),
            stop=("stop", lambda s: max(s.dropna(), default=None)),
        )
        .reset_index()
    )


def _baseline_grades(lab: pd.DataFrame) -> dict:
    """Grade of each analyte's baseline (last result of this course 0-30 days before or on the start)."""
    lag = (lab["start"] - lab["date"]).dt.days
    b = lab[(lag >= 0) & (lag <= cycles.BASELINE_LOOKBACK_DAYS) & lab["grade"].notna()]
    return {(c, a): int(g) for c, a, g in zip(b["course_id"], b["analyte"], b["grade"])}
