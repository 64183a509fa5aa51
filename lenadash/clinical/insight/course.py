"""One course's insight keys for the assess JSON: exposure, nadirs, monitoring, vte, rems (docs/insight.md)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from lenadash.clinical import schedule
from lenadash.clinical.insight import exposure, monitoring, nadirs, rems, vte
from lenadash.clinical.notices import Notice

CBC_ANALYTES = ("wbc", "anc", "alc", "hgb", "plt")
ESCALATION_SOURCE = "lenadash setting LENADASH_CBC_ESCALATE_DAYS (docs/insight.md)"


def course_steps(cols: dict[str, np.ndarray], rows, start: dt.date, as_of: dt.date) -> exposure.CourseSteps:
    """The course's engine steps (rows of assess's step columns) dated from the start to as_of."""
    idx = [] if rows is None else list(rows)
    days = [_day(cols["date"][i]) for i in idx]
    keep = [k for k, d in enumerate(days) if start <= d <= as_of]
    return exposure.CourseSteps(
        dates=[days[k] for k in keep],
        actions=[str(cols["action"][idx[k]]) for k in keep],
        doses=[cols["dose_mg"][idx[k]] for k in keep],
        schedules=[str(cols["schedule"][idx[k]]) for k in keep],
        rules=[list(cols["rules"][idx[k]]) for k in keep],
    )


def _day(x) -> dt.date:
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    return dt.date.fromisoformat(str(x)[:10])


def fill(
    entry: dict,
    course: dict,
    steps: exposure.CourseSteps,
    events: dict | None,
    pregnancy_tests: list[tuple],
    *,
    as_of: dt.date,
    rule_analyte: dict[str, str],
    escalate_after_days: int,
    not_started: frozenset[str] = frozenset(),
) -> None:
    """Add exposure, nadirs, nadir_trend, monitoring, vte and rems to an assess entry, and their notices
    (appended to entry["notices"], still Notice objects: assess orders and publishes them)."""
    start = dt.date.fromisoformat(entry["start_date"])
    limit = schedule.cycle_limit(entry["indication"])
    entry["exposure"] = exposure.course_exposure(
        steps,
        start=start,
        as_of=as_of,
        start_dose=entry["starting_dose_mg"],
        schedule=course.get("schedule") if isinstance(course.get("schedule"), str) else None,
        cycle_limit=None if limit is None else int(limit["count"]),
        rule_analyte=rule_analyte,
        not_started=not_started,
    )
    entry["nadirs"] = nadirs.course_nadirs(entry["draws"], entry["thresholds"])
    entry["nadir_trend"] = nadirs.nadir_trend(entry["nadirs"])
    cbc_dates = [
        dt.date.fromisoformat(d["date"]) for d in entry["draws"] if any(a in d["values"] for a in CBC_ANALYTES)
    ]
    stopped = steps.dates[steps.actions.index("stop")] if "stop" in steps.actions else None
    entry["monitoring"] = monitoring.course_monitoring(
        indication=entry["indication"],
        start=start,
        as_of=as_of,
        cbc_dates=cbc_dates,
        holds=entry["hold_spans"],
        stopped_since=stopped,
    )
    entry["notices"].extend(_escalation(entry, as_of, escalate_after_days))
    ev = events or {}
    age = _age_at(course.get("birth_date"), start)
    entry["vte"], vte_notices = vte.course_vte(
        indication=entry["indication"],
        combination=course.get("combination") if isinstance(course.get("combination"), str) else None,
        age_at_start=age,
        factor_events=ev.get("vte_risk_factor", []),
        prophylaxis_events=ev.get("thromboprophylaxis", []),
        as_of=as_of,
    )
    entry["notices"].extend(vte_notices)
    potential = course.get("reproductive_potential")
    entry["rems"], rems_notices = rems.course_rems(
        sex=entry["sex"],
        reproductive_potential=bool(potential) if potential is not None and potential == potential else False,
        menses=course.get("menses") if isinstance(course.get("menses"), str) else None,
        start=start,
        as_of=as_of,
        tests=pregnancy_tests,
        authorizations=ev.get("rems_authorization", []),
        next_test=entry["next_pregnancy_test"],
    )
    if entry["status"] != "stopped":
        entry["notices"].extend(rems_notices)


def _age_at(birth, on: dt.date) -> int | None:
    if birth is None or (isinstance(birth, float) and birth != birth):
        return None
    try:
        b = _day(birth)
    except (TypeError, ValueError):
        return None
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def _escalation(entry: dict, as_of: dt.date, after_days: int) -> list[Notice]:
    """An urgent notice when the next CBC is `after_days` or more days overdue (the worklist escalates it)."""
    due = entry.get("next_labs_due")
    if not entry.get("labs_overdue") or due is None or entry["status"] == "stopped":
        return []
    late = (as_of - dt.date.fromisoformat(due)).days
    if late < after_days:
        return []
    text = f"CBC {late} days overdue (due {due}; escalated from {after_days} days overdue)"
    return [Notice("cbc_overdue_escalated", text, ESCALATION_SOURCE, dt.date.fromisoformat(due))]
