"""report reopenings and misses: back-filling after the deadline needs the manager; misses are published

Revision ID: b5e20c4d7a93
Revises: ec020077a22c
Create Date: 2026-11-30 19:25:00
"""
from alembic import op
import sqlalchemy as sa
import shared.db
from shared.migrations import protect, unprotect


revision = 'b5e20c4d7a93'
down_revision = 'ec020077a22c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_reopenings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('owner', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('by', sa.String(length=36), nullable=True),
    sa.Column('at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_reopenings'))
    )
    op.create_index(op.f('ix_report_reopenings_group_id'), 'report_reopenings', ['group_id'], unique=False)
    op.create_index(op.f('ix_report_reopenings_store_id'), 'report_reopenings', ['store_id'], unique=False)
    op.create_table('report_misses',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('consultant_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_misses')),
    sa.UniqueConstraint('store_id', 'consultant_id', 'day', name=op.f('uq_report_misses_store_id'))
    )
    op.create_index(op.f('ix_report_misses_group_id'), 'report_misses', ['group_id'], unique=False)
    op.create_index(op.f('ix_report_misses_store_id'), 'report_misses', ['store_id'], unique=False)
    protect(op, store=["report_reopenings", "report_misses"])
    with op.batch_alter_table('staff_refs', schema=None) as batch_op:  # staff known before: null
        batch_op.add_column(sa.Column('known_at', shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_refs', schema=None) as batch_op:
        batch_op.drop_column('known_at')
    unprotect(op, ["report_reopenings", "report_misses"])
    op.drop_table('report_misses')
    op.drop_table('report_reopenings')
