"""the kept assessment: one summary row per patient, rule profile and as-of day

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 05:00:00

`course_summary(mrn, rules, as_of, inputs, summary, computed_at)` (store/summary.py, issue 14): the
worklist's part of each patient's assessment and its worklist rows (JSON), valid while the patient's input fingerprint
(`inputs`) is unchanged, so a new server process reads the worklist without reading lab rows. Derived
data: dropping the table loses nothing but one reassessment. Only a new table, so the revision chains
after any other (the lead re-chains it).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'course_summary',
        sa.Column('mrn', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('rules', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('inputs', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('computed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('mrn', 'rules', 'as_of'),
    )


def downgrade() -> None:
    op.drop_table('course_summary')
