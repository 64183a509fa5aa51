"""The REMS tracker against a hand-computed test log (docs/insight.md, "REMS tracker")."""

from __future__ import annotations

import io

from insight_cases import NORMAL, assessed, day

from lenadash.ingest import read_events
from lenadash.store import Session, add_event, load_events, make_engine

FRP = {"reproductive_potential": True, "menses": "regular"}
# Negative tests on days -12 (serum) and 0 (urine) before the start, then 7, 14, 22 (due 21: late), 29;
# regular menses: after day 29 (>= 28 days in) the next is due 29 + 28 = 57, none done by day 60.
TESTS = [(-12, "serum"), (0, "urine"), (7, "home"), (14, ""), (22, ""), (29, "")]
EVENTS = [(d, "pregnancy_test", "negative", detail) for d, detail in TESTS]
EVENTS += [(0, "rems_authorization", "A1234567"), (28, "rems_authorization", "A7654321")]


def _rems(**kw):
    e = assessed("MM", [(0, NORMAL)], as_of_day=60, evts=EVENTS, **kw)
    return e["rems"], [n for n in e["notices"] if n["kind"] == "pregnancy_test_before_prescription"]


def test_tests_on_time_by_hand():
    r, _ = _rems(**FRP)
    assert r["category"] == "female_reproductive_potential"
    assert [(c["due"], c["done"], c["on_time"]) for c in r["calendar"]] == [
        (day(7), day(7), True),
        (day(14), day(14), True),
        (day(21), day(22), False),
        (day(29), day(29), True),
        (day(57), None, False),
    ]
    assert (r["tests_required"], r["tests_on_time"], r["on_time_pct"]) == (5, 3, 60.0)


def test_log_types_authorizations_and_the_notice_before_the_next_prescription():
    r, notices = _rems(**FRP)
    assert [(t["date"], t["type"]) for t in r["tests"][:3]] == [
        (day(-12), "serum"),
        (day(0), "urine"),
        (day(7), "home"),
    ]
    assert r["tests"][3]["type"] == "unrecorded"
    assert r["last_authorization"] == {"date": day(28), "number": "A7654321"}
    assert r["next_test_due"] == day(57) and r["next_prescription"] == day(84)  # day 1 of cycle 4
    assert len(notices) == 1 and notices[0]["due"] == day(57) and notices[0]["severity"] == "action"


def test_categories_and_no_tests_asked_of_others():
    r, notices = _rems(sex="M")
    assert r["category"] == "male" and "tests_required" not in r and notices == []
    r, _ = _rems(reproductive_potential=False)
    assert r["category"] == "female_not_reproductive_potential"
    r, _ = _rems(sex=None)
    assert r["category"] is None and "review" in r


def test_authorization_numbers_round_trip_through_the_reader_and_the_store(tmp_path):
    data = b"mrn,date,event,value\nA1,2026-01-05,REMS authorization,00123456\nA1,2026-01-06,rems_authorization,\n"
    got = read_events(io.BytesIO(data))
    assert got.rows["agent"].tolist() == ["00123456"]  # as written: leading zeros kept
    assert got.problems["reason"].tolist() == ["invalid value"]
    engine = make_engine(f"sqlite:///{tmp_path / 'c.sqlite'}")
    with Session(engine) as s:
        add_event(session=s, row=got.rows.iloc[0].to_dict())
        ev = load_events(session=s)
    assert ev[["event", "value"]].values.tolist() == [["rems_authorization", "00123456"]]
