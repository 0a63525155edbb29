"""idempotency keys: a retried create gets its first answer (shared.idempotency), protected by group

Revision ID: 55be5ae97950
Revises: 28dab482191f
Create Date: 2026-11-30 13:00:00
"""
from alembic import op

from shared.migrations import create_idempotency_keys, unprotect


revision = '55be5ae97950'
down_revision = '28dab482191f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_keys()


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
    op.drop_table('idempotency_keys')
