"""idempotency keys: a retried create gets its first answer (shared.idempotency)

Revision ID: fdd2ef5c2571
Revises: 7d3e0b9c4a21
Create Date: 2026-11-30 13:00:00
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = 'fdd2ef5c2571'
down_revision = '7d3e0b9c4a21'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'idempotency_keys',
        sa.Column('user_id', sa.String(length=36), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('group_id', sa.String(length=36), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('path', sa.String(length=300), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'key', name=op.f('pk_idempotency_keys')),
    )


def downgrade() -> None:
    op.drop_table('idempotency_keys')
