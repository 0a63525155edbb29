"""known groups: the consumer applies events only for groups it learnt of from identity

The groups of its own groups count as known already.

Revision ID: 2d93493ee4d9
Revises: fdd2ef5c2571
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op

from shared.migrations import create_known_groups


revision = '2d93493ee4d9'
down_revision = 'fdd2ef5c2571'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_known_groups('groups')


def downgrade() -> None:
    op.drop_table('known_groups')
