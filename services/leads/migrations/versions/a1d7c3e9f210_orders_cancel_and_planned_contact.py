"""orders: cancellation and the level before the order; leads: the planned next contact

Revision ID: a1d7c3e9f210
Revises: f43f22fab41b
Create Date: 2026-11-30 16:00:00
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = 'a1d7c3e9f210'
down_revision = 'f43f22fab41b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_level', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=500), nullable=True))
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('planned_on')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_by')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('from_level')
