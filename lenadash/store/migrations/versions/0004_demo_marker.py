"""the demo marker: a one-row table saying a database is the sample clinic's

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:30:00

`lenadash_marker(id, kind, created_at)`: lenadash writes `kind='demo'` when it creates the demo
database; `demo` and "Explore the sample clinic" load or drop only a database that carries it (or a
fresh empty one). A database upgraded from an earlier revision carries no marker: an old demo
database is refused until it is deleted (or reset once empty), so no clinic database is ever taken
for one. Only this table is touched, so the revision chains after any other.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'lenadash_marker',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('lenadash_marker')
