"""known groups: the consumer applies events only for groups it learnt of from identity

The groups of the stores it holds copies of count as known already.

Revision ID: aeda5db2589a
Revises: 55be5ae97950
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op

from shared.migrations import create_known_groups


revision = 'aeda5db2589a'
down_revision = '55be5ae97950'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_known_groups('store_refs')


def downgrade() -> None:
    op.drop_table('known_groups')
