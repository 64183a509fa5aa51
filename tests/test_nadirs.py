"""Nadirs per cycle against a hand-computed sequence (docs/insight.md, "Nadirs")."""

from __future__ import annotations

from insight_cases import NORMAL, assessed

from lenadash.clinical.insight import nadirs


def _d(anc):
    return {"anc": anc, "plt": 200.0, "hgb": 12.0}


# MCL (hold lines for ANC: < 1.0 for 7 days / with fever, < 0.5: the highest, 1.0, is the recovery line).
# Cycle 1: lowest ANC 1.2 on day 15. Cycle 2: 0.8 on day 8, back >= 1.0 on day 49 (14 days later).
# Cycle 3: 0.4 on day 8, not recovered by the as-of date.
SEQUENCE = [(0, NORMAL), (7, _d(2.0)), (14, _d(1.2)), (28, _d(2.5)), (35, _d(0.8)), (42, _d(0.9))]
SEQUENCE += [(49, _d(1.4)), (56, _d(2.0)), (63, _d(0.4))]


def _rows(entry, analyte):
    return [
        {k: r[k] for k in ("cycle", "value", "cycle_day", "grade", "recovery_days")}
        for r in entry["nadirs"]
        if r["analyte"] == analyte
    ]


def test_anc_nadirs_by_hand():
    e = assessed("MCL", SEQUENCE, as_of_day=66)
    assert _rows(e, "anc") == [
        {"cycle": 1, "value": 1.2, "cycle_day": 15, "grade": 2, "recovery_days": 0},
        {"cycle": 2, "value": 0.8, "cycle_day": 8, "grade": 3, "recovery_days": 14},
        {"cycle": 3, "value": 0.4, "cycle_day": 8, "grade": 4, "recovery_days": None},
    ]
    assert e["nadir_trend"]["anc"] == {"cycles": 3, "slope_per_cycle": -0.4, "deepening": True}


def test_haemoglobin_has_no_hold_threshold_so_no_recovery_and_platelets_never_fell():
    e = assessed("MCL", SEQUENCE, as_of_day=66)
    assert {r["recovery_days"] for r in e["nadirs"] if r["analyte"] == "hgb"} == {None}
    assert [(r["cycle"], r["value"], r["recovery_days"]) for r in e["nadirs"] if r["analyte"] == "plt"] == [
        (1, 200.0, 0),
        (2, 200.0, 0),
        (3, 200.0, 0),
    ]
    assert e["nadir_trend"]["plt"]["deepening"] is False


def test_the_earliest_of_two_equal_lows_is_the_nadir_and_the_json_keys():
    draws = [
        {"date": "2026-01-12", "cycle": 1, "cycle_day": 8, "values": {"anc": 1.1}, "grades": {"anc": 2}},
        {"date": "2026-01-19", "cycle": 1, "cycle_day": 15, "values": {"anc": 1.1}, "grades": {"anc": 2}},
    ]
    (row,) = nadirs.course_nadirs(draws, [{"analyte": "anc", "kind": "hold", "op": "<", "value": 1.0}])
    assert row["cycle_day"] == 8
    assert {"cycle", "analyte", "value", "cycle_day", "grade", "recovery_days"} <= set(row)


def test_trend_needs_three_cycles():
    rows = [{"cycle": c, "analyte": "plt", "value": v} for c, v in ((1, 100.0), (2, 80.0))]
    assert nadirs.nadir_trend(rows)["plt"] == {"cycles": 2, "slope_per_cycle": None, "deepening": False}


def test_nadir_table_and_overlay_markers_for_the_patient_page():
    from lenadash.dashboard import charts, insight, results

    e = assessed("MCL", SEQUENCE, as_of_day=66)
    table = insight.nadir_table(e, "anc")
    assert list(table["Nadir"]) == [1.2, 0.8, 0.4] and list(table["Nadir day"]) == [15, 8, 8]
    trace = insight.nadir_marker_trace(table, "ANC")
    assert trace["text"][1] == "Cycle 2 nadir 0.8 (G3); recovered in 14 d" and trace["text"][2].endswith(
        "not recovered"
    )
    # the overlay the patient page draws takes the marker as a trace
    fig = charts.cycle_overlay_figure(results.cycle_overlay(e, "anc"), "anc")
    fig.add_trace(trace)
    assert fig.data[-1].name == "ANC nadir" and list(fig.data[-1].y) == [1.2, 0.8, 0.4]
