"""Plotly figure builders for the dashboard (DataFrames/dicts in, go.Figure out)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lenadash.dashboard import timeline
from lenadash.dashboard.present import EVENT_LABELS, analyte_label, analyte_unit, grade_colour
from lenadash.dashboard.results import draws_frame
from lenadash.vocab.course import CYCLE_DAYS, dosing_days


@dataclass(frozen=True)
class Panel:
    """One row of the patient timeline: analytes on the left axis, optional ones on the right."""

    key: str
    title: str
    left: tuple[str, ...]
    right: tuple[str, ...] = ()
    right_title: str = ""
    height: int = 170


def _axis_title(analytes: tuple[str, ...], name: str | None = None) -> str:
    """'Platelets 10^9/L': the analytes' labels (or a shorter `name`) and their shared canonical unit."""
    return f"{name or '/'.join(analyte_label(a) for a in analytes)} {analyte_unit(analytes[0])}"


# Rows of the shared-time-axis figure, top to bottom (the dose row is drawn separately). "Hgb": the
# panel titles are short; CrCl is computed here, not an analyte, so its unit is its own.
PANELS: tuple[Panel, ...] = (
    Panel("anc", _axis_title(("anc",)), ("anc",)),
    Panel("plt", _axis_title(("plt",)), ("plt",)),
    Panel("hgb", _axis_title(("hgb",), "Hgb"), ("hgb",)),
    Panel("wbc", _axis_title(("wbc",)), ("wbc",)),
    Panel("renal", _axis_title(("creatinine",)), ("creatinine",), ("crcl",), "CrCl mL/min"),
    Panel(
        "liver", _axis_title(("ast", "alt", "alp")), ("ast", "alt", "alp"), ("bilirubin",), _axis_title(("bilirubin",))
    ),
)
DOSE_ROW_HEIGHT = 150

LINE_COLOURS = {
    "anc": "#1f4e79",
    "plt": "#1f4e79",
    "hgb": "#1f4e79",
    "wbc": "#1f4e79",
    "creatinine": "#1f4e79",
    "crcl": "#8d6e63",
    "ast": "#1f4e79",
    "alt": "#00897b",
    "alp": "#5e35b1",
    "bilirubin": "#8d6e63",
}

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

HOLD_FILL = "rgba(198, 40, 40, 0.13)"
DOSING_FILL = "rgba(46, 125, 50, 0.06)"
FONT = dict(size=16)


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
    return [
        [
            (rv or f"{v:g}"),
            (ru or u),
            _ref_text(lo, hi),
            "not graded" if pd.isna(g) else f"grade {int(g)}",
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
    "<b>%{fullData.name}</b> %{customdata[0]} %{customdata[1]}<br>%{customdata[5]}"
    "<br>reference %{customdata[2]} - %{customdata[3]}<br>%{customdata[4]}<extra></extra>"
)


def _analyte_trace(df: pd.DataFrame, analyte: str, *, secondary: bool = False, scale: float = 1.0) -> go.Scatter:
    name = analyte_label(analyte, analyte.upper())
    colours = [grade_colour(g) for g in df["grade"]]
    return go.Scatter(
        x=df["date"],
        y=df["value"],
        name=name,
        mode="lines+markers",
        line=dict(color=LINE_COLOURS.get(analyte, "#1f4e79"), width=2, dash="dot" if secondary else "solid"),
        marker=dict(color=colours, size=11 * scale, line=dict(color="white", width=1)),
        customdata=_hover_frame(df),
        hovertemplate=HOVER,
        legendgroup=analyte,
        showlegend=False,
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
    panels: tuple[Panel, ...] = PANELS,
    large: bool = False,
) -> go.Figure:
    """The patient's labs on one shared time axis over treatment cycles.

    results: results.results_long(...). thresholds: rows (analyte, value, label, source) - the label
    thresholds that apply to this course (dosing.thresholds); None draws none. events: the events
    contract (date, event, value, detail). crcl: (date, crcl_ml_min) per creatinine draw.
    window: x-axis range; None shows everything. large: bigger type and markers (visit view).
    """
    scale = 1.25 if large else 1.0
    shown = _shown_panels(results, crcl, panels)
    fig = _timeline_grid(shown)
    _add_dose_row(fig, patient, as_of=as_of, events=events, window=window)
    _add_lab_rows(fig, shown, results, crcl=crcl, scale=scale)
    shapes, notes = _threshold_lines(fig, shown, thresholds, scale=scale)
    cycle_shapes, cycle_notes = _cycle_bands(patient, as_of=as_of, scale=scale)
    fig.update_layout(shapes=shapes + cycle_shapes, annotations=list(fig.layout.annotations) + notes + cycle_notes)
    _style_timeline(fig, shown, window=window, scale=scale)
    return fig


def _shown_panels(results: pd.DataFrame, crcl: pd.DataFrame | None, panels: tuple[Panel, ...]) -> list[Panel]:
    """The panels with something to draw (the renal one also for CrCl alone); the first panel when none has."""
    return [
        p
        for p in panels
        if results["analyte"].isin(p.left + p.right).any() or (p.key == "renal" and crcl is not None and len(crcl))
    ] or list(panels[:1])


def _timeline_grid(shown: list[Panel]) -> go.Figure:
    """Empty rows on a shared x axis: the dose row, then one row per panel (a right axis where it has one)."""
    heights = [DOSE_ROW_HEIGHT] + [p.height for p in shown]
    return make_subplots(
        rows=len(heights),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.032,
        row_heights=heights,
        subplot_titles=[""] + [p.title for p in shown],
        specs=[[{"secondary_y": False}]] + [[{"secondary_y": bool(p.right)}] for p in shown],
    )


def _in_window(dates, window: tuple[dt.date, dt.date] | None) -> bool:
    """A marker trace earns a legend entry only when one of its points is in the visible window."""
    if window is None:
        return True
    when = pd.to_datetime(pd.Series(list(dates)))
    return bool(((when >= pd.Timestamp(window[0])) & (when <= pd.Timestamp(window[1]))).any())


def _add_dose_row(
    fig: go.Figure,
    patient: dict,
    *,
    as_of: dt.date,
    events: pd.DataFrame | None,
    window: tuple[dt.date, dt.date] | None,
) -> None:
    """Row 1: dose steps, then engine actions at half height and clinical events above the dose."""
    steps = timeline.dose_steps(patient, as_of=as_of)
    if len(steps):
        fig.add_trace(
            go.Scatter(
                x=steps["date"],
                y=steps["dose_mg"],
                name="Dose",
                mode="lines",
                line=dict(shape="hv", color="#1f4e79", width=3),
                hovertemplate="%{x|%d %b %Y}: %{y:g} mg<extra>dose</extra>",
                showlegend=False,
            ),
            row=1,
            col=1,
        )
    dmax = float(steps["dose_mg"].max()) if len(steps) and steps["dose_mg"].notna().any() else 25.0
    _add_action_markers(fig, draws_frame(patient), y=dmax * 0.5, window=window)
    if events is not None and len(events):
        _add_event_markers(fig, events, y=dmax * 1.25, window=window)
    fig.update_yaxes(range=[-1, dmax * 1.45], row=1, col=1, title_text="dose mg", nticks=4)


def _add_action_markers(
    fig: go.Figure, draws: pd.DataFrame, *, y: float, window: tuple[dt.date, dt.date] | None
) -> None:
    """One marker trace per engine action (hold, stop, resume, review), its recommendation on hover; a stop
    is marked where it starts (every later draw is a stop too, until the clinician restarts)."""
    repeated_stop = draws["action"].eq("stop") & draws["action"].shift().eq("stop")
    for action, (symbol, colour, label) in ACTION_MARKERS.items():
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


def _crcl_trace(crcl: pd.DataFrame) -> go.Scatter:
    return go.Scatter(
        x=pd.to_datetime(crcl["date"]),
        y=crcl["crcl_ml_min"],
        name="CrCl",
        mode="lines+markers",
        line=dict(color=LINE_COLOURS["crcl"], dash="dot"),
        marker=dict(size=7, color=LINE_COLOURS["crcl"]),
        hovertemplate="<b>CrCl</b> %{y:.0f} mL/min (Cockcroft-Gault)<br>%{x|%d %b %Y}<extra></extra>",
        showlegend=False,
    )


def _add_lab_rows(
    fig: go.Figure, shown: list[Panel], results: pd.DataFrame, *, crcl: pd.DataFrame | None, scale: float
) -> None:
    """Rows 2..: each panel's analytes on the left axis, its right-axis ones (and CrCl) dotted on the right."""
    by_analyte = {a: g for a, g in results.groupby("analyte", sort=False)}
    for i, panel in enumerate(shown, start=2):
        for analyte in panel.left:
            if analyte in by_analyte:
                fig.add_trace(_analyte_trace(by_analyte[analyte], analyte, scale=scale), row=i, col=1)
        for analyte in panel.right:
            if analyte == "crcl" and crcl is not None and len(crcl):
                fig.add_trace(_crcl_trace(crcl), row=i, col=1, secondary_y=True)
            elif analyte in by_analyte:
                fig.add_trace(
                    _analyte_trace(by_analyte[analyte], analyte, secondary=True, scale=scale),
                    row=i,
                    col=1,
                    secondary_y=True,
                )
        if panel.right:
            fig.update_yaxes(
                title_text=panel.right_title,
                row=i,
                col=1,
                secondary_y=True,
                showgrid=False,
                tickmode="auto",
                nticks=4,
                tickformat="~g",
            )


def _threshold_lines(
    fig: go.Figure, shown: list[Panel], thresholds: pd.DataFrame | None, *, scale: float
) -> tuple[list[dict], list[dict]]:
    """The course's label thresholds as dashed lines (shapes) with their labels (annotations), each on
    its analyte's row and axis; analytes not shown are skipped."""
    row_of = {a: (i, a in p.right) for i, p in enumerate(shown, start=2) for a in p.left + p.right}
    shapes: list[dict] = []
    notes: list[dict] = []
    for t in thresholds.itertuples(index=False) if thresholds is not None and len(thresholds) else ():
        analyte, value = cast(str, t.analyte), cast(float, t.value)  # the thresholds frame's columns
        if analyte not in row_of:
            continue
        row, right = row_of[analyte]
        sub = fig.get_subplot(row, 1, secondary_y=right) if right else fig.get_subplot(row, 1)
        yref = sub.yaxis.plotly_name.replace("axis", "")
        xref = sub.xaxis.plotly_name.replace("axis", "")
        label = getattr(t, "label", "") or f"{value:g}"
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
                x=1,
                xanchor="right",
                yref=yref,
                y=value,
                yanchor="bottom",
                text=f"{label}",
                showarrow=False,
                font=dict(size=12 * scale, color="#c62828"),
            )
        )
    return shapes, notes


def _cycle_bands(patient: dict, *, as_of: dt.date, scale: float) -> tuple[list[dict], list[dict]]:
    """Dosing days, cycle starts (with their C1, C2 labels) and hold spans across every row (paper y)."""
    shapes: list[dict] = []
    notes: list[dict] = []
    for c in timeline.cycle_table(patient, as_of=as_of).itertuples(index=False):
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="paper",
                x0=c.start,
                x1=c.dosing_end,
                y0=0,
                y1=1,
                fillcolor=DOSING_FILL,
                line=dict(width=0),
                layer="below",
                name="dosing days",
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
        notes.append(
            dict(
                xref="x",
                yref="paper",
                x=c.start,
                y=1.0,
                yanchor="bottom",
                xanchor="left",
                text=f"C{c.cycle}",
                showarrow=False,
                font=dict(size=12 * scale, color="#616161"),
            )
        )
    for h in timeline.hold_spans(patient, as_of=as_of).itertuples(index=False):
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="paper",
                x0=h.start,
                x1=h.end,
                y0=0,
                y1=1,
                fillcolor=HOLD_FILL,
                line=dict(width=0),
                layer="below",
                name="hold",
            )
        )
    return shapes, notes


def _style_timeline(
    fig: go.Figure, shown: list[Panel], *, window: tuple[dt.date, dt.date] | None, scale: float
) -> None:
    """Size, type, spikes, grid and the window's x range; panel titles left-aligned above their rows."""
    heights = [DOSE_ROW_HEIGHT] + [p.height for p in shown]
    x_range = list(window) if window else None
    fig.update_xaxes(range=x_range, showspikes=True, spikemode="across", spikethickness=1, spikecolor="#999")
    fig.update_layout(
        height=int(sum(heights) * scale) + 120,
        margin=dict(l=70, r=95, t=50, b=40),
        font=dict(size=FONT["size"] * scale),
        hovermode="closest",
        plot_bgcolor="white",
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0.3, font=dict(size=13)),
        hoverlabel=dict(font_size=15 * scale),
    )
    fig.update_yaxes(gridcolor="#eeeeee", zeroline=False, tickformat="~g")
    for ann in fig.layout.annotations[: len(shown)]:
        ann.update(font=dict(size=14 * scale), x=0, xanchor="left")


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
                # fill = CTCAE grade, outline = the cycle's colour, so the legend still names the cycle
                marker=dict(
                    size=10, color=[grade_colour(g) for g in grp["grade"]], line=dict(color=colours[n], width=2)
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
