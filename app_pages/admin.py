"""Admin: the clinic's users and their roles (clinic mode; the admin role only)."""

import streamlit as st

from lenadash import access
from lenadash.access import admin
from lenadash.dashboard import ui
from lenadash.vocab.roles import ROLES

access.page("manage_users", name="admin")  # clinic mode: stops unless the role allows it

st.title("Users and roles")
st.caption(
    "Users sign in with the clinic's identity provider; here you choose what each may do in lenadash. "
    "Users are never deleted (the audit trail names them): deactivate instead."
)
with ui.user_errors("Cannot show the users", stop=True), admin.clinic_session() as session:
    table = admin.users(session=session)
st.dataframe(table, hide_index=True, width="stretch")
st.table(
    [{"role": role, "may": meaning} for role, meaning in ROLES.items()],
)

st.subheader("Add a user or change roles")
with st.form("user_roles", clear_on_submit=True):
    email = st.text_input("Sign-in e-mail")
    name = st.text_input("Name (optional)")
    roles = st.multiselect("Roles", list(ROLES))
    if st.form_submit_button("Save", type="primary"):
        with ui.user_errors("Not saved"), admin.clinic_session() as session:
            admin.set_roles(session=session, email=email, roles=roles, name=name)
            st.success("Saved.")
            st.rerun()

active = [e for e, on in zip(table["email"], table["active"], strict=True) if on]
if active:
    st.subheader("Deactivate a user")
    who = st.selectbox("User", active, index=None, placeholder="Choose a user")
    if st.button("Deactivate", disabled=who is None) and who:
        with ui.user_errors("Not deactivated"), admin.clinic_session() as session:
            admin.deactivate(session=session, email=who)
            st.rerun()
if not access.is_clinic():
    st.info("lenadash runs in local mode: nobody signs in, so these roles apply once LENADASH_MODE=clinic.")
