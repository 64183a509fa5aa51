"""clinic mode: users, their roles, and the append-only audit trail

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:30:00

`clinic_user(email, name, active, created_at, created_by)`, `user_role(email, role)` and
`audit_event(id, at, actor, roles, source, action, patient_mrn, detail)`. The database refuses
UPDATE and DELETE on `audit_event` (and TRUNCATE on PostgreSQL) with triggers, so the trail stays
append-only whatever program connects. Only new tables are touched, so the revision chains after
any other (re-chained after 0006 when main was merged; 0007 is left free for another branch).

SQLite: a later migration that rebuilds `audit_event` in batch mode drops its triggers and must
create them again (`create_append_only_triggers`).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ROLES = ('clinician', 'nurse', 'pharmacist', 'viewer', 'admin')  # lenadash/vocab/roles.py at this revision
REFUSAL = 'the audit trail is append-only'

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION lenadash_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}: % refused', TG_OP;
END
$$
"""


def create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(
            'CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event '
            'FOR EACH ROW EXECUTE FUNCTION lenadash_audit_append_only()'
        )
        op.execute(
            'CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event '
            'FOR EACH STATEMENT EXECUTE FUNCTION lenadash_audit_append_only()'
        )
    else:
        for operation in ('UPDATE', 'DELETE'):
            op.execute(
                f'CREATE TRIGGER audit_event_no_{operation.lower()} BEFORE {operation} ON audit_event '
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {operation} refused'); END"
            )


def upgrade() -> None:
    op.create_table(
        'clinic_user',
        sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.PrimaryKeyConstraint('email'),
    )
    op.create_table(
        'user_role',
        sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.CheckConstraint('role IN (' + ', '.join(f"'{r}'" for r in ROLES) + ')', name='ck_user_role_role'),
        sa.ForeignKeyConstraint(['email'], ['clinic_user.email']),
        sa.PrimaryKeyConstraint('email', 'role'),
    )
    op.create_table(
        'audit_event',
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('roles', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('patient_mrn', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_event_at', 'audit_event', ['at'])
    op.create_index('ix_audit_event_actor', 'audit_event', ['actor'])
    op.create_index('ix_audit_event_action', 'audit_event', ['action'])
    op.create_index('ix_audit_event_patient_mrn', 'audit_event', ['patient_mrn'])
    create_append_only_triggers()


def downgrade() -> None:
    # Dropping the table drops its triggers; the PostgreSQL function goes separately.
    op.drop_table('audit_event')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS lenadash_audit_append_only()')
    op.drop_table('user_role')
    op.drop_table('clinic_user')
