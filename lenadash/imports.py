"""Files to the database: detect each file's kind, read it, save it, in the right order; the demo load.

The one path the CLI, the upload page and the sample clinic share (ingest reads, store saves); it also
reads the files `assess` is given, so the CLI and the page only parse their input, call, and show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, SupportsInt, cast

import pandas as pd

from lenadash import access, ingest, store
from lenadash.config import SAMPLE_DIR, get_settings
from lenadash.errors import InputError, LenadashError, StoreError, UnrecognisedFile
from lenadash.store import Session
from lenadash.vocab.draws import drop_written_twice

# Import order: patients first (so labs attach to registered patients), then events, then labs.
KIND_ORDER = ("patients", "events", "labs")
DATA_SUFFIXES = (".csv", ".tsv", ".txt")
READERS = {"labs": ingest.read_labs, "patients": ingest.read_patients, "events": ingest.read_events}


# --- one file ----------------------------------------------------------------------------------


def read_path(path: str | Path) -> bytes:
    """A file's bytes; InputError saying how to fix a folder, a wrong path or a file it may not read."""
    file = Path(path)
    if file.is_dir():
        raise InputError(f"{path} is a folder; give the files in it, e.g. {Path(path) / '*.csv'}")
    if not file.is_file():
        raise InputError(
            f"{path}: no such file; check the path (run from the folder the file is in, or give its full path)"
        )
    try:
        return file.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from exc


def _not_a_text_export(data: bytes) -> bool:
    """Empty, or binary (NUL bytes: an Excel workbook, a zip) or a PDF: not a CSV/text export."""
    return not data.strip() or b"\x00" in data[:4096] or data.startswith(b"%PDF")


def _kind_of_upload(data: bytes, *, file_name: str) -> str:
    """ "labs", "patients" or "events" (ingest.detect_kind). A file that is no text export at all gets
    the readers' own message ("<name> is empty. Export the results as CSV ...", "<name> is an Excel
    workbook ... save it as CSV"), which says more than "could not tell the kind"."""
    if ingest.is_message_feed(data):  # HL7 v2 or FHIR (a zip of FHIR resources too): lab results
        return "labs"
    ingest.refuse_non_text(data, file_name)  # an Excel workbook, zip or PDF says so, whatever its columns
    try:
        return ingest.detect_kind(data)
    except UnrecognisedFile:
        if _not_a_text_export(data):
            ingest.read_labs(data, file_name=file_name)  # every reader checks the file before its columns
        raise


def read_file(data: bytes, *, file_name: str) -> tuple[str, Any]:
    """(kind, what ingest read: a LabImport for labs, else a TableImport); raises UnrecognisedFile."""
    kind = ingest.detect_kind(data)
    return kind, READERS[kind](data, file_name=file_name)


def save(*, session: Session, kind: str, file_name: str, data: bytes, parsed) -> store.ImportSummary:
    """Store what ingest read of one file (`data`: the file's bytes) with the store function for its kind,
    then record it in the audit trail (file hash and counts; the file name can carry PHI and is not kept there)."""
    access.require("upload")
    if kind == "labs":
        summary = store.save_labs(session=session, file_name=file_name, data=data, lab_import=parsed)
    elif kind == "patients":
        summary = store.save_patients(session=session, file_name=file_name, data=data, table_import=parsed)
    else:
        summary = store.save_events(session=session, file_name=file_name, data=data, table_import=parsed)
    access.audit("upload", session=session, detail=_upload_detail(summary, hashlib.sha256(data).hexdigest()))
    return summary


def _upload_detail(summary: store.ImportSummary, sha256: str) -> dict:
    counts = ("rows_read", "rows_imported", "rows_unchanged", "rows_superseding", "rows_rejected", "patients_created")
    return {
        "sha256": sha256,
        "kind": summary.kind,
        "upload_id": summary.upload_id,
        "already_imported": summary.already_imported,
        **{name: getattr(summary, name) for name in counts},
    }


def import_file(*, session: Session, file_name: str, data: bytes | BinaryIO) -> store.ImportSummary:
    """Detect a file's kind by its columns (ingest.detect_kind), read it and save it.

    Raises ingest.UnrecognisedFile (a LenadashError naming the columns found and expected).
    An identical file imported before is recognised by its SHA-256 before it is parsed
    (store.imported_before): the same "already imported" summary, recorded in the audit trail.
    """
    raw = ingest.as_bytes(data)
    sha256 = hashlib.sha256(raw).hexdigest()
    earlier = store.imported_before(session=session, sha256=sha256, kind=ingest.detect_kind(raw), file_name=file_name)
    if earlier is not None:
        access.require("upload")
        access.audit("upload", session=session, detail=_upload_detail(earlier, sha256))
        return earlier
    kind, parsed = read_file(raw, file_name=file_name)
    return save(session=session, kind=kind, file_name=file_name, data=raw, parsed=parsed)


# --- several files, the demo --------------------------------------------------------------------


def check_paths(paths: Sequence[str | Path]) -> list[Path]:
    """The paths, once each is known to be a readable lab, patients or events file (so nothing is
    written when one is not); the error names the file."""
    for path in paths:
        data = read_path(path)
        try:
            _kind_of_upload(data, file_name=Path(path).name)  # the page's check: workbooks and PDFs named
        except UnrecognisedFile as exc:
            raise UnrecognisedFile(f"{path}: {exc}") from exc
    return [Path(p) for p in paths]


def import_paths(*, session: Session, paths: Sequence[Path]) -> list[store.ImportSummary]:
    """Import several files, patients files first, then events, then labs, whatever the order given."""
    loaded = []
    for path in paths:
        data = Path(path).read_bytes()
        loaded.append((KIND_ORDER.index(ingest.detect_kind(data)), str(path), Path(path).name, data))
    loaded.sort(key=lambda item: item[0])
    return [import_file(session=session, file_name=name, data=data) for _, _, name, data in loaded]


def sample_files(sample_dir: Path | None = None) -> list[Path]:
    """Data files of the sample clinic (sample_data/)."""
    folder = Path(sample_dir or SAMPLE_DIR)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)


def load_demo(url: str | None = None, reset: bool = False, sample_dir: Path | None = None) -> list[store.ImportSummary]:
    """Load every sample_data/ file into the demo database (default settings.demo_database_url).

    Never touches the clinic database: a demo URL that reaches it under any spelling is refused
    (store.refuse_the_clinic_as_demo), and so is any database that holds data without the demo marker
    (store.claim_for_demo); a fresh empty database becomes the demo database and is marked.
    Idempotent (files already imported are skipped); `reset=True` drops and recreates it first.
    """
    url = url or get_settings().demo_database_url
    store.refuse_the_clinic_as_demo(demo_url=url, clinic_url=get_settings().database_url)
    files = sample_files(sample_dir)
    if not files:
        raise StoreError(f"no sample data files in {sample_dir or SAMPLE_DIR}; run from a lenadash checkout")
    engine = store.make_engine(url, upgrade=False)
    try:
        store.claim_for_demo(engine)  # before anything is written or dropped
        if reset:
            store.drop_everything(engine)
        store.upgrade_schema(engine)
        store.mark_demo(engine)
        with store.open_session(engine) as session:
            return import_paths(session=session, paths=files)
    finally:
        engine.dispose()


# --- uploads: check first, commit on request ---------------------------------------------------------


@dataclass(frozen=True)
class PreparedUpload:
    """One uploaded file, read but not saved: its kind and what ingest read, or why it was not recognised."""

    name: str
    data: bytes
    kind: str | None = None
    parsed: Any = None  # ingest.LabImport for labs, else ingest.TableImport
    error: str | None = None

    @property
    def header_only(self) -> bool:
        """A file with its header row but no data row: nothing to save."""
        return self.error is None and self.parsed.rows_read == 0

    @property
    def ready(self) -> bool:
        """Recognised and with rows: something to commit."""
        return self.error is None and not self.header_only

    @property
    def rows(self) -> pd.DataFrame:
        """The accepted rows: lab results (one per analyte and draw), patients' courses or events."""
        return self.parsed.results if self.kind == "labs" else self.parsed.rows


def read_upload(name: str, data: bytes) -> PreparedUpload:
    """Read one uploaded file; a file lenadash cannot read (LenadashError) becomes the message saying why."""
    try:
        kind = _kind_of_upload(data, file_name=name)
        parsed = READERS[kind](data, file_name=name)
    except LenadashError as exc:  # e.g. UnrecognisedFile, naming the columns found and expected
        return PreparedUpload(name=name, data=data, error=str(exc))
    return PreparedUpload(name=name, data=data, kind=kind, parsed=parsed)


def ready_to_save(prepared: Iterable[PreparedUpload]) -> list[PreparedUpload]:
    """The uploads with rows to save, in import order (patients, events, labs)."""
    return sorted((p for p in prepared if p.ready), key=lambda p: KIND_ORDER.index(p.kind))


def unregistered_mrns(*, session: Session, ready: Sequence[PreparedUpload]) -> tuple[list[str], set[str]]:
    """MRNs in the lab files with no registered course (in the database or in a patients file of this
    batch), and which of them have no patient record at all (a bare patient will be created)."""
    lab_mrns = {m for p in ready if p.kind == "labs" for m in p.rows["mrn"].dropna().astype(str)}
    if not lab_mrns:
        return [], set()
    batch = {m for p in ready if p.kind == "patients" for m in p.rows["mrn"].astype(str)}
    known = store.load_patients(session=session, include_without_course=True)
    with_course = set(known.loc[known["indication"].notna(), "mrn"].astype(str))
    missing = sorted(lab_mrns - with_course - batch)
    return missing, set(missing) - set(known["mrn"].astype(str))


@dataclass(frozen=True)
class Committed:
    """One upload after Commit: its summary, or the message saying why it was not saved."""

    name: str
    summary: store.ImportSummary | None = None
    refused: str | None = None


def commit_uploads(*, session: Session, prepared: Iterable[PreparedUpload]) -> Iterator[Committed]:
    """Save the ready uploads in import order, each file in its own transaction, yielding each outcome.

    A file the store refuses (LenadashError) is rolled back and reported, and the others go on.
    Anything else is a bug: it propagates, with the failing file rolled back and the files yielded
    before it saved.
    """
    for item in ready_to_save(prepared):
        assert item.kind is not None  # ready_to_save keeps recognised files only
        try:
            summary = save(session=session, kind=item.kind, file_name=item.name, data=item.data, parsed=item.parsed)
        except LenadashError as exc:
            yield Committed(name=item.name, refused=str(exc))
        else:
            yield Committed(name=item.name, summary=summary)


# --- assess over files or a database ----------------------------------------------------------------


class AssessInputs(NamedTuple):
    """What `assess` reads: the patients, labs and events frames, and the import report (rows read, rejects)."""

    patients: pd.DataFrame
    labs: pd.DataFrame
    events: pd.DataFrame | None
    report: dict


def _read_as(path: str | Path, kind: str):
    data = read_path(path)
    try:
        return READERS[kind](data, file_name=Path(path).name)
    except UnrecognisedFile as exc:
        raise UnrecognisedFile(f"{path}: {exc}") from exc


def read_assess_inputs(
    *, patients: str | Path, labs: Sequence[str | Path], events: str | Path | None = None
) -> AssessInputs:
    """Read a patients file, lab files and an optional events file for assess, without a database."""
    patients_read = _read_as(patients, "patients")
    labs_read = [_read_as(path, "labs") for path in labs]
    events_read = _read_as(events, "events") if events else None
    files = [(patients, patients_read), *zip(labs, labs_read)] + ([(events, events_read)] if events else [])
    rejects = [r for path, parsed in files for r in store.rejected_rows(parsed.problems, Path(path).name)]
    report = {
        "rows_read": sum(int(parsed.rows_read or 0) for _, parsed in files),
        "rows_rejected": store.rejected_row_count(rejects),
        "rejects": [{"file": r["file"], "line": r["line"], "reason": r["reason"]} for r in rejects],
    }
    return AssessInputs(
        patients=patients_read.rows,
        labs=drop_written_twice(
            pd.concat([parsed.results for parsed in labs_read], ignore_index=True), ["mrn", "analyte"]
        ),
        events=events_read.rows if events_read is not None else None,
        report=report,
    )


def load_assess_inputs(*, session: Session) -> AssessInputs:
    """The stored patients, labs and events for assess, and the report of every upload's rejected rows."""
    patients = store.load_patients(session=session)
    labs = store.load_labs(session=session)
    events = store.load_events(session=session)
    uploads = store.list_uploads(session=session)
    rejects = []
    for upload in uploads.itertuples():
        # list_uploads makes "id" int64; pandas-stubs types a row's fields as any scalar
        upload_id = int(cast(SupportsInt, upload.id))
        for r in store.upload_rejects(session=session, upload_id=upload_id):
            file_name = r.get("file") or upload.file_name
            rejects.append({"file": file_name, "line": r.get("line"), "reason": r.get("reason")})
    report = {
        "rows_read": int(uploads["rows_read"].sum()),
        "rows_rejected": store.rejected_row_count(rejects),
        "rejects": rejects,
    }
    return AssessInputs(patients=patients, labs=labs, events=events, report=report)
