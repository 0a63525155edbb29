"""report amendments need the manager's approval

Revision ID: a14c0e2b7d51
Revises: a1d7c3e9f210
Create Date: 2026-11-30 16:20:00

Amendments made before this revision were in force at once: they stay `approved`.
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = 'a14c0e2b7d51'
down_revision = 'a1d7c3e9f210'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report_amendments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='approved', nullable=False))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('decided_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('report_amendments', schema=None) as batch_op:
        batch_op.drop_column('decision_note')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('status')
