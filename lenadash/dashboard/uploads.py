"""The upload page without Streamlit: read, check and commit uploads (lenadash.imports), their words, the history."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lenadash import store
from lenadash.imports import (  # noqa: F401  (re-exported for the page)
    Committed,
    PreparedUpload,
    commit_uploads,
    read_upload,
    ready_to_save,
    unregistered_mrns,
)
from lenadash.store import Session

# Lab files that are messages, not tables: their format in the page's words (LabImport.shape).
FEED_FORMATS = {"hl7": "HL7 v2 (ORU^R01 result messages)", "fhir": "FHIR R4 (Observations)"}

# The page's answer to a bug (anything not a LenadashError); the traceback goes to the server log only.
SOMETHING_WENT_WRONG = "Something went wrong; nothing was saved."


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def saved_line(done: dict) -> str:
    """One file's outcome after Commit (an ImportSummary as_dict), every part of the accepted rows and
    the rejected ones counted in plain words ("1 correction", "2 rejected"); an identical file says so
    instead of "0 new"."""
    summary = store.ImportSummary(**done)
    if summary.already_imported:
        return f"{summary.file_name}: already imported, nothing new"
    unit = ("result", "results") if summary.kind == "labs" else ("row", "rows")
    parts = [
        _count(summary.rows_imported, f"new {unit[0]}", f"new {unit[1]}"),
        f"{summary.rows_unchanged} unchanged",
        _count(summary.rows_superseding, "correction", "corrections"),
    ]
    if summary.rows_rejected:
        parts.append(f"{summary.rows_rejected} rejected (see the problems above; not saved)")
    return f"{summary.file_name}: " + ", ".join(parts)


def counts_line(item: PreparedUpload) -> str:
    """What was read and accepted, in the file's own unit: draws for wide lab files (one row carries
    many results), results for long lab files, rows for patients and events files."""
    read, rows = item.parsed, item.rows
    problems = read.problems
    errors = problems[problems["severity"] == "error"] if len(problems) else problems
    rejected = errors["line"].nunique() if len(errors) else 0
    if item.kind == "labs" and read.shape == "wide":
        counts = f"**{read.rows_read} draws read, {len(rows)} results accepted** - **rejected draws:** {rejected}"
    elif item.kind == "labs":
        counts = f"**{read.rows_read} results read, {len(rows)} accepted** - **rejected results:** {rejected}"
    else:
        counts = f"**{read.rows_read} rows read, {len(rows)} accepted** - **rejected rows:** {rejected}"
    return f"**Kind:** {item.kind} - {counts}"


def problems_heading(item: PreparedUpload) -> str:
    problems = item.parsed.problems
    errors = int((problems["severity"] == "error").sum())
    return (
        f"**Problems ({errors} rejected, {len(problems) - errors} warnings)** - "
        "fix them in the source file and upload it again"
    )


def interrupted(saved: Sequence[Committed]) -> str:
    """The message for a bug during Commit: which files were saved before it, if any (each file is its
    own transaction, so the failing one and those after it were not)."""
    names = [c.name for c in saved if c.summary is not None]
    if not names:
        return SOMETHING_WENT_WRONG
    return (
        f"Something went wrong; only {', '.join(names)} "
        f"{'was' if len(names) == 1 else 'were'} saved, nothing from the other files."
    )


def upload_history(*, session: Session) -> pd.DataFrame:
    """Every upload, newest first (store.list_uploads)."""
    return store.list_uploads(session=session)
