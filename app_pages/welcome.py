"""First run: explore the sample clinic or upload your own exports."""

import streamlit as st

from lenadash.dashboard import ui

ui.sample_banner()
st.title("lenadash")
st.markdown(
    "### Lab monitoring for patients on lenalidomide\n"
    "Upload CBC/CMP exports; lenadash grades every result (CTCAE v5.0, or v6.0 where the rule profile says so), "
    "applies the label's dose rules (hold, resume, dose steps) and shows what is due. "
    "Everything stays on this computer."
)
left, right = st.columns(2, gap="large")
with left, st.container(border=True):
    st.subheader("Explore the sample clinic")
    st.write("A synthetic clinic (no real patients) in a separate database. Your own data is never mixed in.")
    if st.button("Explore the sample clinic", type="primary", key="explore_demo", width="stretch"):
        # e.g. a StoreError when the demo URL is the clinic database: its message says so
        with ui.user_errors("Could not open the sample clinic", stop=True), st.spinner("Loading the sample clinic..."):
            ui.start_demo()
            clinic = ui.clinic()
        if len(clinic.worklist):
            # the worklist, with the most urgent patient's charts under it: one click from here
            st.session_state[ui.PATIENT] = str(clinic.worklist["mrn"].iloc[0])
        st.switch_page(ui.PAGES["overview"])
with right, st.container(border=True):
    st.subheader("Upload your exports")
    st.write("Lab results (long or wide CSV, US or European), a patients file and an events file.")
    if st.button("Upload your exports", key="go_upload", width="stretch"):
        st.switch_page(ui.PAGES["upload"])
