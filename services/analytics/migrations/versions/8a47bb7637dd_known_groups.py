"""known groups: the consumer applies events only for groups it learnt of from identity

The groups of the brands, stores and users it labels count as known already.

Revision ID: 8a47bb7637dd
Revises: b2482304f0f4
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op

from shared.migrations import create_known_groups


revision = '8a47bb7637dd'
down_revision = 'b2482304f0f4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_known_groups('dim_brand', 'dim_store', 'dim_user')


def downgrade() -> None:
    op.drop_table('known_groups')
