"""imports queued for the worker: the file kept in chunks, a lease per job

Revision ID: ec020077a22c
Revises: b7e2c4d91a03
Create Date: 2026-11-30 18:59:04.623005

An import left queued or running by the API's thread has no stored file: it is marked interrupted.
"""
from alembic import op
import sqlalchemy as sa
import shared.db
from shared.migrations import protect, unprotect

revision = 'ec020077a22c'
down_revision = 'b7e2c4d91a03'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_file_chunks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_file_chunks')),
    info={'owned_by': 'store'}
    )
    with op.batch_alter_table('import_file_chunks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_file_chunks_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_file_chunks_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_file_chunks_store_id'), ['store_id'], unique=False)

    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('lease_until', shared.db.UTCDateTime(timezone=True), nullable=True))

    protect(op, group=[], store=['import_file_chunks'])
    op.execute("UPDATE import_jobs SET status = 'interrupted', message = 'The import stopped (the service "
               "restarted). Upload the file again: rows already imported are skipped as duplicates.' "
               "WHERE status IN ('queued', 'running')")


def downgrade() -> None:
    unprotect(op, ['import_file_chunks'])
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')

    with op.batch_alter_table('import_file_chunks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_file_chunks_store_id'))
        batch_op.drop_index(batch_op.f('ix_import_file_chunks_job_id'))
        batch_op.drop_index(batch_op.f('ix_import_file_chunks_group_id'))

    op.drop_table('import_file_chunks')
