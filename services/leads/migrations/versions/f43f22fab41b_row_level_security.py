"""row-level security on every group-owned table

Revision ID: f43f22fab41b
Revises: dd0f12a3706f
Create Date: 2026-11-30 12:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = 'f43f22fab41b'
down_revision = 'dd0f12a3706f'
branch_labels = None
depends_on = None

# the tables as of this revision: a later one protects its own new tables (tests/integration/
# test_row_level_security.py fails for a group-owned table without the policy)
GROUP = [
    'group_settings',
    'staff_refs',
    'store_refs',
]
STORE = [
    'assignments',
    'campaigns',
    'daily_reports',
    'defeats',
    'follow_ups',
    'import_jobs',
    'import_row_errors',
    'leads',
    'level_changes',
    'orders',
    'report_amendments',
    'test_drives',
    'visits',
]


def upgrade() -> None:
    protect(op, group=GROUP, store=STORE)


def downgrade() -> None:
    unprotect(op, GROUP + STORE)
