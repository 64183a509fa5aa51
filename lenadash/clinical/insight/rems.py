"""The REMS tracker: risk category, pregnancy-test log, next test, authorizations, tests due before a prescription."""

# Definitions (docs/insight.md). Category from the course: female of reproductive potential, female not of
# reproductive potential, male (the Lenalidomide REMS patient categories, DOMAIN.md §5). The test log is every
# `pregnancy_test` event (date, result; the test type serum / urine / home read from its detail, else
# `unrecorded`). Authorizations are `rems_authorization` events (date, the number as recorded); no expiry is
# assumed (none cited). The next prescription is taken as day 1 of the next 28-day cycle (lenadash's cycles: one
# prescription per treatment cycle, the clinic's convention, not a REMS limit). Tests on time: each test the
# REMS calendar asked for (schedule.next_pregnancy_test replayed over the log) done on or before its due date.

from __future__ import annotations

import datetime as dt
from typing import Any

from lenadash.clinical import schedule
from lenadash.clinical.notices import Notice
from lenadash.vocab.course import CYCLE_DAYS

TEST_TYPES = ("serum", "urine", "home")
SOURCE = "Lenalidomide REMS (negative test verified before each prescription is dispensed)"


def category(sex: str | None, reproductive_potential: bool) -> str | None:
    """female_reproductive_potential, female_not_reproductive_potential, male; None when sex is not recorded."""
    s = (sex or "").strip().upper()
    if s == "F":
        return "female_reproductive_potential" if reproductive_potential else "female_not_reproductive_potential"
    return "male" if s == "M" else None


def test_type(detail: str | None) -> str:
    """serum, urine or home when the event's detail names one, else unrecorded."""
    words = (detail or "").lower()
    return next((t for t in TEST_TYPES if t in words), "unrecorded")


def next_prescription(start: dt.date, as_of: dt.date) -> dt.date:
    """Day 1 of the cycle after the one as_of falls in."""
    return start + dt.timedelta(days=((as_of - start).days // CYCLE_DAYS + 1) * CYCLE_DAYS)


def tests_on_time(*, start: dt.date, as_of: dt.date, menses: str | None, tests: list[tuple]) -> dict:
    """Replay the REMS calendar over the log (module comment): each due date, computed from the tests before it,
    is met on time when the next test is done on or before it. (tests: (date, result, detail))."""
    log = sorted((d, r) for d, r, _ in tests if d is not None and d <= as_of)
    seen = [t for t in log if t[0] <= start]  # the pre-treatment tests (up to the start day) start the clock
    later = [t for t in log if t[0] > start]
    rows: list[dict[str, Any]] = []
    while True:
        due = schedule.next_pregnancy_test(
            sex="F", reproductive_potential=True, menses=menses, start_date=start, tests=seen, as_of=as_of
        ).date
        if due is not None and due <= start:  # only pre-treatment tests long before: the first is start + 7
            due = schedule.next_pregnancy_test(
                sex="F", reproductive_potential=True, menses=menses, start_date=start, tests=[], as_of=as_of
            ).date
        if due is None or due > as_of:
            break
        if not later:
            rows.append({"due": due.isoformat(), "done": None, "on_time": False})
            break
        day = later[0][0]
        rows.append({"due": due.isoformat(), "done": day.isoformat(), "on_time": day <= due})
        seen += [t for t in later if t[0] == day]
        later = [t for t in later if t[0] != day]
    on_time = sum(r["on_time"] for r in rows)
    return {
        "tests_required": len(rows),
        "tests_on_time": on_time,
        "on_time_pct": None if not rows else round(100 * on_time / len(rows), 1),
        "calendar": rows,
    }


def course_rems(
    *,
    sex: str | None,
    reproductive_potential: bool,
    menses: str | None,
    start: dt.date,
    as_of: dt.date,
    tests: list[tuple],
    authorizations: list[tuple],
    next_test: str | None,
) -> tuple[dict, list[Notice]]:
    """The `rems` entry of one course and its notice (a test due on or before the next prescription).
    tests: (date, result, detail); authorizations: (date, number); next_test: assess's next_pregnancy_test."""
    cat = category(sex, reproductive_potential)
    auth = sorted((d, str(n)) for d, n in authorizations if d is not None and d <= as_of)
    nxt_rx = next_prescription(start, as_of) if as_of >= start else start
    entry = {
        "category": cat,
        "tests": [
            {"date": d.isoformat(), "result": r, "type": test_type(x)}
            for d, r, x in sorted(tests, key=lambda t: t[0])
            if d is not None and d <= as_of
        ],
        "next_test_due": next_test,
        "authorizations": [{"date": d.isoformat(), "number": n} for d, n in auth],
        "last_authorization": None if not auth else {"date": auth[-1][0].isoformat(), "number": auth[-1][1]},
        "next_prescription": nxt_rx.isoformat(),
    }
    notices = []
    if cat == "female_reproductive_potential":
        entry.update(tests_on_time(start=start, as_of=as_of, menses=menses, tests=tests))
        if next_test is not None and dt.date.fromisoformat(next_test) <= nxt_rx:
            text = (
                f"pregnancy test due {next_test}, before the next prescription (cycle day 1 on "
                f"{nxt_rx.isoformat()}): a negative result is verified before it is dispensed"
            )
            notices.append(Notice("pregnancy_test_before_prescription", text, SOURCE, dt.date.fromisoformat(next_test)))
    if cat is None:
        entry["review"] = "sex not recorded: the REMS category cannot be given"
    return entry, notices
