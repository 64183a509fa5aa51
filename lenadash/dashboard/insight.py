"""Clinic insight for the screens: tables and Plotly figure specs (plain dicts) from the assess JSON."""

# Figures are Plotly figure dicts ({"data": [...], "layout": {...}}), which st.plotly_chart draws as it draws a
# go.Figure; building them as data keeps Plotly itself in dashboard/charts.py. Every figure has a table beside it
# with the same numbers.

from __future__ import annotations

from typing import Any

import pandas as pd

from lenadash.clinical.insight import clinic
from lenadash.dashboard.present import STATUS_WORDS
from lenadash.vocab import csvsafe
from lenadash.vocab.course import INDICATION_NAMES

RDI_BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # the last bin is ">= 1.0" (1.0 = the full planned dose)
CAUSE_WORDS = {
    "anc": "ANC",
    "plt": "Platelets",
    "toxicity": "Toxicity",
    "clinician": "Clinician",
    "unrecorded": "Not recorded",
}
BAND_WORDS = {"low": "low", "intermediate": "intermediate", "high": "high", None: "not scored"}
Period = clinic.Period  # the page's period (both ends included)
summary = clinic.summary
on_time_by_month = clinic.on_time_by_month
_LAYOUT = {"height": 320, "margin": {"l": 50, "r": 20, "t": 40, "b": 40}, "template": "plotly_white"}


def clinic_rows(result: dict, *, indications=None, period: clinic.Period | None = None) -> list[dict]:
    """One figures row per course of the chosen indications and period (clinic.course_row)."""
    period = period or clinic.Period()
    return [clinic.course_row(p, period) for p in clinic.courses(result, indications=indications, period=period)]


def _pct_text(x: float | None) -> str:
    return "-" if x is None else f"{x:g}%"


def _num_text(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def summary_table(s: dict) -> pd.DataFrame:
    """The clinic figures as a two-column table (figure, value) with what each counts."""
    status = ", ".join(f"{STATUS_WORDS.get(k, k)} {v}" for k, v in s["by_status"].items())
    rows = [
        ("Patients (courses)", str(s["patients"]), status),
        ("Treatment cycles in the period", str(s["cycles"]), "cycles whose day 1 falls in the period"),
        ("Median relative dose intensity", _num_text(s["median_rdi"]), "delivered / planned mg per course"),
        ("Dose reductions per 100 cycles", _num_text(s["reductions_per_100_cycles"]), "reductions dated in the period"),
        ("Holds per 100 cycles", _num_text(s["holds_per_100_cycles"]), "holds that began in the period"),
        ("CBCs drawn on time", _pct_text(s["cbc_on_time_pct"]), "required CBCs due in the period"),
        ("REMS pregnancy tests on time", _pct_text(s["rems_on_time_pct"]), "tests due in the period"),
        ("VTE risk recorded (myeloma)", _pct_text(s["vte_assessed_pct"]), f"of {s['vte_patients']} myeloma courses"),
        ("VTE risk covered (myeloma)", _pct_text(s["vte_covered_pct"]), "scored, prophylaxis as the score advises"),
    ]
    return pd.DataFrame(rows, columns=["Figure", "Value", "Counts"])


def clinic_table(rows: list[dict]) -> pd.DataFrame:
    """One row per course: the figures a pharmacist reads per patient."""
    return pd.DataFrame(
        {
            "MRN": [r["mrn"] for r in rows],
            "Name": [r["name"] for r in rows],
            "Indication": [INDICATION_NAMES.get(r["indication"], r["indication"]) for r in rows],
            "Status": [STATUS_WORDS.get(r["status"], r["status"]) for r in rows],
            "Cycles": [r["cycles"] for r in rows],
            "RDI": [r["rdi"] for r in rows],
            "Reductions": [r["reductions"] for r in rows],
            "Holds": [r["holds"] for r in rows],
            "CBC on time": [f"{r['cbc_on_time']}/{r['cbc_required']}" if r["cbc_required"] else "-" for r in rows],
            "REMS tests on time": [
                f"{r['rems_on_time']}/{r['rems_required']}" if r["rems_required"] else "-" for r in rows
            ],
            "IMPEDE VTE": [_vte_cell(r) for r in rows],
        }
    )


def _vte_cell(r: dict) -> str:
    if not r["vte_applicable"]:
        return "n/a"
    if not r["vte_assessed"]:
        return "not recorded"
    return BAND_WORDS.get(r["impede_band"], "review") + (" - prophylaxis?" if r["vte_mismatch"] else "")


def clinic_csv(rows: list[dict]) -> str:
    """The clinic table as CSV, cells that would start a spreadsheet formula guarded (vocab.csvsafe)."""
    return csvsafe.to_csv(clinic_table(rows))


def rdi_distribution(rows: list[dict]) -> pd.DataFrame:
    """Courses per RDI band (the table beside the RDI chart)."""
    labels = [f"{lo:g}-{hi:g}" for lo, hi in zip(RDI_BINS[:-1], RDI_BINS[1:])] + [">= 1"]
    counts = [0] * len(labels)
    for r in rows:
        if r["rdi"] is None:
            continue
        i = sum(r["rdi"] >= edge for edge in RDI_BINS[1:])
        counts[i] += 1
    return pd.DataFrame({"RDI": labels, "Courses": counts})


def _bar(x: list, y: list, *, title: str, x_title: str, y_title: str, text: list | None = None) -> dict[str, Any]:
    trace: dict[str, Any] = {"type": "bar", "x": x, "y": y, "marker": {"color": "#1f77b4"}}
    if text is not None:
        trace["text"], trace["textposition"] = text, "outside"
    layout = {**_LAYOUT, "title": {"text": title}, "xaxis": {"title": {"text": x_title}, "type": "category"}}
    layout["yaxis"] = {"title": {"text": y_title}, "rangemode": "tozero"}
    return {"data": [trace], "layout": layout}


def rdi_figure(dist: pd.DataFrame) -> dict:
    return _bar(
        list(dist["RDI"]), list(dist["Courses"]), title="Relative dose intensity", x_title="RDI", y_title="courses"
    )


def on_time_table(months: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Month due": [m["month"] for m in months],
            "Required": [m["required"] for m in months],
            "On time": [m["on_time"] for m in months],
            "On time %": [m["on_time_pct"] for m in months],
        }
    )


def on_time_figure(table: pd.DataFrame) -> dict:
    fig = _bar(
        list(table["Month due"]),
        list(table["On time %"]),
        title="CBCs drawn on time, by month due",
        x_title="month due",
        y_title="% on time",
        text=[f"{v:g}%" if v is not None else "" for v in table["On time %"]],
    )
    fig["layout"]["yaxis"]["range"] = [0, 110]
    return fig


def holds_by_cause_table(s: dict) -> pd.DataFrame:
    by = s["holds_per_100_cycles_by_cause"]
    return pd.DataFrame({"Cause": [CAUSE_WORDS.get(c, c) for c in by], "Holds per 100 cycles": list(by.values())})


def holds_by_cause_figure(table: pd.DataFrame) -> dict:
    return _bar(
        list(table["Cause"]),
        list(table["Holds per 100 cycles"]),
        title="Holds per 100 cycles, by cause",
        x_title="cause",
        y_title="holds per 100 cycles",
    )


# --- one patient (the patient page) ---------------------------------------------------------------------------


def dose_intensity_table(patient: dict) -> pd.DataFrame:
    """Per cycle: planned and delivered mg, RDI, dosing days held (empty when the course has no exposure)."""
    cycles = (patient.get("exposure") or {}).get("cycles", [])
    return pd.DataFrame(
        {
            "Cycle": [c["cycle"] for c in cycles],
            "Planned mg": [c["planned_mg"] for c in cycles],
            "Delivered mg": [c["delivered_mg"] for c in cycles],
            "RDI": [c["rdi"] for c in cycles],
            "Dosing days held": [c["days_held"] for c in cycles],
        }
    )


def dose_intensity_figure(table: pd.DataFrame) -> dict:
    """Planned and delivered mg per cycle, side by side."""
    x = [str(c) for c in table["Cycle"]]
    data = [
        {"type": "bar", "name": "planned", "x": x, "y": list(table["Planned mg"]), "marker": {"color": "#c7d7ea"}},
        {"type": "bar", "name": "delivered", "x": x, "y": list(table["Delivered mg"]), "marker": {"color": "#1f77b4"}},
    ]
    layout = {**_LAYOUT, "barmode": "group", "title": {"text": "Dose per cycle (mg)"}}
    layout["xaxis"] = {"title": {"text": "cycle"}, "type": "category"}
    layout["yaxis"] = {"title": {"text": "mg"}, "rangemode": "tozero"}
    return {"data": data, "layout": layout}


def dose_intensity_caption(patient: dict) -> str:
    """One line: the course's RDI, days held, reductions and their causes (no names, no MRN)."""
    e = patient.get("exposure")
    if not e:
        return "No dose intensity: the course has no starting dose or schedule lenadash knows."
    causes = sorted({c for r in e["reduction_steps"] for c in r["causes"]})
    why = f" ({', '.join(CAUSE_WORDS.get(c, c) for c in causes)})" if causes else ""
    rdi = "-" if e["rdi"] is None else f"{e['rdi']:.2f}"
    return (
        f"RDI {rdi} ({e['delivered_mg']:g} of {e['planned_mg']:g} mg planned to date); {e['days_held']} dosing days "
        f"held; {e['reductions']} reduction(s){why}; {e['cycles_completed']} cycle(s) completed"
        + (f" of at most {e['cycle_limit']}" if e.get("cycle_limit") else "")
    )


def render_dose_intensity(container: Any, patient: dict, *, key: str = "dose_intensity") -> None:
    """Draw the per-cycle dose-intensity table and bar chart into a Streamlit container (`st`, a column, an
    expander): for the patient page. The container is passed in, so this module imports no Streamlit."""
    table = dose_intensity_table(patient)
    container.caption(dose_intensity_caption(patient))
    if not len(table):
        return
    container.plotly_chart(dose_intensity_figure(table), key=key, theme=None, config={"displaylogo": False})
    container.dataframe(table, hide_index=True, width="stretch")


def vte_table(s: dict) -> pd.DataFrame:
    """Myeloma courses by IMPEDE VTE band (before prophylaxis), with how many have factors recorded."""
    bands = s["impede_bands"]
    rows = [(BAND_WORDS.get(b, b) if b != "not scored" else "not scored", n) for b, n in sorted(bands.items())]
    return pd.DataFrame(rows, columns=["IMPEDE VTE band", "Courses"])


def nadir_table(patient: dict, analyte: str, *, last_n: int = 6) -> pd.DataFrame:
    """The nadirs of one count in the latest `last_n` cycles: cycle, day, value, grade, days to recover."""
    rows = [r for r in patient.get("nadirs") or [] if r["analyte"] == analyte][-last_n:]
    return pd.DataFrame(
        {
            "Cycle": [r["cycle"] for r in rows],
            "Nadir day": [r["cycle_day"] for r in rows],
            "Nadir": [r["value"] for r in rows],
            "Grade": [r["grade"] for r in rows],
            "Days to recover": [r["recovery_days"] for r in rows],
        }
    )


def nadir_marker_trace(table: pd.DataFrame, analyte_name: str) -> dict:
    """A scatter trace (a dict, for `fig.add_trace`) marking each cycle's nadir on the cycle overlay (x = day of
    cycle, y = value); hover says the cycle, grade and days to recover above the hold line."""
    text = [
        f"Cycle {c} nadir {v:g} (G{'-' if g is None or g != g else int(g)}); "
        + ("not recovered" if r is None or r != r else f"recovered in {int(r)} d")
        for c, v, g, r in zip(table["Cycle"], table["Nadir"], table["Grade"], table["Days to recover"])
    ]
    return {
        "type": "scatter",
        "mode": "markers",
        "name": f"{analyte_name} nadir",
        "x": list(table["Nadir day"]),
        "y": list(table["Nadir"]),
        "text": text,
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {
            "symbol": "triangle-down",
            "size": 14,
            "color": "rgba(0,0,0,0)",
            "line": {"color": "#222", "width": 2},
        },
    }
