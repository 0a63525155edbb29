"""idempotency keys: a retried create gets its first answer (shared.idempotency), protected by group

Revision ID: 0bf133fe92bd
Revises: 9c3e51d0a7b4
Create Date: 2026-11-30 13:00:00
"""
from alembic import op

from shared.migrations import create_idempotency_keys, unprotect


revision = '0bf133fe92bd'
down_revision = '9c3e51d0a7b4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_keys()


def downgrade() -> None:
    unprotect(op, ["idempotency_keys"])
    op.drop_table('idempotency_keys')
