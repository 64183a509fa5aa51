"""one current lab result per natural key; upload bytes no longer kept

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:30:00

- `lab_result` gets the partial unique index `uq_lab_result_current` on
  (patient_id, analyte, collected_at) WHERE superseded_by_id IS NULL: the database itself holds
  "one current result per key"; it replaces the plain index on the same columns (imports look keys
  up among current rows only). Keys that concurrent imports left with several current rows are
  repaired first: the newest row (highest id, the last written) stays current and the others
  point at it as superseded, the way a correction is stored. Nothing is deleted.
- `upload` gets `size_bytes` (the file's size, taken from the stored bytes) and the stored bytes
  are cleared: they carry names, birth dates and comments the store never needs (the SHA-256
  recognises a re-upload). A migration cannot know a clinic's settings, so every upload is
  cleared; LENADASH_KEEP_UPLOADS=1 keeps the bytes of files imported from then on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_SAME_KEY_CURRENT = (
    "newer.patient_id = lab_result.patient_id AND newer.analyte = lab_result.analyte "
    "AND newer.collected_at = lab_result.collected_at AND newer.superseded_by_id IS NULL"
)


def upgrade() -> None:
    op.execute(
        f"UPDATE lab_result SET superseded_by_id = (SELECT MAX(newer.id) FROM lab_result AS newer "
        f"WHERE {_SAME_KEY_CURRENT}) "
        f"WHERE superseded_by_id IS NULL AND EXISTS (SELECT 1 FROM lab_result AS newer "
        f"WHERE {_SAME_KEY_CURRENT} AND newer.id > lab_result.id)"
    )
    op.create_index(
        'uq_lab_result_current',
        'lab_result',
        ['patient_id', 'analyte', 'collected_at'],
        unique=True,
        sqlite_where=sa.text('superseded_by_id IS NULL'),
        postgresql_where=sa.text('superseded_by_id IS NULL'),
    )
    # Imports look keys up among current rows only: the new index serves them, the plain one goes.
    op.drop_index('ix_lab_result_patient_analyte_collected', table_name='lab_result')

    op.add_column('upload', sa.Column('size_bytes', sa.Integer(), nullable=False, server_default='0'))
    length = "octet_length" if op.get_bind().dialect.name == "postgresql" else "length"
    op.execute(f"UPDATE upload SET size_bytes = {length}(content)")
    op.execute(sa.text("UPDATE upload SET content = :empty").bindparams(sa.bindparam("empty", b"", sa.LargeBinary)))


def downgrade() -> None:
    # The cleared bytes cannot come back; the repaired keys stay repaired (both are valid at 0002).
    op.execute('ALTER TABLE upload DROP COLUMN size_bytes')  # SQLite 3.35+ and PostgreSQL, in place
    op.create_index(
        'ix_lab_result_patient_analyte_collected', 'lab_result', ['patient_id', 'analyte', 'collected_at']
    )
    op.drop_index('uq_lab_result_current', table_name='lab_result')
