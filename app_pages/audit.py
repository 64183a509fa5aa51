"""Audit trail: who did what, when, from where (clinic mode; the admin role only), with a guarded CSV."""

import datetime as dt

import streamlit as st

from lenadash import access
from lenadash.access import admin
from lenadash.dashboard import ui

access.page("view_audit", name="audit")  # clinic mode: stops unless the role allows it

st.title("Audit trail")
st.caption(
    "Who did what, when and from where, newest first: sign-ins and sign-outs, patients opened, visit views and "
    "exports, uploads, recorded events, dose decisions and course edits (before and after), role changes. "
    "Nobody can change or delete a row."
)
left, middle, right = st.columns(3)
user = left.text_input("User (e-mail)")
patient = middle.text_input("Patient (MRN)")
today = dt.datetime.now(dt.UTC).date()
days = right.date_input("Days (UTC)", value=(today - dt.timedelta(days=30), today), max_value=today)
since, until = (days[0], days[-1]) if isinstance(days, tuple) and days else (None, None)

with ui.user_errors("Cannot show the audit trail", stop=True), admin.clinic_session() as session:
    trail = admin.audit_trail(session=session, user=user or None, patient=patient or None, since=since, until=until)
st.text(f"{len(trail)} row(s)")
picked = st.dataframe(
    trail,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="audit_rows",
    column_order=["at", "actor", "action", "patient_mrn", "before", "after", "detail", "roles", "source"],
    column_config={
        "at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm", width=125),
        "actor": st.column_config.TextColumn("who", width=145),
        "action": st.column_config.TextColumn(width=105),
        "patient_mrn": st.column_config.TextColumn("patient", width=70),
        "before": st.column_config.TextColumn(width=250),
        "after": st.column_config.TextColumn(width=250),
        "detail": st.column_config.TextColumn(width=160),
        "roles": st.column_config.TextColumn(width=80),
        "source": st.column_config.TextColumn("from", width=110),
    },
)
rows = picked.selection.rows if picked else []
if rows:  # the whole row, for what the columns cut off
    row = trail.iloc[rows[0]]
    with st.container(border=True):
        st.text(f"{row['at']:%Y-%m-%d %H:%M:%S} UTC  {row['actor']} ({row['roles']}) from {row['source']}")
        st.text(f"{row['action']}  patient: {row['patient_mrn'] or '-'}")
        for side in ("before", "after", "detail"):
            if row[side]:
                st.text(f"{side}: {row[side]}")
else:
    st.caption("Select a row to read it in full.")
if not trail.empty and st.button("Prepare CSV of these rows"):
    with ui.user_errors("No export"), admin.clinic_session() as session:
        csv_text = admin.audit_csv(session=session, trail=trail)
        st.download_button("Download audit trail (CSV)", csv_text, file_name="lenadash-audit.csv", mime="text/csv")
