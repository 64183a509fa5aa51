"""The clinic insight page on the sample clinic (AppTest), and its figures against a hand-made assess result."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lenadash.dashboard import insight

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "app_pages" / "clinic.py")


def _page() -> AppTest:
    from lenadash import samples

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["lenadash_as_of"] = samples.TODAY
    return at


def test_the_clinic_page_on_the_sample_clinic(clinic_env):
    at = _page().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Clinic insight"
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Patients"]) > 10
    assert metrics["Median RDI"] != "-" and metrics["CBCs on time"].endswith("%")
    tables = [df.value for df in at.dataframe]
    by_patient = tables[-1]
    assert {"MRN", "RDI", "Reductions", "Holds", "CBC on time", "REMS tests on time", "IMPEDE VTE"} <= set(by_patient)
    assert len(at.get("plotly_chart")) == 3


def test_an_indication_filter_narrows_the_table(clinic_env):
    at = _page().run()
    at.multiselect(key="clinic_indication").set_value(["MDS"]).run()
    assert not at.exception
    by_patient = at.dataframe[-1].value
    assert set(by_patient["Indication"]) == {"del(5q) MDS"}


# A hand-made result: two courses, figures in the period 2026-03-01..2026-03-31 counted by hand.
def _course(mrn, rdi_cycles, *, holds=(), reductions=(), cbc=(), rems=(), status="on_treatment", vte=None):
    return {
        "mrn": mrn,
        "name": '=HYPERLINK("x")' if mrn == "B" else "Ann Test",
        "course_id": f"{mrn}:1",
        "indication": "MM",
        "start_date": "2026-01-05",
        "status": status,
        "notices": [],
        "exposure": {
            "cycles": [
                {"cycle": c, "planned_mg": p, "delivered_mg": d, "rdi": d / p, "days_held": 0} for c, p, d in rdi_cycles
            ],
            "holds": list(holds),
            "reduction_steps": list(reductions),
        },
        "monitoring": {"calendar": list(cbc)},
        "rems": {"calendar": list(rems)},
        "vte": vte or {"applicable": True, "assessed": False, "impede": {"band": None}},
    }


def test_clinic_figures_by_hand():
    # cycles start 01-05 (1), 02-02 (2), 03-02 (3), 03-30 (4): cycles 3 and 4 fall in March
    a = _course(
        "A",
        [(1, 525, 525), (2, 525, 350), (3, 525, 420), (4, 525, 525)],
        holds=[{"start": "2026-03-10", "end": "2026-03-17", "causes": ["anc"]}],
        reductions=[{"date": "2026-03-17", "causes": ["anc"]}],
        cbc=[{"due": "2026-03-02", "status": "on_time"}, {"due": "2026-03-16", "status": "late"}],
        rems=[{"due": "2026-03-04", "on_time": True}],
    )
    b = _course(
        "B",
        [(3, 525, 525), (4, 525, 0)],
        holds=[{"start": "2026-03-30", "end": None, "causes": ["plt", "anc"]}],
        cbc=[{"due": "2026-03-30", "status": "missed"}, {"due": "2026-02-02", "status": "missed"}],
        status="held",
        vte={"applicable": True, "assessed": True, "impede": {"band": "high"}},
    )
    rows = insight.clinic_rows({"patients": [a, b]}, period=insight.Period(*map(_d, ("2026-03-01", "2026-03-31"))))
    s = insight.summary(rows)
    # A: (420 + 525) / 1050 = 0.9; B: 525 / 1050 = 0.5; median 0.7. 4 cycles; 1 reduction -> 25 per 100 cycles;
    # 2 holds -> 50 per 100; by cause anc 2 -> 50, plt 1 -> 25. CBC: 1 on time of 3 due in March -> 33.3%.
    assert [r["rdi"] for r in rows] == [0.9, 0.5] and s["median_rdi"] == 0.7
    assert (s["cycles"], s["reductions_per_100_cycles"], s["holds_per_100_cycles"]) == (4, 25.0, 50.0)
    assert s["holds_per_100_cycles_by_cause"] == {"anc": 50.0, "plt": 25.0}
    assert s["cbc_on_time_pct"] == 33.3 and s["rems_on_time_pct"] == 100.0
    assert s["by_status"] == {"on_treatment": 1, "held": 1, "review": 0, "stopped": 0}
    assert (s["vte_assessed_pct"], s["vte_covered_pct"]) == (50.0, 50.0)
    months = insight.on_time_by_month(rows)
    assert months == [{"month": "2026-03", "required": 3, "on_time": 1, "on_time_pct": 33.3}]
    got = list(csv.reader(io.StringIO(insight.clinic_csv(rows))))
    assert got[2][1].startswith("'=")  # a name that would start a spreadsheet formula stays text


def test_the_patient_dose_intensity_table_and_figure():
    p = _course("A", [(1, 525, 525), (2, 525, 350)])
    p["exposure"].update(rdi=0.833, planned_mg=1050, delivered_mg=875, days_held=7, reductions=1, cycles_completed=2)
    p["exposure"]["reduction_steps"] = [{"date": "2026-02-16", "causes": ["plt"]}]
    table = insight.dose_intensity_table(p)
    assert list(table["Delivered mg"]) == [525, 350]
    fig = insight.dose_intensity_figure(table)
    assert [t["name"] for t in fig["data"]] == ["planned", "delivered"] and fig["data"][1]["y"] == [525, 350]
    assert "RDI 0.83" in insight.dose_intensity_caption(p) and "Platelets" in insight.dose_intensity_caption(p)


def _d(text):
    import datetime as dt

    return dt.date.fromisoformat(text)


def test_render_dose_intensity_draws_into_a_streamlit_container():
    def script():
        import streamlit as st

        from lenadash.dashboard import insight as ins

        p = {
            "exposure": {
                "cycles": [
                    {"cycle": 1, "planned_mg": 525.0, "delivered_mg": 350.0, "rdi": 0.667, "days_held": 7},
                ],
                "rdi": 0.667,
                "planned_mg": 525.0,
                "delivered_mg": 350.0,
                "days_held": 7,
                "reductions": 0,
                "reduction_steps": [],
                "cycles_completed": 1,
                "cycle_limit": None,
            }
        }
        with st.expander("Dose intensity", expanded=True):
            ins.render_dose_intensity(st, p)

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert at.caption[0].value.startswith("RDI 0.67 (350 of 525 mg")
    assert list(at.dataframe[0].value["Dosing days held"]) == [7]
    assert len(at.get("plotly_chart")) == 1
