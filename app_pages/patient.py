"""Patient view: the decision on one screen (identity, next action, ANC + platelets), then every panel,
the cycle overlay and the flowsheet."""

import pandas as pd
import streamlit as st

from lenadash import access
from lenadash.dashboard import cards, charts, insight, present, results, timeline, ui
from lenadash.vocab.course import INDICATION_NAMES

access.page("read", name="patient")  # clinic mode: stops unless the role allows it

ui.sample_banner()
clinic = ui.clinic()
if clinic.empty:
    st.title("Patient")
    st.info("No patients yet: upload exports or explore the sample clinic from the Start page.")
    st.stop()

order = list(clinic.worklist["mrn"])
names = dict(zip(clinic.worklist["mrn"], clinic.worklist["name"]))
mrn = st.session_state.get(ui.PATIENT)
if mrn not in clinic.by_mrn:
    mrn = order[0]
st.session_state[ui.PATIENT] = mrn


def _picked() -> None:
    st.session_state[ui.PATIENT] = st.session_state["patient_pick"]


# One stable widget, told the patient through session_state (a key per patient lost every second pick:
# the pick landed on the previous run's widget, which the next run replaced). The picker lives in the
# sidebar, so the page's first screen holds the decision.
if st.session_state.get("patient_pick") != mrn:
    st.session_state["patient_pick"] = mrn
with st.sidebar:
    st.selectbox(
        "Patient",
        order,
        key="patient_pick",
        on_change=_picked,
        format_func=lambda m: cards.patient_label(m, names.get(m)),
    )
patient = clinic.patient(mrn)
ui.patient_opened(clinic, mrn)  # /patient?mrn=<this one>; no treatment course: review, Add course, stop
person = clinic.person(mrn)
ident = cards.visit_identity(person.get("name"), person.get("birth_date"), person.get("sex"), as_of=clinic.as_of)
row = clinic.worklist[clinic.worklist["mrn"] == mrn].iloc[0]

# One line: who (the name as plain text, escaped), MRN, age and sex, indication, cycle and day.
facts = [
    f"MRN {mrn}",
    " ".join(x for x in (f"{ident['age']} y" if ident["age"] is not None else "", ident["sex"] or "") if x),
    INDICATION_NAMES.get(patient.get("indication"), patient.get("indication") or "no treatment course"),
    f"cycle {row['cycle']} day {row['cycle_day']}" if pd.notna(row["cycle"]) else "",
]
with st.container(key="ld_ident"):  # ui.plain: the name and MRN as text, never Markdown or HTML
    st.markdown(f"**{ui.plain(person.get('name') or mrn)}**" + ui.plain(" | " + " | ".join(f for f in facts if f)))


@st.fragment
def cycle_overlay(thresholds) -> None:
    """The cycle overlay: picking another count reruns only this part (st.fragment)."""
    analyte = st.radio(
        "Count", ["anc", "plt", "hgb", "wbc"], horizontal=True, key="overlay_analyte", format_func=present.analyte_label
    )

    def build():
        figure = charts.cycle_overlay_figure(results.cycle_overlay(patient, analyte), analyte, thresholds=thresholds)
        table = insight.nadir_table(patient, analyte) if analyte in ("anc", "plt", "hgb") else None
        if table is not None and len(table):
            figure.add_trace(insight.nadir_marker_trace(table, present.analyte_label(analyte)))
        return figure, table

    overlay, nadirs = ui.kept_table(("overlay", clinic.patient_key(mrn), analyte), build)  # built once, shared
    st.plotly_chart(overlay, key="overlay_chart", theme=None)
    if nadirs is not None and len(nadirs):
        st.dataframe(nadirs, hide_index=True)


@st.fragment
def decision_and_charts() -> None:
    """The card, the charts and the tabs: another time window reruns only this part (st.fragment), never the
    page's data read above (ui.clinic, the patient's assessment)."""
    left, right = st.columns([5, 6], gap="medium")
    with left:
        ui.next_action_card(
            cards.next_action(patient, rules=clinic.result.get("rules", ""), as_of=clinic.as_of, events=clinic.events)
        )
        visit_col, setup_col = st.columns(2)
        if visit_col.button("Visit view", key="to_visit", icon=":material/co_present:", width="stretch"):
            st.switch_page(ui.PAGES["visit"], query_params={"visit": "1"})
        if setup_col.button("Record event", key="to_setup", icon=":material/edit_note:", width="stretch"):
            st.switch_page(ui.PAGES["setup"])
        ui.upcoming_card(cards.upcoming(patient, as_of=clinic.as_of), mrn=mrn)
    with right:
        preset = (
            st.segmented_control(
                "Time window", timeline.WINDOW_PRESETS, default="3 cycles", key="window", label_visibility="collapsed"
            )
            or "3 cycles"
        )
        window = timeline.window_range(preset, patient, as_of=clinic.as_of)
        if note := timeline.empty_window_note(preset, patient, window, as_of=clinic.as_of):
            st.info(note)
        fold = ui.timeline_figure(clinic, mrn, preset, panels=charts.FOLD_PANELS)
        st.plotly_chart(fold["timeline"], key="fold_chart", theme=None, config={"displaylogo": False})
        ui.grade_legend(clinic.result.get("grading"))

    timeline_tab, overlay_tab, sheet_tab, dose_tab, history_tab = st.tabs(
        ["All panels", "Cycle overlay", "Flowsheet", "Dose history", "History"]
    )
    with timeline_tab:
        built = ui.timeline_figure(clinic, mrn, preset)
        st.plotly_chart(built["timeline"], key="timeline_chart", theme=None, config={"displaylogo": False})
        st.caption(
            "Green bands: dosing days (dotted outline: planned); red bands: holds, and while held the range the "
            "count must climb out of; black line: today; dotted lines: what falls due (red: overdue); dashed red "
            "lines: this course's label thresholds; blue band: the reference range. Marker shape and colour: "
            "CTCAE grade (key above)."
        )
    with overlay_tab:
        cycle_overlay(fold["thresholds"])
    with sheet_tab:
        since = window[0] if preset != "All" else None
        values, grades = results.flowsheet(patient, since=since)
        if values.empty:
            st.info("No draws in this time window.")
        else:
            st.dataframe(ui.flowsheet_table(values, grades), width="stretch", height=38 * (len(values) + 1))
    with dose_tab:
        insight.render_dose_intensity(st.container(), patient)
        ui.dose_history_table(patient, clinic.events, on=clinic.as_of)
    with history_tab:  # every version and event: who, when, why; voided marked; Void where the role allows
        ui.history_tab(mrn)


decision_and_charts()
