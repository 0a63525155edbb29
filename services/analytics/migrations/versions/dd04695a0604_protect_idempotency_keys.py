"""row-level security on idempotency_keys (the answers it keeps hold personal data) and erased_subject

Revision ID: dd04695a0604
Revises: e489fce97e1b
Create Date: 2026-11-30 15:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = 'dd04695a0604'
down_revision = 'e489fce97e1b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    protect(op, group=["idempotency_keys", "erased_subject"])  # and analytics' erased people (ids)


def downgrade() -> None:
    unprotect(op, ["idempotency_keys", "erased_subject"])
