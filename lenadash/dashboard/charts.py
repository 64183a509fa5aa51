"""Plotly figure builders for the dashboard (DataFrames/dicts in, go.Figure out)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lenadash.dashboard import cards, timeline
from lenadash.dashboard.assessed import as_date
from lenadash.dashboard.present import (
    EVENT_LABELS,
    analyte_label,
    analyte_unit,
    grade_colour,
    grade_symbol,
    grade_text,
    y_range,
)
from lenadash.dashboard.results import draws_frame
from lenadash.vocab.analytes import USUAL_RANGE
from lenadash.vocab.course import CYCLE_DAYS, dosing_days


@dataclass(frozen=True)
class Panel:
    """One row of the patient timeline: its analytes on one labelled y axis (a legend when several)."""

    key: str
    analytes: tuple[str, ...]
    title: str
    height: int = 170


def _axis_title(analytes: tuple[str, ...], name: str | None = None) -> str:
    """'Platelets 10^9/L': the analytes' labels (or a shorter `name`) and their shared canonical unit."""
    return f"{name or '/'.join(analyte_label(a) for a in analytes)} {analyte_unit(analytes[0])}"


# Rows of the shared-time-axis figure, top to bottom (the dose row is drawn above them). Every panel has
# one y axis with its own title: CrCl and bilirubin used to sit on unlabelled secondary axes. "Hgb": the
# titles are short; CrCl is computed here, not an analyte, so its unit is its own.
PANELS: tuple[Panel, ...] = (
    Panel("anc", ("anc",), _axis_title(("anc",))),
    Panel("plt", ("plt",), _axis_title(("plt",))),
    Panel("hgb", ("hgb",), _axis_title(("hgb",), "Hgb")),
    Panel("wbc", ("wbc",), _axis_title(("wbc",))),
    Panel("creatinine", ("creatinine",), _axis_title(("creatinine",))),
    Panel("crcl", ("crcl",), "CrCl mL/min"),
    Panel("liver", ("ast", "alt", "alp"), _axis_title(("ast",), "Liver")),
    Panel("bilirubin", ("bilirubin",), _axis_title(("bilirubin",))),
)
PANEL_KEYS = tuple(p.key for p in PANELS)
# The patient page's first screen and the visit view: the two counts the label's hold rules read.
FOLD_PANELS = ("anc", "plt")
DOSE_ROW_HEIGHT = 150
COMPACT_DOSE_ROW_HEIGHT = 95
COMPACT_PANEL_HEIGHT = 150

# Line colour and dash per analyte: the liver panel's three lines differ in both (and carry a legend).
LINE_STYLES = {
    "ast": ("#1f4e79", "solid"),
    "alt": ("#00796b", "dash"),
    "alp": ("#6a1b9a", "dot"),
}
LINE_COLOUR = "#1f4e79"

# Markers on the dose row: engine actions, then recorded clinical events.
ACTION_MARKERS = {
    "hold": ("x", "#c62828", "Hold"),
    "stop": ("square-x", "#b71c1c", "Stop (REMS)"),
    "resume": ("triangle-up", "#2e7d32", "Resume"),
    "review": ("diamond", "#ef6c00", "Review"),
}
EVENT_MARKERS = {
    "fever": ("triangle-down", "#d84315"),
    "platelet_transfusion": ("diamond-tall", "#ad1457"),
    "toxicity": ("x-thin-open", "#6a1b9a"),
    "marrow_biopsy": ("star", "#283593"),
    "marrow_biopsy_planned": ("star-open", "#283593"),
    "missed_period": ("hexagon-open", "#c62828"),
    "pregnancy_test": ("circle-open", "#00838f"),
    "dose_change": ("line-ns-open", "#37474f"),
    "thromboprophylaxis": ("square-open", "#455a64"),
}
# The visit view's figure is the patient's (issue 9 item 8): the engine's actions in the handout's words, no
# "review" marker (a question for the clinician), and none of the clinician's bookkeeping events (a recorded
# dose change or decision shows as the dose strip itself).
VISIT_ACTION_LABELS = {"hold": "Paused", "stop": "Stopped", "resume": "Restarted"}
VISIT_HIDDEN_EVENTS = frozenset({"rems_authorization", "vte_risk_factor", "thromboprophylaxis", "dose_change"})

HOLD_FILL = "rgba(198, 40, 40, 0.13)"
RESUME_FILL = "rgba(198, 40, 40, 0.10)"
DOSING_FILL = "rgba(46, 125, 50, 0.06)"
PLANNED_FILL = "rgba(46, 125, 50, 0.03)"
REFERENCE_FILL = "rgba(44, 123, 182, 0.08)"
OVERDUE_RED = "#c62828"
DUE_COLOUR = "#37474f"
TODAY_COLOUR = "#212121"
FONT = dict(size=16)
SMALL = 14  # the smallest type on any chart (labels, legends, notes): 14 px on screen


def _ref_text(lo, hi) -> str:
    if pd.notna(lo) and pd.notna(hi):
        return f"{lo:g}-{hi:g}"
    if pd.notna(hi):
        return f"<{hi:g}"
    if pd.notna(lo):
        return f">{lo:g}"
    return "not given"


def _when_text(day, cycle, cycle_day) -> str:
    """'02 Mar 2026 - C2D8'; the date alone when the draw has no cycle day."""
    return f"{day:%d %b %Y}" + (f" - C{int(cycle)}D{int(cycle_day)}" if pd.notna(cycle) and pd.notna(cycle_day) else "")


def _hover_frame(df: pd.DataFrame) -> list[list[str]]:
    """Per point: the value in the canonical unit (the axis's), then the text the export had, the reference
    range, the grade as text, the draw's recommendation and when."""
    return [
        [
            f"{v:g} {u}".strip(),
            f"as exported: {rv or f'{v:g}'} {ru}".strip(),
            _ref_text(lo, hi),
            grade_text(g) or "not graded",
            rec or "no recommendation",
            _when_text(d, c, cd),
        ]
        for rv, v, ru, u, lo, hi, g, rec, d, c, cd in zip(
            df["raw_value"],
            df["value"],
            df["raw_unit"],
            df["unit"],
            df["ref_low"],
            df["ref_high"],
            df["grade"],
            df["recommendation"],
            df["date"],
            df["cycle"],
            df["cycle_day"],
        )
    ]


HOVER = (
    "<b>%{fullData.name}</b> %{customdata[0]} %{customdata[3]}<br>%{customdata[1]}<br>%{customdata[5]}"
    "<br>reference %{customdata[2]}<br>%{customdata[4]}<extra></extra>"
)


def _analyte_trace(df: pd.DataFrame, analyte: str, *, legend: str | None, scale: float) -> go.Scatter:
    """One analyte's line; each marker's colour and shape say its CTCAE grade (shape for those who cannot
    tell the colours apart), the hover says it in text."""
    colour, dash = LINE_STYLES.get(analyte, (LINE_COLOUR, "solid"))
    return go.Scatter(
        x=df["date"],
        y=df["value"],
        name="CrCl" if analyte == "crcl" else analyte_label(analyte, analyte.upper()),
        mode="lines+markers",
        line=dict(color=colour, width=2, dash=dash),
        marker=dict(
            color=[grade_colour(g) for g in df["grade"]],
            symbol=[grade_symbol(g) for g in df["grade"]],
            size=12 * scale,
            line=dict(color="white", width=1),
        ),
        customdata=_hover_frame(df),
        hovertemplate=HOVER,
        legendgroup=analyte,
        legend=legend,
        showlegend=legend is not None,
    )


def patient_timeline(
    patient: dict,
    results: pd.DataFrame,
    *,
    as_of: dt.date,
    thresholds: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    crcl: pd.DataFrame | None = None,
    window: tuple[dt.date, dt.date] | None = None,
    due: pd.DataFrame | None = None,
    panels: tuple[str, ...] | None = None,
    large: bool = False,
    height: int | None = None,
    visit: bool = False,
) -> go.Figure:
    """The patient's labs on one shared time axis over treatment cycles, with what comes next.

    results: results.results_long(...). thresholds: rows (analyte, value, label, source) - the label
    thresholds that apply to this course (dosing.thresholds); None draws none. events: the events
    contract (date, event, value, detail). crcl: (date, crcl_ml_min) per creatinine draw.
    window: x-axis range; None shows everything. due: cards.upcoming(...) (what, due, overdue): each
    date drawn where it falls, overdue ones in red. panels: keys of PANELS to draw, always drawn (e.g.
    FOLD_PANELS, the compact two-panel figure); None: every panel with data. large: bigger type and
    markers (visit view). height: the figure's height in px (None: from the rows). visit: the patient's
    figure (visit view): threshold lines labelled as the handout labels them ("pause / restart 1.0",
    "pause 0.5"), actions named as the handout names them, no review markers, no clinician-only events
    (VISIT_HIDDEN_EVENTS).
    """
    scale = 1.25 if large else 1.0
    if visit:
        thresholds = visit_thresholds(patient, thresholds)
        if events is not None and len(events):
            events = events[~events["event"].isin(VISIT_HIDDEN_EVENTS)]
    shown = _shown_panels(results, crcl, panels)
    compact = panels is not None and len(shown) <= 2
    fig = _timeline_grid(shown, compact=compact)
    _add_dose_row(fig, patient, as_of=as_of, events=events, window=window, scale=scale, visit=visit)
    _add_lab_rows(fig, shown, results, crcl=crcl, scale=scale)
    notes = list(fig.layout.annotations)
    shapes = _reference_bands(fig, shown, results)
    for more_shapes, more_notes in (
        _threshold_lines(fig, shown, thresholds, scale=scale),
        _cycle_bands(patient, as_of=as_of, until=window[1] if window else as_of, scale=scale),
        _resume_bands(fig, shown, patient, as_of=as_of, until=window[1] if window else as_of),
        _today_line(as_of, window=window, scale=scale),
        _due_marks(due, window=window, scale=scale),
        _latest_labels(fig, shown, results, scale=scale) if compact else ([], []),
    ):
        shapes += more_shapes
        notes += more_notes
    fig.update_layout(shapes=shapes, annotations=notes)
    _style_timeline(fig, shown, window=window, scale=scale, compact=compact, height=height)
    return fig


def _shown_panels(results: pd.DataFrame, crcl: pd.DataFrame | None, panels: tuple[str, ...] | None) -> list[Panel]:
    """The panels asked for (in PANELS order), or every panel with something to draw (the first when none has)."""
    if panels is not None:
        unknown = set(panels) - set(PANEL_KEYS)
        if unknown:
            raise ValueError(f"unknown chart panels {sorted(unknown)}; choose from {', '.join(PANEL_KEYS)}")
        return [p for p in PANELS if p.key in panels]
    has_crcl = crcl is not None and len(crcl) > 0
    return [p for p in PANELS if results["analyte"].isin(p.analytes).any() or (p.key == "crcl" and has_crcl)] or list(
        PANELS[:1]
    )


def _timeline_grid(shown: list[Panel], *, compact: bool) -> go.Figure:
    """Empty rows on a shared x axis: the dose row, then one row per panel."""
    heights = _row_heights(shown, compact=compact)
    return make_subplots(
        rows=len(heights),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.045 if compact else 0.022,
        row_heights=heights,
    )


def _row_heights(shown: list[Panel], *, compact: bool) -> list[int]:
    if compact:
        return [COMPACT_DOSE_ROW_HEIGHT] + [COMPACT_PANEL_HEIGHT] * len(shown)
    return [DOSE_ROW_HEIGHT] + [p.height for p in shown]


def _in_window(dates, window: tuple[dt.date, dt.date] | None) -> bool:
    """A marker trace earns a legend entry only when one of its points is in the visible window."""
    if window is None:
        return True
    when = pd.to_datetime(pd.Series(list(dates)))
    return bool(((when >= pd.Timestamp(window[0])) & (when <= pd.Timestamp(window[1]))).any())


def _dose_labels(steps: pd.DataFrame) -> list[str]:
    """'25 mg' where the dose changes (and at the start), 'held' / 'stopped' where dosing stops; '' elsewhere."""
    labels, before = [], None
    for dose, action in zip(steps["dose_mg"], steps["action"]):
        text = "" if pd.isna(dose) else f"{dose:g} mg"
        if dose == 0:
            text = "stopped" if action == "stop" else "held"
        labels.append(text if text != before and action != "as_of" else "")
        before = text if text else before
    return labels


def _add_dose_row(
    fig: go.Figure,
    patient: dict,
    *,
    as_of: dt.date,
    events: pd.DataFrame | None,
    window: tuple[dt.date, dt.date] | None,
    scale: float,
    visit: bool = False,
) -> None:
    """Row 1: dose steps labelled in mg, then engine actions at half height and clinical events above the dose."""
    steps = timeline.dose_steps(patient, as_of=as_of, stopped_on=cards.stop_date(patient, events=events, as_of=as_of))
    if len(steps):
        fig.add_trace(
            go.Scatter(
                x=steps["date"],
                y=steps["dose_mg"],
                name="Dose",
                mode="lines+text",
                text=_dose_labels(steps),
                textposition="top right",
                textfont=dict(size=SMALL * scale, color="#1f4e79"),
                line=dict(shape="hv", color="#1f4e79", width=3),
                hovertemplate="%{x|%d %b %Y}: %{y:g} mg<extra>dose</extra>",
                showlegend=False,
            ),
            row=1,
            col=1,
        )
    dmax = float(steps["dose_mg"].max()) if len(steps) and steps["dose_mg"].notna().any() else 25.0
    _add_action_markers(fig, draws_frame(patient), y=dmax * 0.5, window=window, visit=visit)
    if events is not None and len(events):
        _add_event_markers(fig, events, y=dmax * 1.3, window=window)
    fig.update_yaxes(range=[-1, dmax * 1.6], row=1, col=1, title_text="dose mg", tickvals=[0, dmax])


def _add_action_markers(
    fig: go.Figure, draws: pd.DataFrame, *, y: float, window: tuple[dt.date, dt.date] | None, visit: bool = False
) -> None:
    """One marker trace per engine action (hold, stop, resume, review), its recommendation on hover; a stop
    is marked where it starts (every later draw is a stop too, until the clinician restarts). visit: the
    handout's words (VISIT_ACTION_LABELS), no review markers."""
    repeated_stop = draws["action"].eq("stop") & draws["action"].shift().eq("stop")
    for action, (symbol, colour, label) in ACTION_MARKERS.items():
        if visit:
            if action not in VISIT_ACTION_LABELS:
                continue
            label = VISIT_ACTION_LABELS[action]
        hit = draws[draws["action"].eq(action) & ~repeated_stop]
        if len(hit):
            fig.add_trace(
                go.Scatter(
                    x=hit["date"],
                    y=[y] * len(hit),
                    mode="markers",
                    name=label,
                    marker=dict(symbol=symbol, size=16, color=colour, line=dict(width=2, color=colour)),
                    customdata=hit[["recommendation"]].to_numpy(),
                    showlegend=_in_window(hit["date"], window),
                    hovertemplate=f"<b>{label}</b> %{{x|%d %b %Y}}<br>%{{customdata[0]}}<extra></extra>",
                ),
                row=1,
                col=1,
            )


def _add_event_markers(
    fig: go.Figure, events: pd.DataFrame, *, y: float, window: tuple[dt.date, dt.date] | None
) -> None:
    """One marker trace per recorded event kind; hover says the kind, value and detail."""
    ev = events.copy()
    ev["date"] = pd.to_datetime(ev["date"])
    for group_key, grp in ev.groupby("event", sort=False):
        kind = cast(str, group_key)  # the "event" column holds kind names (text)
        symbol, colour = EVENT_MARKERS.get(kind, ("circle", "#37474f"))
        label = EVENT_LABELS.get(kind, str(kind))
        details = grp.get("detail", pd.Series("", index=grp.index)).fillna("").astype(str)
        text = [
            f"{label} {v}".strip() + (f" - {d}" if d else "")
            for v, d in zip(grp["value"].fillna("").astype(str), details)
        ]
        fig.add_trace(
            go.Scatter(
                x=grp["date"],
                y=[y] * len(grp),
                mode="markers",
                name=label,
                marker=dict(symbol=symbol, size=14, color=colour, line=dict(width=2, color=colour)),
                text=text,
                hovertemplate="%{x|%d %b %Y}<br>%{text}<extra></extra>",
                showlegend=_in_window(grp["date"], window),
            ),
            row=1,
            col=1,
        )


def _crcl_frame(crcl: pd.DataFrame) -> pd.DataFrame:
    """CrCl as a results frame (computed here, so no export text, range or grade) for the CrCl panel."""
    when = pd.to_datetime(crcl["date"])
    return pd.DataFrame(
        {
            "date": when,
            "analyte": "crcl",
            "value": crcl["crcl_ml_min"].round(0).to_numpy(),
            "unit": "mL/min",
            "raw_value": "Cockcroft-Gault",
            "raw_unit": "",
            "ref_low": float("nan"),
            "ref_high": float("nan"),
            "grade": pd.array([pd.NA] * len(crcl), dtype="Int64"),
            "recommendation": "",
            "cycle": pd.NA,
            "cycle_day": pd.NA,
        }
    )


def _axis_names(fig: go.Figure, row: int) -> tuple[str, str]:
    """('x3', 'y3'): the x and y axis references of a row of the grid."""
    sub = fig.get_subplot(row, 1)
    return sub.xaxis.plotly_name.replace("axis", ""), sub.yaxis.plotly_name.replace("axis", "")


def _add_lab_rows(
    fig: go.Figure, shown: list[Panel], results: pd.DataFrame, *, crcl: pd.DataFrame | None, scale: float
) -> None:
    """Rows 2..: each panel's analytes on its own titled axis with its fixed range (present.Y_RANGES); a
    panel of several analytes gets its own legend, in the panel's top right corner."""
    by_analyte = {a: g for a, g in results.groupby("analyte", sort=False)}
    if crcl is not None and len(crcl):
        by_analyte["crcl"] = _crcl_frame(crcl)
    legends = 1
    for row, panel in enumerate(shown, start=2):
        legend = None
        if len(panel.analytes) > 1:
            legends += 1
            legend = f"legend{legends}"
        values: list[float] = []
        for analyte in panel.analytes:
            if analyte in by_analyte:
                fig.add_trace(_analyte_trace(by_analyte[analyte], analyte, legend=legend, scale=scale), row=row, col=1)
                values += list(by_analyte[analyte]["value"])
        fig.update_yaxes(
            title_text=panel.title, range=y_range(panel.analytes[0], values), row=row, col=1, title_standoff=4
        )
        if legend is not None:
            _, yref = _axis_names(fig, row)
            top = fig.layout[yref.replace("y", "yaxis")].domain[1]
            fig.update_layout(
                {
                    legend: dict(
                        x=1,
                        xanchor="right",
                        y=top,
                        yanchor="top",
                        orientation="h",
                        bgcolor="rgba(255,255,255,0.85)",
                        font=dict(size=SMALL * scale),
                    )
                }
            )


def _latest_labels(
    fig: go.Figure, shown: list[Panel], results: pd.DataFrame, *, scale: float
) -> tuple[list[dict], list[dict]]:
    """The compact figure says each count's latest value and grade beside its last point ('0.44 G4'): the
    number the clinician looks for first, without a hover."""
    notes = []
    for row, panel in enumerate(shown, start=2):
        rows = results[results["analyte"] == panel.analytes[0]].dropna(subset=["value"])
        if len(panel.analytes) > 1 or rows.empty:
            continue
        last = rows.sort_values("date").iloc[-1]
        xref, yref = _axis_names(fig, row)
        notes.append(
            dict(
                xref=xref,
                yref=yref,
                x=last["date"],
                y=last["value"],
                xanchor="right",
                yanchor="bottom",
                yshift=6,
                text=f"<b>{last['value']:g}</b> {grade_text(last['grade'])}".strip(),
                showarrow=False,
                bgcolor="rgba(255,255,255,0.8)",
                font=dict(size=SMALL * scale, color=LINE_COLOUR),
                name=f"latest {panel.analytes[0]}",
            )
        )
    return [], notes


def _reference_range(results: pd.DataFrame, analyte: str) -> tuple[float, float] | None:
    """The reference interval to shade: the exports' own (median of the results' ranges), else the usual
    adult range (vocab USUAL_RANGE); None when neither is known."""
    rows = results[results["analyte"] == analyte]
    lo, hi = rows["ref_low"].median(), rows["ref_high"].median()
    if pd.notna(hi):
        return (float(lo) if pd.notna(lo) else 0.0), float(hi)
    return USUAL_RANGE.get(analyte)


def _reference_bands(fig: go.Figure, shown: list[Panel], results: pd.DataFrame) -> list[dict]:
    """The reference interval of each one-analyte panel, shaded across the panel (below the data)."""
    shapes = []
    for row, panel in enumerate(shown, start=2):
        band = _reference_range(results, panel.analytes[0]) if len(panel.analytes) == 1 else None
        if band is None:
            continue
        xref, yref = _axis_names(fig, row)
        shapes.append(
            dict(
                type="rect",
                xref=f"{xref} domain",
                x0=0,
                x1=1,
                yref=yref,
                y0=band[0],
                y1=band[1],
                fillcolor=REFERENCE_FILL,
                line=dict(width=0),
                layer="below",
                name=f"reference {panel.analytes[0]}",
            )
        )
    return shapes


def _panel_rows(fig: go.Figure, shown: list[Panel]) -> dict[str, tuple[str, str]]:
    """analyte -> (x ref, y ref) of the row that draws it."""
    return {a: _axis_names(fig, row) for row, p in enumerate(shown, start=2) for a in p.analytes}


def _threshold_lines(
    fig: go.Figure, shown: list[Panel], thresholds: pd.DataFrame | None, *, scale: float
) -> tuple[list[dict], list[dict]]:
    """The course's label thresholds as dashed lines (shapes) with their labels (annotations), each on
    its analyte's row; analytes not shown are skipped."""
    rows = _panel_rows(fig, shown)
    shapes: list[dict] = []
    notes: list[dict] = []
    per_axis: dict[str, int] = {}
    for t in thresholds.itertuples(index=False) if thresholds is not None and len(thresholds) else ():
        analyte, value = cast(str, t.analyte), cast(float, t.value)  # the thresholds frame's columns
        if analyte not in rows:
            continue
        xref, yref = rows[analyte]
        # two lines of one panel sit close together (ANC 0.5 and 1.0): their labels go left, then right
        side = per_axis.get(yref, 0) % 2
        per_axis[yref] = per_axis.get(yref, 0) + 1
        shapes.append(
            dict(
                type="line",
                xref=f"{xref} domain",
                x0=0,
                x1=1,
                yref=yref,
                y0=value,
                y1=value,
                line=dict(color="#c62828", width=1.5, dash="dash"),
                name=f"threshold {analyte}",
            )
        )
        notes.append(
            dict(
                xref=f"{xref} domain",
                x=0.99 if side else 0.01,
                xanchor="right" if side else "left",
                yref=yref,
                y=value,
                yanchor="bottom",
                text=getattr(t, "label", "") or f"{value:g}",
                showarrow=False,  # no background: a marker under the label stays visible
                font=dict(size=SMALL * scale, color="#c62828"),
            )
        )
    return shapes, notes


def visit_thresholds(patient: dict, thresholds: pd.DataFrame | None) -> pd.DataFrame | None:
    """The threshold rows relabelled in the handout's words (handout.threshold_lines: "pause / restart 30",
    "pause 0.5") for the patient's figure; rows it does not label (not a count) keep their label."""
    if thresholds is None or thresholds.empty:
        return thresholds
    from lenadash.dashboard.handout import threshold_lines

    # distinct names: tests/test_text_independence.py follows names through the module
    said = {(str(line[0]), float(line[1])): line[2] for line in threshold_lines(patient, thresholds)}
    relabelled = thresholds.copy()
    relabelled["label"] = [
        said.get((str(th_analyte), float(th_value)), th_label)
        for th_analyte, th_value, th_label in zip(thresholds["analyte"], thresholds["value"], thresholds["label"])
    ]
    return relabelled


def _band(x0, x1, fill: str, name: str, **line) -> dict:
    """A full-height band across every row (paper y), below the data."""
    return dict(
        type="rect",
        xref="x",
        yref="paper",
        x0=x0,
        x1=x1,
        y0=0,
        y1=1,
        fillcolor=fill,
        line=dict(width=line.get("width", 0), color=line.get("color"), dash=line.get("dash")),
        layer="below",
        name=name,
    )


def _cycle_bands(patient: dict, *, as_of: dt.date, until: dt.date, scale: float) -> tuple[list[dict], list[dict]]:
    """Dosing days up to as_of, the calendar continued forward to `until` (planned dosing days, while the
    course is not held or stopped), cycle starts with their C1, C2 labels, and hold spans (paper y)."""
    shapes: list[dict] = []
    notes: list[dict] = []
    planned = patient.get("status") in (None, "on_treatment", "review")
    for c in timeline.cycle_table(patient, as_of=as_of, until=until).itertuples(index=False):
        start, dosing_end = cast(dt.date, c.start), cast(dt.date, c.dosing_end)  # the cycle table's dates
        if start < as_of:
            shapes.append(_band(start, min(dosing_end, as_of), DOSING_FILL, "dosing days"))
        if planned and dosing_end > as_of:
            shapes.append(
                _band(
                    max(start, as_of),
                    dosing_end,
                    PLANNED_FILL,
                    "planned dosing days",
                    width=1,
                    color="#66bb6a",
                    dash="dot",
                )
            )
        shapes.append(
            dict(
                type="line",
                xref="x",
                yref="paper",
                x0=c.start,
                x1=c.start,
                y0=0,
                y1=1,
                line=dict(color="#9e9e9e", width=1, dash="dot"),
                layer="below",
                name="cycle start",
            )
        )
        notes.append(_top_note(c.start, f"C{c.cycle}", "#616161", scale=scale))
    for h in timeline.hold_spans(patient, as_of=as_of).itertuples(index=False):
        shapes.append(_band(h.start, h.end, HOLD_FILL, "hold"))
    return shapes, notes


def _top_note(x, text: str, colour: str, *, scale: float, xanchor: str = "left") -> dict:
    return dict(
        xref="x",
        yref="paper",
        x=x,
        y=1.0,
        yanchor="bottom",
        xanchor=xanchor,
        text=text,
        showarrow=False,
        font=dict(size=SMALL * scale, color=colour),
    )


def _resume_bands(
    fig: go.Figure, shown: list[Panel], patient: dict, *, as_of: dt.date, until: dt.date
) -> tuple[list[dict], list[dict]]:
    """While held: each count the engine's resume plan waits for, shaded from the axis floor up to its resume
    threshold, from the hold's start to the window's end (the count has to climb out of the band)."""
    plan = patient.get("resume_plan") if patient.get("status") == "held" else None
    if not plan:
        return [], []
    rows = _panel_rows(fig, shown)
    since = as_date(plan.get("since")) or as_of
    shapes = []
    for cond in plan.get("when") or []:
        analyte = cond.get("analyte")
        if analyte not in rows or cond.get("value") is None:
            continue
        xref, yref = rows[analyte]
        floor = (fig.layout[yref.replace("y", "yaxis")].range or (0,))[0]
        shapes.append(
            dict(
                type="rect",
                xref=xref,
                yref=yref,
                x0=since,
                x1=max(until, as_of),
                y0=floor,
                y1=float(cond["value"]),
                fillcolor=RESUME_FILL,
                line=dict(width=0),
                layer="below",
                name=f"resume band {analyte}",
            )
        )
    return shapes, []


def _anchor(x: dt.date, window: tuple[dt.date, dt.date] | None, *, past: float) -> str:
    """'left' (the label reads rightwards from `x`), or 'right' when `x` lies beyond the fraction `past` of
    the window, so a label near the right edge is not cut off."""
    if window is None or window[1] <= window[0]:
        return "left"
    return "right" if (x - window[0]).days / (window[1] - window[0]).days > past else "left"


def _today_line(
    as_of: dt.date, *, window: tuple[dt.date, dt.date] | None, scale: float
) -> tuple[list[dict], list[dict]]:
    """The as-of date (the dashboard's today) as a solid line across every row, labelled at the top."""
    line = dict(
        type="line",
        xref="x",
        yref="paper",
        x0=as_of,
        x1=as_of,
        y0=0,
        y1=1,
        line=dict(color=TODAY_COLOUR, width=2),
        name="today",
    )
    # to the right of the line where there is room (the past side carries the cycle labels); one short word,
    # which fits in the two weeks every window runs on past today
    anchor = _anchor(as_of, window, past=0.9)
    text = " today" if anchor == "left" else "today "
    note = _top_note(as_of, text, TODAY_COLOUR, scale=scale, xanchor=anchor)
    note["yshift"] = 18 * scale  # one line above the cycle labels (a cycle that started days ago)
    return [line], [note]


def _due_marks(
    due: pd.DataFrame | None, *, window: tuple[dt.date, dt.date] | None, scale: float
) -> tuple[list[dict], list[dict]]:
    """Each upcoming date (next CBC, marrow biopsy, pregnancy test) as a dotted line where it falls, labelled
    at the top of the first lab panel; an overdue one in red at the date it fell due. A date outside the
    window keeps its label at the window's edge, with an arrow towards it."""
    shapes: list[dict] = []
    notes: list[dict] = []
    rows = [] if due is None else [r for r in due.itertuples(index=False) if as_date(r.due) is not None]
    for k, r in enumerate(rows):
        when = cast(dt.date, as_date(r.due))
        colour = OVERDUE_RED if bool(r.overdue) else DUE_COLOUR
        text = f"{r.what} overdue since {when:%d %b}" if bool(r.overdue) else f"{r.what} {when:%a %d %b}"
        x, anchor = when, _anchor(when, window, past=0.6)
        if window is not None and when < window[0]:
            x, text = window[0], "\u25c0 " + text
        elif window is not None and when > window[1]:
            x, anchor, text = window[1], "right", text + " \u25b6"
        shapes.append(
            dict(
                type="line",
                xref="x",
                yref="paper",
                x0=when,
                x1=when,
                y0=0,
                y1=1,
                line=dict(color=colour, width=2, dash="dot"),
                name=f"due {r.what}",
            )
        )
        notes.append(
            dict(
                xref="x",
                yref="y2 domain",
                x=x,
                xanchor=anchor,
                y=1 - 0.16 * (k % 4),
                yanchor="top",
                text=f"<b>{text}</b>" if bool(r.overdue) else text,
                showarrow=False,
                bgcolor="rgba(255,255,255,0.85)",
                font=dict(size=SMALL * scale, color=colour),
            )
        )
    return shapes, notes


def _style_timeline(
    fig: go.Figure,
    shown: list[Panel],
    *,
    window: tuple[dt.date, dt.date] | None,
    scale: float,
    compact: bool,
    height: int | None,
) -> None:
    """Size, type (14 px at least), spikes, grid and the window's x range."""
    heights = _row_heights(shown, compact=compact)
    x_range = list(window) if window else None
    fig.update_xaxes(range=x_range, showspikes=True, spikemode="across", spikethickness=1, spikecolor="#999")
    fig.update_layout(
        height=height or int(sum(heights) * scale) + (70 if compact else 110),
        margin=dict(l=70, r=20, t=60 if compact else 70, b=45),
        font=dict(size=FONT["size"] * scale),
        hovermode="closest",
        plot_bgcolor="white",
        # the dose row's markers (actions, events) in one line above the cycle labels, from the left; "normal"
        # order: the lab traces' legend groups made it "grouped", one row per item, down over the cycle labels
        legend=dict(
            orientation="h",
            traceorder="normal",
            y=1,
            yanchor="top",
            x=0,
            xanchor="left",
            font=dict(size=SMALL * scale),
            yref="container",
        ),
        hoverlabel=dict(font_size=15 * scale),
    )
    fig.update_yaxes(gridcolor="#eeeeee", zeroline=False, tickformat="~g", title_font=dict(size=SMALL * scale))


def cycle_colours(n: int) -> list[str]:
    """`n` colours from an ordered (sequential) blue palette, oldest lightest, latest darkest; the
    light end is cut off so the oldest cycle stays visible on white."""
    if n <= 0:
        return []
    points = [0.35 + 0.65 * i / max(n - 1, 1) for i in range(n)] if n > 1 else [1.0]
    return plotly.colors.sample_colorscale("Blues", points)


def cycle_overlay_figure(
    overlay: pd.DataFrame, analyte: str, *, thresholds: pd.DataFrame | None = None, last_n: int = 6
) -> go.Figure:
    """Counts by day of cycle, one line per cycle (the latest `last_n`), for nadir and recovery.
    overlay: results.cycle_overlay(...). thresholds as in patient_timeline."""
    fig = go.Figure()
    cycles = sorted(overlay["cycle"].dropna().unique())[-last_n:]
    colours = cycle_colours(len(cycles))
    for n, cycle in enumerate(cycles):
        grp = overlay[overlay["cycle"] == cycle]
        latest = n == len(cycles) - 1
        fig.add_trace(
            go.Scatter(
                x=grp["cycle_day"],
                y=grp["value"],
                mode="lines+markers",
                name=f"Cycle {int(cycle)}",
                line=dict(width=4 if latest else 2.5, color=colours[n]),
                opacity=1.0 if latest else 0.8,
                # fill and shape = CTCAE grade, outline = the cycle's colour, so the legend still names the cycle
                marker=dict(
                    size=11,
                    color=[grade_colour(g) for g in grp["grade"]],
                    symbol=[grade_symbol(g) for g in grp["grade"]],
                    line=dict(color=colours[n], width=2),
                ),
                hovertemplate=f"Cycle {int(cycle)} day %{{x}}: %{{y:g}}<extra></extra>",
            )
        )
    name, unit = analyte_label(analyte), analyte_unit(analyte)
    if thresholds is not None and len(thresholds):
        for t in thresholds[thresholds["analyte"] == analyte].itertuples(index=False):
            fig.add_hline(
                y=t.value,
                line=dict(color="#c62828", dash="dash"),
                annotation_text=getattr(t, "label", "") or f"{t.value:g}",
                annotation_position="top right",
            )
    # The rest days of the 21/28 schedule, shaded on every overlay (a 28/28 course doses through them).
    rest_from = dosing_days("21/28") + 1
    fig.add_vrect(
        x0=rest_from - 0.5,
        x1=CYCLE_DAYS + 0.5,
        fillcolor="rgba(120,120,120,0.08)",
        line_width=0,
        annotation_text=f"days {rest_from}-{CYCLE_DAYS} (rest on 21/28)",
        annotation_position="top left",
    )
    fig.update_layout(
        height=420,
        font=FONT,
        plot_bgcolor="white",
        margin=dict(l=60, r=30, t=40, b=50),
        xaxis=dict(title="day of cycle", range=[0.5, CYCLE_DAYS + 0.5], dtick=7, gridcolor="#eeeeee"),
        yaxis=dict(title=f"{name} {unit}", gridcolor="#eeeeee"),
        legend=dict(orientation="h", y=1.08),
    )
    return fig


def figure_html(fig: go.Figure, *, include_plotlyjs: bool | str = True) -> str:
    """An HTML fragment of the interactive figure; include_plotlyjs=True inlines plotly.js so the
    fragment works offline (the visit summary is one self-contained file)."""
    return fig.to_html(
        full_html=False, include_plotlyjs=include_plotlyjs, config={"displaylogo": False, "responsive": True}
    )


def without_event_details(fig: go.Figure) -> go.Figure:
    """Copy of a timeline whose event hover text keeps only the event kind (free-text details can
    name other people), for the visit view and its export."""
    out = go.Figure(fig)
    for trace in out.data:
        if trace.name in EVENT_LABELS.values():
            trace.text = [trace.name] * len(trace.x)
    return out
