"""Dose-modification engine: walks each course's draws and events through a versioned rule profile."""

from __future__ import annotations

import csv
import functools
import math
import operator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lenadash.clinical import cycles
from lenadash.clinical import schedule as monitoring
from lenadash.config import RULES_DIR
from lenadash.errors import ProfileError  # noqa: F401  (re-exported)

DEFAULT_PROFILE = "us_pi"
EARLY_WINDOW_DAYS = 28  # "within the first 4 weeks" = fewer than 28 days after the start (DOMAIN.md §2)
FEVER_C = 38.5  # fever for the dose rules: >= 38.5 C recorded on the draw's date (DOMAIN.md §2)
# Labs whose grade >= 3 is not an automatic hold but a clinician review (DOMAIN.md §2: the PI requires
# the toxicity to be judged drug-related). Cytopenias are handled by the dose rules themselves.
HAEMATOLOGIC = frozenset({"anc", "plt", "wbc", "alc", "hgb"})
# Labs that measure the neutropenia itself, so they never count as "other toxicity" in an MM ANC
# episode: the ANC, and the WBC, which falls with it because it contains the neutrophils.
NEUTROPENIA_ITSELF = frozenset({"anc", "wbc"})
TOXICITY = "toxicity"  # pseudo-analyte of a rule row: the grade of a recorded toxicity event
ACTIONS = ("continue", "hold", "stay_held", "resume", "review")

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
WINDOWS = ("any", "first_4_weeks", "after_4_weeks")
EPISODES = ("any", "first", "later")
OTHER_TOXICITY = ("any", "yes", "no")
LABEL = {"anc": "ANC", "plt": "Platelets", "toxicity": "Toxicity grade", "wbc": "WBC", "hgb": "Hgb"}

RULE_COLUMNS = (
    "rule", "indication", "analyte", "window", "at_dose", "baseline_min", "baseline_below", "episode",
    "other_toxicity", "hold_op", "hold_value", "hold_ref", "persist_days", "with_fever", "with_transfusion",
    "resume_op", "resume_value", "resume_dose", "source", "text",
)
LADDER_COLUMNS = ("indication", "step", "dose_mg", "schedule", "source")
PROFILE_COLUMNS = ("id", "name", "source", "files")


# --- rule data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseRule:
    """One row of a dose rule table: when to hold, when to resume, at what dose, and its source."""

    rule: str
    indication: str
    analyte: str
    window: str
    at_dose_op: str | None
    at_dose_mg: float | None
    baseline_min: float | None
    baseline_below: float | None
    episode: str
    other_toxicity: str
    hold_op: str
    hold_value: float
    hold_ref: str | None
    persist_days: int
    with_fever: bool
    with_transfusion: bool
    resume_op: str
    resume_value: float
    resume_dose: str
    source: str
    text: str

    @property
    def needs_baseline(self) -> bool:
        return self.baseline_min is not None or self.baseline_below is not None or self.hold_ref == "baseline"

    def in_window(self, day: int) -> bool:
        """The rule's window holds `day` days after the start (first 4 weeks = day < 28)."""
        if self.window == "first_4_weeks":
            return day < EARLY_WINDOW_DAYS
        if self.window == "after_4_weeks":
            return day >= EARLY_WINDOW_DAYS
        return True

    def at_dose(self, dose_mg: float) -> bool:
        """The rule's `at_dose` condition holds for the dose at the trigger (no condition: always)."""
        return not self.at_dose_op or OPS.get(self.at_dose_op, operator.eq)(dose_mg, self.at_dose_mg)

    def baseline_in_range(self, baseline: float | None) -> bool:
        """The rule's baseline branch holds (False when the rule needs a baseline and it is None)."""
        if not self.needs_baseline:
            return True
        if baseline is None:
            return False
        if self.baseline_min is not None and baseline < self.baseline_min:
            return False
        return self.baseline_below is None or baseline < self.baseline_below

    def hold_threshold(self, baseline: float | None) -> float | None:
        """The hold threshold in the analyte's unit; None when it is relative to a missing baseline."""
        if self.hold_ref == "baseline":
            return None if baseline is None else round(self.hold_value * baseline, 6)
        return self.hold_value

    def condition(self) -> str:
        """The branch condition in words (for reasons and the docs)."""
        parts = []
        if self.window != "any":
            parts.append(self.window.replace("_", " "))
        if self.at_dose_op:
            parts.append(f"dose {self.at_dose_op} {_mg(self.at_dose_mg)} mg")
        if self.baseline_min is not None:
            parts.append(f"baseline >= {_fmt(self.baseline_min)}")
        if self.baseline_below is not None:
            parts.append(f"baseline < {_fmt(self.baseline_below)}")
        if self.episode != "any":
            parts.append(f"{self.episode} {self.analyte.upper()} episode")
        if self.other_toxicity != "any":
            parts.append("with other toxicity" if self.other_toxicity == "yes" else "neutropenia the only toxicity")
        return ", ".join(parts) or "always"


@dataclass(frozen=True)
class LadderStep:
    """One step of an indication's dose ladder ("next lower dose"); schedule None = the course's."""

    indication: str
    step: int
    dose_mg: float
    schedule: str | None
    source: str


@dataclass(frozen=True)
class Profile:
    """A named, versioned rule set: dose rules plus ladders, each row with its source."""

    id: str
    name: str
    source: str
    rules: tuple[DoseRule, ...]
    ladders: dict = field(hash=False, compare=False)

    def rules_for(self, indication: str) -> tuple[DoseRule, ...]:
        return tuple(r for r in self.rules if r.indication == indication)

    def ladder(self, indication: str) -> tuple[LadderStep, ...]:
        return self.ladders.get(indication, ())


def _fmt(x) -> str:
    """Numbers as a clinician writes them: 1.0, 0.75, 30, 2.5."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    x = round(float(x), 3)
    if abs(x) < 10:
        text = f"{x:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return f"{x:g}"


def _mg(x) -> str:
    return f"{float(x):g}"


def _fmt_value(analyte: str, x) -> str:
    return str(int(x)) if analyte == TOXICITY else _fmt(x)


def _read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    if not path.exists():
        raise ProfileError(f"rule file {path} not found: create it or fix the name in profiles.csv")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ProfileError(f"{path.name}: missing column(s) {missing}; the header must contain {list(required)}")
        return [(i + 2, {k: (v or "").strip() for k, v in row.items() if k}) for i, row in enumerate(reader)]


def _num(value: str, *, file: str, line: int, column: str, blank_ok: bool = True) -> float | None:
    if value == "":
        if blank_ok:
            return None
        raise ProfileError(f"{file} line {line}: column {column} is empty; give a number")
    try:
        return float(value)
    except ValueError:
        raise ProfileError(f"{file} line {line}: column {column} = {value!r} is not a number") from None


def _choice(value: str, allowed, *, file: str, line: int, column: str, default: str | None = None) -> str:
    value = value or (default or "")
    if value not in allowed:
        raise ProfileError(f"{file} line {line}: column {column} = {value!r}; use one of {list(allowed)}")
    return value


def _bool(value: str, *, file: str, line: int, column: str) -> bool:
    v = value.lower()
    if v in ("", "no", "false", "0"):
        return False
    if v in ("yes", "true", "1"):
        return True
    raise ProfileError(f"{file} line {line}: column {column} = {value!r}; use yes or no")


def _parse_rule(row: dict, *, file: str, line: int) -> DoseRule:
    kw = dict(file=file, line=line)
    for col in ("rule", "indication", "analyte", "source"):
        if not row[col]:
            raise ProfileError(f"{file} line {line}: column {col} is empty; every rule row needs a {col}")
    at_dose = row["at_dose"].replace(" ", "")
    at_op = at_mg = None
    if at_dose:
        at_op = next((op for op in ("<=", ">=", "<", ">") if at_dose.startswith(op)), "==")
        at_mg = _num(at_dose[len(at_op):] if at_op != "==" else at_dose, column="at_dose", **kw)
        at_op = "==" if at_op == "==" else at_op
    resume_dose = row["resume_dose"]
    if resume_dose not in ("next_lower", "start"):
        _num(resume_dose, column="resume_dose", blank_ok=False, **kw)
    hold_ref = row["hold_ref"] or None
    if hold_ref not in (None, "baseline"):
        raise ProfileError(f"{file} line {line}: hold_ref = {hold_ref!r}; leave it empty or write baseline")
    return DoseRule(
        rule=row["rule"],
        indication=row["indication"],
        analyte=row["analyte"],
        window=_choice(row["window"], WINDOWS, column="window", default="any", **kw),
        at_dose_op=at_op,
        at_dose_mg=at_mg,
        baseline_min=_num(row["baseline_min"], column="baseline_min", **kw),
        baseline_below=_num(row["baseline_below"], column="baseline_below", **kw),
        episode=_choice(row["episode"], EPISODES, column="episode", default="any", **kw),
        other_toxicity=_choice(row["other_toxicity"], OTHER_TOXICITY, column="other_toxicity", default="any", **kw),
        hold_op=_choice(row["hold_op"], OPS, column="hold_op", **kw),
        hold_value=_num(row["hold_value"], column="hold_value", blank_ok=False, **kw),
        hold_ref=hold_ref,
        persist_days=int(_num(row["persist_days"], column="persist_days", **kw) or 0),
        with_fever=_bool(row["with_fever"], column="with_fever", **kw),
        with_transfusion=_bool(row["with_transfusion"], column="with_transfusion", **kw),
        resume_op=_choice(row["resume_op"], OPS, column="resume_op", **kw),
        resume_value=_num(row["resume_value"], column="resume_value", blank_ok=False, **kw),
        resume_dose=resume_dose,
        source=row["source"],
        text=row["text"],
    )


def list_profiles(rules_dir: Path | str | None = None) -> pd.DataFrame:
    """The rule profiles a clinic can choose (rules/profiles.csv): id, name, source, files."""
    d = Path(rules_dir) if rules_dir else RULES_DIR
    rows = _read_csv(d / "profiles.csv", PROFILE_COLUMNS)
    return pd.DataFrame([r for _, r in rows], columns=list(PROFILE_COLUMNS))


def load_profile(profile: str = DEFAULT_PROFILE, rules_dir: Path | str | None = None) -> Profile:
    """Read one rule profile listed in `<rules_dir>/profiles.csv` (default: the package's rules/).

    `files` lists the profile's tables, space-separated: names starting with `ladders` are dose
    ladders, names starting with `dose_` are dose rule tables. Raises ProfileError naming the file,
    line and fix when the profile is unknown or a row is malformed.
    """
    d = Path(rules_dir) if rules_dir else RULES_DIR
    return _load_profile(profile, str(d.resolve()))


@functools.lru_cache(maxsize=16)
def _load_profile(profile: str, rules_dir: str) -> Profile:
    d = Path(rules_dir)
    profiles = {r["id"]: r for _, r in _read_csv(d / "profiles.csv", PROFILE_COLUMNS)}
    if profile not in profiles:
        raise ProfileError(
            f"unknown rule profile {profile!r}; profiles.csv in {d} lists {sorted(profiles)} "
            "(set LENADASH_RULES to one of them, or add a row to profiles.csv)"
        )
    meta = profiles[profile]
    rules: list[DoseRule] = []
    ladders: dict[str, list[LadderStep]] = {}
    files = meta["files"].split()
    if not any(f.startswith("dose_") for f in files) or not any(f.startswith("ladders") for f in files):
        raise ProfileError(
            f"profiles.csv, profile {profile!r}: files = {meta['files']!r}; list at least one dose_*.csv "
            "and one ladders*.csv file, separated by spaces"
        )
    for name in files:
        if name.startswith("ladders"):
            for line, row in _read_csv(d / name, LADDER_COLUMNS):
                kw = dict(file=name, line=line)
                if not row["indication"] or not row["source"]:
                    raise ProfileError(f"{name} line {line}: indication and source must not be empty")
                sched = row["schedule"] or None
                if sched is not None and sched not in cycles.DOSING_DAYS:
                    raise ProfileError(f"{name} line {line}: schedule {sched!r}; use 21/28, 28/28 or leave empty")
                ladders.setdefault(row["indication"], []).append(
                    LadderStep(row["indication"], int(_num(row["step"], column="step", blank_ok=False, **kw)),
                               _num(row["dose_mg"], column="dose_mg", blank_ok=False, **kw), sched, row["source"])
                )
        elif name.startswith("dose_"):
            for line, row in _read_csv(d / name, RULE_COLUMNS):
                rules.append(_parse_rule(row, file=name, line=line))
        else:
            raise ProfileError(f"profiles.csv, profile {profile!r}: file {name!r} must start with dose_ or ladders")
    ids = [r.rule for r in rules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ProfileError(f"profile {profile!r}: rule id(s) {dup} appear more than once; make each id unique")
    for ind in {r.indication for r in rules}:
        if ind not in ladders:
            raise ProfileError(f"profile {profile!r}: rules for {ind} but no ladder; add {ind} rows to a ladders file")
    ladder_t = {k: tuple(sorted(v, key=lambda s: s.step)) for k, v in ladders.items()}
    return Profile(id=profile, name=meta["name"], source=meta["source"], rules=tuple(rules), ladders=ladder_t)


def _as_profile(profile) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile or DEFAULT_PROFILE)


# --- ladders ---------------------------------------------------------------------------------


def next_lower(ladder, dose_mg: float, schedule: str) -> LadderStep | None:
    """The next lower step below (dose, schedule) on the ladder; None at (or below) the floor.

    Source: the ladder rows (DOMAIN.md §1). A dose not on the ladder steps to the first lower rung.
    """
    for i, s in enumerate(ladder):
        if s.dose_mg == dose_mg and s.schedule in (None, schedule):
            return ladder[i + 1] if i + 1 < len(ladder) else None
    return next((s for s in ladder if s.dose_mg < dose_mg), None)


def at_floor(ladder, dose_mg: float, schedule: str) -> bool:
    """True when no lower step exists: a trigger here means hold, then a clinician decision."""
    return bool(ladder) and next_lower(ladder, dose_mg, schedule) is None


def _schedule_for(ladder, dose_mg: float, current: str) -> str:
    scheds = {s.schedule for s in ladder if s.dose_mg == dose_mg}
    if current in scheds or None in scheds or len(scheds) != 1:
        return current
    return next(iter(scheds))


# --- thresholds for charts -------------------------------------------------------------------


def thresholds(course, profile=DEFAULT_PROFILE, baselines: dict | None = None, *, dose_mg: float | None = None,
               day: int | None = None, transfusion: bool | None = None) -> list[dict]:
    """Hold/resume lines that apply to a course: [{analyte, kind, op, value, label, rules, condition, source}].

    `course` needs `indication` (dict or Series). Source: the profile's rule rows; toxicity-event
    rules are not lines and are left out. Lines of several rules with the same analyte, kind, op and
    value are one item listing every rule.

    Filters (each None = not filtered; with none given, every rule of the indication):

    - `baselines` ({analyte: value}): rows relative to a baseline, or restricted to a baseline range,
      appear only when the baseline is given and in range (a 50%-of-baseline rule yields its computed
      value); rows that need no baseline always appear.
    - `dose_mg`: the current dose (or the dose held at); keeps the rows whose `at_dose` holds for it.
    - `day`: days since the start as of the date charted (0 = day 1); keeps the rows whose window
      holds (first 4 weeks = day < 28, DOMAIN.md §2).
    - `transfusion`: whether a platelet transfusion is recorded that day. Rows that trigger only with
      a transfusion (MDS: platelets < 50 with transfusion) are a different line, valid on that day
      only; with `dose_mg` or `day` given ("the course now") None counts as False, so pass True on a
      transfusion day. Fever and >= 7-day rows stay: their line is the count's own threshold.

    The matching is the engine's (`DoseRule.in_window`, `at_dose`, `baseline_in_range`); episode
    conditions (MM first/later ANC episode) are not filtered - their lines coincide.
    """
    prof = _as_profile(profile)
    indication = course["indication"]
    baselines = baselines or {}
    if transfusion is None and (dose_mg is not None or day is not None):
        transfusion = False
    dose_mg = None if _missing(dose_mg) else float(dose_mg)
    out: dict[tuple, dict] = {}
    for r in prof.rules_for(indication):
        if r.analyte == TOXICITY:
            continue
        b = baselines.get(r.analyte)
        b = None if _missing(b) else float(b)
        if not r.baseline_in_range(b):
            continue
        if day is not None and not r.in_window(int(day)):
            continue
        if dose_mg is not None and not r.at_dose(dose_mg):
            continue
        if transfusion is not None and r.with_transfusion and not transfusion:
            continue
        for kind, op, value in (("hold", r.hold_op, r.hold_threshold(b)), ("resume", r.resume_op, r.resume_value)):
            key = (r.analyte, kind, op, value)
            item = out.setdefault(key, {"analyte": r.analyte, "kind": kind, "op": op, "value": value,
                                        "rules": [], "condition": [], "source": []})
            item["rules"].append(r.rule)
            item["condition"].append(r.condition())
            if r.source not in item["source"]:
                item["source"].append(r.source)
    return [
        {**v, "condition": "; ".join(dict.fromkeys(v["condition"])), "source": "; ".join(v["source"]),
         "label": f"{v['kind']} {v['op']} {_fmt(v['value'])}"}
        for v in out.values()
    ]


# --- the engine ------------------------------------------------------------------------------


STEP_COLUMNS = (
    "course_id", "mrn", "date", "is_draw", "cycle", "cycle_day", "action", "dose_mg", "schedule",
    "dosing_day", "reasons", "needs_review", "held", "rules", "preexisting",
)


@dataclass
class _Episode:
    start: object
    dose_mg: float
    schedule: str
    at_floor: bool
    triggers: dict = field(default_factory=dict)  # analyte -> [DoseRule] that fired
    last: dict = field(default_factory=dict)  # analyte -> latest value during the episode
    other_toxicity: bool = False
    clinician: bool = False  # a dose_change "hold" event; only a recorded dose ends it


def _effective(value: float, comparator: str) -> float:
    # "<0.5" is below 0.5: compare it as a hair under; ">90" as a hair over.
    v = round(float(value), 6)
    if comparator == "<":
        return v - 1e-6
    if comparator == ">":
        return v + 1e-6
    return v


def _prepare_steps(labs: pd.DataFrame, patients: pd.DataFrame, events: pd.DataFrame | None,
                   rule_analytes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (course, date) with the values, grades and events the walk needs."""
    if "grade" not in labs.columns:
        raise ValueError("labs need a `grade` column (CTCAE grade, 0 = normal): run grading.grade(labs) first")
    courses = cycles.courses_frame(patients)
    assigned = {"course_id", "date", "start"} <= set(labs.columns)  # already through cycles.assign_courses
    keep = [c for c in ("mrn", "collected_at", "analyte", "value", "comparator", "grade", "date", "course_id", "start")
            if c in labs.columns]
    lab = labs[keep]
    lab = lab.assign(mrn=lab["mrn"].astype(object), analyte=lab["analyte"].astype(object))
    if "comparator" in lab:
        lab = lab.assign(comparator=lab["comparator"].fillna("").astype(object))
    if not assigned:
        lab = cycles.assign_courses(lab.drop(columns=[c for c in ("course_id", "start") if c in lab]), courses)
    lab = lab[lab["course_id"].notna() & lab["value"].notna()]
    lab = lab.sort_values("collected_at", kind="stable")
    lab = lab.drop_duplicates(["course_id", "date", "analyte"], keep="last")
    comp = lab["comparator"].fillna("").astype(object) if "comparator" in lab else pd.Series("", index=lab.index)
    eff = lab["value"].astype(float).round(6).to_numpy()
    eff = np.where(comp == "<", eff - 1e-6, np.where(comp == ">", eff + 1e-6, eff))
    lab = lab.assign(eff=eff, analyte=lab["analyte"].astype(object), course_id=lab["course_id"].astype(object))
    key = ["course_id", "date"]
    draws = lab[key].drop_duplicates()
    if len(lab):
        wide = lab[lab["analyte"].isin(rule_analytes)].pivot(index=key, columns="analyte", values="eff")
        draws = draws.merge(wide.reset_index(), on=key, how="left")
        g = lab[lab["grade"].fillna(0).astype(int) >= 3]
        g = g.sort_values(["course_id", "date", "analyte"], kind="stable")
        # {(course, date): [(analyte, grade), ...]} of results graded >= 3 (few in practice)
        g3: dict = {}
        for c, d, a, gr in zip(g["course_id"].to_numpy(dtype=object), g["date"].to_numpy("datetime64[D]").astype(object),
                               g["analyte"].to_numpy(dtype=object), g["grade"].to_numpy(dtype=int)):
            g3.setdefault((c, d), []).append((a, int(gr)))
    else:
        g3 = {}
    for a in rule_analytes:
        if a not in draws:
            draws[a] = np.nan
    draws["is_draw"] = True
    # events: fever, platelet transfusion, toxicity grade, clinician dose changes, by (course, date)
    ev_cols = ["fever_c", "fever_no_temp", "transfusion", "tox_grade", "dose_changes"]
    if events is not None and len(events):
        ev = events.copy()
        ev["date"] = cycles.to_day(ev["date"]).to_numpy()
        ev = cycles.assign_courses(ev, courses)
        ev = ev[ev["course_id"].notna()]
        kind = ev["event"].astype(object)
        temp = pd.to_numeric(ev.get("temperature_c"), errors="coerce") if "temperature_c" in ev else pd.Series(np.nan, index=ev.index)
        grade = pd.to_numeric(ev.get("grade"), errors="coerce") if "grade" in ev else pd.Series(np.nan, index=ev.index)
        dose = pd.to_numeric(ev.get("dose_mg"), errors="coerce") if "dose_mg" in ev else pd.Series(np.nan, index=ev.index)
        is_hold = ev["is_hold"].fillna(False).astype(bool) if "is_hold" in ev else pd.Series(False, index=ev.index)
        e = pd.DataFrame({
            "course_id": ev["course_id"].astype(object), "date": ev["date"],
            "fever_c": temp.where(kind == "fever"),
            "fever_no_temp": (kind == "fever") & temp.isna(),
            "transfusion": kind == "platelet_transfusion",
            "tox_grade": grade.where(kind == "toxicity"),
            "dc": [(None if np.isnan(d) else float(d), bool(h)) if k == "dose_change" else None
                   for k, d, h in zip(kind, dose.to_numpy(dtype=float), is_hold)],
        })
        agg = e.groupby(key).agg(
            fever_c=("fever_c", "max"), fever_no_temp=("fever_no_temp", "any"),
            transfusion=("transfusion", "any"), tox_grade=("tox_grade", "max"),
            dose_changes=("dc", lambda s: tuple(x for x in s if x is not None)),
        ).reset_index()
        relevant = agg[agg["tox_grade"].notna() | (agg["dose_changes"].map(len) > 0)][key]
        steps = draws.merge(agg, on=key, how="left")
        extra = relevant.merge(draws[key], on=key, how="left", indicator=True)
        extra = extra[extra["_merge"] == "left_only"][key].merge(agg, on=key)
        extra["is_draw"] = False
        steps = pd.concat([steps, extra], ignore_index=True) if len(extra) else steps
    else:
        steps = draws
        for c in ev_cols:
            steps[c] = None
    steps = steps.merge(courses[["course_id", "mrn", "start"]], on="course_id", how="left")
    # grade of each analyte's baseline (last result of this course 0-30 days before or on the start)
    lag = (lab["start"] - lab["date"]).dt.days
    b = lab[(lag >= 0) & (lag <= cycles.BASELINE_LOOKBACK_DAYS) & lab["grade"].notna()]
    base_grade = {(c, a): int(g) for c, a, g in zip(b["course_id"], b["analyte"], b["grade"])}
    steps = steps.sort_values(["course_id", "date"], kind="stable").reset_index(drop=True)
    # python dates: cheap to iterate and subtract in the per-course walk
    steps["date"] = steps["date"].to_numpy("datetime64[D]").astype(object)
    return steps, courses, base_grade, g3


def simulate(labs: pd.DataFrame, patients: pd.DataFrame, events: pd.DataFrame | None = None, *,
             profile=DEFAULT_PROFILE, baselines: pd.DataFrame | None = None) -> pd.DataFrame:
    """Walk every course's draws and events in date order through the dose rules of `profile`.

    Sources: the profile's rule rows (default `us_pi`: US PI 2.1-2.4 as in DOMAIN.md §2) and
    ladders. `labs` follow the labs contract plus a `grade` column (grading.grade); `patients` are
    courses; `events` the events contract (fever, platelet_transfusion, toxicity, dose_change used).
    `baselines` defaults to `cycles.baseline(labs, patients)`.

    Returns one row per course and step date (every draw, plus event-only dates of a toxicity or
    dose_change event, `is_draw` False): `action` (continue | hold | stay_held | resume | review),
    `dose_mg` to take after this step (None while held or when the clinician must decide), the
    `schedule` in effect, `dosing_day` (False on planned rest days and before the start), `reasons`
    (list of strings citing rule and source), `needs_review`, `held` (state after the step),
    `rules` (ids of the rules that fired) and `preexisting` (non-haematologic analytes graded >= 3
    on this draw that were already at least that grade at baseline: noted, not reviewed).
    """
    prof = _as_profile(profile)
    rule_analytes = sorted({r.analyte for r in prof.rules if r.analyte != TOXICITY})
    steps, courses, base_grade, g3 = _prepare_steps(labs, patients, events, rule_analytes)
    if baselines is None:
        baselines = cycles.baseline(labs, courses)
    base = {(c, a): v for c, a, v in zip(baselines["course_id"], baselines["analyte"], baselines["baseline_value"])}
    by_course = {cid: c for cid, c in zip(courses["course_id"], courses.to_dict("records"))}
    out: list[tuple] = []
    cols = list(steps.columns)
    records = steps.itertuples(index=False, name=None)
    idx = {c: i for i, c in enumerate(cols)}
    current, buffer = None, []
    for rec in records:
        cid = rec[idx["course_id"]]
        if cid != current and buffer:
            out.extend(_walk(by_course[current], buffer, idx, prof, base, base_grade, g3))
            buffer = []
        current = cid
        buffer.append(rec)
    if buffer:
        out.extend(_walk(by_course[current], buffer, idx, prof, base, base_grade, g3))
    result = pd.DataFrame(out, columns=list(STEP_COLUMNS))
    result["date"] = np.array(result["date"].to_numpy(), dtype="datetime64[D]").astype("datetime64[us]")
    return result


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def _walk(course: dict, recs: list[tuple], idx: dict, prof: Profile, base: dict, base_grade: dict,
          g3: dict) -> list[tuple]:
    """The per-course state machine: one output row per step."""
    cid, mrn, indication = course["course_id"], course["mrn"], course.get("indication")
    start = pd.Timestamp(course["start"]).date()
    rules = prof.rules_for(indication)
    ladder = prof.ladder(indication)
    course_schedule = course.get("schedule") if not _missing(course.get("schedule")) else "28/28"
    start_dose = pd.to_numeric(course.get("starting_dose_mg"), errors="coerce")
    start_dose = None if start_dose is None or pd.isna(start_dose) else float(start_dose)
    unusable = None
    if start_dose is None:
        unusable = "no starting dose recorded for this course: add starting_dose_mg to the patients file"
    elif not rules or not ladder:
        unusable = (f"profile {prof.id} has no dose rules or ladder for indication {indication!r}: "
                    f"use one of {sorted({r.indication for r in prof.rules})}")
    by_analyte: dict[str, list[DoseRule]] = {}
    for r in rules:
        by_analyte.setdefault(r.analyte, []).append(r)
    persist_rules = [r for r in rules if r.persist_days]
    has_tox_rule = TOXICITY in by_analyte
    # fast path: a value above every "<"/"<=" hold threshold of its analyte cannot trigger anything
    clear_above: dict[str, float] = {}
    for a, rs in by_analyte.items():
        thr = [r.hold_threshold(base.get((cid, a))) for r in rs]
        if all(r.hold_op in ("<", "<=") for r in rs) and None not in thr:
            clear_above[a] = max(thr)
    tag = f"{indication}"
    # the label's cycle limit (FL/MZL: 12 cycles, rules/monitoring.csv): from the next cycle on,
    # continuing is a clinician decision unless a dose_change event on/after that cycle records one
    limit_row = monitoring.cycle_limit(indication)
    limit = None if limit_row is None else int(limit_row["count"])
    beyond_by = None  # date of the clinician's dose_change that decided beyond the limit

    dose, schedule = start_dose, course_schedule
    held, awaiting, awaiting_since = False, False, None
    ep: _Episode | None = None
    episodes: dict[str, int] = {}
    runs: dict[str, object] = {}
    pending: list[str] = []
    pending_review = False
    rows = []

    def cite(r: DoseRule) -> str:
        return f"({r.source}, {tag}; rule {r.rule})"

    def cite_many(rs: list[DoseRule]) -> str:
        if len(rs) == 1:
            return cite(rs[0])
        srcs = ", ".join(dict.fromkeys(r.source for r in rs))
        return f"({srcs}, {tag}; rules {', '.join(r.rule for r in rs)})"

    def value_text(a, v):
        return f"{LABEL.get(a, a)} {_fmt_value(a, v)}"

    def candidates(a, dose_now, offset):
        for r in by_analyte.get(a, ()):
            if not r.in_window(offset) or not r.at_dose(dose_now):
                continue
            n = episodes.get(a, 0)
            if (r.episode == "first" and n > 0) or (r.episode == "later" and n == 0):
                continue
            yield r

    def fires(a, v, dose_now, offset, date, ctx) -> tuple[list, list]:
        """(fired rules with their reason text, review texts for missing baselines)."""
        fired, review = [], []
        for r in candidates(a, dose_now, offset):
            b = base.get((cid, a))
            if r.needs_baseline and b is None:
                review.append(
                    f"{LABEL.get(a, a)} {_fmt(round(v, 3))}: rule {r.rule} ({r.condition()}) needs a baseline "
                    f"{LABEL.get(a, a)} (latest on or before the start, up to 30 days before) and none was "
                    f"found: clinician review {cite(r)}"
                )
                continue
            if not r.baseline_in_range(b):
                continue
            thr = r.hold_threshold(b)
            if not OPS[r.hold_op](v, thr):
                continue
            extra = ""
            if r.hold_ref == "baseline":
                extra += f" ({_fmt(r.hold_value * 100)}% of baseline {_fmt(b)})"
            if r.persist_days:
                since = runs.get(r.rule)
                if since is None or (date - since).days < r.persist_days:
                    continue
                extra += f" for {(date - since).days} days (below since {since.isoformat()})"
            if r.with_fever:
                if _missing(ctx["fever_c"]) or ctx["fever_c"] < FEVER_C:
                    continue
                extra += f" with fever {_fmt(ctx['fever_c'])} C"
            if r.with_transfusion:
                if not ctx["transfusion"]:
                    continue
                extra += " with platelet transfusion"
            fired.append((r, f"{value_text(a, v)} {r.hold_op} {_fmt_value(a, thr)}{extra}"))
        return fired, review

    for rec in recs:
        date = rec[idx["date"]]
        is_draw = bool(rec[idx["is_draw"]])
        offset = (date - start).days
        cycle, cday = (0, offset) if offset < 0 else (offset // cycles.CYCLE_DAYS + 1, offset % cycles.CYCLE_DAYS + 1)
        ctx = {
            "fever_c": rec[idx["fever_c"]],
            "transfusion": bool(rec[idx["transfusion"]]) if not _missing(rec[idx["transfusion"]]) else False,
        }
        values = {a: rec[idx[a]] for a in by_analyte if a != TOXICITY and not _missing(rec[idx[a]])}
        tox = rec[idx["tox_grade"]]
        if not _missing(tox):
            values[TOXICITY] = float(tox)
        reasons: list[str] = []
        review = False
        if is_draw and pending:
            reasons.extend(pending)
            review = pending_review  # a review raised on an event-only date shows on the next draw
            pending, pending_review = [], False
        fired_ids: list[str] = []
        hold_notes: list[str] = []
        if offset < 0:
            rows.append((cid, mrn, date, is_draw, cycle, cday, "continue", start_dose, schedule, False,
                         ["before the start of treatment (cycle 0): no dose rule applies; baseline draw"],
                         False, False, [], []))
            continue
        if unusable:
            rows.append((cid, mrn, date, is_draw, cycle, cday, "review", None, schedule, False,
                         [f"{unusable}; clinician review"], True, False, [], []))
            continue
        # persistence runs ("for >= 7 days": consecutive draws below, no draw at/above in between)
        for r in persist_rules:
            if r.analyte in values:
                thr = r.hold_threshold(base.get((cid, r.analyte)))
                if thr is not None and OPS[r.hold_op](values[r.analyte], thr):
                    runs.setdefault(r.rule, date)
                else:
                    runs.pop(r.rule, None)
        if is_draw and not _missing(rec[idx["fever_no_temp"]]) and rec[idx["fever_no_temp"]]:
            reasons.append("fever recorded without a temperature: the >= 38.5 C rules cannot be applied; clinician review")
            review = True
        bad = g3.get((cid, date), ())
        g3_an = [a for a, _ in bad]
        g3_grades = [gr for _, gr in bad]
        g3_txt = [f"{a} grade {gr}" for a, gr in bad]
        nonheme, known, preexisting = [], [], []
        for t, a, g in zip(g3_txt, g3_an, g3_grades):
            if a in HAEMATOLOGIC:
                continue
            # already this bad at baseline: a pre-existing abnormality (e.g. creatinine on dialysis),
            # not a new toxicity; it is reviewed again once it rises above the baseline grade
            if base_grade.get((cid, a), -1) >= g:
                known.append(t)
                preexisting.append(a)
            else:
                nonheme.append(t)
        if known:
            reasons.append(f"{', '.join(known)} (CTCAE v5.0): as at baseline - pre-existing, not a new toxicity")
        if nonheme:
            review = True
            reasons.append(
                f"{', '.join(nonheme)} (CTCAE v5.0): clinician review - not an automatic hold, the PI asks "
                "whether the toxicity is related to lenalidomide (US PI 2.1-2.4, other grade 3/4 toxicities)"
            )
        if TOXICITY in values and values[TOXICITY] >= 3 and not has_tox_rule:
            review = True
            reasons.append(
                f"recorded grade {_fmt(values[TOXICITY])} toxicity: profile {prof.id} has no automatic rule for "
                f"{indication}; clinician review"
            )
        # other toxicity during an episode (MM ANC): any other lab graded >= 3, or a toxicity event >= 3.
        # The WBC is not "other": it is the total that contains the low neutrophils (docs/dosing.md).
        other_now = any(a not in NEUTROPENIA_ITSELF for a in g3_an) or (TOXICITY in values and values[TOXICITY] >= 3)

        action = "continue"
        dose_out: float | None = dose
        if held:
            for a, v in values.items():
                ep.last[a] = v
            ep.other_toxicity = ep.other_toxicity or other_now
            for a, v in values.items():
                if a in ep.triggers or v > clear_above.get(a, math.inf):
                    continue
                fired, _ = fires(a, v, ep.dose_mg, offset, date, ctx)
                if fired:
                    ep.triggers[a] = [r for r, _ in fired]
                    ep.last[a] = v
                    episodes[a] = episodes.get(a, 0) + 1  # it joins this episode: a later one is not "first"
                    fired_ids += [r.rule for r, _ in fired]
                    texts = {}
                    for r, t in fired:
                        texts.setdefault(t, []).append(r)
                    reasons += [f"{t}: also triggers while held - no further step down {cite_many(rs)}"
                                for t, rs in texts.items()]
            pending_counts = []
            n_before = len(reasons)
            for a, rs in ep.triggers.items():
                thr_rule = max(rs, key=lambda r: r.resume_value)
                v = ep.last.get(a)
                if v is None or not OPS[thr_rule.resume_op](v, thr_rule.resume_value):
                    pending_counts.append((a, v, thr_rule))
            if ep.clinician or pending_counts:
                action, dose_out = "stay_held", None
                since = f"held since {ep.start.isoformat()}"
                if ep.clinician:
                    reasons.append(f"{since} by a clinician (dose_change hold): resume needs a recorded dose")
                for a, v, r in pending_counts:
                    shown = "not measured yet" if v is None else _fmt_value(a, v)
                    reasons.append(f"{since}: {LABEL.get(a, a)} {shown}, resume when {r.resume_op} "
                                   f"{_fmt_value(a, r.resume_value)} {cite(r)}")
                if is_draw:
                    reasons.append("during a hold the PI asks for a CBC weekly")
                hold_notes = reasons[n_before:]
            else:
                recovered = "; ".join(
                    f"{value_text(a, ep.last[a])} {max(rs, key=lambda r: r.resume_value).resume_op} "
                    f"{_fmt_value(a, max(rs, key=lambda r: r.resume_value).resume_value)}"
                    for a, rs in ep.triggers.items()
                )
                held, ep_done = False, ep
                ep = None
                if ep_done.at_floor:
                    action, dose_out, awaiting, awaiting_since = "review", None, True, date
                    reasons.append(
                        f"{recovered}: counts recovered, but the hold began at the floor "
                        f"({_mg(ep_done.dose_mg)} mg {ep_done.schedule}): clinician decision "
                        f"({', '.join(dict.fromkeys(r.source for rs in ep_done.triggers.values() for r in rs))}, {tag})"
                    )
                else:
                    target = _resume_target(ep_done, ladder, start_dose, course_schedule)
                    if target is None:
                        action, dose_out, awaiting, awaiting_since = "review", None, True, date
                        reasons.append(f"{recovered}: no lower dose on the {indication} ladder: clinician decision")
                    else:
                        (dose, schedule), why, r = target
                        action, dose_out = "resume", dose
                        reasons.append(f"{recovered}: resume at {_mg(dose)} mg {schedule} ({why}) {cite(r)}")
        else:
            all_fired, base_review = [], []
            dose_now = dose
            for a, v in values.items():
                if v > clear_above.get(a, math.inf):
                    continue
                fired, rv = fires(a, v, dose_now, offset, date, ctx)
                all_fired += [(a, r, t) for r, t in fired]
                base_review += rv
            if all_fired:
                floor = at_floor(ladder, dose, schedule)
                ep = _Episode(start=date, dose_mg=dose, schedule=schedule, at_floor=floor,
                              other_toxicity=other_now)
                texts: dict[str, list[DoseRule]] = {}
                for a, r, t in all_fired:
                    ep.triggers.setdefault(a, []).append(r)
                    ep.last[a] = values[a]
                    fired_ids.append(r.rule)
                    texts.setdefault(t, []).append(r)
                for t, rs in texts.items():
                    reasons.append(f"{t}: hold {cite_many(rs)}")
                for a in ep.triggers:
                    episodes[a] = episodes.get(a, 0) + 1
                if floor:
                    reasons.append(f"already at the floor ({_mg(dose)} mg {schedule}): on recovery the clinician decides")
                held, awaiting = True, False
                action, dose_out = "hold", None
                if is_draw:
                    reasons.append("during a hold the PI asks for a CBC weekly")
            elif base_review:
                reasons += base_review
                review = True
            if not held and awaiting:
                action, dose_out = "review", None
                reasons.append(f"awaiting a clinician decision since {awaiting_since.isoformat()} "
                               "(record a dose_change event with the new dose)")
        if action == "continue" and review:
            action, dose_out = "review", None
        # clinician-recorded dose changes override the simulated dose from their date on
        dcs = rec[idx["dose_changes"]]
        for dc_dose, dc_hold in (() if _missing(dcs) else dcs):
            when = date.isoformat()
            if dc_hold:
                if held:
                    reasons.append(f"clinician recorded a hold on {when} (dose_change event): already held")
                else:
                    ep = _Episode(start=date, dose_mg=dose, schedule=schedule, at_floor=False, clinician=True)
                    held, awaiting = True, False
                    action, dose_out = "hold", None
                    reasons.append(f"clinician recorded a hold on {when} (dose_change event)")
            elif dc_dose is not None:
                if action == "stay_held":  # the clinician's decision replaces the "still held" notes
                    reasons[:] = [t for t in reasons if t not in hold_notes]
                was_held = held or action in ("hold", "stay_held", "resume")
                schedule = _schedule_for(ladder, dc_dose, schedule)
                dose, held, awaiting, ep = dc_dose, False, False, None
                action, dose_out = ("resume" if was_held else "continue"), dose
                reasons.append(f"clinician recorded {_mg(dc_dose)} mg on {when} (dose_change event): "
                               "overrides the simulated dose from this date on")
        if action == "continue":
            dose_out = dose
        if not is_draw:
            pending.extend(f"{date.isoformat()}: {t}" for t in reasons)
            pending_review = pending_review or review
        if limit is not None and cycle > limit:
            if beyond_by is None and not _missing(dcs) and len(dcs):
                beyond_by = date
            if beyond_by is None:
                action, dose_out, review = "review", None, True
                reasons.append(
                    f"cycle {cycle}: beyond the {limit}-cycle limit - {limit_row['reason']} "
                    f"[{limit_row['source']}]: continuing is a clinician decision (record a dose_change event)"
                )
            else:
                reasons.append(
                    f"cycle {cycle}: beyond the {limit}-cycle limit [{limit_row['source']}]: continued by the "
                    f"clinician's decision (dose_change event on {beyond_by.isoformat()})"
                )
        dosing_day = action in ("continue", "resume") and 1 <= cday <= cycles.DOSING_DAYS.get(schedule, 28)
        if action == "continue" and not dosing_day:
            reasons.append(f"day {cday} of {schedule}: planned rest, not a hold")
        rows.append((cid, mrn, date, is_draw, cycle, cday, action, dose_out, schedule, dosing_day, reasons,
                     review or action == "review", held, fired_ids, preexisting))
    return rows


def _resume_target(ep: _Episode, ladder, start_dose: float, course_schedule: str):
    """((dose, schedule), why, rule) of the lowest dose any triggering rule gives; None past the floor."""
    best = None
    for a, rs in ep.triggers.items():
        chosen = [r for r in rs if r.other_toxicity in ("any", "yes" if ep.other_toxicity else "no")] or rs
        for r in chosen:
            if r.resume_dose == "start":
                # the starting dose (or the patient's own initial dose, e.g. renally reduced); never
                # above the dose held at, so an earlier reduction is not undone
                d = min(start_dose, ep.dose_mg)
                target = (d, course_schedule if d == start_dose else ep.schedule)
                why = "starting dose" if d == start_dose else "dose at the hold (not above it)"
            elif r.resume_dose == "next_lower":
                step = next_lower(ladder, ep.dose_mg, ep.schedule)
                if step is None:
                    return None
                target = (step.dose_mg, step.schedule or ep.schedule)
                why = f"next lower dose ({step.source})"
            else:
                target = (float(r.resume_dose), ep.schedule)
                why = "dose the table gives"
            if best is None or target[0] < best[0][0] or (target[0] == best[0][0] and target[1] == "21/28"):
                best = (target, why, r)
    return best
