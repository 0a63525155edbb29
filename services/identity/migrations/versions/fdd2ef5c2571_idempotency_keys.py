"""idempotency keys: a retried create gets its first answer (shared.idempotency), protected by group

Revision ID: fdd2ef5c2571
Revises: 7d3e0b9c4a21
Create Date: 2026-11-30 13:00:00
"""
from alembic import op

from shared.migrations import create_idempotency_keys, unprotect


revision = 'fdd2ef5c2571'
down_revision = '7d3e0b9c4a21'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_keys()


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
    op.drop_table('idempotency_keys')
