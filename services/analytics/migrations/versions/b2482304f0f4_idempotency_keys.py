"""idempotency keys: a retried create gets its first answer (shared.idempotency), protected by group

Revision ID: b2482304f0f4
Revises: 3f1c9a7d2e60
Create Date: 2026-11-30 13:00:00
"""
from alembic import op

from shared.migrations import create_idempotency_keys, unprotect


revision = 'b2482304f0f4'
down_revision = '3f1c9a7d2e60'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_keys()


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
    op.drop_table('idempotency_keys')
