"""row-level security on idempotency_keys: the answers it keeps hold personal data

Revision ID: d453a9fe71ca
Revises: a87beb340569
Create Date: 2026-11-30 15:00:00
"""
from alembic import op

from shared.migrations import protect, unprotect

revision = 'd453a9fe71ca'
down_revision = 'a87beb340569'
branch_labels = None
depends_on = None


def upgrade() -> None:
    protect(op, group=["idempotency_keys"])


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
