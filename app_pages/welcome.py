"""First run: explore the sample clinic or upload your own exports (local mode); in clinic mode, who is signed in."""

import streamlit as st

from lenadash import access
from lenadash.dashboard import ui

actor = access.page("read", name="welcome")  # clinic mode: stops unless the role allows it

if access.is_clinic():
    # A clinic's server: its own patients only (no sample clinic), and who is acting in which role.
    st.title("lenadash")
    st.markdown("### Lab monitoring for patients on lenalidomide")
    st.text(f"Signed in as {actor.name}, role: {actor.roles_text}.")
    st.write(
        "This is the clinic's shared lenadash: what you open, record and export is kept in the audit trail "
        "with your name."
    )
    left, right = st.columns(2, gap="large")
    if left.button("Clinic overview", type="primary", key="go_overview", width="stretch"):
        st.switch_page(ui.PAGES["overview"])
    if access.allowed("upload", actor) and right.button("Upload exports", key="go_upload", width="stretch"):
        st.switch_page(ui.PAGES["upload"])
    st.stop()

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
