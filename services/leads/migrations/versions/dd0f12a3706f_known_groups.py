"""known groups: the consumer applies events only for groups it learnt of from identity

The groups of the stores and staff it holds copies of count as known already.

Revision ID: dd0f12a3706f
Revises: 0bf133fe92bd
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op

from shared.migrations import create_known_groups


revision = 'dd0f12a3706f'
down_revision = '0bf133fe92bd'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_known_groups('store_refs', 'staff_refs')


def downgrade() -> None:
    op.drop_table('known_groups')
