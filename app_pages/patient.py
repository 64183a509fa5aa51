"""Patient view: next action, labs over treatment cycles, cycle overlay and flowsheet."""

import pandas as pd
import streamlit as st

from lenadash.dashboard import cards, charts, present, results, timeline, ui

ui.sample_banner()
clinic = ui.clinic()
if clinic.empty:
    st.title("Patient")
    st.info("No patients yet: upload exports or explore the sample clinic from the Start page.")
    st.stop()

order = list(clinic.worklist["mrn"])
names = dict(zip(clinic.worklist["mrn"], clinic.worklist["name"]))
current = st.session_state.get(ui.PATIENT)
if current not in clinic.by_mrn:
    current = order[0]
mrn = st.selectbox(
    "Patient",
    order,
    index=order.index(current),
    key=f"patient_pick_{current}",
    format_func=lambda m: cards.patient_label(m, names.get(m)),
)
if mrn != st.session_state.get(ui.PATIENT):
    st.session_state[ui.PATIENT] = mrn
patient = clinic.patient(mrn)
ui.patient_opened(clinic, mrn)  # /patient?mrn=<this one>; no treatment course: review, Add course, stop
person = clinic.person(mrn)
ident = cards.visit_identity(person.get("name"), person.get("birth_date"), person.get("sex"), as_of=clinic.as_of)
row = clinic.worklist[clinic.worklist["mrn"] == mrn].iloc[0]

st.title(ui.plain(person.get("name") or mrn))
st.markdown("#### " + ui.plain(cards.header_line(mrn, patient, ident, cycle=row["cycle"], cycle_day=row["cycle_day"])))

left, right = st.columns([3, 2], gap="large")
with left:
    ui.next_action_card(
        cards.next_action(patient, rules=clinic.result.get("rules", ""), as_of=clinic.as_of, events=clinic.events)
    )
    ui.upcoming_card(cards.upcoming(patient, as_of=clinic.as_of))
with right:
    m1, m2, m3 = st.columns(3)
    m1.metric("Dose now", cards.dose_text(patient))
    for col, key in ((m2, "anc"), (m3, "plt")):
        grade = row[f"{key}_grade"]
        col.metric(
            present.analyte_label(key) + (f" (G{grade})" if pd.notna(grade) and grade else ""),
            "-" if pd.isna(row[key]) else f"{row[key]:g}",
        )
    if st.button("Visit view (screen share)", key="to_visit", icon=":material/co_present:", width="stretch"):
        st.switch_page(ui.PAGES["visit"], query_params={"visit": "1"})
    if st.button("Record an event or edit the course", key="to_setup", width="stretch"):
        st.switch_page(ui.PAGES["setup"])
    ui.grade_legend(clinic.result.get("grading"))

preset = st.segmented_control("Time window", timeline.WINDOW_PRESETS, default="3 cycles", key="window") or "3 cycles"
window = timeline.window_range(preset, patient, as_of=clinic.as_of)
if note := timeline.empty_window_note(preset, patient, window, as_of=clinic.as_of):
    st.info(note)

built = ui.timeline_figure(clinic, mrn, preset)

timeline_tab, overlay_tab, sheet_tab = st.tabs(["Timeline", "Cycle overlay", "Flowsheet"])
with timeline_tab:
    st.plotly_chart(built["timeline"], key="timeline_chart", theme=None, config={"displaylogo": False})
    st.caption(
        "Green bands: dosing days; red bands: holds; dotted lines: cycle starts; dashed red lines: "
        "this course's label thresholds. Marker colour = CTCAE grade."
    )
with overlay_tab:
    analyte = st.radio(
        "Count", ["anc", "plt", "hgb", "wbc"], horizontal=True, key="overlay_analyte", format_func=present.analyte_label
    )
    st.plotly_chart(
        charts.cycle_overlay_figure(results.cycle_overlay(patient, analyte), analyte, thresholds=built["thresholds"]),
        key="overlay_chart",
        theme=None,
    )
with sheet_tab:
    since = window[0] if preset != "All" else None
    values, grades = results.flowsheet(patient, since=since)
    if values.empty:
        st.info("No draws in this time window.")
    else:
        st.dataframe(ui.flowsheet_table(values, grades), width="stretch", height=38 * (len(values) + 1))
