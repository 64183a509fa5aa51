"""The walk: one course's draws and events in date order through the dose rules, as a small state machine."""

# A course is on treatment, held (one hold episode, DOMAIN.md §2), awaiting a clinician's decision (the
# counts recovered at the floor, or no lower dose exists), or stopped (REMS, DOMAIN.md §5: a positive
# pregnancy test or a missed period; only a clinician's later dose_change leaves it). Each step reads one
# date, decides the transition, records the ids of the rules that decided it (`Step.fired`) and which reasons
# ask for review (`Step.reviews`), and words the decision through `reasons`; the sentences never feed back
# into a decision.

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lenadash.clinical import schedule as monitoring
from lenadash.clinical.cycles import UNKNOWN_SCHEDULE
from lenadash.clinical.dosing import reasons
from lenadash.clinical.dosing.profiles import OPS, DoseRule, Profile, _schedule_for, at_floor, next_lower
from lenadash.clinical.dosing.start import start_decision
from lenadash.clinical.dosing.values import (
    CLINICIAN_DOSE,
    CLINICIAN_HOLD,
    CYCLE_LIMIT,
    ENGINE_RULES,
    GRADE3_REVIEW,
    REMS_STOP,
    TOXICITY,
    _missing,
)
from lenadash.vocab.course import CYCLE_DAYS, DOSING_DAYS

FEVER_C = 38.5  # fever for the dose rules: >= 38.5 C recorded on the draw's date (DOMAIN.md §2)
# Labs whose grade >= 3 is not an automatic hold but a clinician review (DOMAIN.md §2: the PI requires
# the toxicity to be judged drug-related). Cytopenias are handled by the dose rules themselves.
HAEMATOLOGIC = frozenset({"anc", "plt", "wbc", "alc", "hgb"})
# Labs that measure the neutropenia itself, so they never count as "other toxicity" in an MM ANC
# episode: the ANC, and the WBC, which falls with it because it contains the neutrophils.
NEUTROPENIA_ITSELF = frozenset({"anc", "wbc"})
ACTIONS = ("continue", "hold", "stay_held", "resume", "review", "stop")
# what a resume plan's dose rests on (docs/assess.md): the starting dose, the same dose as at the hold,
# the next lower dose (a ladder step or the table's lower dose), or a clinician's decision (no dose given)
BASES = ("start", "same", "next_lower", "clinician")


class State(enum.Enum):
    ON_TREATMENT = "on_treatment"
    HELD = "held"  # one hold episode: ends when every triggering count recovered (or a clinician's dose)
    AWAITING_DECISION = "awaiting_decision"  # recovered, but only a clinician can say at what dose
    STOPPED = "stopped"  # REMS stop: no count-based resume; only a clinician's dose_change dated after it ends it


@dataclass
class Episode:
    """One hold episode: when and at what dose it began, what triggered it, the counts since."""

    start: dt.date
    dose_mg: float
    schedule: str
    at_floor: bool
    triggers: dict = field(default_factory=dict)  # analyte -> [DoseRule] that fired
    first: dict = field(default_factory=dict)  # analyte -> its value when it triggered
    last: dict = field(default_factory=dict)  # analyte -> latest value during the episode
    other_toxicity: bool = False
    clinician: bool = False  # a dose_change "hold" event; only a recorded dose ends it


@dataclass(frozen=True)
class ResumePlan:
    """The dose to resume at after an episode, and why (`basis`: starting_dose, dose_at_hold, next_lower, table)."""

    dose_mg: float
    schedule: str
    basis: str
    rule: DoseRule
    ladder_source: str | None = None


class Step:
    """What one date brings (values, events) and what the walk makes of it (action, dose, reasons).

    Class attributes are the defaults a step keeps unless the walk changes them (most steps change few).
    """

    values: dict[str, float]  # analyte -> value of this date (set by CourseWalk._read)
    fever_c: float | None = None
    fever_no_temp: bool | None = None
    transfusion = False
    dose_changes: tuple = ()
    stop = False  # a REMS stop event on this date (positive pregnancy test, missed period)
    stop_kind = ""  # its event kind: "pregnancy_test" (positive) or "missed_period"
    reviews: Sequence[tuple[str, str]] = ()  # (notice kind, reason) of each reason that asks for review
    restart = False  # a clinician's dose_change ends a stop on this date
    review = False
    hold_notes: Sequence[str] = ()  # the "still held" sentences, dropped when a clinician's dose replaces them
    other_toxicity = False
    action = "continue"
    dose_out: float | None = None

    def __init__(self, date: dt.date, is_draw: bool, offset: int):
        self.date, self.is_draw, self.offset = date, is_draw, offset
        if offset < 0:
            self.cycle, self.cycle_day = 0, offset
        else:
            cycle, day = divmod(offset, CYCLE_DAYS)
            self.cycle, self.cycle_day = cycle + 1, day + 1
        self.reasons: list[str] = []
        self.fired: list[str] = []  # ids of the rules that decided this step (profile rule ids, engine ids)
        self.preexisting: list[str] = []

    def ask_review(self, text: str, kind: str = "review", rule: str | None = None) -> None:
        """A reason that asks for a clinician's review, marked as such (assess reads the mark, not the text)."""
        self.reasons.append(text)
        self.reviews = [*self.reviews, (kind, text)]
        self.review = True
        if rule is not None:
            self.fired.append(rule)


class CourseWalk:
    """The per-course state machine of the dose engine: `run()` returns one STEP_COLUMNS row per step."""

    def __init__(self, course: dict, idx: dict, prof: Profile, base: dict, base_grade: dict, g3: dict):
        self.cid, self.mrn, self.indication = course["course_id"], course["mrn"], course.get("indication")
        self.start = pd.Timestamp(course["start"]).date()
        self.prof, self.base_grade, self.g3 = prof, base_grade, g3
        self.rules = prof.rules_for(self.indication)
        self.ladder = prof.ladder(self.indication)
        sched = course.get("schedule")
        self.course_schedule: str = UNKNOWN_SCHEDULE if sched is None or _missing(sched) else sched
        raw_dose = course.get("starting_dose_mg")
        start_dose = None if raw_dose is None else pd.to_numeric(raw_dose, errors="coerce")
        self.start_dose = None if start_dose is None or pd.isna(start_dose) else float(start_dose)
        self.unusable = self._unusable()
        self.stops_on = _stop_events(course)
        self.by_analyte: dict[str, list[DoseRule]] = {}
        for r in self.rules:
            self.by_analyte.setdefault(r.analyte, []).append(r)
        self.baseline = {a: base.get((self.cid, a)) for a in self.by_analyte}
        self.persist_rules = [r for r in self.rules if r.persist_days]
        self.has_tox_rule = TOXICITY in self.by_analyte
        self.clear_above = self._clear_above()
        # record positions, looked up once per course rather than once per step
        self.at = {
            c: idx[c]
            for c in ("date", "is_draw", "fever_c", "fever_no_temp", "transfusion", "tox_grade", "dose_changes", "stop")
        }
        self.value_at = [(a, idx[a]) for a in self.by_analyte if a != TOXICITY]
        # the label's cycle limit (FL/MZL: 12 cycles, rules/monitoring.csv): from the next cycle on,
        # continuing is a clinician decision unless a dose_change event on/after that cycle records one
        self.limit_row = monitoring.cycle_limit(self.indication)
        self.limit = None if self.limit_row is None else int(self.limit_row["count"])
        # what changes along the walk
        self.state = State.ON_TREATMENT
        self.dose: float | None = self.start_dose  # None only in an unusable course, which is never walked
        self.schedule: str = self.course_schedule
        self.episode: Episode | None = None
        self.awaiting_since: dt.date | None = None
        self.episodes: dict[str, int] = {}  # analyte -> hold episodes it triggered (MM: first vs later)
        self.runs: dict[str, dt.date] = {}  # persistence rule -> first date of the current run below
        self.pending: list[str] = []  # reasons of event-only dates, shown on the next draw
        self.pending_review = False
        self.pending_rules: list[str] = []  # and the rule ids that decided them
        self.pending_reviews: list[tuple[str, str]] = []
        self.awaiting_rules: list[str] = []  # the rules of the episode whose recovery awaits a decision
        self.stopped_since: dt.date | None = None  # date of the REMS stop in force
        self.stop_info: dict | None = None  # {"since": ISO date, "event": event kind} while stopped
        self.beyond_by: dt.date | None = None  # date of the clinician's dose_change that decided beyond the limit
        # the profile's start criteria on the baseline counts (dosing/start.py; None = nothing to say)
        self.start_check = start_decision(prof, self.indication, lambda a: base.get((self.cid, a)))

    def _unusable(self) -> str | None:
        if self.start_dose is None:
            return reasons.no_starting_dose()
        if not self.rules or not self.ladder:
            return reasons.no_rules_for(self.prof.id, self.indication, {r.indication for r in self.prof.rules})
        return None

    def _clear_above(self) -> dict[str, float]:
        """Fast path: a value above every "<"/"<=" hold threshold of its analyte cannot trigger anything."""
        out = {}
        for a, rs in self.by_analyte.items():
            thr = [r.hold_threshold(self.baseline[a]) for r in rs]
            known = [t for t in thr if t is not None]
            if all(r.hold_op in ("<", "<=") for r in rs) and len(known) == len(thr):
                out[a] = max(known)
        return out

    @property
    def held(self) -> bool:
        return self.state is State.HELD

    @property
    def dose_now(self) -> float:
        """The current dose; always set once the course is walked (`_unusable` stops a course without one)."""
        assert self.dose is not None, "a usable course has a starting dose"
        return self.dose

    # --- the loop ------------------------------------------------------------------------------

    def run(self, recs: Iterable[tuple]) -> list[tuple]:
        """The course's step records (prepared by steps._prepare_steps, in date order) -> output rows.

        The last row carries the resume plan of the episode still open after it (None unless held)."""
        rows = [self.step(rec) for rec in recs]
        if rows and self.state is State.HELD and self.episode is not None:
            rows[-1] = (*rows[-1][:-2], self.open_plan(self.episode), rows[-1][-1])
        return rows

    def open_plan(self, ep: Episode) -> dict:
        """The open episode's resume plan as data (docs/assess.md `resume_plan`), from the code `_recover` runs."""
        assert self.start_dose is not None, "a usable course has a starting dose"
        plan = None if ep.at_floor else _resume_plan(ep, self.ladder, self.start_dose, self.course_schedule)
        when = [
            {"analyte": a, "op": r.resume_op, "value": float(r.resume_value)}
            for a, r in ((a, _resume_rule(rs)) for a, rs in ep.triggers.items())
        ]
        first = next((_resume_rule(rs) for rs in ep.triggers.values()), None)
        out: dict[str, Any] = {
            "dose_mg": None,
            "schedule": ep.schedule,
            "when": when,
            "rule": CLINICIAN_HOLD if first is None else first.rule,
            "source": ENGINE_RULES[CLINICIAN_HOLD][0] if first is None else first.source,
            "basis": "clinician",
            "since": ep.start.isoformat(),
            "triggers": [{"analyte": a, "value": float(v)} for a, v in ep.first.items()],
        }
        if ep.clinician:  # only a recorded dose ends a clinician's hold: no count condition
            out.update(when=[], rule=CLINICIAN_HOLD, source=ENGINE_RULES[CLINICIAN_HOLD][0])
        elif plan is not None:
            out.update(
                dose_mg=plan.dose_mg,
                schedule=plan.schedule,
                rule=plan.rule.rule,
                source=plan.rule.source,
                basis=_contract_basis(plan, ep),
            )
        return out

    def step(self, rec: tuple) -> tuple:
        """One date: what it shows, the transition it causes, the clinician's overrides, the output row."""
        s = self._read(rec)
        early = self._decided_before_the_rules(s)
        if early is not None:
            return early
        if self.persist_rules:
            self._track_runs(s)
        self._note_toxicities(s)
        if self.state is State.HELD:
            self._while_held(s)
        else:
            self._while_not_held(s)
        if s.action == "continue" and s.review:
            s.action, s.dose_out = "review", None
        for dose_mg, is_hold in s.dose_changes:
            self._dose_change(s, dose_mg, is_hold)
        if s.action == "continue":
            s.dose_out = self.dose_now
        if not s.is_draw:
            self._keep_for_next_draw(s)
        if self.limit is not None and s.cycle > self.limit:
            self._beyond_cycle_limit(s, self.limit)
        return self._row(s)

    def _decided_before_the_rules(self, s: Step) -> tuple | None:
        """The output row when something decides the step before any dose rule is read: a REMS stop (or the
        clinician's restart after one), a date before the start, an unusable course, the start criteria."""
        if self.state is State.STOPPED and len(s.dose_changes) and not s.stop:
            self._restart(s)
        if s.stop or self.state is State.STOPPED:
            return self._stopped(s)
        if s.offset < 0:
            return self._before_start(s)
        if self.unusable:
            return self._unusable_row(s, self.unusable)
        if self.start_check is not None and self._start_criteria(s):
            return self._row(s)
        return None

    def _start_criteria(self, s: Step) -> bool:
        """Start criteria (dosing/start.py) on the first steps; True when they decide the step alone.

        do_not_start: every step is review with no dose (treatment not assumed started) until a
        clinician's dose_change starts it; review: the first step on or after the start is review.
        """
        check = self.start_check
        assert check is not None
        self.start_check = None if s.dose_changes or not check.blocks else check
        if check.blocks and s.dose_changes:
            return False  # the clinician's recorded dose starts the treatment
        for text in check.reasons:
            s.ask_review(text)  # marked as asking for review, so assess makes a review notice of it
        s.fired.extend(check.rules)
        if check.blocks:
            s.action, s.dose_out = "review", None
        return check.blocks

    def _read(self, rec: tuple) -> Step:
        """The step's values and events; a draw also takes the reasons kept from event-only dates."""
        at = self.at
        date = rec[at["date"]]
        s = Step(date, bool(rec[at["is_draw"]]), (date - self.start).days)
        s.fever_c = rec[at["fever_c"]]
        transfusion = rec[at["transfusion"]]
        s.transfusion = bool(transfusion) if not _missing(transfusion) else False
        s.values = {a: v for a, i in self.value_at if not _missing(v := rec[i])}
        tox = rec[at["tox_grade"]]
        if not _missing(tox):
            s.values[TOXICITY] = float(tox)
        dcs = rec[at["dose_changes"]]
        s.dose_changes = () if _missing(dcs) else dcs
        s.fever_no_temp = rec[at["fever_no_temp"]]
        if self.stops_on:  # only women can be stopped: most courses skip the lookup
            stop = rec[at["stop"]]
            if not _missing(stop) and stop in self.stops_on:
                s.stop, s.stop_kind = True, stop
        if s.is_draw and self.pending:
            s.reasons.extend(self.pending)
            s.review = self.pending_review  # a review raised on an event-only date shows on the next draw
            s.fired.extend(self.pending_rules)
            s.reviews = list(self.pending_reviews)
            self.pending, self.pending_review, self.pending_rules, self.pending_reviews = [], False, [], []
        return s

    def _row(self, s: Step) -> tuple:
        last_dosing_day = DOSING_DAYS.get(self.schedule, CYCLE_DAYS)
        dosing_day = s.action in ("continue", "resume") and 1 <= s.cycle_day <= last_dosing_day
        if s.action == "continue" and not dosing_day:
            s.reasons.append(reasons.planned_rest(s.cycle_day, self.schedule))
        return (
            self.cid,
            self.mrn,
            s.date,
            s.is_draw,
            s.cycle,
            s.cycle_day,
            s.action,
            s.dose_out,
            self.schedule,
            dosing_day,
            s.reasons,
            s.review or s.action == "review",
            self.held,
            list(dict.fromkeys(s.fired)) if len(s.fired) > 1 else s.fired,
            s.preexisting,
            s.reviews,
            None,
            self.stop_info,
        )

    def _before_start(self, s: Step) -> tuple:
        return (
            self.cid,
            self.mrn,
            s.date,
            s.is_draw,
            s.cycle,
            s.cycle_day,
            "continue",
            self.start_dose,
            self.schedule,
            False,
            [reasons.before_start()],
            False,
            False,
            [],
            [],
            [],
            None,
            None,
        )

    def _unusable_row(self, s: Step, problem: str) -> tuple:
        return (
            self.cid,
            self.mrn,
            s.date,
            s.is_draw,
            s.cycle,
            s.cycle_day,
            "review",
            None,
            self.schedule,
            False,
            [reasons.unusable_course(problem)],
            True,
            False,
            [],
            [],
            [("review", reasons.unusable_course(problem))],
            None,
            None,
        )

    # --- REMS stop ----------------------------------------------------------------------------

    def _stopped(self, s: Step) -> tuple:
        """A stop event today, or a stop in force: no dose, no count-based resume (DOMAIN.md §5, REMS)."""
        if s.stop and self.state is not State.STOPPED:
            self.state, self.stopped_since, self.episode = State.STOPPED, s.date, None
            self.stop_info = {"since": s.date.isoformat(), "event": s.stop_kind}
            s.reasons.append(reasons.rems_stop(s.stop_kind, s.date))
        else:
            since = self.stopped_since
            assert since is not None, "STOPPED always has a date"
            s.reasons.append(reasons.still_stopped(since))
        s.action, s.dose_out, s.review = "stop", None, False
        s.fired[:] = [REMS_STOP]
        s.reviews = []
        if not s.is_draw:
            self._keep_for_next_draw(s)
        return self._row(s)

    def _restart(self, s: Step) -> None:
        """A clinician's dose_change dated after the stop ends it: the dose (or a hold) the clinician recorded."""
        self.state, self.stopped_since, self.episode, self.stop_info = State.ON_TREATMENT, None, None, None
        s.restart = True

    # --- what the date shows -------------------------------------------------------------------

    def _track_runs(self, s: Step) -> None:
        """Persistence runs ("for >= 7 days"): consecutive draws below, no draw at/above in between."""
        for r in self.persist_rules:
            if r.analyte in s.values:
                thr = r.hold_threshold(self.baseline[r.analyte])
                if thr is not None and OPS[r.hold_op](s.values[r.analyte], thr):
                    self.runs.setdefault(r.rule, s.date)
                else:
                    self.runs.pop(r.rule, None)

    def _note_toxicities(self, s: Step) -> None:
        """Fever without a temperature, labs graded >= 3, toxicity events: reviews and the 'other toxicity' flag."""
        if s.is_draw and not _missing(s.fever_no_temp) and s.fever_no_temp:
            s.ask_review(reasons.fever_without_temperature())
        bad = self.g3.get((self.cid, s.date), ())
        tox = s.values.get(TOXICITY)
        if not bad and tox is None:
            return  # the usual draw: nothing graded >= 3, no toxicity event
        known, new = [], []
        for a, grade in bad:
            if a in HAEMATOLOGIC:
                continue
            # already this bad at baseline: a pre-existing abnormality (e.g. creatinine on dialysis),
            # not a new toxicity; it is reviewed again once it rises above the baseline grade
            if self.base_grade.get((self.cid, a), -1) >= grade:
                known.append(reasons.graded(a, grade))
                s.preexisting.append(a)
            else:
                new.append(reasons.graded(a, grade))
        if known:
            s.reasons.append(reasons.preexisting(known))
        if new:
            s.ask_review(reasons.non_haematologic_review(new), "grade3", GRADE3_REVIEW)
        if tox is not None and tox >= 3 and not self.has_tox_rule:
            s.ask_review(reasons.toxicity_without_rule(tox, self.prof.id, self.indication), "grade3", GRADE3_REVIEW)
        # other toxicity during an episode (MM ANC): any other lab graded >= 3, or a toxicity event >= 3.
        # The WBC is not "other": it is the total that contains the low neutrophils (docs/dosing.md).
        s.other_toxicity = any(a not in NEUTROPENIA_ITSELF for a, _ in bad) or (tox is not None and tox >= 3)

    # --- which rules fire ----------------------------------------------------------------------

    def _candidates(self, a: str, dose_now: float, offset: int):
        for r in self.by_analyte.get(a, ()):
            if not r.in_window(offset) or not r.at_dose(dose_now):
                continue
            n = self.episodes.get(a, 0)
            if (r.episode == "first" and n > 0) or (r.episode == "later" and n == 0):
                continue
            yield r

    def _fires(self, a: str, v: float, dose_now: float, s: Step) -> tuple[list, list]:
        """(fired rules with their trigger text, (rule, review text) for missing baselines)."""
        fired, review = [], []
        b = self.baseline.get(a)
        for r in self._candidates(a, dose_now, s.offset):
            if r.needs_baseline and b is None:
                review.append((r, reasons.missing_baseline(a, v, r, self.indication)))
                continue
            if not r.baseline_in_range(b):
                continue
            thr = r.hold_threshold(b)
            if not OPS[r.hold_op](v, thr):
                continue
            since = self.runs.get(r.rule) if r.persist_days else None
            if r.persist_days and (since is None or (s.date - since).days < r.persist_days):
                continue
            if r.with_fever and (s.fever_c is None or _missing(s.fever_c) or s.fever_c < FEVER_C):
                continue
            if r.with_transfusion and not s.transfusion:
                continue
            fired.append(
                (
                    r,
                    reasons.trigger(
                        a,
                        v,
                        r,
                        thr,
                        baseline=b if r.hold_ref == "baseline" else None,
                        below_since=since,
                        below_days=None if since is None else (s.date - since).days,
                        fever_c=s.fever_c if r.with_fever else None,
                        transfusion=r.with_transfusion,
                    ),
                )
            )
        return fired, review

    # --- transitions ---------------------------------------------------------------------------

    def _while_not_held(self, s: Step) -> None:
        """On treatment or awaiting a decision: hold when a rule fires, else review what needs it."""
        all_fired, base_review = [], []
        for a, v in s.values.items():
            if v > self.clear_above.get(a, math.inf):
                continue
            fired, rv = self._fires(a, v, self.dose_now, s)
            all_fired += [(a, r, t) for r, t in fired]
            base_review += rv
        if all_fired:
            self._hold(s, all_fired)
        else:
            for r, text in base_review:
                s.ask_review(text, rule=r.rule)
        if self.state is State.AWAITING_DECISION:
            s.action, s.dose_out = "review", None
            since = self.awaiting_since
            assert since is not None, "_await_decision sets the date with the state"
            s.fired += self.awaiting_rules
            s.ask_review(reasons.awaiting_decision(since))

    def _hold(self, s: Step, all_fired: list[tuple[str, DoseRule, str]]) -> None:
        """A rule fired: a hold episode begins at today's dose."""
        dose = self.dose_now
        floor = at_floor(self.ladder, dose, self.schedule)
        ep = Episode(
            start=s.date, dose_mg=dose, schedule=self.schedule, at_floor=floor, other_toxicity=s.other_toxicity
        )
        texts: dict[str, list[DoseRule]] = {}
        for a, r, t in all_fired:
            ep.triggers.setdefault(a, []).append(r)
            ep.last[a] = ep.first[a] = s.values[a]
            s.fired.append(r.rule)
            texts.setdefault(t, []).append(r)
        s.reasons += [reasons.hold(t, rs, self.indication) for t, rs in texts.items()]
        for a in ep.triggers:
            self.episodes[a] = self.episodes.get(a, 0) + 1
        if floor:
            s.reasons.append(reasons.hold_at_floor(dose, self.schedule))
        self.episode, self.state = ep, State.HELD
        s.action, s.dose_out = "hold", None
        if s.is_draw:
            s.reasons.append(reasons.CBC_WEEKLY)

    def _while_held(self, s: Step) -> None:
        """Held: note the counts, let new triggers join the episode, then stay held or recover."""
        ep = self.episode
        assert ep is not None, "HELD always has an episode"
        ep.last.update(s.values)
        ep.other_toxicity = ep.other_toxicity or s.other_toxicity
        self._join_episode(s, ep)
        waiting = _counts_not_recovered(ep)
        if ep.clinician or waiting:
            self._stay_held(s, ep, waiting)
        else:
            self._recover(s, ep)

    def _join_episode(self, s: Step, ep: Episode) -> None:
        """A count that was not a trigger fires while held: it joins this episode, no further step down."""
        for a, v in s.values.items():
            if a in ep.triggers or v > self.clear_above.get(a, math.inf):
                continue
            fired, _ = self._fires(a, v, ep.dose_mg, s)
            if fired:
                ep.triggers[a] = [r for r, _ in fired]
                ep.last[a] = ep.first[a] = v
                self.episodes[a] = self.episodes.get(a, 0) + 1  # it joins this episode: a later one is not "first"
                s.fired += [r.rule for r, _ in fired]
                texts: dict[str, list[DoseRule]] = {}
                for r, t in fired:
                    texts.setdefault(t, []).append(r)
                s.reasons += [reasons.also_triggers(t, rs, self.indication) for t, rs in texts.items()]

    def _stay_held(self, s: Step, ep: Episode, waiting: list[tuple[str, float | None, DoseRule]]) -> None:
        n_before = len(s.reasons)
        s.action, s.dose_out = "stay_held", None
        if ep.clinician:
            s.reasons.append(reasons.held_by_clinician(ep.start))
            s.fired.append(CLINICIAN_HOLD)
        for a, v, r in waiting:
            s.reasons.append(reasons.waiting_for_count(ep.start, a, v, r, self.indication))
            s.fired.append(r.rule)
        if s.is_draw:
            s.reasons.append(reasons.CBC_WEEKLY)
        s.hold_notes = s.reasons[n_before:]

    def _recover(self, s: Step, ep: Episode) -> None:
        """Every triggering count recovered: resume at the dose the rules give, or ask the clinician."""
        recovered = reasons.recovered((a, ep.last[a], _resume_rule(rs)) for a, rs in ep.triggers.items())
        self.episode, self.state = None, State.ON_TREATMENT
        start_dose = self.start_dose
        assert start_dose is not None, "a usable course has a starting dose"
        plan = None if ep.at_floor else _resume_plan(ep, self.ladder, start_dose, self.course_schedule)
        resume_rules = [_resume_rule(rs).rule for rs in ep.triggers.values()]
        if ep.at_floor:
            self._await_decision(s, resume_rules)
            sources = (r.source for rs in ep.triggers.values() for r in rs)
            s.ask_review(reasons.recovered_at_floor(recovered, ep.dose_mg, ep.schedule, sources, self.indication))
        elif plan is None:
            self._await_decision(s, resume_rules)
            s.ask_review(reasons.no_lower_dose(recovered, self.indication))
        else:
            self.dose, self.schedule = plan.dose_mg, plan.schedule
            s.action, s.dose_out = "resume", plan.dose_mg
            s.fired.append(plan.rule.rule)
            why = reasons.resume_basis(plan.basis, plan.ladder_source)
            s.reasons.append(reasons.resume(recovered, plan.dose_mg, plan.schedule, why, plan.rule, self.indication))

    def _await_decision(self, s: Step, rules: list[str]) -> None:
        self.state, self.awaiting_since, self.awaiting_rules = State.AWAITING_DECISION, s.date, rules
        s.action, s.dose_out = "review", None
        s.fired += rules

    def _dose_change(self, s: Step, dose_mg: float | None, is_hold: bool) -> None:
        """A clinician's dose_change event overrides the simulated dose from its date on."""
        if is_hold:
            if self.held:
                s.reasons.append(reasons.clinician_hold_while_held(s.date))
            else:
                self.episode = Episode(
                    start=s.date, dose_mg=self.dose_now, schedule=self.schedule, at_floor=False, clinician=True
                )
                self.state = State.HELD
                s.action, s.dose_out = "hold", None
                s.reasons.append(reasons.clinician_hold(s.date))
            s.fired.append(CLINICIAN_HOLD)
        elif dose_mg is not None:
            if s.action == "stay_held":  # the clinician's decision replaces the "still held" notes
                s.reasons[:] = [t for t in s.reasons if t not in s.hold_notes]
            was_held = self.held or s.action in ("hold", "stay_held", "resume") or s.restart
            self.schedule = _schedule_for(self.ladder, dose_mg, self.schedule)
            self.dose, self.episode, self.state = dose_mg, None, State.ON_TREATMENT
            s.action, s.dose_out = ("resume" if was_held else "continue"), dose_mg
            s.reasons.append(reasons.clinician_dose(dose_mg, s.date))
            s.fired.append(CLINICIAN_DOSE)

    def _keep_for_next_draw(self, s: Step) -> None:
        """An event-only date has no row a clinician reads: its reasons go with the next draw."""
        self.pending.extend(reasons.on_event_date(s.date, t) for t in s.reasons)
        self.pending_review = self.pending_review or s.review
        self.pending_rules.extend(s.fired)
        self.pending_reviews.extend((kind, reasons.on_event_date(s.date, t)) for kind, t in s.reviews)

    def _beyond_cycle_limit(self, s: Step, limit: int) -> None:
        row = self.limit_row
        assert row is not None, "the limit is read from this row"
        if self.beyond_by is None and len(s.dose_changes):
            self.beyond_by = s.date
        if self.beyond_by is None:
            s.action, s.dose_out = "review", None
            s.ask_review(reasons.beyond_cycle_limit(s.cycle, limit, row), rule=CYCLE_LIMIT)
        else:
            s.reasons.append(reasons.continued_beyond_cycle_limit(s.cycle, limit, row, self.beyond_by))


def _counts_not_recovered(ep: Episode) -> list[tuple[str, float | None, DoseRule]]:
    """(analyte, latest value, rule with the highest resume threshold) of each count still below it."""
    waiting = []
    for a, rs in ep.triggers.items():
        r = _resume_rule(rs)
        v = ep.last.get(a)
        if v is None or not OPS[r.resume_op](v, r.resume_value):
            waiting.append((a, v, r))
    return waiting


def _resume_rule(rules: list[DoseRule]) -> DoseRule:
    """Of the rules an analyte triggered, the one with the highest resume threshold decides recovery."""
    return max(rules, key=lambda r: r.resume_value)


def _resume_plan(ep: Episode, ladder, start_dose: float, course_schedule: str) -> ResumePlan | None:
    """The lowest resume dose any triggering rule gives; None when a rule steps down past the floor."""
    best: ResumePlan | None = None
    for rs in ep.triggers.values():
        chosen = [r for r in rs if r.other_toxicity in ("any", "yes" if ep.other_toxicity else "no")] or rs
        for r in chosen:
            plan = _plan_of(r, ep, ladder, start_dose, course_schedule)
            if plan is None:
                return None
            if (
                best is None
                or plan.dose_mg < best.dose_mg
                or (plan.dose_mg == best.dose_mg and plan.schedule == "21/28")
            ):
                best = plan
    return best


def _plan_of(r: DoseRule, ep: Episode, ladder, start_dose: float, course_schedule: str) -> ResumePlan | None:
    if r.resume_dose == "start":
        # the starting dose (or the patient's own initial dose, e.g. renally reduced); never
        # above the dose held at, so an earlier reduction is not undone
        d = min(start_dose, ep.dose_mg)
        if d == start_dose:
            return ResumePlan(d, course_schedule, "starting_dose", r)
        return ResumePlan(d, ep.schedule, "dose_at_hold", r)
    if r.resume_dose == "next_lower":
        step = next_lower(ladder, ep.dose_mg, ep.schedule)
        if step is None:
            return None
        return ResumePlan(step.dose_mg, step.schedule or ep.schedule, "next_lower", r, step.source)
    return ResumePlan(float(r.resume_dose), ep.schedule, "table", r)


def _contract_basis(plan: ResumePlan, ep: Episode) -> str:
    """The contract's `basis` (BASES) for a plan: the table's fixed lower dose (MDS) is a next lower dose."""
    if plan.basis == "starting_dose":
        return "start"
    if plan.basis == "next_lower":  # a ladder step: a lower dose, or the same dose on fewer days (5 mg -> 5 mg 21/28)
        return "next_lower"
    if plan.basis == "dose_at_hold" or plan.dose_mg == ep.dose_mg:
        return "same"
    return "next_lower" if plan.dose_mg < ep.dose_mg else "start"


def _stop_events(course: dict) -> frozenset[str]:
    """The events that stop this patient's treatment (DOMAIN.md §5, REMS): a positive pregnancy test for a
    woman (the test itself shows reproductive potential, whatever the record says), a missed period for a
    woman recorded as of reproductive potential. Nothing for anyone else."""
    if str(course.get("sex") or "").strip().upper() != "F":
        return frozenset()
    potential = course.get("reproductive_potential")
    if not _missing(potential) and bool(potential):
        return frozenset({"pregnancy_test", "missed_period"})
    return frozenset({"pregnancy_test"})
