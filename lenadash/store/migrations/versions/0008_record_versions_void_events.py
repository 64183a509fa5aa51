"""history, not overwrites: record_version, and voided clinical events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:30:00

`record_version(id, record_type, record_id, patient_id, change, before_json, after_json, changed_by,
changed_at, reason)` keeps every earlier version of a patient, a treatment course and a clinical event:
one row per change (created, edited, voided) with the values before and after, who, when and why. The
database refuses UPDATE and DELETE on it (and TRUNCATE on PostgreSQL), like the audit trail (0007).

`clinical_event` gains `voided_by`, `voided_at`, `void_reason` (all NULL: nothing stored before this
revision is voided), and the database refuses DELETE on it: an event entered in error is voided, the row
stays. Only a new table, new nullable columns and triggers: the revision chains after any other.

SQLite: a later migration that rebuilds `clinical_event` or `record_version` in batch mode drops their
triggers and must create them again (`create_triggers`).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

VERSIONS_REFUSAL = 'record versions are append-only'
EVENTS_REFUSAL = 'clinical events are voided, never deleted'

PG_FUNCTIONS = {
    'lenadash_versions_append_only': VERSIONS_REFUSAL,
    'lenadash_events_never_deleted': EVENTS_REFUSAL,
}


def _pg_function(name: str, refusal: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{refusal}: % refused', TG_OP;
END
$$
"""


def create_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name, refusal in PG_FUNCTIONS.items():
            op.execute(_pg_function(name, refusal))
        op.execute(
            'CREATE TRIGGER record_version_append_only BEFORE UPDATE OR DELETE ON record_version '
            'FOR EACH ROW EXECUTE FUNCTION lenadash_versions_append_only()'
        )
        op.execute(
            'CREATE TRIGGER record_version_no_truncate BEFORE TRUNCATE ON record_version '
            'FOR EACH STATEMENT EXECUTE FUNCTION lenadash_versions_append_only()'
        )
        op.execute(
            'CREATE TRIGGER clinical_event_no_delete BEFORE DELETE ON clinical_event '
            'FOR EACH ROW EXECUTE FUNCTION lenadash_events_never_deleted()'
        )
        op.execute(
            'CREATE TRIGGER clinical_event_no_truncate BEFORE TRUNCATE ON clinical_event '
            'FOR EACH STATEMENT EXECUTE FUNCTION lenadash_events_never_deleted()'
        )
        return
    for operation in ('UPDATE', 'DELETE'):
        op.execute(
            f'CREATE TRIGGER record_version_no_{operation.lower()} BEFORE {operation} ON record_version '
            f"BEGIN SELECT RAISE(ABORT, '{VERSIONS_REFUSAL}: {operation} refused'); END"
        )
    op.execute(
        'CREATE TRIGGER clinical_event_no_delete BEFORE DELETE ON clinical_event '
        f"BEGIN SELECT RAISE(ABORT, '{EVENTS_REFUSAL}: DELETE refused'); END"
    )


def upgrade() -> None:
    op.add_column('clinical_event', sa.Column('voided_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
    op.add_column('clinical_event', sa.Column('voided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('clinical_event', sa.Column('void_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
    op.create_table(
        'record_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('change', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('before_json', sa.Text(), nullable=False),
        sa.Column('after_json', sa.Text(), nullable=False),
        sa.Column('changed_by', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_record_version_record', 'record_version', ['record_type', 'record_id'])
    op.create_index('ix_record_version_patient_id', 'record_version', ['patient_id'])
    create_triggers()


def downgrade() -> None:
    # Dropping the table drops its triggers; the event trigger and the PostgreSQL functions go separately.
    op.drop_table('record_version')
    op.execute('DROP TRIGGER IF EXISTS clinical_event_no_delete' + (' ON clinical_event' if op.get_bind().dialect.name == 'postgresql' else ''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS clinical_event_no_truncate ON clinical_event')
        for name in PG_FUNCTIONS:
            op.execute(f'DROP FUNCTION IF EXISTS {name}()')
    with op.batch_alter_table('clinical_event') as batch:
        batch.drop_column('void_reason')
        batch.drop_column('voided_at')
        batch.drop_column('voided_by')
