"""Self-contained HTML visit summary (one patient, no MRN, no name, no birth date) for export."""

from __future__ import annotations

import datetime as dt
import html
from typing import cast

import pandas as pd

from lenadash.dashboard.cards import days_or_none, in_days_text
from lenadash.dashboard.present import ACTION_TONES, GRADE_FILLS, grading_name

PRINT_CSS = """
body {font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; font-size: 18px; color: #1a1a1a;
      margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem}
h1 {font-size: 2.2rem; margin: 0} h2 {font-size: 1.5rem; margin: 1.4rem 0 .4rem}
.sub {font-size: 1.2rem; color: #444; margin: .2rem 0 1rem}
.sample {background: #fff3cd; border: 2px solid #e0a800; padding: .4rem .8rem; font-weight: 700}
.card {border: 2px solid #9e9e9e; border-radius: 10px; padding: .8rem 1.1rem; margin: .8rem 0}
.card h2 {margin: 0 0 .3rem; font-size: 1.9rem}
.hold {background: #fdecea; border-color: #c62828} .review {background: #fff4e5; border-color: #ef6c00}
.ok {background: #edf7ed; border-color: #2e7d32}
.stale {background: #fff8e1; border-color: #b26a00; border-style: dashed}
.src {font-size: .95rem; color: #444}
table {border-collapse: collapse; font-size: .95rem}
.flowsheet {overflow-x: auto; max-width: 100%} th, td {border: 1px solid #ccc; padding: 3px 7px; text-align: right}
th {background: #f4f4f4} td.name {text-align: left; font-weight: 600}
.overdue {color: #b71c1c; font-weight: 700}
.figure {page-break-inside: avoid; break-inside: avoid}
footer {margin-top: 2rem; font-size: .85rem; color: #555}
@media print {
  body {margin: 0; max-width: none; font-size: 12pt}
  .no-print {display: none}
  .modebar, .modebar-container {display: none !important}
  h2 {page-break-after: avoid}
  table {page-break-inside: auto} tr {page-break-inside: avoid}
  .flowsheet {overflow: visible}
  .flowsheet table {width: 100%; table-layout: fixed; font-size: 8.5pt}
  .flowsheet th, .flowsheet td {padding: 2px 3px; overflow-wrap: anywhere}
  .flowsheet th:first-child {width: 17%}
  @page {size: A4 landscape; margin: 12mm}
}
"""

# The printed flowsheet: the latest draws only, so that the columns fit an A4 landscape page at a
# readable size (the dashboard's flowsheet has every draw).
FLOWSHEET_MAX_DRAWS = 10


def patient_for_visit(patient: dict) -> dict:
    """The patient as the visit view charts it: each draw without its reasons, so hover text says the
    action ("Hold") but not the rule ids and label sections the reasons name (they are the clinician's)."""
    return {**patient, "draws": [{**d, "reasons": []} for d in patient.get("draws") or []]}


def _e(text) -> str:
    return html.escape(str(text))


def _flowsheet_table(values: pd.DataFrame, grades: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in values.columns)
    body = []
    for name in values.index:
        cells = []
        for col in values.columns:
            # flowsheet cells: values are numbers (NaN when not measured), grades numbers or None
            v, g = cast(float, values.at[name, col]), cast("float | None", grades.at[name, col])
            fill = GRADE_FILLS.get(None if g is None or pd.isna(g) else int(g), "#fff")
            cells.append(f'<td style="background:{fill}">{"" if pd.isna(v) else f"{v:g}"}</td>')
        body.append(f'<tr><td class="name">{_e(name)}</td>{"".join(cells)}</tr>')
    return f"<table><tr><th>analyte</th>{head}</tr>{''.join(body)}</table>"


def _card_html(card: dict) -> str:
    """The next-action card (cards.next_action): headline (stale advice said first), resume line and the
    notices' texts; as in the visit view, not the reasons (they name rule ids and label sections), no
    rule ids and no source (the patient reads it)."""
    notices = card.get("notices") or [{"text": a, "severity": "action"} for a in card.get("alerts") or []]
    alerts = "".join(
        f"<li>{_e(n['text'])}</li>" if n.get("severity") == "info" else f"<li><b>{_e(n['text'])}</b></li>"
        for n in notices
        if n.get("text")
    )
    card_class, headline, overdue = ACTION_TONES.get(card.get("action") or "", ""), card.get("headline", ""), ""
    if card.get("overdue"):  # stale advice: not a plain green continue (cards.next_action)
        overdue = f'<p class="overdue">{_e(card["overdue"])}. Draw a CBC before acting on this advice.</p>'
        headline = f"Last advice: {headline}"
        card_class = "stale" if card_class in ("ok", "") else card_class
    resume = f"<p><b>{_e(card['resume'])}</b></p>" if card.get("resume") else ""
    return f'<div class="card {card_class}">{overdue}<h2>{_e(headline)}</h2>{resume}\n<ul>{alerts}</ul></div>'


def _dates_html(upcoming: pd.DataFrame) -> str:
    return (
        "".join(
            f"<li><b>{_e(r.what)}</b>: {r.due:%a %d %b %Y}"
            + (' <span class="overdue">OVERDUE</span>' if r.overdue else f" ({in_days_text(days_or_none(r.in_days))})")
            + (f'<br><span class="src">{_e(r.why)}</span>' if r.why else "")
            + "</li>"
            for r in upcoming.itertuples(index=False)
        )
        or "<li>None scheduled.</li>"
    )


def _flowsheet_html(flowsheet: tuple[pd.DataFrame, pd.DataFrame]) -> str:
    """The latest FLOWSHEET_MAX_DRAWS draws of the flowsheet, with a note when there are more."""
    values, grades = flowsheet
    n_draws = len(values.columns)
    if not n_draws:
        return "<p>No draws.</p>"
    keep = list(values.columns[:FLOWSHEET_MAX_DRAWS])  # newest first (results.flowsheet)
    note = (
        f'<p class="src">The latest {FLOWSHEET_MAX_DRAWS} of {n_draws} draws; the dashboard shows them all.</p>'
        if n_draws > FLOWSHEET_MAX_DRAWS
        else ""
    )
    return f'{note}<div class="flowsheet">{_flowsheet_table(values[keep], grades[keep])}</div>'


def visit_summary_html(
    *,
    identity: dict,
    indication: str,
    cycle_text: str,
    as_of: dt.date,
    card: dict,
    upcoming: pd.DataFrame,
    flowsheet: tuple[pd.DataFrame, pd.DataFrame],
    figures: list[tuple[str, str]],
    sample: bool = False,
    grading: str | None = None,
) -> str:
    """One HTML file for the visit: initials and age (identity from cards.visit_identity), the next
    action with its resume line and the notices' texts, upcoming dates, figures (charts.figure_html fragments, the
    first with plotly.js inline) and the flowsheet. Carries no MRN, name or birth date."""
    age = f", {identity['age']} y" if identity.get("age") is not None else ""
    sex = f", {identity['sex']}" if identity.get("sex") else ""
    figs = "".join(f'<div class="figure"><h2>{_e(t)}</h2>{frag}</div>' for t, frag in figures)
    banner = '<p class="sample">SAMPLE CLINIC - synthetic data</p>' if sample else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Visit summary {_e(identity.get("initials", ""))} {as_of:%Y-%m-%d}</title>
<style>{PRINT_CSS}</style></head><body>
{banner}
<h1>{_e(identity.get("initials", "Patient"))}{_e(age)}{_e(sex)}</h1>
<p class="sub">{_e(indication)} - {_e(cycle_text)} - as of {as_of:%d %B %Y}</p>
{_card_html(card)}
<h2>Upcoming</h2><ul>{_dates_html(upcoming)}</ul>
{figs}
<h2>Flowsheet (colour = {_e(grading_name(grading))} grade)</h2>{_flowsheet_html(flowsheet)}
<footer>lenadash visit summary. Grades: {_e(grading_name(grading))}; dose rules: lenalidomide label.
A clinician decides.
<span class="no-print"> Print with your browser (landscape).</span></footer>
</body></html>
"""
