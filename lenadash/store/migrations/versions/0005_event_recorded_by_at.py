"""who recorded a clinical event and when: clinical_event.recorded_by, clinical_event.recorded_at

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 02:00:00

Accept and Modify on the next-action card, and the Setup page, record a clinician's decision as a
clinical event; `recorded_by` (the user name, up to 64 characters) and `recorded_at` (an instant, UTC)
say who and when. Both are nullable: events from an events file, and every event stored before this
revision, have no recorder (NULL). Adding nullable columns needs no table rebuild on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('clinical_event', sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('clinical_event', sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clinical_event') as batch:
        batch.drop_column('recorded_at')
        batch.drop_column('recorded_by')
