"""row-level security on every group-owned table

Revision ID: a87beb340569
Revises: 2d93493ee4d9
Create Date: 2026-11-30 12:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = 'a87beb340569'
down_revision = '2d93493ee4d9'
branch_labels = None
depends_on = None

# the tables as of this revision: a later one protects its own new tables (tests/integration/
# test_row_level_security.py fails for a group-owned table without the policy)
GROUP = [
    'brands',
    'groups',
    'stores',
    'users',
]
STORE = []


def upgrade() -> None:
    protect(op, group=GROUP, store=STORE)


def downgrade() -> None:
    unprotect(op, GROUP + STORE)
