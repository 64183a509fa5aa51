"""Rule profiles: dose rule rows, dose ladders, reading them from rules/*.csv, and stepping down a ladder."""

from __future__ import annotations

import csv
import functools
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict, overload

import pandas as pd

from lenadash.clinical.dosing.values import TOXICITY, _fmt, _mg  # noqa: F401  (TOXICITY re-exported)
from lenadash.config import RULES_DIR
from lenadash.errors import ProfileError
from lenadash.vocab.course import CAPSULE_MG, DOSING_DAYS, INDICATIONS

DEFAULT_PROFILE = "us_pi"
EARLY_WINDOW_DAYS = 28  # "within the first 4 weeks" = fewer than 28 days after the start (DOMAIN.md §2)

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
WINDOWS = ("any", "first_4_weeks", "after_4_weeks")
EPISODES = ("any", "first", "later")
OTHER_TOXICITY = ("any", "yes", "no")

RULE_COLUMNS = (
    "rule",
    "indication",
    "analyte",
    "window",
    "at_dose",
    "baseline_min",
    "baseline_below",
    "episode",
    "other_toxicity",
    "hold_op",
    "hold_value",
    "hold_ref",
    "persist_days",
    "with_fever",
    "with_transfusion",
    "resume_op",
    "resume_value",
    "resume_dose",
    "source",
    "text",
)
LADDER_COLUMNS = ("indication", "step", "dose_mg", "schedule", "source")
PROFILE_COLUMNS = ("id", "name", "source", "files")
# Optional profiles.csv columns (blank or absent = the default): the grading version the profile was
# written against, the indications it covers (space-separated; blank = those its rules name), and
# its capsule strengths in mg (space-separated; blank = vocab.course.CAPSULE_MG).
PROFILE_OPTIONAL = ("grading", "indications", "capsules_mg")
DEFAULT_GRADING = "ctcae_v5"
GRADING_VERSIONS = ("ctcae_v5", "ctcae_v6")  # the tables in rules/ (clinical.grading.VERSIONS)
START_COLUMNS = ("rule", "indication", "analyte", "op", "value", "action", "source", "text")
START_ACTIONS = ("do_not_start", "review")


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
        if not self.at_dose_op:
            return True
        assert self.at_dose_mg is not None, "an at_dose condition always has its dose (rules/*.csv)"
        return OPS.get(self.at_dose_op, operator.eq)(dose_mg, self.at_dose_mg)

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
class StartCriterion:
    """One row of a profile's start criteria (start_<profile>.csv), read on the baseline counts.

    It fires when `baseline <op> value` (e.g. anc < 1.0); `action` do_not_start: the course is not
    started (review, no dose); review: a clinician reviews at the start. indication "any" = every one.
    """

    rule: str
    indication: str
    analyte: str
    op: str
    value: float
    action: str
    source: str
    text: str

    def applies_to(self, indication: str | None) -> bool:
        return self.indication in ("any", indication)

    def fires(self, baseline: float) -> bool:
        return OPS[self.op](baseline, self.value)


@dataclass(frozen=True)
class Profile:
    """A named, versioned rule set: dose rules plus ladders, each row with its source.

    `grading` is the CTCAE version it was written against; `indications` the ones it covers (a course
    of another indication has no rules here: review); `capsules_mg` the strengths its ladders may use;
    `start` its start criteria.
    """

    id: str
    name: str
    source: str
    rules: tuple[DoseRule, ...]
    ladders: dict = field(hash=False, compare=False)
    grading: str = DEFAULT_GRADING
    indications: tuple[str, ...] = ()
    capsules_mg: tuple[float, ...] = CAPSULE_MG
    start: tuple[StartCriterion, ...] = ()

    def covers(self, indication: str | None) -> bool:
        return indication in self.indications

    def rules_for(self, indication: str | None) -> tuple[DoseRule, ...]:
        if not self.covers(indication):
            return ()
        return tuple(r for r in self.rules if r.indication == indication)

    def ladder(self, indication: str | None) -> tuple[LadderStep, ...]:
        return self.ladders.get(indication, ()) if self.covers(indication) else ()

    def start_for(self, indication: str | None) -> tuple[StartCriterion, ...]:
        return tuple(c for c in self.start if c.applies_to(indication)) if self.covers(indication) else ()


def _read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    if not path.exists():
        raise ProfileError(f"rule file {path} not found: create it or fix the name in profiles.csv")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ProfileError(f"{path.name}: missing column(s) {missing}; the header must contain {list(required)}")
        return [(i + 2, {k: (v or "").strip() for k, v in row.items() if k}) for i, row in enumerate(reader)]


class _Where(TypedDict):
    """Where a cell is (for ProfileError messages): the keyword arguments every parser takes."""

    file: str
    line: int


@overload
def _num(value: str, *, file: str, line: int, column: str, blank_ok: Literal[False]) -> float: ...
@overload
def _num(value: str, *, file: str, line: int, column: str, blank_ok: bool = True) -> float | None: ...
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
    kw: _Where = {"file": file, "line": line}
    for col in ("rule", "indication", "analyte", "source"):
        if not row[col]:
            raise ProfileError(f"{file} line {line}: column {col} is empty; every rule row needs a {col}")
    at_dose = row["at_dose"].replace(" ", "")
    at_op = at_mg = None
    if at_dose:
        at_op = next((op for op in ("<=", ">=", "<", ">") if at_dose.startswith(op)), "==")
        at_mg = _num(at_dose[len(at_op) :] if at_op != "==" else at_dose, column="at_dose", **kw)
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
    """The rule profiles a clinic can choose (rules/profiles.csv): id, name, source, files, grading, ..."""
    d = Path(rules_dir) if rules_dir else RULES_DIR
    rows = _read_csv(d / "profiles.csv", PROFILE_COLUMNS)
    columns = list(PROFILE_COLUMNS + PROFILE_OPTIONAL)
    return pd.DataFrame([{c: r.get(c, "") for c in columns} for _, r in rows], columns=columns)


def load_profile(profile: str = DEFAULT_PROFILE, rules_dir: Path | str | None = None) -> Profile:
    """Read one rule profile listed in `<rules_dir>/profiles.csv` (default: the package's rules/).

    `files` lists the profile's tables, space-separated: names starting with `ladders` are dose
    ladders, names starting with `dose_` are dose rule tables, names starting with `start_` are start
    criteria. The optional columns `grading`, `indications` and `capsules_mg` are read as
    PROFILE_OPTIONAL says. Raises ProfileError naming the file, line and fix when the profile is
    unknown or a row is malformed (a ladder dose that is not one of the profile's capsule strengths).
    """
    d = Path(rules_dir) if rules_dir else RULES_DIR
    return _load_profile(profile, str(d.resolve()))


@functools.lru_cache(maxsize=16)
def _load_profile(profile: str, rules_dir: str) -> Profile:
    d = Path(rules_dir)
    meta = _profile_row(profile, d)
    capsules = _capsules(profile, meta.get("capsules_mg", ""))
    rules: list[DoseRule] = []
    ladders: dict[str, list[LadderStep]] = {}
    start: list[StartCriterion] = []
    for name in meta["files"].split():
        if name.startswith("ladders"):
            for step in _read_ladder(d, name, capsules):
                ladders.setdefault(step.indication, []).append(step)
        elif name.startswith("dose_"):
            for line, row in _read_csv(d / name, RULE_COLUMNS):
                rules.append(_parse_rule(row, file=name, line=line))
        elif name.startswith("start_"):
            start.extend(_parse_start(row, file=name, line=line) for line, row in _read_csv(d / name, START_COLUMNS))
        else:
            raise ProfileError(
                f"profiles.csv, profile {profile!r}: file {name!r} must start with dose_, ladders or start_"
            )
    _check_rules_fit_ladders(profile, rules, ladders)
    ladder_t = {k: tuple(sorted(v, key=lambda s: s.step)) for k, v in ladders.items()}
    return Profile(
        id=profile,
        name=meta["name"],
        source=meta["source"],
        rules=tuple(rules),
        ladders=ladder_t,
        grading=_grading(profile, meta.get("grading", "")),
        indications=_indications(profile, meta.get("indications", ""), rules),
        capsules_mg=capsules,
        start=tuple(start),
    )


def _grading(profile: str, value: str) -> str:
    if value and value not in GRADING_VERSIONS:
        raise ProfileError(
            f"profiles.csv, profile {profile!r}: grading = {value!r}; use one of {list(GRADING_VERSIONS)} "
            f"or leave it empty ({DEFAULT_GRADING})"
        )
    return value or DEFAULT_GRADING


def _indications(profile: str, value: str, rules: list[DoseRule]) -> tuple[str, ...]:
    """The indications the profile covers: its column, else every indication its rules name."""
    if not value:
        return tuple(dict.fromkeys(r.indication for r in rules))
    listed = tuple(value.split())
    unknown = [i for i in listed if i not in INDICATIONS]
    if unknown:
        raise ProfileError(
            f"profiles.csv, profile {profile!r}: indications {unknown} unknown; use codes from {list(INDICATIONS)}"
        )
    stray = sorted({r.indication for r in rules} - set(listed))
    if stray:
        raise ProfileError(
            f"profiles.csv, profile {profile!r}: dose rules for {stray} but indications = {value!r}; "
            "add them to indications or remove their rules"
        )
    return listed


def _capsules(profile: str, value: str) -> tuple[float, ...]:
    if not value:
        return CAPSULE_MG
    try:
        return tuple(sorted(float(v) for v in value.split()))
    except ValueError:
        raise ProfileError(
            f"profiles.csv, profile {profile!r}: capsules_mg = {value!r}; write the strengths in mg "
            "separated by spaces (2.5 5 10)"
        ) from None


def _parse_start(row: dict, *, file: str, line: int) -> StartCriterion:
    kw: _Where = {"file": file, "line": line}
    for col in ("rule", "analyte", "source"):
        if not row[col]:
            raise ProfileError(f"{file} line {line}: column {col} is empty; every start criterion needs a {col}")
    indication = row["indication"] or "any"
    if indication != "any" and indication not in INDICATIONS:
        raise ProfileError(f"{file} line {line}: indication {indication!r}; use any or one of {list(INDICATIONS)}")
    return StartCriterion(
        rule=row["rule"],
        indication=indication,
        analyte=row["analyte"],
        op=_choice(row["op"], OPS, column="op", **kw),
        value=_num(row["value"], column="value", blank_ok=False, **kw),
        action=_choice(row["action"], START_ACTIONS, column="action", **kw),
        source=row["source"],
        text=row["text"],
    )


def _profile_row(profile: str, d: Path) -> dict:
    """The profile's row of profiles.csv, which must list at least one rule table and one ladder."""
    profiles = {r["id"]: r for _, r in _read_csv(d / "profiles.csv", PROFILE_COLUMNS)}
    if profile not in profiles:
        raise ProfileError(
            f"unknown rule profile {profile!r}; profiles.csv in {d} lists {sorted(profiles)} "
            "(set LENADASH_RULES to one of them, or add a row to profiles.csv)"
        )
    meta = profiles[profile]
    files = meta["files"].split()
    if not any(f.startswith("dose_") for f in files) or not any(f.startswith("ladders") for f in files):
        raise ProfileError(
            f"profiles.csv, profile {profile!r}: files = {meta['files']!r}; list at least one dose_*.csv "
            "and one ladders*.csv file, separated by spaces"
        )
    return meta


def _read_ladder(d: Path, name: str, capsules: tuple[float, ...] = CAPSULE_MG) -> list[LadderStep]:
    steps = []
    for line, row in _read_csv(d / name, LADDER_COLUMNS):
        kw: _Where = {"file": name, "line": line}
        if not row["indication"] or not row["source"]:
            raise ProfileError(f"{name} line {line}: indication and source must not be empty")
        dose = _num(row["dose_mg"], column="dose_mg", blank_ok=False, **kw)
        if dose not in capsules:
            raise ProfileError(
                f"{name} line {line}: dose_mg {_mg(dose)} is not a capsule strength of this profile "
                f"({', '.join(_mg(c) for c in capsules)} mg); use one, or add it to capsules_mg in profiles.csv"
            )
        sched = row["schedule"] or None
        if sched is not None and sched not in DOSING_DAYS:
            raise ProfileError(f"{name} line {line}: schedule {sched!r}; use 21/28, 28/28 or leave empty")
        steps.append(
            LadderStep(
                row["indication"],
                int(_num(row["step"], column="step", blank_ok=False, **kw)),
                dose,
                sched,
                row["source"],
            )
        )
    return steps


def _check_rules_fit_ladders(profile: str, rules: list[DoseRule], ladders: dict) -> None:
    """Rule ids are unique, and every indication with rules has a ladder to step down."""
    ids = [r.rule for r in rules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ProfileError(f"profile {profile!r}: rule id(s) {dup} appear more than once; make each id unique")
    for ind in {r.indication for r in rules}:
        if ind not in ladders:
            raise ProfileError(f"profile {profile!r}: rules for {ind} but no ladder; add {ind} rows to a ladders file")


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
