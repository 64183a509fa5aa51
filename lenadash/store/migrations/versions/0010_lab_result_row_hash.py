"""a content hash on each lab result, so a re-import compares its rows inside the database

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 04:40:00

`lab_result.row_hash` (BIGINT, nullable): a 64-bit hash of the result's patient, test, collection time,
value, comparator and whether it was preliminary, written with each row by `store.save_labs`. A re-import
reads the hashes of the stored current rows (one integer each, not the rows) and leaves out every key of
the file whose lines all equal the stored result (issue 14: a 99.9% unchanged export at a fraction of a
fresh import's time). Rows stored before this revision keep NULL: a NULL hash never matches, so those
rows are compared the full way, as before (the same result, only slower). Only this column is added, so
the revision chains after any other (the lead re-chains it after the last one merged).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('lab_result', sa.Column('row_hash', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lab_result') as batch:
        batch.drop_column('row_hash')
