"""row-level security on every group-owned table

Revision ID: 2865dba2f34d
Revises: aeda5db2589a
Create Date: 2026-11-30 12:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = '2865dba2f34d'
down_revision = 'aeda5db2589a'
branch_labels = None
depends_on = None

# the tables as of this revision: a later one protects its own new tables (tests/integration/
# test_row_level_security.py fails for a group-owned table without the policy)
GROUP = [
    'access_log',
    'activities',
    'customers',
    'group_settings',
    'identifiers',
    'insurance_policies',
    'match_candidates',
    'merges',
    'schedule_log',
    'store_refs',
    'vehicles',
]
STORE = [
    'customer_leads',
    'service_visits',
    'store_relationships',
]


def upgrade() -> None:
    protect(op, group=GROUP, store=STORE)


def downgrade() -> None:
    unprotect(op, GROUP + STORE)
