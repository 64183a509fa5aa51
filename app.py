"""lenadash entry point and router: `streamlit run app.py` (page scripts in app_pages/, logic in lenadash/)."""

from pathlib import Path

import streamlit as st

from lenadash import access
from lenadash.dashboard import ui

visit_mode = st.query_params.get("visit") == "1"
st.set_page_config(
    page_title="lenadash",
    # A file shipped in the repository, served by this server: a ":material/...:" page icon makes every
    # page load fetch its SVG from a public font server (and an emoji icon one from an emoji CDN).
    page_icon=str(Path(__file__).parent / "static" / "lenadash-icon.png"),
    layout="wide",
    initial_sidebar_state="collapsed" if visit_mode else "auto",
)
ui.page_style()
ui.start_folder_watch()  # LENADASH_WATCH_FOLDER: import files landing there (once per server process)
access.gate()  # clinic mode: sign-in, roles, idle timeout (LENADASH_MODE=clinic); does nothing in local mode
if visit_mode:
    ui.hide_sidebar()  # nothing in it in a visit: no control that opens an empty panel

if visit_mode:
    # Screen-sharing mode: one patient, no navigation to anyone else (sidebar nav hidden).
    # Not the default page, so /visit?visit=1 (a reload) is routed as itself; "/" and any other address
    # land on the hidden home page and are sent to the visit view below.
    visit = st.Page(ui.PAGES["visit"], title="Visit", url_path="visit")
    back = st.Page(ui.PAGES["patient"], title="Patient", url_path="patient", visibility="hidden")
    home = st.Page(ui.home, title="lenadash", url_path="home", default=True, visibility="hidden")
    page = st.navigation([visit, back, home], position="hidden")
    if page.url_path != visit.url_path:
        # While ?visit=1 is in the URL every page is the visit view: browser Back from the visit view
        # lands on /patient?visit=1, which must not show the name, MRN or birth date. The patient page
        # stays registered only as the target of "End visit", which clears the query parameter.
        st.switch_page(visit, query_params={"visit": "1"})
else:
    # Every page keeps its address whatever the data: "/" (the hidden home page) chooses Start on a first
    # run and the overview otherwise, so no page is ever the default whose own url_path Streamlit does
    # not route (that made /overview "Page not found" once the clinic had data).
    home = st.Page(ui.home, title="lenadash", url_path="home", default=True, visibility="hidden")
    # Clinic mode lists the patient pages to roles that may read them; for an admin only they stay routed but
    # hidden, and each page's own access.page("read") refuses them in lenadash code.
    may_read = not access.is_clinic() or access.allowed("read", access.current_actor())
    shown = "visible" if may_read else "hidden"
    welcome = st.Page(
        ui.PAGES["welcome"], title="Start", icon=":material/waving_hand:", url_path="start", visibility=shown
    )
    overview = st.Page(
        ui.PAGES["overview"], title="Clinic overview", icon=":material/list_alt:", url_path="overview", visibility=shown
    )
    patient = st.Page(
        ui.PAGES["patient"], title="Patient", icon=":material/person:", url_path="patient", visibility=shown
    )
    insight = st.Page(
        ui.PAGES["clinic"], title="Clinic insight", icon=":material/monitoring:", url_path="clinic", visibility=shown
    )
    upload = st.Page(
        ui.PAGES["upload"], title="Upload", icon=":material/upload_file:", url_path="upload", visibility=shown
    )
    setup = st.Page(ui.PAGES["setup"], title="Setup", icon=":material/edit_note:", url_path="setup", visibility=shown)
    visit = st.Page(
        ui.PAGES["visit"], title="Visit view", icon=":material/co_present:", url_path="visit", visibility="hidden"
    )
    sections = {"Clinic": [overview, patient, insight], "Data": [upload, setup], "": [welcome, visit, home]}
    if not may_read:
        sections = {"": [overview, patient, insight, upload, setup, welcome, visit, home]}
    if access.is_clinic():
        # Clinic mode's admin pages, listed for those whose role allows them (the pages check it again).
        actor = access.current_actor()
        admin_pages = [
            st.Page(page_file, title=title, icon=icon, url_path=url)
            for action, page_file, title, icon, url in (
                ("manage_users", "app_pages/admin.py", "Users and roles", ":material/admin_panel_settings:", "admin"),
                ("view_audit", "app_pages/audit.py", "Audit trail", ":material/history:", "audit"),
            )
            if access.allowed(action, actor)
        ]
        if admin_pages:
            sections["Clinic admin"] = admin_pages
    page = st.navigation(sections)
    ui.sidebar()
    if page.url_path == patient.url_path:
        ui.patient_from_url()  # /patient?mrn=... opens that patient

page.run()
