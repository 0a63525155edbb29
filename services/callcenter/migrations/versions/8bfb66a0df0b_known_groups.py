"""known groups: the consumer applies events only for groups it learnt of from identity

The groups of the brands, stores and staff it holds copies of count as known already.

Revision ID: 8bfb66a0df0b
Revises: 28f052aba61a
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op

from shared.migrations import create_known_groups


revision = '8bfb66a0df0b'
down_revision = '28f052aba61a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_known_groups('store_refs', 'brand_refs', 'staff_refs')


def downgrade() -> None:
    op.drop_table('known_groups')
