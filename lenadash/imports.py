"""Files to the database: detect each file's kind, read it, save it, in the right order; the demo load.

The one path the CLI, the upload page and the sample clinic share (ingest reads, store saves).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from lenadash import ingest, store
from lenadash.store import Session
from lenadash.config import SAMPLE_DIR, get_settings

# Import order: patients first (so labs attach to registered patients), then events, then labs.
KIND_ORDER = ("patients", "events", "labs")
DATA_SUFFIXES = (".csv", ".tsv", ".txt")


def import_file(*, session: Session, file_name: str, data: bytes) -> store.ImportSummary:
    """Detect a file's kind by its columns (ingest.detect_kind), read it and save it.

    Raises ingest.UnrecognisedFile (a ValueError naming the columns found and expected).
    """
    kind = ingest.detect_kind(data)
    if kind == "labs":
        return store.save_labs(session=session, file_name=file_name, data=data, lab_import=ingest.read_labs(data, file_name=file_name))
    if kind == "patients":
        return store.save_patients(session=session, file_name=file_name, data=data, table_import=ingest.read_patients(data, file_name=file_name))
    return store.save_events(session=session, file_name=file_name, data=data, table_import=ingest.read_events(data, file_name=file_name))


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

    Never touches the clinic database. Idempotent (files already imported are skipped);
    `reset=True` drops and recreates the demo database first.
    """
    settings = get_settings()
    url = url or settings.demo_database_url
    if make_url(url) == make_url(settings.database_url):
        raise store.StoreError(
            "the demo database URL is the clinic database; the sample clinic must never mix with real "
            "patients - give demo its own URL (LENADASH_DEMO_DATABASE_URL or --db)"
        )
    files = sample_files(sample_dir)
    if not files:
        raise store.StoreError(f"no sample data files in {sample_dir or SAMPLE_DIR}; run from a lenadash checkout")
    engine = store.make_engine(url, upgrade=not reset)
    try:
        if reset:
            store.drop_everything(engine)
            store.upgrade_schema(engine)
        with store.open_session(engine) as session:
            return import_paths(session=session, paths=files)
    finally:
        engine.dispose()
