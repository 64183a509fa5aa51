"""Audit trail: who did what, when, from where (clinic mode; the admin role only), with a guarded CSV."""

import datetime as dt

import streamlit as st

from lenadash.access import admin
from lenadash.dashboard import ui

st.title("Audit trail")
st.caption("Every sign-in and sign-out, upload and change of roles, newest first. Nobody can change or delete a row.")
left, middle, right = st.columns(3)
user = left.text_input("User (e-mail)")
patient = middle.text_input("Patient (MRN)")
today = dt.datetime.now(dt.UTC).date()
days = right.date_input("Days (UTC)", value=(today - dt.timedelta(days=30), today), max_value=today)
since, until = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)

with ui.user_errors("Cannot show the audit trail", stop=True), admin.clinic_session() as session:
    trail = admin.audit_trail(session=session, user=user or None, patient=patient or None, since=since, until=until)
st.text(f"{len(trail)} row(s)")
st.dataframe(trail, hide_index=True, width="stretch")
if not trail.empty and st.button("Prepare CSV of these rows"):
    with ui.user_errors("No export"), admin.clinic_session() as session:
        csv_text = admin.audit_csv(session=session, trail=trail)
        st.download_button("Download audit trail (CSV)", csv_text, file_name="lenadash-audit.csv", mime="text/csv")
