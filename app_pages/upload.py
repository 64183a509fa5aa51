"""Upload: drop exports, check what was recognised and rejected, then commit to the database."""

import hashlib

import pandas as pd
import streamlit as st

from lenadash import ingest, store
from lenadash.dashboard import ui

ui.sample_banner()
st.title("Upload exports")
if ui.is_demo():
    st.warning("You are in the sample clinic: uploads go to the sample database, not your clinic's.")
st.markdown("Drop lab exports (CBC/CMP, long or wide), a patients file and an events file. Nothing is "
            "saved until you press **Commit**.")

KIND_ORDER = ("patients", "events", "labs")
PROBLEM_COLUMNS = ["line", "column", "value", "reason", "message", "hint", "severity"]
PROBLEM_COLUMN_CONFIG = {
    "line": st.column_config.NumberColumn(width=50), "column": st.column_config.TextColumn(width=110),
    "value": st.column_config.TextColumn(width=100), "reason": st.column_config.TextColumn(width=130),
    "message": st.column_config.TextColumn(width=360), "hint": st.column_config.TextColumn(width=480),
    "severity": st.column_config.TextColumn(width=70),
}
parsed_cache = st.session_state.setdefault("lenadash_parsed", {})
nonce = st.session_state.setdefault("upload_nonce", 0)
# Any file type: a wrong one (Excel, PDF, empty) gets ingest's message saying what to do, which is
# more help than a browser file filter that silently greys the file out.
files = st.file_uploader("Lab, patient or event exports (CSV/TSV)", type=None,
                         accept_multiple_files=True, key=f"uploader_{nonce}")


def _not_a_text_export(data: bytes) -> bool:
    """Empty, or binary (NUL bytes: an Excel workbook, a zip) or a PDF: not a CSV/text export."""
    return not data.strip() or b"\x00" in data[:4096] or data.startswith(b"%PDF")


def parse(name: str, data: bytes) -> dict:
    """Read one file (cached per content in this session); errors become a message, not a crash."""
    key = hashlib.sha256(data).hexdigest() + name
    if key not in parsed_cache:
        try:
            if _not_a_text_export(data):
                # the readers check the file first: "<name> is empty. Export the results as CSV and upload
                # again." / "<name> is an Excel workbook ... save it as CSV" (the CLI's wording)
                ingest.read_events(data, file_name=name)
            kind = ingest.detect_kind(data)
            reader = {"labs": ingest.read_labs, "patients": ingest.read_patients, "events": ingest.read_events}[kind]
            parsed_cache[key] = {"name": name, "data": data, "kind": kind, "read": reader(data, file_name=name)}
        except ValueError as exc:  # ingest.UnrecognisedFile names the columns found and expected
            parsed_cache[key] = {"name": name, "data": data, "kind": None, "error": str(exc)}
    return parsed_cache[key]


def is_header_only(item: dict) -> bool:
    """A file with its header row but no data row: nothing to save."""
    return not item.get("error") and item["read"].rows_read == 0


def show(item: dict) -> None:
    read = item["read"]
    rows = read.results if item["kind"] == "labs" else read.rows
    if is_header_only(item):
        st.warning(f"{item['name']} has a header row but no data rows: nothing to save. Export the "
                   "results again (check the date range of the export) and upload that file.")
    problems = read.problems
    errors = problems[problems["severity"] == "error"] if len(problems) else problems
    rejected = errors["line"].nunique() if len(errors) else 0
    if item["kind"] == "labs" and read.shape == "wide":  # one row = one draw carrying many results
        counts = f"**{read.rows_read} draws read, {len(rows)} results accepted** - **rejected draws:** {rejected}"
    elif item["kind"] == "labs":  # one row = one result
        counts = f"**{read.rows_read} results read, {len(rows)} accepted** - **rejected results:** {rejected}"
    else:
        counts = f"**{read.rows_read} rows read, {len(rows)} accepted** - **rejected rows:** {rejected}"
    st.markdown(f"**Kind:** {item['kind']} - {counts}")
    if item["kind"] == "labs":
        st.markdown(f"**Shape:** {read.shape} - delimiter `{read.delimiter}` - encoding {read.encoding}")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Column mapping**")
        st.dataframe(pd.DataFrame({"file column": list(read.column_map), "read as": list(read.column_map.values())}),
                     hide_index=True, width="stretch")
    with c2:
        if item["kind"] == "labs":
            st.markdown("**Results per analyte**")
            counts = rows["analyte"].value_counts().rename_axis("analyte").reset_index(name="results")
            st.dataframe(counts, hide_index=True, width="stretch")
        elif item["kind"] == "events":
            st.markdown("**Events per kind**")
            st.dataframe(rows["event"].value_counts().rename_axis("event").reset_index(name="rows"),
                         hide_index=True, width="stretch")
        else:
            st.markdown("**Courses per indication**")
            st.dataframe(rows["indication"].value_counts().rename_axis("indication").reset_index(name="courses"),
                         hide_index=True, width="stretch")
    if item["kind"] == "labs" and len(read.conversions):
        st.markdown("**Unit conversions to the canonical unit**")
        st.dataframe(read.conversions, hide_index=True, width="stretch")
    if len(problems):
        st.markdown(f"**Problems ({len(errors)} rejected, {len(problems) - len(errors)} warnings)** - "
                    "fix them in the source file and upload it again")
        shown = problems[[c for c in PROBLEM_COLUMNS if c in problems.columns]].sort_values(["severity", "line"])
        # narrow code columns, wide text columns, and rows tall enough (> 4rem) for the text to wrap,
        # so the message and the hint read without horizontal scrolling
        st.dataframe(shown, hide_index=True, width="stretch", key=f"problems_{item['name']}", row_height=78,
                     height=min(78 * len(shown) + 40, 640), column_config=PROBLEM_COLUMN_CONFIG)


items = [parse(f.name, f.getvalue()) for f in files or []]
for item in items:
    with st.expander(f"{item['name']}", expanded=True):
        if item.get("error"):
            st.error(f"Not recognised: {item['error']}")
        else:
            show(item)

ready = sorted((i for i in items if not i.get("error") and not is_header_only(i)), key=lambda i: KIND_ORDER.index(i["kind"]))


def unregistered_mrns(ready: list[dict]) -> tuple[list[str], set[str]]:
    """MRNs in the lab files with no registered course (in the database or in a patients file of this
    batch), and which of them have no patient record at all (a bare patient will be created)."""
    lab_mrns = {m for i in ready if i["kind"] == "labs" for m in i["read"].results["mrn"].dropna().astype(str)}
    if not lab_mrns:
        return [], set()
    batch = {m for i in ready if i["kind"] == "patients" for m in i["read"].rows["mrn"].astype(str)}
    with ui.db_session() as s:
        known = store.load_patients(session=s, include_without_course=True)
    with_course = set(known.loc[known["indication"].notna(), "mrn"].astype(str))
    missing = sorted(lab_mrns - with_course - batch)
    return missing, set(missing) - set(known["mrn"].astype(str))


missing, to_create = unregistered_mrns(ready)
if missing:
    listed = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
    st.warning(
        f"{len(missing)} MRN(s) in the lab files have no registered patient or treatment course: {listed}. "
        "On Commit their results are kept under a bare patient (MRN only"
        + (f"; {len(to_create)} will be created" if to_create else "")
        + ") and shown on the clinic overview with status REVIEW and no name, for review - no dose advice "
        "without a course. To fix it, upload the patients file with these MRNs too, or add them on Setup.")
if ready and st.button(f"Commit {len(ready)} file(s)", type="primary", key="commit"):
    saver = {"labs": store.save_labs, "patients": store.save_patients, "events": store.save_events}
    summaries = []
    with ui.db_session() as s:
        for item in ready:
            arg = "lab_import" if item["kind"] == "labs" else "table_import"
            try:
                summary = saver[item["kind"]](session=s, file_name=item["name"], data=item["data"], **{arg: item["read"]})
                summaries.append(summary.as_dict())
            except ValueError as exc:
                st.error(f"{item['name']}: not saved - {exc}")
    ui.data_changed()
    parsed_cache.clear()
    st.session_state["upload_nonce"] = nonce + 1
    st.session_state["last_commit"] = summaries
    st.rerun()

if st.session_state.get("last_commit"):
    done = pd.DataFrame(st.session_state["last_commit"])
    st.success("Saved: " + ", ".join(
        f"{r.file_name}: {r.rows_imported} new, {r.rows_unchanged} unchanged, {r.rows_superseding} corrections"
        + (" (already imported)" if r.already_imported else "") for r in done.itertuples()))
    created = int(done.loc[done["kind"] == "labs", "patients_created"].sum()) if len(done) else 0
    if created:
        st.warning(f"{created} patient(s) created from unregistered MRNs: their results are shown for review "
                   "(status REVIEW, no name). Complete them with a patients file or on the Setup page.")
    if st.button("Open the clinic overview", key="after_commit"):
        st.session_state.pop("last_commit", None)
        st.switch_page(ui.PAGES["overview"])

st.subheader("Upload history")
with ui.db_session() as s:
    history = store.list_uploads(session=s)
if history.empty:
    st.caption("Nothing uploaded yet.")
else:
    st.dataframe(history.drop(columns=["content_hash"]), hide_index=True, width="stretch", key="history",
                 column_config={"uploaded_at": st.column_config.DatetimeColumn("uploaded (UTC)", format="YYYY-MM-DD HH:mm")})
