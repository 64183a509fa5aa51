"""The database, the only package that opens sessions: engine, migrations, uploads, labs, courses, events, history."""

from __future__ import annotations

from sqlmodel import Session  # noqa: F401  (re-exported: callers type their sessions with it)

from lenadash.errors import StoreError  # noqa: F401  (re-exported)
from lenadash.store import (  # noqa: F401  (for tests that patch a step; access_models, audit, people: clinic mode)
    access_models,
    audit,
    courses,
    engine,
    events,
    history,
    labs,
    marker,
    people,
    sql,
    summary,
    uploads,
)
from lenadash.store.courses import (  # noqa: F401
    load_patients,
    pending_changes,
    save_patients,
    upsert_patient_course,
)
from lenadash.store.engine import (  # noqa: F401
    MIGRATIONS_DIR,
    alembic_config,
    database_errors,
    display_url,
    drop_everything,
    make_engine,
    open_session,
    schema_revision,
    table_names,
    upgrade_schema,
)
from lenadash.store.events import EVENT_VALUE_FIELD, add_event, load_events, save_events, void_event  # noqa: F401
from lenadash.store.history import load_versions  # noqa: F401
from lenadash.store.labs import CHUNK_SIZE, load_labs, save_labs  # noqa: F401
from lenadash.store.marker import (  # noqa: F401
    claim_for_demo,
    is_demo_database,
    mark_demo,
    refuse_the_clinic_as_demo,
    same_database,
)
from lenadash.store.sql import insert_chunk as _insert_chunk  # noqa: F401  (patch store.labs.insert_chunk)
from lenadash.store.uploads import (  # noqa: F401
    UPLOADS_COLUMNS,
    ImportSummary,
    _existing_upload,  # patch store.uploads._existing_upload
    data_version,
    imported_before,
    list_uploads,
    rejected_row_count,
    rejected_rows,
    set_upload_source,
    upload_rejects,
)
from lenadash.vocab.frames import EVENT_COLUMNS as EVENTS_COLUMNS  # noqa: F401  (0.1 names)
from lenadash.vocab.frames import LAB_COLUMNS as LABS_COLUMNS  # noqa: F401
from lenadash.vocab.frames import PATIENT_COLUMNS as PATIENTS_COLUMNS  # noqa: F401
from lenadash.vocab.frames import REJECT_FIELDS  # noqa: F401
