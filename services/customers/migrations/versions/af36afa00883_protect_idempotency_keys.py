"""row-level security on idempotency_keys: the answers it keeps hold personal data

Revision ID: af36afa00883
Revises: 2865dba2f34d
Create Date: 2026-11-30 15:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = 'af36afa00883'
down_revision = '2865dba2f34d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    protect(op, group=["idempotency_keys"])


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
