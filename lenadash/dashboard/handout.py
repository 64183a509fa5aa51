"""The patient's one-page handout: plain-language summary, next dates and an inline SVG count chart (print CSS)."""

# One HTML file that prints on one A4 or Letter page and stays well under 1 MB: no plotly.js, the chart is a
# static SVG drawn with matplotlib (the only matplotlib importer; text kept as text, so it stays small and
# searchable). Carries initials and age only - no name, MRN or birth date - and the patient's words
# (patient_words), never the clinician's rule ids or label sections. The clinician's export with its
# citations is visit.visit_summary_html.

from __future__ import annotations

import datetime as dt
import html
import io

import pandas as pd

from lenadash.dashboard import cards, timeline
from lenadash.dashboard.assessed import as_date
from lenadash.dashboard.patient_words import COUNT_WORDS, PatientSummary

# The chart's panels: analyte, title, the fixed y range it starts from (expanded only for values above it).
PANELS = (("anc", "Neutrophils", 4.0), ("plt", "Platelets", 300.0))
HOLD_FILL = "#f6c9c9"
LINE = "#1f4e79"
THRESHOLD = "#b71c1c"
LOOK_AHEAD_DAYS = 42  # next dates within six weeks of today are drawn
# The chart prints at the page's width; its height gives way to text, so that the handout stays on one page.
CHART_WIDTH_IN = 7.2
CHART_HEIGHT_IN = (2.2, 5.0)  # (lowest, highest)
TEXT_LINES = 7  # lines of text (LINE_CHARS each) that fit beside the highest chart on a Letter page
LINE_CHARS = 80
INCH_PER_LINE = 0.25  # one more line of text: the chart this much lower (a line and its spacing, about 6.5 mm)
MAX_NOTES = 3  # more notes than this: the rest are counted, not listed (the screen and the clinician list all)
LABEL_DAYS = 14  # the axis ends two weeks after the last date drawn, room for its label

# The visit view's two downloads, told apart, and the warning beside them.
HANDOUT_LABEL = "Download patient handout (HTML, prints on one page)"
HANDOUT_NOTE = "For the patient: plain language, the next dates and the count chart on one A4 or Letter page."
CLINICIAN_LABEL = "Download care team summary with sources (HTML)"
CLINICIAN_NOTE = (
    "For the record: the advice with the sources it rests on, the results table and the interactive charts."
)
PHI_WARNING = (
    "Both files contain patient health information (initials, age, blood results and treatment dates): "
    "print the handout or hand it to the patient; do not email either file or leave it on a shared computer."
)

HANDOUT_CSS = """
@page {margin: 10mm}
html {font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; font-size: 12pt; color: #111}
body {margin: 1.5rem auto; max-width: 186mm; padding: 0 4mm}
h1 {font-size: 17pt; margin: 0} h2 {font-size: 16pt; margin: 0 0 1.5mm}
h3 {font-size: 13pt; margin: 0 0 1mm}
p, li {margin: 0 0 1mm; line-height: 1.25}
ul {margin: 0; padding-left: 6mm}
.clinic {font-size: 12pt; font-weight: 700; color: #333}
.sub {color: #333; margin: 0.5mm 0 2.5mm}
.sample {background: #fff3cd; border: 1.5pt solid #e0a800; padding: 1mm 3mm; font-weight: 700}
.action {border: 2pt solid #9e9e9e; border-radius: 3mm; padding: 3mm 4mm; margin-bottom: 3mm}
.hold {background: #fdecea; border-color: #c62828} .review {background: #fff4e5; border-color: #ef6c00}
.ok {background: #edf7ed; border-color: #2e7d32} .none {background: #f4f4f4}
.stale {background: #fff8e1; border-color: #b26a00; border-style: dashed}
.dates {margin-bottom: 2mm} .overdue {color: #b71c1c; font-weight: 700}
figure {margin: 0 0 2mm} figure svg {width: 100%; height: auto; display: block}
figcaption {font-size: 10pt; color: #333}
.notes {margin-bottom: 2mm} .notes li {font-size: 11pt}
footer {font-size: 9.5pt; color: #333; border-top: 1pt solid #bbb; padding-top: 1.5mm}
section, figure {break-inside: avoid; page-break-inside: avoid}
@media print {body {margin: 0; max-width: none; padding: 0} .no-print {display: none}}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def chart_window(patient: dict, *, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The handout chart's dates: the last three cycles (timeline.window_range) up to a few days after
    today, or after the next blood test, bone marrow or pregnancy test when one falls within six weeks
    (LABEL_DAYS beyond the last, so its label fits)."""
    start, _ = timeline.window_range("3 cycles", patient, as_of=as_of)
    ahead = [d for d in _next_dates(patient) if as_of <= d <= as_of + dt.timedelta(days=LOOK_AHEAD_DAYS)]
    return start, max([as_of, *ahead]) + dt.timedelta(days=LABEL_DAYS)


def _next_dates(patient: dict) -> list[dt.date]:
    days = [as_date(patient.get(k)) for k in ("next_labs_due", "next_marrow_biopsy", "next_pregnancy_test")]
    return [d for d in days if d is not None]


def threshold_lines(patient: dict, thresholds: pd.DataFrame | None) -> list[tuple[str, float, str]]:
    """(analyte, value, label) of each count line the clinician's chart draws (`thresholds`, the frame of
    ui.thresholds_for: the lines that apply now), labelled by what the course's rows (assess `thresholds`)
    do at that value: "pause 0.5", "restart 1.0", "pause / restart 30" (the caption says "may": a line
    can hold only for a week below it, or with fever)."""
    if thresholds is None or thresholds.empty:
        return []
    lines = []
    for analyte, value in zip(thresholds["analyte"], thresholds["value"]):
        if analyte not in COUNT_WORDS or pd.isna(value):
            continue
        kinds = {
            r.get("kind")
            for r in patient.get("thresholds") or []
            if r.get("analyte") == analyte and r.get("value") is not None and float(r["value"]) == float(value)
        }
        number = f"{value:.1f}" if float(value) < 10 else f"{value:g}"
        words = " / ".join(w for k, w in (("hold", "pause"), ("resume", "restart")) if k in kinds)
        lines.append((str(analyte), float(value), f"{words} {number}".strip()))
    return lines


def _series(patient: dict, analyte: str, window: tuple[dt.date, dt.date]) -> tuple[list[dt.date], list[float]]:
    """The draws' values of one count inside the window, oldest first."""
    days, values = [], []
    for d in patient.get("draws") or []:
        day, value = as_date(d.get("date")), (d.get("values") or {}).get(analyte)
        if day is not None and value is not None and window[0] <= day <= window[1]:
            days.append(day)
            values.append(float(value))
    return days, values


def _shade_holds(axes, spans: pd.DataFrame) -> None:
    for ax in axes:
        for s in spans.itertuples(index=False):
            ax.axvspan(s.start, s.end, color=HOLD_FILL, lw=0, zorder=0)


def _count_panel(ax, patient: dict, panel: tuple[str, str, float], lines, window) -> None:
    analyte, title, top = panel
    days, values = _series(patient, analyte, window)
    ax.plot(days, values, "-o", color=LINE, lw=2, ms=5, zorder=3)
    for day, value in list(zip(days, values))[-1:]:  # the latest value, written beside its point
        ax.annotate(f"{value:g}", (day, value), xytext=(5, 5), textcoords="offset points", fontsize=10, weight="bold")
    ax.set_ylim(0, max([top, *values]) * 1.12)
    above = None  # labels above their line; one close above another goes below its line instead
    for value, label in sorted(((v, lab) for a, v, lab in lines if a == analyte), reverse=True):
        ax.axhline(value, color=THRESHOLD, lw=1.4, ls="--", zorder=2)
        close = above is not None and above - value < 0.12 * ax.get_ylim()[1]
        ax.text(window[0], value, f" {label}", color=THRESHOLD, fontsize=9, va="top" if close else "bottom")
        above = value
    ax.set_title(f"{title} ({COUNT_WORDS[analyte][1]})", loc="left", fontsize=11, weight="bold")
    ax.grid(axis="y", color="#ddd", lw=0.6)


def _dose_steps(patient: dict, *, as_of: dt.date, stopped_on: dt.date | None = None) -> pd.DataFrame:
    """timeline.dose_steps with a known dose; a stop or hold recorded after the latest draw (the card's action,
    cards.card_action, while the steps still show a dose) drops to 0 mg today, so the strip never shows a dose
    the patient is told not to take."""
    steps = timeline.dose_steps(patient, as_of=as_of, stopped_on=stopped_on)
    steps = steps[steps["dose_mg"].notna()]
    if cards.card_action(patient) in timeline.NOT_DOSING and len(steps) and steps["dose_mg"].iloc[-1] > 0:
        steps = pd.concat([steps, pd.DataFrame([{"date": as_of, "dose_mg": 0.0, "action": "as_of"}])])
    return steps.reset_index(drop=True)


def _dose_panel(ax, patient: dict, *, as_of: dt.date, window, stopped_on: dt.date | None = None) -> None:
    """The dose over time as steps, 0 while paused or stopped (from the day it stopped), each new dose in mg."""
    steps = _dose_steps(patient, as_of=as_of, stopped_on=stopped_on)
    zero = " stopped" if cards.card_action(patient) == "stop" else " paused"
    if steps.empty:
        ax.set_yticks([])
        return
    before = steps[steps["date"] < window[0]]
    inside = steps[steps["date"] >= window[0]]
    if len(before):  # the dose in effect when the chart starts, then each step inside it
        inside = pd.concat([before.tail(1).assign(date=window[0]), inside])
    days, doses = list(inside["date"]), list(inside["dose_mg"])
    ax.step([*days, window[1]], [*doses, doses[-1]], where="post", color="#444", lw=2)
    previous = None
    for day, dose in zip(days, doses):
        if dose != previous and day <= window[1]:
            ax.text(day, dose, zero if dose == 0 else f" {dose:g} mg", fontsize=9, va="bottom")
        previous = dose
    ax.set_ylim(0, max(steps["dose_mg"]) * 1.6 or 1)
    ax.set_yticks([])
    ax.set_ylabel("Dose", fontsize=10)


def _mark_dates(axes, patient: dict, *, as_of: dt.date, window) -> None:
    """Today as a solid line, the next blood test as a dotted one (red when overdue; when it is on the chart)."""
    for ax in axes:
        ax.axvline(as_of, color="#111", lw=1.5)
    axes[0].text(as_of, axes[0].get_ylim()[1], " Today", fontsize=9, va="top", weight="bold")
    due = as_date(patient.get("next_labs_due"))
    if due is not None and window[0] <= due <= window[1] and due != as_of:
        colour, label = ("#b71c1c", " Blood test overdue") if due < as_of else ("#1565c0", " Next blood test")
        for ax in axes:
            ax.axvline(due, color=colour, lw=1.5, ls=":")
        axes[0].text(due, axes[0].get_ylim()[1] * 0.86, label, fontsize=9, va="top", color=colour)


# The chart's layout in inches (fixed, so no layout engine runs: it took half the drawing time): room for
# the left tick labels, a title above each count panel, the dose strip and the dates under it.
LAYOUT_IN = {"left": 0.5, "right": 0.12, "top": 0.26, "title": 0.34, "gap": 0.1, "strip": 0.42, "bottom": 0.28}


def _panel_axes(fig, height_in: float) -> list:
    """Neutrophils, platelets and the dose strip, stacked on one time axis (LAYOUT_IN)."""
    lay = LAYOUT_IN
    panel = (height_in - lay["top"] - lay["title"] - lay["gap"] - lay["strip"] - lay["bottom"]) / 2
    width = (CHART_WIDTH_IN - lay["left"] - lay["right"]) / CHART_WIDTH_IN
    left = lay["left"] / CHART_WIDTH_IN
    strip_bottom = lay["bottom"]
    plt_bottom = strip_bottom + lay["strip"] + lay["gap"]
    anc_bottom = plt_bottom + panel + lay["title"]
    strip = fig.add_axes((left, strip_bottom / height_in, width, lay["strip"] / height_in))
    plt_ax = fig.add_axes((left, plt_bottom / height_in, width, panel / height_in), sharex=strip)
    anc_ax = fig.add_axes((left, anc_bottom / height_in, width, panel / height_in), sharex=strip)
    for ax in (anc_ax, plt_ax):
        ax.tick_params(labelbottom=False)
    return [anc_ax, plt_ax, strip]


def chart_svg(
    patient: dict,
    *,
    as_of: dt.date,
    thresholds: pd.DataFrame | None = None,
    height_in: float = CHART_HEIGHT_IN[1],
    stopped_on: dt.date | None = None,
) -> str:
    """The two-panel count chart (neutrophils, platelets) with the pause/restart lines, paused spans shaded,
    today and the next blood test marked, and a dose strip underneath, as an inline <svg> element
    CHART_WIDTH_IN wide and `height_in` high (printed at the page's width). stopped_on: the day a stopped
    course stopped (cards.stop_date), where the dose strip drops."""
    import matplotlib
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    window = chart_window(patient, as_of=as_of)
    fig = Figure(figsize=(CHART_WIDTH_IN, height_in))
    axes = _panel_axes(fig, height_in)
    lines = threshold_lines(patient, thresholds)
    _shade_holds(axes, timeline.hold_spans(patient, as_of=as_of))
    for ax, panel in zip(axes, PANELS):
        _count_panel(ax, patient, panel, lines, window)
    _dose_panel(axes[2], patient, as_of=as_of, window=window, stopped_on=stopped_on)
    _mark_dates(axes, patient, as_of=as_of, window=window)
    axes[2].set_xlim(window[0], window[1])
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    for ax in axes:
        ax.tick_params(labelsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "lenadash-handout"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]  # inline: without the XML declaration and doctype


def printed_notes(summary: PatientSummary) -> list[str]:
    """The notes the handout lists: the first MAX_NOTES (most severe first), then how many more there are."""
    notes = summary.notes[:MAX_NOTES]
    if (more := len(summary.notes) - MAX_NOTES) > 0:
        notes.append(f"Your care team will also go through {more} more point{'s' if more > 1 else ''} with you.")
    return notes


def text_lines(summary: PatientSummary, *, clinic: str = "", sample: bool = False) -> int:
    """About how many printed lines the handout's text takes (LINE_CHARS a line; the sample banner two), chart
    and fixed parts aside. Measured against Chromium's print by tests/test_handout_browser.py."""
    texts = [*summary.sentences, summary.latest, *(d.text for d in summary.dates), *printed_notes(summary), clinic]
    return sum(-(-len(t.strip()) // LINE_CHARS) for t in texts) + (2 if sample else 0)


def chart_height(lines: int) -> float:
    """The chart's height in inches: the highest up to TEXT_LINES lines of text, lower by INCH_PER_LINE for
    each line more, never below the lowest."""
    low, high = CHART_HEIGHT_IN
    return round(min(high, max(low, high - INCH_PER_LINE * (lines - TEXT_LINES))), 2)


def _dates_html(summary: PatientSummary) -> str:
    items = "".join(
        f'<li class="overdue">{_e(d.text)}</li>' if d.overdue else f"<li><b>{_e(d.text)}</b></li>"
        for d in summary.dates
    )
    return f'<section class="dates"><h3>Your next dates</h3><ul>{items or "<li>None booked yet.</li>"}</ul></section>'


def handout_html(
    summary: PatientSummary,
    *,
    identity: dict,
    as_of: dt.date,
    chart: str,
    clinic: str = "",
    sample: bool = False,
) -> str:
    """The handout as one HTML file: the clinic's name (as written, escaped), initials and age
    (cards.visit_identity), the summary (patient_words.summary), the dates, the chart (chart_svg) and
    a footer that asks the patient to call with a fever, bleeding or bruising (US PI 17, Patient
    Counseling Information: hematologic toxicity). No MRN, name or birth date."""
    age = f", {identity['age']} years" if identity.get("age") is not None else ""
    sentences = "".join(f"<p>{_e(s)}</p>" for s in summary.sentences)
    latest = f"<p>{_e(summary.latest)}</p>" if summary.latest else ""
    notes = "".join(f"<li>{_e(n)}</li>" for n in printed_notes(summary))
    today = f"{as_of:%A} {as_of.day} {as_of:%B %Y}"
    notes_html = f'<section class="notes"><h3>Also</h3><ul>{notes}</ul></section>' if notes else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your visit summary {as_of:%d %B %Y}</title>
<style>{HANDOUT_CSS}</style></head><body>
{'<p class="sample">SAMPLE CLINIC - synthetic data</p>' if sample else ""}
{f'<p class="clinic">{_e(clinic.strip())}</p>' if clinic.strip() else ""}
<h1>Your lenalidomide visit summary</h1>
<p class="sub">{_e(identity.get("initials") or "Patient")}{_e(age)} - {today}</p>
<section class="action {_e(summary.tone)}"><h2>{_e(summary.headline)}</h2>{sentences}{latest}</section>
{_dates_html(summary)}
<figure>{chart}<figcaption>Counts in 10^9/L (thousand per microlitre). Red dashed lines: levels at which we may
pause or restart the capsules. Shaded: days the capsules were paused. Bottom strip: your dose.</figcaption></figure>
{notes_html}
<footer>This sheet holds your health information: keep it somewhere private. If you have a fever, bleeding or
bruising, or any question, call your care team. Made {today}.</footer>
</body></html>
"""


def patient_handout(
    patient: dict,
    *,
    identity: dict,
    as_of: dt.date,
    thresholds: pd.DataFrame | None = None,
    clinic: str = "",
    sample: bool = False,
    events: pd.DataFrame | None = None,
) -> str:
    """One assessed patient's handout (handout_html of patient_words.summary and chart_svg); `thresholds`
    are the lines the clinician's chart draws (ui.thresholds_for), `events` the recorded events (cards)."""
    from lenadash.dashboard import patient_words

    card = cards.next_action(patient, as_of=as_of, events=events)
    summary = patient_words.summary(patient, as_of=as_of, card=card)
    height = chart_height(text_lines(summary, clinic=clinic, sample=sample))
    stopped_on = cards.stop_date(patient, events=events, as_of=as_of)
    chart = (
        chart_svg(patient, as_of=as_of, thresholds=thresholds, height_in=height, stopped_on=stopped_on)
        if patient.get("draws")
        else ""
    )
    return handout_html(summary, identity=identity, as_of=as_of, chart=chart, clinic=clinic, sample=sample)


def summary_card_html(summary: PatientSummary) -> str:
    """The visit view's summary card (the dashboard's card styles, ui.CSS): headline, sentences, latest counts."""
    sentences = "".join(f"<p>{_e(s)}</p>" for s in summary.sentences)
    latest = f"<p>{_e(summary.latest)}</p>" if summary.latest else ""
    notes = "".join(f"<li>{_e(n)}</li>" for n in summary.notes)
    return (
        f'<div class="ld-card ld-{_e(summary.tone)}"><h2>{_e(summary.headline)}</h2>{sentences}{latest}'
        f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
    )


def dates_card_html(summary: PatientSummary) -> str:
    """The visit view's next dates card: each date line, overdue ones first in bold with their date."""
    items = "".join(
        f'<li><b style="color:#b71c1c">{_e(d.text)}</b></li>' if d.overdue else f"<li><b>{_e(d.text)}</b></li>"
        for d in summary.dates
    )
    return f'<div class="ld-card ld-none"><h2>Your next dates</h2><ul>{items or "<li>None booked yet.</li>"}</ul></div>'
