"""Clinic overview: the worklist ordered by urgency, filters, one click to a patient."""

import streamlit as st

from lenadash import access
from lenadash.dashboard import cards, ui, worklist

access.page("read", name="overview")  # clinic mode: stops unless the role allows it

ui.sample_banner()
clinic = ui.clinic()
st.title("Clinic overview")
st.caption(f"Assessed as of {clinic.as_of:%A %d %B %Y} - rule profile {ui.plain(clinic.result.get('rules', ''))}")

if clinic.empty:
    sample = not access.is_clinic()  # the sample clinic is local mode's only (ui.start_demo refuses in clinic mode)
    st.info(
        "No patients yet. Upload your lab exports and a patients file"
        + (", or explore the sample clinic." if sample else ".")
    )
    c1, c2 = st.columns(2)
    if c1.button("Go to upload", key="empty_upload", width="stretch"):
        st.switch_page(ui.PAGES["upload"])
    if sample and c2.button("Explore the sample clinic", key="empty_demo", type="primary", width="stretch"):
        with ui.user_errors("Could not open the sample clinic", stop=True), st.spinner("Loading the sample clinic..."):
            ui.start_demo()
        st.rerun()
    st.stop()

wl = clinic.worklist
ui.worklist_counts(wl)  # one line, so the list starts high on a laptop screen

f1, f2, f3 = st.columns([2, 3, 2])
indications = f1.multiselect("Indication", sorted(wl["indication"].unique()), key="filter_indication")
flags = f2.multiselect("Flag", list(worklist.FLAG_LABELS), format_func=worklist.FLAG_LABELS.get, key="filter_flag")
search = f3.text_input("Find MRN or name", key="filter_search", placeholder="Press / to search")
ui.worklist_keys()
every = worklist.filter_worklist(wl, indications=indications, flags=flags, search=search)
shown, left_out = worklist.table_rows(every)  # the most urgent TABLE_ROWS; search and the CSV reach the rest
listed = (clinic.data_key, tuple(indications), tuple(flags), search)  # the table and CSV: built once, shared
if left_out:
    st.caption(left_out)

event = st.dataframe(
    ui.kept_table(listed, lambda: ui.worklist_table(shown, as_of=clinic.as_of)),
    hide_index=True,
    width="stretch",
    height=min(35 * (len(shown) + 1) + 3, 640),
    on_select="rerun",
    selection_mode="single-row",
    key=f"worklist_{st.session_state.get('worklist_n', 0)}",
    column_order=worklist.CLINIC_DAY_COLUMNS,
    column_config=ui.WORKLIST_COLUMN_CONFIG,
)
st.caption(
    f"Most urgent first: {worklist.urgency_order_text()}. {worklist.OVERDUE_MARK} = overdue. "
    "Open a patient: click a row, or Tab into the table, move with the arrow keys and press Enter. "
    "Press / to search."
)
st.download_button(
    "Download this list (CSV)",
    ui.kept_table((*listed, "csv"), lambda: worklist.worklist_csv(every)),
    file_name=f"worklist-{clinic.as_of}.csv",
    mime="text/csv",
    key="worklist_download",
    help="Every column in full: flags in words, MRN and name, indication, cycle, dose, counts, last draw, due dates.",
)
rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
if rows:
    # a fresh table next time, so coming back here does not reopen the same patient
    st.session_state["worklist_n"] = st.session_state.get("worklist_n", 0) + 1
    ui.open_patient(shown["mrn"].iloc[rows[0]])

if len(shown):
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    names = dict(zip(shown["mrn"], shown["name"]))
    choice = c1.selectbox(
        "Open patient", list(names), key="open_choice", format_func=lambda m: cards.patient_label(m, names[m])
    )
    if c2.button("Open", key="open_patient", type="primary", width="stretch"):
        ui.open_patient(choice)

    # The chosen patient (the most urgent by default) at a glance: what the label says now and the
    # last three cycles, so the worklist is never more than one click from the charts.
    preview = clinic.patient(choice)
    st.subheader(f"{ui.plain(names.get(choice) or choice)}: what the label says now")
    ui.next_action_card(
        cards.next_action(preview, rules=clinic.result.get("rules", ""), as_of=clinic.as_of, events=clinic.events)
    )
    st.plotly_chart(
        ui.timeline_figure(clinic, choice, "3 cycles")["timeline"],
        key="overview_preview",
        theme=None,
        config={"displaylogo": False},
    )
    st.caption("Last three cycles. Open the patient for the cycle overlay, the flowsheet and what is due.")
