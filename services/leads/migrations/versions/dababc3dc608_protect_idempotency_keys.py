"""row-level security on idempotency_keys: the answers it keeps hold personal data

Revision ID: dababc3dc608
Revises: f43f22fab41b
Create Date: 2026-11-30 15:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = 'dababc3dc608'
down_revision = 'f43f22fab41b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    protect(op, group=["idempotency_keys"])


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
