"""Chart lines: the hold/resume thresholds of a profile's rules that apply to a course."""

from __future__ import annotations

from lenadash.clinical.dosing.profiles import DEFAULT_PROFILE, DoseRule, _as_profile
from lenadash.clinical.dosing.values import TOXICITY, _fmt, _missing


def thresholds(
    course,
    profile=DEFAULT_PROFILE,
    baselines: dict | None = None,
    *,
    dose_mg: float | None = None,
    day: int | None = None,
    transfusion: bool | None = None,
) -> list[dict]:
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
    dose_mg = None if dose_mg is None or _missing(dose_mg) else float(dose_mg)
    out: dict[tuple, dict] = {}
    for r in prof.rules_for(indication):
        if r.analyte == TOXICITY:
            continue
        raw = baselines.get(r.analyte)
        b = None if raw is None or _missing(raw) else float(raw)
        if not _applies(r, b, day=day, dose_mg=dose_mg, transfusion=transfusion):
            continue
        for kind, op, value in (("hold", r.hold_op, r.hold_threshold(b)), ("resume", r.resume_op, r.resume_value)):
            key = (r.analyte, kind, op, value)
            item = out.setdefault(
                key,
                {
                    "analyte": r.analyte,
                    "kind": kind,
                    "op": op,
                    "value": value,
                    "rules": [],
                    "condition": [],
                    "source": [],
                },
            )
            item["rules"].append(r.rule)
            item["condition"].append(r.condition())
            if r.source not in item["source"]:
                item["source"].append(r.source)
    return [
        {
            **v,
            "condition": "; ".join(dict.fromkeys(v["condition"])),
            "source": "; ".join(v["source"]),
            "label": f"{v['kind']} {v['op']} {_fmt(v['value'])}",
        }
        for v in out.values()
    ]


def _applies(
    r: DoseRule, baseline: float | None, *, day: int | None, dose_mg: float | None, transfusion: bool | None
) -> bool:
    """The rule's line is valid for this baseline, day, dose and transfusion (None = not filtered)."""
    if not r.baseline_in_range(baseline):
        return False
    if day is not None and not r.in_window(int(day)):
        return False
    if dose_mg is not None and not r.at_dose(dose_mg):
        return False
    return transfusion is None or not r.with_transfusion or bool(transfusion)
