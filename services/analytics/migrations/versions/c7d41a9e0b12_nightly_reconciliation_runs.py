"""nightly reconciliation runs: the last comparison of analytics with each source's own counts

Revision ID: c7d41a9e0b12
Revises: e489fce97e1b
Create Date: 2026-11-30 19:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
import shared.db
from shared.migrations import protect, unprotect


revision = 'c7d41a9e0b12'
down_revision = 'e489fce97e1b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconcile_run',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('request_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('day_from', sa.Date(), nullable=False),
    sa.Column('day_to', sa.Date(), nullable=False),
    sa.Column('checked', sa.Integer(), nullable=False),
    sa.Column('drift', sa.JSON(), nullable=False),
    sa.Column('ran_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconcile_run')),
    sa.UniqueConstraint('group_id', 'request_id', 'source', name='uq_reconcile_run')
    )
    protect(op, group=["reconcile_run"])


def downgrade() -> None:
    unprotect(op, ["reconcile_run"])
    op.drop_table('reconcile_run')
