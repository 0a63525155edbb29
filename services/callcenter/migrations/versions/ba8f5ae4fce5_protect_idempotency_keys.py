"""row-level security on idempotency_keys: the answers it keeps hold personal data

Revision ID: ba8f5ae4fce5
Revises: 6cdc8d1da2c4
Create Date: 2026-11-30 15:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = 'ba8f5ae4fce5'
down_revision = '6cdc8d1da2c4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    protect(op, group=["idempotency_keys"])


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
