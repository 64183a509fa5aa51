"""Start criteria: a profile's "do not start below ..." rows read on a course's baseline counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lenadash.clinical.dosing.profiles import Profile, StartCriterion
from lenadash.clinical.dosing.values import _fmt, _missing


@dataclass(frozen=True)
class StartDecision:
    """What the start criteria say for one course: `action` do_not_start | review, the rule ids, reasons."""

    action: str
    rules: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def blocks(self) -> bool:
        """True when treatment is not assumed to have started (a do_not_start criterion fired)."""
        return self.action == "do_not_start"


def start_decision(
    prof: Profile, indication: str | None, baseline: Callable[[str], float | None]
) -> StartDecision | None:
    """Evaluate the profile's start criteria for an indication on the baseline counts.

    `baseline(analyte)` gives the baseline value or None (the latest value on or before the start, up to 30 days
    before: cycles.baseline). A criterion fires when `baseline <op> value`; a criterion whose analyte
    has no baseline asks for review (never a silent start). None when nothing fires (or no criteria).
    Source: the rows of the profile's start_<profile>.csv (each row cites its label section).
    """
    fired: list[tuple[StartCriterion, str]] = []
    blocks = False
    for c in prof.start_for(indication):
        raw = baseline(c.analyte)
        if raw is None or _missing(raw):
            fired.append((c, _no_baseline(c)))  # review: the count that decides is unknown
        elif c.fires(float(raw)):
            fired.append((c, _fired(c, float(raw))))
            blocks = blocks or c.action == "do_not_start"
    if not fired:
        return None
    return StartDecision(
        action="do_not_start" if blocks else "review",
        rules=tuple(dict.fromkeys(c.rule for c, _ in fired)),
        reasons=tuple(why for _, why in fired),
    )


def _fired(c: StartCriterion, value: float) -> str:
    verdict = "do not start, treatment not assumed started" if c.action == "do_not_start" else "review at the start"
    return f"baseline {c.analyte.upper()} {_fmt(value)} {c.op} {_fmt(c.value)}: {verdict} (rule {c.rule}, {c.source})"


def _no_baseline(c: StartCriterion) -> str:
    return (
        f"no baseline {c.analyte.upper()} (within 30 days before the start) for the start criterion "
        f"{c.analyte.upper()} {c.op} {_fmt(c.value)} (rule {c.rule}, {c.source}): clinician review"
    )
