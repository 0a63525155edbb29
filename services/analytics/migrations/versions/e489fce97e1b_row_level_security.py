"""row-level security on every group-owned table

Revision ID: e489fce97e1b
Revises: 5b4332152987
Create Date: 2026-11-30 12:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = 'e489fce97e1b'
down_revision = '5b4332152987'
branch_labels = None
depends_on = None

# the tables as of this revision: a later one protects its own new tables (tests/integration/
# test_row_level_security.py fails for a group-owned table without the policy)
GROUP = [
    'dim_brand',
    'dim_user',
    'event_log',
    'group_setting',
    'target',
]
STORE = [
    'dim_store',
    'fact',
    'forecast_snapshot',
    'rollup_cube',
    'rollup_fine',
    'rollup_running',
]


def upgrade() -> None:
    protect(op, group=GROUP, store=STORE)


def downgrade() -> None:
    unprotect(op, GROUP + STORE)
