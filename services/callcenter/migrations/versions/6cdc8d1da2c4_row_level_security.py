"""row-level security on every group-owned table

Revision ID: 6cdc8d1da2c4
Revises: 8bfb66a0df0b
Create Date: 2026-11-30 12:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = '6cdc8d1da2c4'
down_revision = '8bfb66a0df0b'
branch_labels = None
depends_on = None

# the tables as of this revision: a later one protects its own new tables (tests/integration/
# test_row_level_security.py fails for a group-owned table without the policy)
GROUP = [
    'brand_refs',
    'contacts',
    'group_settings',
    'questionnaire_versions',
    'questionnaires',
    'staff_refs',
    'store_refs',
    'task_rules',
]
STORE = [
    'attempts',
    'complaints',
    'store_callbacks',
    'survey_links',
    'survey_responses',
    'tasks',
]


def upgrade() -> None:
    protect(op, group=GROUP, store=STORE)


def downgrade() -> None:
    unprotect(op, GROUP + STORE)
