"""Visit view for screen sharing: one patient, large type, initials and age only, in the patient's words."""

import pandas as pd
import streamlit as st

from lenadash import access
from lenadash.dashboard import cards, charts, handout, patient_words, results, timeline, ui, visit
from lenadash.vocab.course import INDICATION_NAMES

access.page("read", name="visit")  # clinic mode: stops unless the role allows it

ui.sample_banner()
clinic = ui.clinic()
mrn = st.session_state.get(ui.PATIENT)
patient = clinic.patient(mrn)
if patient is None:
    st.title("Visit view")
    st.info("Open a patient first, then choose 'Visit view'.")
    if st.button("Back to the dashboard", key="visit_back_empty"):
        st.switch_page(ui.PAGES["patient"], query_params={})
    st.stop()
ui.audit_view("visit_view", mrn)  # once per open of the visit view

person = clinic.person(mrn)
ident = cards.visit_identity(person.get("name"), person.get("birth_date"), person.get("sex"), as_of=clinic.as_of)
row = clinic.worklist[clinic.worklist["mrn"] == mrn].iloc[0]
indication = INDICATION_NAMES.get(patient.get("indication"), patient.get("indication") or "")
cycle_text = f"cycle {row['cycle']}, day {row['cycle_day']}" if pd.notna(row["cycle"]) else "not started"
card = cards.next_action(patient, rules=clinic.result.get("rules", ""), as_of=clinic.as_of, events=clinic.events)
words = patient_words.summary(patient, as_of=clinic.as_of, card=card)

head, end = st.columns([5, 1], vertical_alignment="center")
age = f", {ident['age']} years" if ident["age"] is not None else ""
head.title(ui.plain(f"{ident['initials']}{age}"))
head.markdown(ui.plain(f"{indication} - {cycle_text}"))  # one line under the title: the cards and chart come first
if end.button("End visit", key="end_visit", width="stretch"):
    st.switch_page(ui.PAGES["patient"], query_params={})

left, right = st.columns([3, 2], gap="large")
left.html(handout.summary_card_html(words))  # the patient's words: no rule ids, no label sections
right.html(handout.dates_card_html(words))

preset = (
    st.segmented_control("Time window", timeline.WINDOW_PRESETS, default="3 cycles", key="visit_window") or "3 cycles"
)
window = timeline.window_range(preset, patient, as_of=clinic.as_of)
if note := timeline.empty_window_note(preset, patient, window, as_of=clinic.as_of):
    st.info(note)
built = ui.timeline_figure(clinic, mrn, preset, large=True, visit=True)
thresholds = built["thresholds"]
timeline_fig = charts.without_event_details(built["timeline"])  # event notes can name other people
st.plotly_chart(timeline_fig, key="visit_timeline", theme=None, config={"displaylogo": False, "displayModeBar": False})

since = window[0] if preset != "All" else None
values, grades = results.flowsheet(patient, since=since)
if len(values.columns):
    with st.expander("All results (table)"):
        st.dataframe(ui.flowsheet_table(values, grades), width="stretch", height=38 * (len(values) + 1))

# Two downloads, told apart: the patient's one-page handout, and the clinician's summary with its sources.
st.markdown("#### Print or save")
clinic_name = st.text_input(
    "Clinic name and phone on the handout (optional)",
    key="handout_clinic",
    max_chars=120,
    placeholder="e.g. Riverside Haematology, 0123 456 789",
)
handout_key = (clinic.key, mrn, clinic_name)
if st.session_state.get("lenadash_handout_key") != handout_key:  # the chart is drawn once per patient and data
    st.session_state["lenadash_visit_handout"] = handout.patient_handout(
        patient,
        identity=ident,
        as_of=clinic.as_of,
        thresholds=ui.thresholds_for(patient, person, as_of=clinic.as_of),
        clinic=clinic_name,
        sample=ui.is_demo(),
        events=clinic.events,
    )
    st.session_state["lenadash_handout_key"] = handout_key
handout_html = st.session_state["lenadash_visit_handout"]  # this session only; AppTest checks it
anc_overlay = charts.cycle_overlay_figure(results.cycle_overlay(patient, "anc"), "anc", thresholds=thresholds)
plt_overlay = charts.cycle_overlay_figure(results.cycle_overlay(patient, "plt"), "plt", thresholds=thresholds)
export = visit.visit_summary_html(
    identity=ident,
    indication=indication,
    cycle_text=cycle_text,
    as_of=clinic.as_of,
    card=card,
    upcoming=cards.upcoming(patient, as_of=clinic.as_of),
    flowsheet=results.flowsheet(patient),
    sample=ui.is_demo(),
    grading=clinic.result.get("grading"),
    figures=[
        ("Labs over treatment cycles", charts.figure_html(timeline_fig, include_plotlyjs=True)),
        ("ANC by day of cycle", charts.figure_html(anc_overlay, include_plotlyjs=False)),
        ("Platelets by day of cycle", charts.figure_html(plt_overlay, include_plotlyjs=False)),
    ],
)
st.session_state["lenadash_visit_html"] = export  # this session only; AppTest checks it for identifiers
st.warning(ui.plain(handout.PHI_WARNING), icon=":material/lock:")
stem = f"{ident['initials'].replace('.', '')}-{clinic.as_of}"
patient_col, clinician_col = st.columns(2)
patient_col.download_button(
    handout.HANDOUT_LABEL,
    handout_html,
    file_name=f"handout-{stem}.html",
    mime="text/html",
    type="primary",
    key="handout_download",
    on_click=ui.audit_view,
    args=("visit_export", mrn),
    kwargs={"once": False, "detail": {"file": "handout"}},
    icon=":material/print:",
    width="stretch",
)
patient_col.caption(handout.HANDOUT_NOTE)
clinician_col.download_button(
    handout.CLINICIAN_LABEL,
    export,
    file_name=f"visit-{stem}.html",
    mime="text/html",
    key="visit_download",
    on_click=ui.audit_view,
    args=("visit_export", mrn),
    kwargs={"once": False, "detail": {"file": "care_team_summary"}},
    icon=":material/download:",
    width="stretch",
)
clinician_col.caption(handout.CLINICIAN_NOTE)
