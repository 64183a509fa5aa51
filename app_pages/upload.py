"""Upload: drop exports, check what was recognised and rejected, then commit to the database."""

import hashlib

import pandas as pd
import streamlit as st

from lenadash import access
from lenadash.dashboard import ui, uploads

access.page("read", name="upload")  # clinic mode: stops unless the role allows it

ui.sample_banner()
st.title("Upload exports")
if ui.is_demo():
    st.warning("You are in the sample clinic: uploads go to the sample database, not your clinic's.")
st.markdown(
    "Drop lab exports (CBC/CMP, long or wide CSV, HL7 v2 result messages, FHIR R4 JSON, NDJSON or a "
    "zip of FHIR resources), a patients file and an events file. Nothing is saved until you press **Commit**."
)

PROBLEM_COLUMNS = ["line", "column", "value", "reason", "message", "hint", "severity"]
PROBLEM_COLUMN_CONFIG = {
    "line": st.column_config.NumberColumn(width=50),
    "column": st.column_config.TextColumn(width=110),
    "value": st.column_config.TextColumn(width=100),
    "reason": st.column_config.TextColumn(width=130),
    "message": st.column_config.TextColumn(width=360),
    "hint": st.column_config.TextColumn(width=480),
    "severity": st.column_config.TextColumn(width=70),
}
parsed_cache = st.session_state.setdefault("lenadash_parsed", {})
nonce = st.session_state.setdefault("upload_nonce", 0)
# Any file type: a wrong one (Excel, PDF, empty) gets ingest's message saying what to do, which is
# more help than a browser file filter that silently greys the file out.
files = st.file_uploader(
    "Lab, patient or event exports (CSV/TSV, HL7, FHIR)", type=None, accept_multiple_files=True, key=f"uploader_{nonce}"
)


def parse(name: str, data: bytes) -> uploads.PreparedUpload | None:
    """Read one file, once per content in this session (reruns redraw the page without rereading).
    A file lenadash cannot read comes back with its message; None means a bug (logged on the server)."""
    key = hashlib.sha256(data).hexdigest() + name
    if key not in parsed_cache:
        try:
            parsed_cache[key] = uploads.read_upload(name, data)
        except Exception:  # a bug, not the file's fault: never shown as "not recognised"
            ui.log_bug("reading an upload failed")
            return None
    return parsed_cache[key]


def show(item: uploads.PreparedUpload) -> None:
    read, rows = item.parsed, item.rows
    if item.header_only:
        st.warning(
            f"{ui.plain(item.name)} has a header row but no data rows: nothing to save. Export the "
            "results again (check the date range of the export) and upload that file."
        )
    st.markdown(uploads.counts_line(item))
    if item.kind == "labs" and read.shape in uploads.FEED_FORMATS:
        st.markdown(f"**Format:** {uploads.FEED_FORMATS[read.shape]} - encoding {read.encoding}")
    elif item.kind == "labs":
        # delimiter and encoding come from ingest's own short lists, never from the file's text
        st.markdown(f"**Shape:** {read.shape} - delimiter `{read.delimiter}` - encoding {read.encoding}")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Column mapping**")
        st.dataframe(
            pd.DataFrame({"file column": list(read.column_map), "read as": list(read.column_map.values())}),
            hide_index=True,
            width="stretch",
        )
    with c2:
        if item.kind == "labs":
            st.markdown("**Results per analyte**")
            counts = rows["analyte"].value_counts().rename_axis("analyte").reset_index(name="results")
            st.dataframe(counts, hide_index=True, width="stretch")
        elif item.kind == "events":
            st.markdown("**Events per kind**")
            st.dataframe(
                rows["event"].value_counts().rename_axis("event").reset_index(name="rows"),
                hide_index=True,
                width="stretch",
            )
        else:
            st.markdown("**Courses per indication**")
            st.dataframe(
                rows["indication"].value_counts().rename_axis("indication").reset_index(name="courses"),
                hide_index=True,
                width="stretch",
            )
    if item.kind == "labs" and len(read.conversions):
        st.markdown("**Unit conversions to the canonical unit**")
        st.dataframe(read.conversions, hide_index=True, width="stretch")
    problems = read.problems
    if len(problems):
        st.markdown(uploads.problems_heading(item))
        shown = problems[[c for c in PROBLEM_COLUMNS if c in problems.columns]].sort_values(["severity", "line"])
        # narrow code columns, wide text columns, and rows tall enough (> 4rem) for the text to wrap,
        # so the message and the hint read without horizontal scrolling
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            key=f"problems_{item.name}",
            row_height=78,
            height=min(78 * len(shown) + 40, 640),
            column_config=PROBLEM_COLUMN_CONFIG,
        )


def commit(ready: list[uploads.PreparedUpload]) -> None:
    """Save the checked files; a file the store refuses says why, a bug says only that something went wrong."""
    outcomes: list[uploads.Committed] = []
    try:
        with ui.db_session() as s:
            for outcome in uploads.commit_uploads(session=s, prepared=ready):
                outcomes.append(outcome)
    except Exception:  # a bug, not the user's to fix: the traceback goes to the server log only
        ui.log_bug("upload commit failed")
        st.error(uploads.interrupted(outcomes))
        if any(o.summary for o in outcomes):
            ui.data_changed()
        return
    ui.data_changed()
    parsed_cache.clear()
    st.session_state["upload_nonce"] = nonce + 1
    st.session_state["last_commit"] = [o.summary.as_dict() for o in outcomes if o.summary]
    st.session_state["last_refused"] = [(o.name, o.refused) for o in outcomes if o.refused]
    st.rerun()


items = []
for upload in files or []:
    with st.expander(ui.plain(upload.name), expanded=True):  # a file name is the user's text, not Markdown
        item = parse(upload.name, upload.getvalue())
        if item is None:
            st.error(uploads.SOMETHING_WENT_WRONG)
        elif item.error:
            st.error(f"Not recognised: {ui.plain(item.error)}")
        else:
            show(item)
    if item is not None:
        items.append(item)

ready = uploads.ready_to_save(items)
with ui.db_session() as s:
    missing, to_create = uploads.unregistered_mrns(session=s, ready=ready)
if missing:
    listed = ui.plain(", ".join(missing[:20])) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
    st.warning(
        f"{len(missing)} MRN(s) in the lab files have no registered patient or treatment course: {listed}. "
        "On Commit their results are kept under a bare patient (MRN only"
        + (f"; {len(to_create)} will be created" if to_create else "")
        + ") and shown on the clinic overview with status REVIEW and no name, for review - no dose advice "
        "without a course. To fix it, upload the patients file with these MRNs too, or add them on Setup."
    )
if ready and st.button(f"Commit {len(ready)} file(s)", type="primary", key="commit"):
    commit(ready)

for name, reason in st.session_state.get("last_refused", []):
    st.error(ui.plain(f"{name}: not saved - {reason}"))
if st.session_state.get("last_commit"):
    done = pd.DataFrame(st.session_state["last_commit"])
    st.success("Saved: " + ui.plain("; ".join(uploads.saved_line(r) for r in st.session_state["last_commit"])))
    created = int(done.loc[done["kind"] == "labs", "patients_created"].sum()) if len(done) else 0
    if created:
        st.warning(
            f"{created} patient(s) created from unregistered MRNs: their results are shown for review "
            "(status REVIEW, no name). Complete them with a patients file or on the Setup page."
        )
    if st.button("Open the clinic overview", key="after_commit"):
        st.session_state.pop("last_commit", None)
        st.session_state.pop("last_refused", None)
        st.switch_page(ui.PAGES["overview"])

st.subheader("Upload history")
with ui.db_session() as s:
    history = uploads.upload_history(session=s)
if history.empty:
    st.caption("Nothing uploaded yet.")
else:
    uploaded_at = st.column_config.DatetimeColumn("uploaded (UTC)", format="YYYY-MM-DD HH:mm")
    st.dataframe(
        history.drop(columns=["content_hash"]),
        hide_index=True,
        width="stretch",
        key="history",
        column_config={"uploaded_at": uploaded_at},
    )
