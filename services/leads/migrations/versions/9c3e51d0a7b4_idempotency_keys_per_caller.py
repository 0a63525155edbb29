"""idempotency keys per caller

An Idempotency-Key belongs to the user who sent it: the same key from a colleague is another request
(it was unique per group, so a colleague's retry-safe create answered 500).

Revision ID: 9c3e51d0a7b4
Revises: 4f97abb33212
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op


revision = '9c3e51d0a7b4'
down_revision = '4f97abb33212'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_constraint('uq_leads_group_id', type_='unique')
        batch_op.create_unique_constraint('uq_leads_idempotency_key', ['group_id', 'created_by', 'idempotency_key'])


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_constraint('uq_leads_idempotency_key', type_='unique')
        batch_op.create_unique_constraint('uq_leads_group_id', ['group_id', 'idempotency_key'])
