"""Assessment: patients + labs + events on a date -> graded draws, dose actions and what is due (JSON contract)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gc
import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lenadash import config
from lenadash.clinical import cycles, dosing, grading, renal, schedule
from lenadash.clinical.dosing import values as engine
from lenadash.clinical.dosing.reasons import label as analyte_label
from lenadash.clinical.insight import course as insight
from lenadash.clinical.notices import Notice, ordered
from lenadash.vocab import csvsafe
from lenadash.vocab.frames import PATIENT_COLUMNS

CBC_ANALYTES = ("wbc", "anc", "alc", "hgb", "plt")
STATUSES = ("on_treatment", "held", "review", "stopped")  # the contract's patient statuses (docs/assess.md)


@dataclass
class AssessFrames:
    """The assessment as DataFrames, for the dashboard (no re-parsing of the JSON dict).

    courses: one row per course (mrn, course_id, indication, start_date, ... as in patients) plus
        baseline values `baseline_<analyte>`.
    labs: the graded results on or before as_of with course_id, cycle, cycle_day, dosing_day,
        grade, grade_term, grade_note, baseline_value.
    steps: the dose engine's output (dosing.simulate), draws and event-only dates.
    draws: steps that are draws (is_draw), plus a column per analyte value and `<analyte>_grade`.
    hold_spans: cycles.hold_spans(steps).
    """

    as_of: dt.date
    rules: str
    courses: pd.DataFrame
    labs: pd.DataFrame
    steps: pd.DataFrame
    hold_spans: pd.DataFrame
    unassigned: pd.DataFrame  # graded results of MRNs without any course

    @functools.cached_property
    def draws(self) -> pd.DataFrame:
        """Engine rows of draws with a column per analyte value and `<analyte>_grade` (built on first use)."""
        return _draws_table(self.labs[self.labs["course_id"].notna()], self.steps)


@contextlib.contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector for the duration (restored as it was after).

    Speed only: an assessment allocates hundreds of thousands of small containers (rows, dicts,
    lists), and each time that triggers a full collection the collector re-walks every object in
    the process, including the million-element object columns of the labs. Here that is ~0.8 s
    of ~3.5 s on the 1M-result benchmark clinic. Reference counting still frees everything at
    once; any cyclic garbage made meanwhile is collected on the collector's next run.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"as_of = {value!r} is not a date; give it as YYYY-MM-DD") from None


def _empty_patients() -> pd.DataFrame:
    return pd.DataFrame(columns=PATIENT_COLUMNS)


@_gc_paused()
def assess_frames(
    patients: pd.DataFrame | None, labs: pd.DataFrame | None, events: pd.DataFrame | None, *, as_of, rules="us_pi"
) -> AssessFrames:
    """Grade, assign to courses and run the dose engine on everything dated on or before `as_of`.

    Courses starting after `as_of` are left out (data after as_of does not count). Sources: CTCAE
    v5.0 via grading.grade, the dose rule profile `rules` via dosing.simulate, DOMAIN.md §2.
    """
    as_of = _as_date(as_of)
    cut = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    profile = dosing.load_profile(rules) if not isinstance(rules, dosing.Profile) else rules
    patients = _empty_patients() if patients is None else patients
    if len(patients):
        starts = cycles.to_day(patients["start_date"])
        patients = patients[(starts < cut).to_numpy()]
    courses = cycles.courses_frame(patients)
    if labs is None:
        labs = pd.DataFrame(columns=["mrn", "collected_at", "analyte", "value", "unit", "comparator"])
    for name, frame, needed in (
        ("labs", labs, ("mrn", "collected_at", "analyte", "value")),
        ("patients", patients, ("mrn", "indication", "start_date", "starting_dose_mg")),
        ("events", events, ("mrn", "date", "event")),
    ):
        missing = [c for c in needed if frame is not None and c not in frame.columns]
        if missing:
            raise ValueError(
                f"{name} table lacks column(s) {missing}; pass the frame from ingest.read_{name} or "
                f"store.load_{name} (docs/architecture.md, '{name}')"
            )
    # copy-on-write: a shallow copy is enough, the columns set below never reach the caller's frame
    if len(labs):
        keep = (pd.to_datetime(labs["collected_at"]) < cut).to_numpy()
        lab = labs.copy(deep=False) if keep.all() else labs[keep]
    else:
        lab = labs.copy(deep=False)
    lab["mrn"] = lab["mrn"].astype(str)
    if events is not None and len(events):
        ev = events[cycles.to_day(events["date"]).to_numpy() < np.datetime64(cut)].copy()
        ev["mrn"] = ev["mrn"].astype(str)
    else:
        ev = None
    baselines = cycles.baseline(lab, courses)
    lab = cycles.assign_courses(lab, courses)
    if len(lab):
        lab = _with_baselines(lab, baselines)
        if "sex" in courses:
            sex = courses.drop_duplicates("mrn").set_index("mrn")["sex"]
            lab["sex"] = cycles.map_keys(lab["mrn"], sex)
        lab = grading.grade(lab, version=profile.grading)
    else:
        for c in ("baseline_value", "grade", "grade_term", "grade_note"):
            lab[c] = pd.Series(dtype=object)
    has_course = lab["course_id"].notna().to_numpy()
    # every result has a course in a clinic whose patients all have one: no copy of the million rows then
    assigned = lab if has_course.all() else lab[has_course]
    unassigned = lab.iloc[:0] if has_course.all() else lab[~has_course]
    steps = dosing.simulate(assigned, courses, ev, profile=profile, baselines=baselines)
    _add_crcl(courses, lab, as_of)
    for a in ("anc", "plt", "creatinine"):
        b = baselines[baselines["analyte"] == a].set_index("course_id")["baseline_value"]
        courses[f"baseline_{a}"] = courses["course_id"].map(b)
    return AssessFrames(
        as_of=as_of,
        rules=profile.id,
        courses=courses,
        labs=lab,
        steps=steps,
        hold_spans=cycles.hold_spans(steps),
        unassigned=unassigned,
    )


def _with_baselines(lab: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """`lab.merge(baselines[[course_id, analyte, baseline_value]], on=[course_id, analyte], how="left")`, the
    same frame, but the join is made on the two key columns alone instead of copying every lab column."""
    keys = ["course_id", "analyte"]
    joined = lab[keys].merge(baselines[[*keys, "baseline_value"]], on=keys, how="left")
    if len(joined) != len(lab):  # a duplicated baseline key repeats rows: the merge itself says how
        return lab.merge(baselines[[*keys, "baseline_value"]], on=keys, how="left")
    out = lab.reset_index(drop=True)
    out["analyte"] = joined["analyte"]  # the merge's key column (its dtype), as merge would give it
    out["baseline_value"] = joined["baseline_value"]
    return out


def _add_crcl(courses: pd.DataFrame, labs: pd.DataFrame, as_of: dt.date) -> None:
    """Vectorised Cockcroft-Gault (renal.crcl_ml_min) per course: `crcl_ml_min` from the latest
    creatinine on or before as_of, `crcl_at_start_ml_min` from the latest on or before the start
    (`creatinine_start_date` says when); age in whole years on the creatinine's date (DOMAIN.md §3)."""
    for col in ("crcl_ml_min", "crcl_at_start_ml_min"):
        courses[col] = np.nan
    courses["creatinine_start_date"] = pd.NaT
    if not len(courses) or not len(labs):
        return
    c = labs.loc[(labs["analyte"] == "creatinine") & labs["value"].notna(), ["mrn", "collected_at", "date", "value"]]
    c = c.sort_values("collected_at", kind="stable").drop_duplicates(["mrn", "date"], keep="last")
    c = pd.DataFrame(
        {
            "mrn": c["mrn"].astype(object).to_numpy(),
            "cdate": c["date"].to_numpy("datetime64[us]"),
            "creatinine": c["value"].to_numpy(dtype=float),
        }
    )
    if not len(c):
        return
    latest = c.groupby("mrn", sort=False).last()
    key = pd.DataFrame(
        {
            "mrn": courses["mrn"].astype(object).to_numpy(),
            "start": courses["start"].to_numpy("datetime64[us]"),
            "_i": np.arange(len(courses)),
        }
    )
    at_start = pd.merge_asof(
        key.sort_values("start"),
        c.sort_values("cdate"),
        left_on="start",
        right_on="cdate",
        by="mrn",
        direction="backward",
    ).sort_values("_i")
    for col, cdate, creat in (
        ("crcl_ml_min", key["mrn"].map(latest["cdate"]), key["mrn"].map(latest["creatinine"])),
        (
            "crcl_at_start_ml_min",
            at_start["cdate"].reset_index(drop=True),
            at_start["creatinine"].reset_index(drop=True),
        ),
    ):
        birth = courses["birth_date"] if "birth_date" in courses else pd.Series(pd.NaT, index=courses.index)
        age = renal.age_years_series(birth.reset_index(drop=True), pd.Series(cdate.to_numpy()))
        crcl = renal.crcl_ml_min(
            age_years=age.astype(float),
            weight_kg=pd.to_numeric(courses["weight_kg"], errors="coerce").reset_index(drop=True)
            if "weight_kg" in courses
            else pd.Series(np.nan, index=age.index),
            sex=courses["sex"].astype(object).reset_index(drop=True)
            if "sex" in courses
            else pd.Series(None, index=age.index),
            creatinine_mg_dl=pd.Series(creat.to_numpy(dtype=float)),
        )
        courses[col] = crcl.to_numpy(dtype=float)
        if col == "crcl_at_start_ml_min":
            courses["creatinine_start_date"] = cdate.to_numpy()


def _draws_table(labs: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Engine rows of draws joined with a column per analyte value and grade (last result of the day)."""
    d = steps[steps["is_draw"]].copy()
    if not len(labs):
        return d
    last = labs.sort_values("collected_at", kind="stable").drop_duplicates(
        ["course_id", "date", "analyte"], keep="last"
    )
    vals = last.pivot(index=["course_id", "date"], columns="analyte", values="value")
    grades = last.pivot(index=["course_id", "date"], columns="analyte", values="grade")
    grades.columns = [f"{c}_grade" for c in grades.columns]
    wide = vals.join(grades).reset_index()
    wide["date"] = wide["date"].astype(d["date"].dtype)
    return d.merge(wide, on=["course_id", "date"], how="left")


def _iso(value) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return pd.Timestamp(value).date().isoformat()


def _num(value):
    if value is None or value is pd.NA:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 1e15 and not isinstance(value, float) else f


def _int(value):
    f = _num(value)
    return None if f is None else int(f)


def _bool(value) -> bool:
    try:
        return bool(value) and not pd.isna(value)
    except (TypeError, ValueError):
        return bool(value)


def _text(value) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


class _DrawValues:
    """Values and grades per draw (last result of each analyte that day), looked up by (key, date)."""

    def __init__(self, labs: pd.DataFrame):
        self.index: dict = {}
        if not len(labs):
            return
        key = labs["course_id"].to_numpy(dtype=object, copy=True)
        no_course = labs["course_id"].isna().to_numpy()
        if no_course.any():  # results of an MRN without a course: one draw key per MRN
            key[no_course] = ("mrn:" + labs["mrn"][no_course].astype(str)).to_numpy(dtype=object)
        k_code, k_uniq = pd.factorize(key)
        day = labs["date"].to_numpy("datetime64[D]").astype(np.int64)
        d_code, d_uniq = pd.factorize(k_code.astype(np.int64) * (1 << 24) + (day + (1 << 23)))
        a_code, a_uniq = pd.factorize(labs["analyte"].to_numpy(dtype=object))
        # the last result of each analyte per draw: stable order by collection time, keep the last
        order = np.argsort(labs["collected_at"].to_numpy("datetime64[ns]").astype(np.int64), kind="stable")
        cell = d_code[order].astype(np.int64) * len(a_uniq) + a_code[order]
        _, last_rev = np.unique(cell[::-1], return_index=True)
        pick = order[len(order) - 1 - last_rev]
        self.columns = np.array(list(a_uniq), dtype=object)
        self.values = np.full((len(d_uniq), len(a_uniq)), np.nan)
        self.grades = np.full((len(d_uniq), len(a_uniq)), np.nan)
        self.values[d_code[pick], a_code[pick]] = labs["value"].to_numpy(dtype=float, na_value=np.nan)[pick]
        self.grades[d_code[pick], a_code[pick]] = pd.to_numeric(labs["grade"]).to_numpy(dtype=float, na_value=np.nan)[
            pick
        ]
        first = np.unique(d_code, return_index=True)[1]
        keys = np.asarray(k_uniq, dtype=object)[k_code[first]]
        days = day[first].astype("datetime64[D]").astype(object)
        self.index = {(k, d): i for i, k, d in zip(d_code[first].tolist(), keys, days)}
        # a value that is NaN (no numeric result) is not shown, like an absent one. Per draw: the
        # analytes shown, their values and grades (None = no grade) as plain lists, built per
        # pattern of analytes present (few patterns: CBC only, CBC + CMP, ...) rather than per cell
        self._rows: list = [None] * len(d_uniq)
        present = ~np.isnan(self.values)
        if present.shape[1] <= 62:  # one int64 bit mask per draw, hashed (np.unique(axis=0) sorts rows: slower)
            which, patterns = pd.factorize(
                present.astype(np.int64) @ (np.int64(1) << np.arange(present.shape[1], dtype=np.int64))
            )
            patterns = (patterns[:, None] >> np.arange(present.shape[1])) & 1 == 1
        else:
            patterns, which = np.unique(present, axis=0, return_inverse=True)
            which = np.asarray(which).ravel()
        for p, mask in enumerate(patterns):
            rows = np.flatnonzero(which == p)
            cols = np.flatnonzero(mask)
            names = tuple(self.columns[cols].tolist())
            vals = self.values[np.ix_(rows, cols)].tolist()
            g = self.grades[np.ix_(rows, cols)]
            no_grade = np.isnan(g)
            grades = np.where(no_grade, 0, g).astype(np.int64).astype(object)
            grades[no_grade] = None
            for r, v, gr in zip(rows.tolist(), vals, grades.tolist()):
                self._rows[r] = (names, v, gr)

    def get(self, key, date) -> tuple[dict, dict]:
        """date: a datetime.date (or anything numpy reads as a day)."""
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            date = np.datetime64(date, "D").astype(object)
        i = self.index.get((key, date))
        if i is None:
            return {}, {}
        names, values, grades = self._rows[i]
        return dict(zip(names, values)), dict(zip(names, grades))


@_gc_paused()
def assess(
    patients: pd.DataFrame | None,
    labs: pd.DataFrame | None,
    events: pd.DataFrame | None,
    *,
    as_of,
    rules="us_pi",
    import_report: dict | None = None,
) -> dict:
    """The assessment JSON contract (docs/assess.md): one entry per course, every draw with its action.

    Values are in canonical units (counts 10^9/L), dates ISO, no NaN (null instead). Sources: the
    dose profile `rules` (default US PI, DOMAIN.md §2), CTCAE v5.0 (grading), Cockcroft-Gault and the
    PI renal table (renal), the PI/REMS/MDS-guide schedules (schedule). Only data on or before
    `as_of` counts. Patients with labs but no course get one entry with status `review`.
    """
    frames = assess_frames(patients, labs, events, as_of=as_of, rules=rules)
    return result_from_frames(frames, events=events, import_report=import_report)


def _import_report(report: dict | None) -> dict:
    report = dict(report or {})
    rejects = [
        {"file": str(r.get("file", "")), "line": _int(r.get("line")) or 0, "reason": str(r.get("reason", ""))}
        for r in (report.get("rejects") or [])
    ]
    return {
        "rows_read": _int(report.get("rows_read")) or 0,
        "rows_rejected": _int(report.get("rows_rejected")) or 0,
        "rejects": rejects,
        **{k: v for k, v in report.items() if k not in ("rows_read", "rows_rejected", "rejects")},
    }


@_gc_paused()
def result_from_frames(
    frames: AssessFrames, *, events: pd.DataFrame | None = None, import_report: dict | None = None
) -> dict:
    """Build the JSON contract from `assess_frames` output (assess() = assess_frames + this)."""
    as_of = frames.as_of
    vals = _DrawValues(frames.labs)
    ev = None
    if events is not None and len(events):
        ev = events.copy()
        ev["mrn"] = ev["mrn"].astype(str)
        ev["date"] = cycles.to_day(ev["date"]).to_numpy()
        # a planned biopsy's date is the date it is planned for, not the date it was recorded: plans count
        # whatever their date (every other event counts only on or before as_of)
        ev = ev[(ev["date"] <= pd.Timestamp(as_of)) | (ev["event"] == "marrow_biopsy_planned")]
    steps = frames.steps
    step_rows = steps.groupby("course_id", sort=False).indices if len(steps) else {}
    spans_by_course: dict = {}  # {course_id: [hold span dict, ...]} in the order of frames.hold_spans
    hs = frames.hold_spans
    if len(hs):
        for cid, start, end, reason in zip(
            hs["course_id"].tolist(), hs["start"].tolist(), hs["end"].tolist(), hs["reason"].tolist()
        ):
            spans_by_course.setdefault(cid, []).append({"start": _iso(start), "end": _iso(end), "reason": reason})
    ev_by_mrn: dict = {}  # {mrn: {event kind: [(date, result or value text)]}}
    if ev is not None and len(ev):
        result = ev["result"].astype(object) if "result" in ev else pd.Series(None, index=ev.index, dtype=object)
        text = result.where(result.notna(), ev["value"].astype(object) if "value" in ev else None)
        for m, kind, day, r in zip(
            ev["mrn"], ev["event"].astype(object), ev["date"].to_numpy("datetime64[D]").astype(object), text
        ):
            ev_by_mrn.setdefault(m, {}).setdefault(kind, []).append((day, r))
    tests_by_mrn = _pregnancy_tests(ev)
    profile = dosing.load_profile(frames.rules)
    clinic = _ClinicInsight(
        rule_analyte={r.rule: r.analyte for r in profile.rules},
        not_started=frozenset(c.rule for c in profile.start if c.action == "do_not_start"),
        escalate_after_days=config.Settings.from_env().cbc_escalate_days,
        cols=cols_insight(steps),
        step_rows=step_rows,
        tests_by_mrn=tests_by_mrn,
    )
    draws_by_course = _draw_dicts(steps, vals)
    cols = {
        c: steps[c].to_numpy(dtype=object)
        for c in ("action", "dose_mg", "schedule", "reasons", "needs_review", "cycle", "rules", "reviews")
        + ("resume_plan", "stop", "date")
    }
    patients_out = []
    for course in frames.courses.to_dict("records"):
        cid = course["course_id"]
        rows = step_rows.get(cid)
        last = None if rows is None else {c: v[rows[-1]] for c, v in cols.items()}
        patients_out.append(
            _course_entry(
                course,
                draws_by_course.get(cid, []),
                last,
                spans_by_course.get(cid, []),
                ev_by_mrn.get(course["mrn"]),
                as_of,
                profile,
                clinic,
            )
        )
    if len(frames.unassigned):
        for mrn, g in frames.unassigned.groupby("mrn", sort=True):
            patients_out.append(_orphan_entry(str(mrn), g, vals))
    return {
        "as_of": as_of.isoformat(),
        "rules": frames.rules,
        "grading": profile.grading,
        "import_report": _import_report(import_report),
        "patients": patients_out,
    }


def _draw_dicts(steps: pd.DataFrame, vals: _DrawValues) -> dict[str, list[dict]]:
    """{course_id: [draw dict, ...]} in date order, for every draw step of the engine."""
    d = steps[steps["is_draw"].to_numpy(dtype=bool)]
    out: dict[str, list[dict]] = {}
    days = d["date"].to_numpy("datetime64[D]")
    for cid, day_, iso, cycle, day, action, dose, sched, reasons, review, dosing_day, pre, rules in zip(
        d["course_id"].tolist(),
        days.astype(object),
        days.astype(str).tolist(),
        d["cycle"].tolist(),
        d["cycle_day"].tolist(),
        d["action"].tolist(),
        d["dose_mg"].tolist(),
        d["schedule"].tolist(),
        d["reasons"].tolist(),
        d["needs_review"].tolist(),
        d["dosing_day"].tolist(),
        d["preexisting"].tolist(),
        d["rules"].tolist(),
    ):
        values, grades = vals.get(cid, day_)
        draws = out.get(cid)
        if draws is None:
            draws = out[cid] = []
        draws.append(
            {
                "date": iso,
                "cycle": int(cycle),
                "cycle_day": int(day),
                "values": values,
                "grades": grades,
                "action": action,
                "dose_mg": None if dose is None or dose != dose else float(dose),
                "schedule": sched,
                "reasons": list(reasons),
                "needs_review": bool(review),
                "dosing_day": bool(dosing_day),
                "preexisting": list(pre),
                "rules": list(rules),
            }
        )
    return out


def _course_entry(
    course: dict,
    draws: list[dict],
    last: dict | None,
    spans: list[dict],
    events,
    as_of: dt.date,
    profile: dosing.Profile,
    clinic: _ClinicInsight | None = None,
) -> dict:
    """One contract entry; `last` is the course's latest engine step (a draw or an event-only date);
    `spans` its hold spans as contract dicts (start, end, reason)."""
    start = pd.Timestamp(course["start"]).date()
    starting = _num(course.get("starting_dose_mg"))
    sched = _text(course.get("schedule")) or cycles.UNKNOWN_SCHEDULE
    status, current = _status(last, starting)
    sched_now = sched if last is None else last["schedule"]
    notices = [] if last is None else _engine_notices(last, status, profile)
    cycle, cycle_day = cycles.cycle_of(start, as_of)
    # past the label's cycle limit (rules/monitoring.csv) with no engine step beyond it yet: the
    # engine has not seen a clinician decision there, so continuing is the clinician's call
    limit = schedule.cycle_limit(_text(course.get("indication")))
    if (
        status != "stopped"  # a REMS stop outranks every other status
        and limit is not None
        and cycle is not None
        and cycle > int(limit["count"])
        and (last is None or int(last["cycle"]) <= int(limit["count"]))
    ):
        status, current = "review", None
    entry = {
        "mrn": str(course["mrn"]),
        "indication": _text(course.get("indication")),
        "start_date": start.isoformat(),
        "starting_dose_mg": starting,
        "status": status,
        "current_dose_mg": current,
        "crcl_ml_min": None,
        "renal_starting_dose_mg": None,
        "next_labs_due": None,
        "labs_overdue": False,
        "next_marrow_biopsy": None,
        "marrow_biopsies": [],
        "next_pregnancy_test": None,
        "alerts": [],
        "notices": notices,
        "resume_plan": _resume_plan(last) if status == "held" else None,
        "draws": draws,
        # extra keys (allowed by the contract)
        "name": _text(course.get("name")) or "",
        "sex": _text(course.get("sex")),
        "age": None,
        "course_id": course["course_id"],
        "cycle": cycle,
        "cycle_day": cycle_day,
        "schedule": sched_now,
        "hold_spans": spans,
        "thresholds": dosing.thresholds(
            course,
            profile,
            baselines={
                a: course.get(f"baseline_{a}") for a in ("anc", "plt") if _num(course.get(f"baseline_{a}")) is not None
            },
        ),
        "baselines": {a: _num(course.get(f"baseline_{a}")) for a in ("anc", "plt", "creatinine")},
    }
    _fill_clinic_fields(entry, course, events, as_of, status)
    if clinic is not None:
        clinic.fill(entry, course, events, as_of)
    _publish_notices(entry)
    return entry


@dataclass
class _ClinicInsight:
    """What the insight keys (docs/insight.md) need beside the entry: the engine's step columns and rows per
    course, the rule -> analyte map, the escalation setting and the pregnancy tests with their detail."""

    rule_analyte: dict[str, str]
    not_started: frozenset[str]
    escalate_after_days: int
    cols: dict
    step_rows: dict
    tests_by_mrn: dict

    def fill(self, entry: dict, course: dict, events, as_of: dt.date) -> None:
        start = dt.date.fromisoformat(entry["start_date"])
        steps = insight.course_steps(self.cols, self.step_rows.get(course["course_id"]), start, as_of)
        insight.fill(
            entry,
            course,
            steps,
            events,
            self.tests_by_mrn.get(entry["mrn"], []),
            as_of=as_of,
            rule_analyte=self.rule_analyte,
            escalate_after_days=self.escalate_after_days,
            not_started=self.not_started,
        )


def cols_insight(steps: pd.DataFrame) -> dict:
    """The step columns the insight keys read, as object arrays (dates as datetime.date)."""
    if not len(steps):
        return {c: np.array([], dtype=object) for c in ("date", "action", "dose_mg", "schedule", "rules")}
    out = {c: steps[c].to_numpy(dtype=object) for c in ("action", "dose_mg", "schedule", "rules")}
    out["date"] = steps["date"].to_numpy("datetime64[D]").astype(object)
    return out


def _missing_text(x) -> bool:
    return x is None or (not isinstance(x, str) and bool(pd.isna(x)))


def _pregnancy_tests(ev: pd.DataFrame | None) -> dict[str, list[tuple]]:
    """{mrn: [(date, result, detail)]} of the pregnancy_test events (the REMS tracker's log)."""
    if ev is None or not len(ev):
        return {}
    t = ev[ev["event"] == "pregnancy_test"]
    out: dict[str, list[tuple]] = {}
    detail = t["detail"] if "detail" in t else pd.Series("", index=t.index)
    result = t["result"] if "result" in t else t["value"]
    for m, day, r, x in zip(t["mrn"], t["date"].to_numpy("datetime64[D]").astype(object), result, detail):
        out.setdefault(m, []).append((day, None if _missing_text(r) else str(r), None if _missing_text(x) else str(x)))
    return out


def _status(last: dict | None, starting) -> tuple[str, float | None]:
    """(patient status, current dose) from the course's latest engine step (docs/assess.md `status`)."""
    if last is None:
        return "on_treatment", starting
    if last["action"] == "stop":
        return "stopped", None
    if last["action"] in ("hold", "stay_held"):
        return "held", None
    if last["action"] == "review" or bool(last["needs_review"]):
        return "review", _num(last["dose_mg"])
    return "on_treatment", _num(last["dose_mg"])


def _resume_plan(last: dict | None) -> dict | None:
    """The open episode's resume plan the walk left on the course's last step (None when it has none)."""
    plan = None if last is None else last["resume_plan"]
    return None if plan is None or (isinstance(plan, float) and math.isnan(plan)) else dict(plan)


def _rule_source(rule_id: str, profile: dosing.Profile) -> str:
    if rule_id in engine.ENGINE_RULES:
        return engine.ENGINE_RULES[rule_id][0]
    return next((r.source for r in profile.rules if r.rule == rule_id), profile.id)


def _engine_notices(last: dict, status: str, profile: dosing.Profile) -> list[Notice]:
    """What the dose engine's latest step flags: stopped, held (with the plan), and the reviews it marked."""
    out: list[Notice] = []
    stop = last["stop"]
    if status == "stopped" and isinstance(stop, dict):
        out.append(Notice("stopped", _stopped_text(stop), engine.ENGINE_RULES[engine.REMS_STOP][0]))
    plan = _resume_plan(last)
    if status == "held" and plan is not None:
        out.append(Notice("hold", _hold_text(plan), plan["source"]))
    if last["action"] == "review" or bool(last["needs_review"]):
        sources = "; ".join(dict.fromkeys(_rule_source(r, profile) for r in last["rules"])) or profile.id
        for kind in dict.fromkeys(k for k, _ in last["reviews"]):
            texts = [t for k, t in last["reviews"] if k == kind]
            out.append(Notice(kind, f"clinician review: {'; '.join(texts)}", sources))
    return out


def _stopped_text(stop: dict) -> str:
    event = dosing.reasons.STOP_EVENT_WORDS.get(stop["event"], stop["event"])
    return (
        f"stopped since {stop['since']} ({event}): no count-based resume; the prescriber decides "
        "(record a dose_change event to restart at a dose, or to hold)"
    )


def _hold_text(plan: dict) -> str:
    """ "held since 2026-04-06 for ANC 0.4; resume at 25 mg 21/28 when ANC >= 1.0", from the plan's data."""
    fmt = dosing.values._fmt_value
    why = ", ".join(f"{analyte_label(t['analyte'])} {fmt(t['analyte'], t['value'])}" for t in plan["triggers"])
    when = " and ".join(
        f"{analyte_label(c['analyte'])} {c['op']} {fmt(c['analyte'], c['value'])}" for c in plan["when"]
    )
    since = f"held since {plan['since']}" + (f" for {why}" if why else " by the clinician")
    if plan["dose_mg"] is not None:
        return f"{since}; resume at {plan['dose_mg']:g} mg {plan['schedule']} when {when}"
    if not plan["when"]:
        return f"{since}; resume needs a recorded dose (dose_change event)"
    return f"{since}; when {when} the clinician decides the dose (no lower dose the label gives)"


def _publish_notices(entry: dict) -> None:
    """Notices in the contract's order (most severe first) as dicts; `alerts` = their texts, same order."""
    notices = ordered(entry["notices"])
    entry["notices"] = [n.as_dict() for n in notices]
    entry["alerts"] = [n.text for n in notices]


def _orphan_entry(mrn: str, labs: pd.DataFrame, vals: _DrawValues) -> dict:
    draws = []
    for d in sorted(labs["date"].unique()):
        values, grades = vals.get(f"mrn:{mrn}", d)
        draws.append(
            {
                "date": _iso(d),
                "cycle": None,
                "cycle_day": None,
                "values": dict(values),
                "grades": dict(grades),
                "action": "review",
                "dose_mg": None,
                "schedule": None,
                "reasons": ["no treatment course for this patient: no dose rule can apply"],
                "needs_review": True,
                "dosing_day": False,
                "preexisting": [],
                "rules": [engine.NO_COURSE],
            }
        )
    notice = Notice(
        "labs_without_course",
        "labs but no treatment course started on or before the assessment date: add the patient's course "
        "(patients file: indication, start_date, starting_dose_mg)",
        engine.ENGINE_RULES[engine.NO_COURSE][0],
    )
    return {
        "mrn": mrn,
        "indication": None,
        "start_date": None,
        "starting_dose_mg": None,
        "status": "review",
        "current_dose_mg": None,
        "crcl_ml_min": None,
        "renal_starting_dose_mg": None,
        "next_labs_due": None,
        "labs_overdue": False,
        "next_marrow_biopsy": None,
        "marrow_biopsies": [],
        "next_pregnancy_test": None,
        "alerts": [notice.text],
        "notices": [notice.as_dict()],
        "resume_plan": None,
        "draws": draws,
        "name": "",
        "sex": None,
        "age": None,
        "course_id": None,
        "cycle": None,
        "cycle_day": None,
        "schedule": None,
        "hold_spans": [],
        "thresholds": [],
        "baselines": {},
    }


def _fill_clinic_fields(entry: dict, course: dict, events, as_of: dt.date, status: str) -> None:
    """CrCl, renal starting dose, next CBC, marrow biopsies, pregnancy tests and course alerts."""
    start = dt.date.fromisoformat(entry["start_date"])
    birth = course.get("birth_date")
    birth = None if birth is None or pd.isna(birth) else pd.Timestamp(birth).date()
    entry["age"] = renal.age_years(birth, as_of) if birth else None
    _fill_renal(entry, course, start)
    _fill_schedule(entry, course, events, start, as_of, status)


def _event_rows(events, kind: str) -> list[tuple]:
    """[(date, result or value text)] of one event kind for one patient."""
    return (events or {}).get(kind, [])


def _fill_schedule(entry: dict, course: dict, events, start: dt.date, as_of: dt.date, status: str) -> None:
    """Next CBC, marrow biopsies, REMS pregnancy tests and course notices (DOMAIN.md §5 via schedule.py)."""
    cbc_dates = [
        dt.date.fromisoformat(d["date"]) for d in entry["draws"] if any(a in d["values"] for a in CBC_ANALYTES)
    ]
    due, overdue, why, source = schedule.next_cbc(
        indication=entry["indication"], start_date=start, cbc_dates=cbc_dates, held=status == "held", as_of=as_of
    )
    entry["next_labs_due"] = _iso(due)
    entry["labs_overdue"] = bool(overdue)
    entry["next_labs_reason"] = why
    text = f"CBC overdue since {_iso(due)}: {why}" if overdue else f"CBC due {_iso(due)}: {why}"
    entry["notices"].append(Notice("cbc_overdue" if overdue else "cbc_due", text, source, due))
    _fill_biopsies(entry, events, start, as_of)
    _fill_pregnancy_tests(entry, course, events, start, as_of)
    thrombo = [d for d, _ in _event_rows(events, "thromboprophylaxis")]
    entry["notices"].extend(
        schedule.course_alerts(
            indication=entry["indication"],
            combination=_text(course.get("combination")),
            thromboprophylaxis_dates=thrombo,
            cycle=entry["cycle"],
        )
    )


def _fill_biopsies(entry: dict, events, start: dt.date, as_of: dt.date) -> None:
    """Calendar (MDS) and planned marrow biopsies, the next one, and its notice (DOMAIN.md §5)."""
    done = [d for d, _ in _event_rows(events, "marrow_biopsy")]
    planned = [d for d, _ in _event_rows(events, "marrow_biopsy_planned")]
    kw = dict(start_date=start, biopsy_dates=done, as_of=as_of, indication=entry["indication"], planned_dates=planned)
    entry["marrow_biopsies"] = [
        {**b, "due": _iso(b["due"]), "week": None if b["week"] is None else int(b["week"]), "done": bool(b["done"])}
        for b in schedule.marrow_biopsies(**kw)
    ]
    nxt, late = schedule.next_marrow_biopsy(**kw)
    entry["next_marrow_biopsy"] = _iso(nxt)
    entry["marrow_biopsy_overdue"] = bool(late)
    if nxt is None:
        return
    is_planned = not any(b["due"] == _iso(nxt) and not b.get("planned") for b in entry["marrow_biopsies"])
    what, source = (
        ("planned marrow biopsy", "clinician plan (marrow_biopsy_planned event)")
        if is_planned
        else ("marrow biopsy", "MDS patient guide")
    )
    when = f"overdue since {_iso(nxt)}" if late else f"due {_iso(nxt)}"
    guide = "" if is_planned else " (MDS patient guide: 12 and 24 weeks, then every 24 weeks)"
    text = f"{what} {when}{guide}"
    entry["notices"].append(Notice("biopsy_overdue" if late else "biopsy_due", text, source, nxt))


def _fill_pregnancy_tests(entry: dict, course: dict, events, start: dt.date, as_of: dt.date) -> None:
    """The next REMS pregnancy test (through holds and stops) and the pre-treatment tests (DOMAIN.md §5)."""
    tests = _event_rows(events, "pregnancy_test")
    potential = _bool(course.get("reproductive_potential"))
    when, late, why, source = schedule.next_pregnancy_test(
        sex=entry["sex"],
        reproductive_potential=potential,
        menses=_text(course.get("menses")),
        start_date=start,
        tests=tests,
        as_of=as_of,
        missed_periods=[d for d, _ in _event_rows(events, "missed_period")],
    )
    entry["next_pregnancy_test"] = _iso(when)
    entry["pregnancy_test_overdue"] = bool(late)
    entry["next_pregnancy_test_reason"] = why
    if when is not None:
        text = (
            f"pregnancy test overdue since {_iso(when)}: {why}" if late else f"pregnancy test due {_iso(when)}: {why}"
        )
        kind = "pregnancy_test_overdue" if late else "pregnancy_test_due"
        entry["notices"].append(Notice(kind, text, source, when))
    missing = schedule.pretreatment_tests_missing(
        sex=entry["sex"], reproductive_potential=potential, start_date=start, tests=tests
    )
    if missing:
        what = "; ".join(str(row["reason"]) for row in missing)
        text = (
            f"not on record before the start on {start.isoformat()}: {what} (the REMS asks for two negative "
            "tests before the first prescription)"
        )
        entry["notices"].append(Notice("rems_pretreatment_missing", text, str(missing[0]["source"])))


def _fill_renal(entry: dict, course: dict, start: dt.date) -> None:
    """crcl_ml_min (latest creatinine on or before as_of), renal_starting_dose_mg (creatinine on or
    before the start) and the renal alerts (DOMAIN.md §3 via renal.py); CrCl from _add_crcl."""
    crcl_latest = _num(course.get("crcl_ml_min"))
    crcl_start = _num(course.get("crcl_at_start_ml_min"))
    drawn = course.get("creatinine_start_date")
    drawn = None if drawn is None or pd.isna(drawn) else pd.Timestamp(drawn).date()
    dialysis = _bool(course.get("dialysis"))
    indication = entry["indication"]
    entry["crcl_ml_min"] = None if crcl_latest is None else round(crcl_latest, 1)
    entry["crcl_at_start_ml_min"] = None if crcl_start is None else round(crcl_start, 1)
    if indication is None:
        return
    rd = renal.renal_starting_dose(indication=indication, crcl_ml_min=crcl_start, dialysis=dialysis)
    entry["renal_starting_dose_mg"] = rd.dose_mg
    entry["renal_regimen"] = rd.regimen
    if drawn is not None and (start - drawn).days > cycles.BASELINE_LOOKBACK_DAYS:
        text = (
            f"the creatinine used for the renal starting dose is from {drawn.isoformat()}, more than "
            f"{cycles.BASELINE_LOOKBACK_DAYS} days before the start: check a current value "
            "(US PI renal starting dose: CrCl at the start)"
        )
        entry["notices"].append(Notice("stale_creatinine", text, "US PI renal starting dose: CrCl at the start"))
    entry["notices"].extend(
        renal.renal_alerts(
            indication=indication,
            starting_dose_mg=entry["starting_dose_mg"],
            crcl_at_start=crcl_start,
            crcl_latest=crcl_latest,
            dialysis=dialysis,
        )
    )


def assessment_csv(result: dict) -> str:
    """The assessment as CSV text, one row per draw: mrn, date, cycle, cycle_day, action, dose_mg,
    schedule, reasons ("; "-joined), rules (the rule ids, " "-joined), then `<analyte>` and `<analyte>_grade` for
    every analyte seen. Text cells that would start a spreadsheet formula are guarded (vocab.csvsafe)."""
    analytes = sorted({a for p in result.get("patients", []) for d in p.get("draws", []) for a in d.get("values", {})})
    header = ["mrn", "date", "cycle", "cycle_day", "action", "dose_mg", "schedule", "reasons", "rules"]
    header += [c for a in analytes for c in (a, f"{a}_grade")]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)

    def cell(v):
        return "" if v is None else (f"{v:g}" if isinstance(v, float) else v)

    for p in result.get("patients", []):
        for d in p.get("draws", []):
            row = [
                p.get("mrn"),
                d.get("date"),
                d.get("cycle"),
                d.get("cycle_day"),
                d.get("action"),
                d.get("dose_mg"),
                d.get("schedule"),
                "; ".join(d.get("reasons") or []),
                " ".join(d.get("rules") or []),
            ]
            for a in analytes:
                row += [(d.get("values") or {}).get(a), (d.get("grades") or {}).get(a)]
            w.writerow([csvsafe.cell(cell(v)) for v in row])  # an MRN like =HYPERLINK(...) stays text
    return buf.getvalue()
