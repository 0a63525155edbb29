"""idempotency keys: a retried create gets its first answer (shared.idempotency), protected by group

Revision ID: 28f052aba61a
Revises: 5c2e8d1f4a90
Create Date: 2026-11-30 13:00:00
"""
from alembic import op

from shared.migrations import create_idempotency_keys, unprotect


revision = '28f052aba61a'
down_revision = '5c2e8d1f4a90'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_keys()


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
    op.drop_table('idempotency_keys')
