"""naive lab collection times; one upload per file and kind

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:20:00

- `lab_result.collected_at` becomes `timestamp without time zone`: it is the clinic's wall-clock
  time, not an instant. PostgreSQL: 0001 stored it as `timestamptz` while the store pinned every
  session to UTC, so `AT TIME ZONE 'UTC'` gives back exactly the wall-clock time that was
  imported. SQLite: both types are DATETIME text without a zone ('2026-01-05 08:30:00.000000'),
  so nothing is stored differently and the table is left alone.
- `upload` gets a unique index on (content_hash, kind), so two imports of the same new file racing
  each other cannot both be recorded. An index, not a table constraint: same guarantee, and SQLite
  adds it in place (adding a constraint means rebuilding `upload`, and SQLite refuses to drop the
  old table while foreign keys are enforced and results reference it). Uploads that are already
  doubled (only that race made them) are merged into the earliest one first: the later twin's
  results and events point at the earliest upload (same bytes, same hash) and the twin row goes
  (its file name, time and counts with it). Results the race stored twice stay as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# The upload rows that have an earlier upload of the same bytes and kind.
_LATER_TWIN = (
    "EXISTS (SELECT 1 FROM upload AS earlier WHERE earlier.content_hash = upload.content_hash "
    "AND earlier.kind = upload.kind AND earlier.id < upload.id)"
)
_EARLIEST_TWIN = (
    "(SELECT MIN(earliest.id) FROM upload AS earliest JOIN upload AS twin "
    "ON twin.content_hash = earliest.content_hash AND twin.kind = earliest.kind "
    "WHERE twin.id = {table}.upload_id)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            'lab_result', 'collected_at',
            existing_type=sa.DateTime(timezone=True),
            type_=sa.DateTime(timezone=False),
            existing_nullable=False,
            postgresql_using="collected_at AT TIME ZONE 'UTC'",
        )

    for table in ("lab_result", "clinical_event"):
        op.execute(
            f"UPDATE {table} SET upload_id = {_EARLIEST_TWIN.format(table=table)} "
            f"WHERE upload_id IN (SELECT id FROM upload WHERE {_LATER_TWIN})"
        )
    op.execute(f"DELETE FROM upload WHERE {_LATER_TWIN}")
    op.create_index('uq_upload_content_hash_kind', 'upload', ['content_hash', 'kind'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_upload_content_hash_kind', table_name='upload')

    if op.get_bind().dialect.name == "postgresql":
        # Back to 0001's timestamptz, read as UTC (the zone 0001's store pinned its sessions to).
        op.alter_column(
            'lab_result', 'collected_at',
            existing_type=sa.DateTime(timezone=False),
            type_=sqlmodel.sql.sqltypes.UTCDateTime(),
            existing_nullable=False,
            postgresql_using="collected_at AT TIME ZONE 'UTC'",
        )
