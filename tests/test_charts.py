"""Figure-level tests of the chart builders (lenadash.charts): traces, threshold lines, hold shapes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from test_views import AS_OF, make_patient

from lenadash.dashboard import charts, present, results, timeline

THRESHOLDS = pd.DataFrame(
    {
        "analyte": ["plt", "anc"],
        "value": [30.0, 1.0],
        "label": ["hold plt < 30", "hold ANC < 1.0"],
        "source": ["US PI 2.1 Table 1"] * 2,
    }
)
EVENTS = pd.DataFrame(
    {
        "mrn": ["MRN001", "MRN001"],
        "date": [dt.date(2026, 2, 10), dt.date(2026, 2, 12)],
        "event": ["fever", "platelet_transfusion"],
        "value": ["38.6", ""],
        "detail": ["", "1 unit"],
    }
)


def _timeline(**kw):
    p = make_patient()
    return charts.patient_timeline(p, results.results_long(p), as_of=AS_OF, **kw)


def test_timeline_has_one_shared_time_axis_and_a_trace_per_analyte():
    fig = _timeline(thresholds=THRESHOLDS, events=EVENTS)
    names = [t.name for t in fig.data]
    for expected in (
        "Dose",
        "ANC",
        "Platelets",
        "Hemoglobin",
        "WBC",
        "Creatinine",
        "ALT",
        "Hold",
        "Resume",
        "Fever",
        "Platelet transfusion",
    ):
        assert expected in names, expected
    # every x axis matches the bottom one (shared_xaxes)
    xaxes = [k for k in fig.layout.to_plotly_json() if k.startswith("xaxis")]
    assert len(xaxes) == 7
    assert all(fig.layout[k].matches in (None, "x7", "x") for k in xaxes)


def test_markers_carry_grade_colours_and_hover_recommendation():
    fig = _timeline()
    plt_trace = next(t for t in fig.data if t.name == "Platelets")
    assert list(plt_trace.marker.color) == [present.grade_colour(g) for g in (0, 1, 2, 3, 4, 1)]
    held = plt_trace.customdata[3]
    assert held[3] == "G3" and "US PI 2.1" in held[4]
    assert "%{customdata[4]}" in plt_trace.hovertemplate


def test_threshold_lines_come_from_the_thresholds_table():
    fig = _timeline(thresholds=THRESHOLDS)
    lines = [s for s in fig.layout.shapes if s.name and s.name.startswith("threshold")]
    assert sorted((s.name, s.y0) for s in lines) == [("threshold anc", 1.0), ("threshold plt", 30.0)]
    plt_axis = next(t for t in fig.data if t.name == "Platelets").yaxis
    assert next(s for s in lines if s.name == "threshold plt").yref == plt_axis
    assert not [s for s in _timeline().layout.shapes if s.name and s.name.startswith("threshold")]


def test_hold_span_is_shaded_and_cycles_marked():
    fig = _timeline()
    holds = [s for s in fig.layout.shapes if s.name == "hold"]
    assert [(pd.Timestamp(s.x0).date(), pd.Timestamp(s.x1).date()) for s in holds] == [
        (dt.date(2026, 2, 9), dt.date(2026, 2, 23))
    ]
    assert len([s for s in fig.layout.shapes if s.name == "cycle start"]) == 3
    assert len([s for s in fig.layout.shapes if s.name == "dosing days"]) == 2
    # cycle 3 starts on the as-of date: its dosing days are still to come
    assert len([s for s in fig.layout.shapes if s.name == "planned dosing days"]) == 1


def test_dose_line_steps_down_after_hold():
    dose = next(t for t in _timeline().data if t.name == "Dose")
    assert dose.line.shape == "hv"
    assert list(dose.y) == [25, 25, 25, 25, 0, 0, 20, 20]


def test_window_sets_the_x_range():
    window = timeline.window_range("Last cycle", make_patient(), as_of=AS_OF)
    fig = _timeline(window=window)
    assert tuple(pd.Timestamp(x).date() for x in fig.layout.xaxis.range) == window


def test_crcl_has_its_own_titled_panel():
    crcl = pd.DataFrame({"date": [dt.date(2026, 1, 5)], "crcl_ml_min": [72.0]})
    fig = _timeline(crcl=crcl)
    cr = next(t for t in fig.data if t.name == "Creatinine")
    cc = next(t for t in fig.data if t.name == "CrCl")
    assert cr.yaxis != cc.yaxis and not fig.layout[cc.yaxis.replace("y", "yaxis")].overlaying
    assert fig.layout[cc.yaxis.replace("y", "yaxis")].title.text == "CrCl mL/min"


def test_panels_without_data_are_left_out():
    p = make_patient()
    only_counts = results.results_long(p)
    only_counts = only_counts[only_counts["analyte"].isin(["anc", "plt"])]
    fig = charts.patient_timeline(p, only_counts, as_of=AS_OF)
    titles = [fig.layout[k].title.text for k in fig.layout.to_plotly_json() if k.startswith("yaxis")]
    assert "Hgb g/dL" not in titles and "Platelets 10^9/L" in titles


def test_cycle_overlay_one_line_per_cycle_with_threshold():
    ov = results.cycle_overlay(make_patient(), "plt")
    fig = charts.cycle_overlay_figure(ov, "plt", thresholds=THRESHOLDS)
    assert [t.name for t in fig.data] == ["Cycle 1", "Cycle 2"]
    assert list(fig.data[1].x) == [8, 15, 22]
    assert [s.y0 for s in fig.layout.shapes if s.type == "line"] == [30.0]


def test_timeline_legend_lists_only_markers_in_the_window():
    everything = _timeline(events=EVENTS)
    legend = {t.name for t in everything.data if t.showlegend}
    assert {"Fever", "Platelet transfusion"} <= {present.EVENT_LABELS[k] for k in EVENTS["event"]} <= legend | {""}
    assert "Hold" in legend  # the sample patient has a hold draw
    # a window holding the transfusion (12 Feb) but not the fever (10 Feb) nor any hold
    fig = _timeline(events=EVENTS, window=(dt.date(2026, 2, 11), dt.date(2026, 2, 13)))
    legend = {t.name for t in fig.data if t.showlegend}
    assert present.EVENT_LABELS["platelet_transfusion"] in legend, legend
    assert present.EVENT_LABELS["fever"] not in legend and "Hold" not in legend and "Resume" not in legend, legend
    # the traces stay (zooming out still shows them), only their legend entries go
    assert {present.EVENT_LABELS["fever"], "Hold"} <= {t.name for t in fig.data}


def _rgb(colour: str) -> tuple[int, int, int]:
    import re

    return tuple(int(float(v)) for v in re.findall(r"[\d.]+", colour)[:3])


def test_cycle_overlay_gives_each_cycle_its_own_colour_older_lighter():
    overlay = pd.DataFrame(
        [{"cycle": c, "cycle_day": d, "value": 50.0 + c + d, "grade": 1} for c in range(1, 9) for d in (1, 8, 15)]
    )
    fig = charts.cycle_overlay_figure(overlay, "plt")
    assert [t.name for t in fig.data] == [f"Cycle {c}" for c in range(3, 9)]
    lines = [t.line.color for t in fig.data]
    assert all(lines) and len(set(lines)) == len(lines), lines  # one distinct colour per cycle
    brightness = [sum(_rgb(c)) for c in lines]
    assert brightness == sorted(brightness, reverse=True), lines  # sequential: older lighter, latest darkest
    # the legend identifies the cycle: markers keep the grade fill, outlined in the cycle's colour
    assert [t.marker.line.color for t in fig.data] == lines
    assert list(fig.data[0].marker.symbol) == [present.grade_symbol(1)] * 3  # the grade's shape too
    assert all(t.showlegend is not False for t in fig.data)


def test_large_timeline_for_the_visit_view():
    normal, large = _timeline(), _timeline(large=True)
    assert large.layout.font.size > normal.layout.font.size and large.layout.height > normal.layout.height
    anc = lambda f: next(t for t in f.data if t.name == "ANC")  # noqa: E731
    assert anc(large).marker.size > anc(normal).marker.size


def _mds_patient(*, dose, status="on_treatment", current=None):
    start = dt.date(2026, 1, 5)
    draws = [
        {
            "date": str(start - dt.timedelta(days=3)),
            "cycle": 0,
            "cycle_day": 0,
            "values": {"anc": 1.4, "plt": 120},
            "grades": {"anc": 2, "plt": 1},
            "action": "continue",
            "dose_mg": None,
            "schedule": "28/28",
            "reasons": [],
        },
        {
            "date": str(start + dt.timedelta(days=40)),
            "cycle": 2,
            "cycle_day": 13,
            "values": {"anc": 0.9, "plt": 60},
            "grades": {"anc": 3, "plt": 2},
            "action": "continue",
            "dose_mg": dose,
            "schedule": "28/28",
            "reasons": [],
        },
    ]
    return make_patient(
        "MDS1",
        indication="MDS",
        start=start,
        status=status,
        current_dose_mg=current,
        baselines={"anc": 1.4, "plt": 120.0, "creatinine": None},
        draws=draws,
    )


def _lines(frame):
    return sorted((r.analyte, float(r.value)) for r in frame.itertuples())


def test_mds_after_week_4_at_5_mg_draws_only_plt_30_and_anc_0_5():
    from lenadash.dashboard import ui

    p = _mds_patient(dose=5.0, current=5.0)
    as_of = dt.date(2026, 2, 20)  # day 46: after the first 4 weeks
    frame = ui.thresholds_for(p, {"sex": "F"}, as_of=as_of)
    assert _lines(frame) == [("anc", 0.5), ("plt", 30.0)]
    fig = charts.patient_timeline(p, results.results_long(p), as_of=as_of, thresholds=frame)
    shapes = sorted((s.name, s.y0) for s in fig.layout.shapes if s.name and s.name.startswith("threshold"))
    assert shapes == [("threshold anc", 0.5), ("threshold plt", 30.0)]


def test_mds_thresholds_follow_the_course_state():
    from lenadash.dashboard import ui

    early = _mds_patient(dose=10.0, current=10.0)
    # within the first 4 weeks at 10 mg, baselines ANC 1.4 (>= 1.0) and platelets 120 (>= 100)
    lines = _lines(ui.thresholds_for(early, {}, as_of=dt.date(2026, 1, 20)))
    assert lines == [("anc", 0.75), ("anc", 1.0), ("plt", 50.0)]
    held = _mds_patient(dose=5.0, status="held")  # held: the dose it was held at (5 mg) decides
    assert _lines(ui.thresholds_for(held, {}, as_of=dt.date(2026, 2, 20))) == [("anc", 0.5), ("plt", 30.0)]


def test_a_stop_is_marked_once_where_it_starts_and_the_dose_row_drops_to_zero():
    from test_views import _stopped

    p = _stopped("S1", later_draws=2)
    fig = charts.patient_timeline(p, results.results_long(p), as_of=AS_OF)
    stops = [t for t in fig.data if t.name == "Stop (REMS)"]
    assert len(stops) == 1 and len(stops[0].x) == 1
    assert pd.Timestamp(stops[0].x[0]).date() == dt.date(2026, 2, 20)
    dose = next(t for t in fig.data if t.name == "Dose")
    tail = [y for x, y in zip(dose.x, dose.y) if pd.Timestamp(x).date() >= dt.date(2026, 2, 20)]
    assert tail and all(y == 0 for y in tail)


def test_visit_timeline_hover_names_the_action_without_the_reasons():
    from lenadash.dashboard import visit

    def hover_texts(patient) -> list[str]:
        fig = charts.patient_timeline(patient, results.results_long(patient), as_of=AS_OF)
        return [str(v) for t in fig.data if t.customdata is not None for row in t.customdata for v in row]

    p = make_patient()
    reason = "Platelets 28 < 30 (US PI 2.1 Table 1)"
    assert any(reason in h for h in hover_texts(p))  # the clinician's timeline shows it
    shown = hover_texts(visit.patient_for_visit(p))
    assert not any(reason in h for h in shown) and any(h.startswith("HOLD") for h in shown)
    assert p["draws"][3]["reasons"] == ["Platelets 28 < 30 (US PI 2.1 Table 1)"]  # the clinic's copy is untouched


# --- issue 9: a timeline that looks ahead, grades readable by everyone --------------------------------


def _font_sizes(node, path="") -> list[tuple[str, float]]:
    """Every font size set anywhere in a figure's layout and traces (font.size, hoverlabel.font.size, ...)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            is_size = key == "font_size" or (key == "size" and "font" in path.rsplit(".", 1)[-1])
            if is_size and isinstance(value, int | float):
                found.append((where, value))
            else:
                found += _font_sizes(value, where)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            found += _font_sizes(value, f"{path}[{i}]")
    return found


def test_every_chart_text_is_at_least_14px():
    """Old: cycle labels and threshold notes at 12 px, the legend at 13 px."""
    for kw in (
        {
            "thresholds": THRESHOLDS,
            "events": EVENTS,
        },
        {"panels": ("anc", "plt"), "large": True},
    ):
        spec = _timeline(**kw).to_plotly_json()
        assert spec["layout"]["font"]["size"] >= 14
        small = [(where, size) for where, size in _font_sizes(spec) if size < 14]
        assert not small, small


def test_markers_have_a_shape_per_grade():
    """Old: grade was colour only on the chart markers."""
    plt_trace = next(t for t in _timeline().data if t.name == "Platelets")
    grades = (0, 1, 2, 3, 4, 1)
    assert list(plt_trace.marker.symbol) == [present.grade_symbol(g) for g in grades]
    assert len(set(plt_trace.marker.symbol)) == 5


def _axis_of(fig, trace_name):
    trace = next(t for t in fig.data if t.name == trace_name)
    return fig.layout[trace.yaxis.replace("y", "yaxis")]


def test_y_axes_have_fixed_clinical_ranges_that_grow_only_for_outliers():
    """Old: every axis auto-scaled (Hgb 11.5-13 looked like a collapse)."""
    fig = _timeline()
    assert tuple(_axis_of(fig, "ANC").range) == present.Y_RANGES["anc"]
    assert tuple(_axis_of(fig, "Platelets").range) == present.Y_RANGES["plt"]
    assert tuple(_axis_of(fig, "Hemoglobin").range) == present.Y_RANGES["hgb"]
    p = make_patient()
    p["draws"][0]["values"]["plt"] = 600.0
    wide = charts.patient_timeline(p, results.results_long(p), as_of=AS_OF)
    lo, hi = _axis_of(wide, "Platelets").range
    assert lo == 0 and hi > 600


def test_reference_band_is_shaded_per_panel():
    bands = {s.name: s for s in _timeline().layout.shapes if s.name and s.name.startswith("reference ")}
    assert {"reference anc", "reference plt", "reference hgb"} <= set(bands)
    assert (bands["reference plt"].y0, bands["reference plt"].y1) == (150, 450)  # vocab's usual range


def test_each_panel_has_its_own_labelled_axis_and_legend():
    """Old: AST/ALT/ALP shared a panel without a legend; CrCl and bilirubin sat on unlabelled secondary axes."""
    p = make_patient()
    p["draws"][0]["values"].update({"ast": 30.0, "alp": 90.0, "bilirubin": 0.8})
    crcl = pd.DataFrame({"date": [dt.date(2026, 1, 5)], "crcl_ml_min": [72.0]})
    fig = charts.patient_timeline(p, results.results_long(p), as_of=AS_OF, crcl=crcl)
    spec = fig.to_plotly_json()["layout"]
    assert not [k for k, v in spec.items() if k.startswith("yaxis") and v.get("overlaying")]
    for trace in fig.data:
        if trace.name in ("Dose",) or trace.yaxis is None:
            continue
        axis = spec[trace.yaxis.replace("y", "yaxis")]
        assert axis.get("title", {}).get("text"), trace.name
    liver = [t for t in fig.data if t.name in ("AST", "ALT", "ALP")]
    assert len(liver) == 3 and all(t.showlegend for t in liver)
    assert len({t.legend for t in liver}) == 1 and liver[0].legend not in (None, "legend")
    assert liver[0].legend in spec  # the panel's own legend is placed
    assert len({t.line.color for t in liver}) == 3
    assert _axis_of(fig, "CrCl").title.text and _axis_of(fig, "Bilirubin").title.text


def test_hover_gives_the_canonical_unit_then_the_exported_text():
    """Old: the hover showed the raw export text (1,57 G/L) beside an axis in 10^9/L."""
    p = make_patient()
    labs = pd.DataFrame(
        {
            "mrn": ["MRN001"],
            "collected_at": [pd.Timestamp("2026-01-12 09:30")],
            "analyte": ["anc"],
            "value": [1.57],
            "unit": ["10^9/L"],
            "raw_value": ["1,57"],
            "raw_unit": ["G/L"],
            "ref_low": [1.8],
            "ref_high": [7.7],
        }
    )
    fig = charts.patient_timeline(p, results.results_long(p, labs), as_of=AS_OF)
    anc = next(t for t in fig.data if t.name == "ANC")
    row = anc.customdata[0]
    assert row[0] == "1.57 10^9/L" and row[1] == "as exported: 1,57 G/L"
    assert "G1" in row[3]
    assert anc.hovertemplate.index("customdata[0]") < anc.hovertemplate.index("customdata[1]")


def test_today_line_and_the_calendar_continue_past_today():
    """Old: no today line, the cycle calendar stopped at as-of and the window ended 3 days after it."""
    p = make_patient()
    window = timeline.window_range("3 cycles", p, as_of=AS_OF)
    assert window[1] >= AS_OF + dt.timedelta(days=14)
    fig = _timeline(window=window)
    today = [s for s in fig.layout.shapes if s.name == "today"]
    assert len(today) == 1 and pd.Timestamp(today[0].x0).date() == AS_OF
    planned = [s for s in fig.layout.shapes if s.name == "planned dosing days"]
    assert planned and all(pd.Timestamp(s.x1).date() > AS_OF for s in planned)
    later = _timeline(window=(AS_OF - dt.timedelta(days=30), AS_OF + dt.timedelta(days=40)))
    assert max(pd.Timestamp(s.x0).date() for s in later.layout.shapes if s.name == "cycle start") > AS_OF


DUE = pd.DataFrame(
    {
        "what": ["Marrow biopsy", "Next CBC", "Pregnancy test (REMS)"],
        "due": [AS_OF - dt.timedelta(days=90), AS_OF + dt.timedelta(days=5), AS_OF + dt.timedelta(days=9)],
        "why": ["", "", ""],
        "overdue": [True, False, False],
        "in_days": [-90, 5, 9],
    }
)


def test_upcoming_and_overdue_dates_are_drawn_where_they_fall():
    """Old: the next CBC, biopsy and pregnancy-test dates were not on the chart at all."""
    fig = _timeline(due=DUE)
    due = {s.name: s for s in fig.layout.shapes if s.name and s.name.startswith("due ")}
    assert set(due) == {"due Marrow biopsy", "due Next CBC", "due Pregnancy test (REMS)"}
    assert pd.Timestamp(due["due Next CBC"].x0).date() == AS_OF + dt.timedelta(days=5)
    assert pd.Timestamp(due["due Marrow biopsy"].x0).date() == AS_OF - dt.timedelta(days=90)
    assert due["due Marrow biopsy"].line.color == charts.OVERDUE_RED != due["due Next CBC"].line.color
    notes = [a.text for a in fig.layout.annotations if a.text and "Marrow biopsy" in a.text]
    assert notes and "overdue" in notes[0]


def test_dose_strip_is_labelled_in_mg():
    """Old: the dose line had no mg labels."""
    dose = next(t for t in _timeline().data if t.name == "Dose")
    labels = [t for t in dose.text if t]
    assert "text" in dose.mode and labels[:1] == ["25 mg"] and "20 mg" in labels and "held" in labels


def test_resume_band_is_shaded_while_held():
    plan = {"since": "2026-02-09", "when": [{"analyte": "plt", "op": ">=", "value": 30.0}], "dose_mg": 20.0}
    held = make_patient(status="held", resume_plan=plan)  # the engine's plan: resume when platelets >= 30
    held["draws"] = held["draws"][:5]  # still held at the C2D15 draw
    fig = charts.patient_timeline(held, results.results_long(held), as_of=AS_OF, thresholds=THRESHOLDS)
    band = [s for s in fig.layout.shapes if s.name and s.name.startswith("resume band")]
    assert [b.name for b in band] == ["resume band plt"]
    assert (band[0].y0, band[0].y1) == (0, 30.0) and pd.Timestamp(band[0].x0).date() == dt.date(2026, 2, 9)
    assert not [s for s in _timeline(thresholds=THRESHOLDS).layout.shapes if s.name and "resume band" in s.name]


def test_two_panel_figure_for_the_patient_page_and_the_visit_view():
    fig = _timeline(panels=("anc", "plt"), due=DUE)
    assert {t.name for t in fig.data if t.yaxis} >= {"ANC", "Platelets", "Dose"}
    assert not {"Hemoglobin", "WBC", "Creatinine", "ALT"} & {t.name for t in fig.data}
    assert fig.layout.height <= 480
    # the latest value and grade beside the last point, as the old ANC / Platelets metrics gave them
    latest = {a.name: a.text for a in fig.layout.annotations if a.name and a.name.startswith("latest")}
    assert latest == {"latest anc": "<b>1.8</b> G1", "latest plt": "<b>78</b> G1"}


def test_flowsheet_cells_say_the_grade_in_text():
    """Old: the flowsheet's grade was the cell colour only."""
    from lenadash.dashboard import ui

    values, grades = results.flowsheet(make_patient())
    html = ui.flowsheet_table(values, grades).to_html()
    assert "24 G4" in html and "28 G3" in html and "180 G0" not in html
    for grade, fill in present.GRADE_FILLS.items():
        if grade in (1, 2, 3, 4):
            assert fill in html


def test_docs_list_the_chart_ranges_as_they_are():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "dashboard.md").read_text(encoding="utf-8")
    table = doc[doc.index("Chart y ranges (`present.Y_RANGES`") :]
    for analyte, (lo, hi) in present.Y_RANGES.items():
        label = "CrCl" if analyte == "crcl" else present.analyte_label(analyte)
        row = next(line for line in table.splitlines() if line.startswith("| ") and label in line)
        assert f"| {lo:g}-{hi:g} |" in row, (analyte, row)


def test_visit_figure_speaks_the_handouts_words_and_drops_clinician_only_items():
    """The visit view's chart is the patient's: threshold lines labelled as the handout labels them
    ("pause / restart 30", "pause 0.5"), not "hold < 30 / resume >= 30"; actions named as the handout
    names them; no REMS authorization, VTE risk factor, thromboprophylaxis or recorded dose-change markers."""
    rows = [
        {"analyte": "plt", "kind": "hold", "op": "<", "value": 30.0, "source": "US PI 2.1 Table 1"},
        {"analyte": "plt", "kind": "resume", "op": ">=", "value": 30.0, "source": "US PI 2.1 Table 1"},
        {"analyte": "anc", "kind": "resume", "op": ">=", "value": 1.0, "source": "US PI 2.4"},
        {"analyte": "anc", "kind": "hold", "op": "<", "value": 1.0, "source": "US PI 2.4"},
        {"analyte": "anc", "kind": "hold", "op": "<", "value": 0.5, "source": "US PI 2.4"},
    ]
    p = {**make_patient(), "thresholds": rows}
    thresholds = results.thresholds_frame(rows)
    events = pd.concat(
        [
            EVENTS,
            pd.DataFrame(
                {
                    "mrn": ["MRN001"] * 4,
                    "date": [dt.date(2026, 1, 5)] * 3 + [dt.date(2026, 2, 20)],
                    "event": ["rems_authorization", "vte_risk_factor", "thromboprophylaxis", "dose_change"],
                    "value": ["123456", "dex_high", "aspirin", "hold"],
                    "detail": ["", "", "", "accepted: hold"],
                }
            ),
        ],
        ignore_index=True,
    )

    def build(visit: bool):
        return charts.patient_timeline(
            p,
            results.results_long(p),
            as_of=AS_OF,
            thresholds=thresholds,
            events=events,
            panels=charts.FOLD_PANELS,
            large=visit,
            visit=visit,
        )

    def line_labels(fig) -> set[str]:
        return {a.text for a in fig.layout.annotations if a.font is not None and a.font.color == "#c62828"}

    clinician, visit = build(False), build(True)
    assert {"hold < 30 / resume >= 30", "resume >= 1 / hold < 1", "hold < 0.5"} <= line_labels(clinician)
    assert line_labels(visit) >= {"pause / restart 30", "pause / restart 1.0", "pause 0.5"}
    assert not [t for t in line_labels(visit) if "hold" in t or "resume" in t or ">=" in t]
    # the lines themselves stay where they were
    assert sorted(s.y0 for s in visit.layout.shapes if (s.name or "").startswith("threshold")) == [0.5, 1.0, 30.0]
    clinician_names = {t.name for t in clinician.data}
    visit_names = {t.name for t in visit.data}
    clinician_only = {"REMS authorization", "VTE risk factor", "Thromboprophylaxis", "Dose change", "Hold", "Resume"}
    assert clinician_only <= clinician_names
    assert not visit_names & clinician_only
    assert {"Paused", "Restarted", "Fever", "Platelet transfusion"} <= visit_names
    # the clinician's own thresholds frame is left as it was (the page's overlays still read it)
    assert list(thresholds["label"]) == ["hold < 30 / resume >= 30", "resume >= 1 / hold < 1", "hold < 0.5"]


def test_dose_row_legend_stays_on_one_line():
    """The dose row's legend (actions, events) is one horizontal row above the cycle labels: the browser walk
    showed "Hold" and "Dose change" on two rows, the second over the "C6" label, because the lab traces'
    legend groups switch plotly to "grouped" order (one row per item)."""
    fig = _timeline(events=EVENTS, panels=charts.FOLD_PANELS)
    assert [t.name for t in fig.data if t.showlegend is not False] == [
        "Hold",
        "Resume",
        "Fever",
        "Platelet transfusion",
    ]
    assert any(t.legendgroup for t in fig.data)  # what made plotly group the legend
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.traceorder == "normal"
