"""where an upload came from: "" (the upload page or the command line) or "folder" (the watched folder)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 01:40:00

`upload.source` lets the upload history show which files the watched folder imported
(`python -m lenadash watch`, docs/import.md "Watched folder"). Existing uploads get "". Only this
column is added, so the revision chains after any other (the lead re-chains it after 0005).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('upload') as batch:
        batch.add_column(
            sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='')
        )


def downgrade() -> None:
    with op.batch_alter_table('upload') as batch:
        batch.drop_column('source')
