"""idempotency keys per agent

An attempt's Idempotency-Key was unique in the group, so another agent's request with the same key was
answered with the first agent's attempt (or failed on the constraint). The key is now its caller's own.

Revision ID: 5c2e8d1f4a90
Revises: 142fc50f6de0
Create Date: 2026-11-30 12:30:00.000000
"""
from alembic import op


revision = '5c2e8d1f4a90'
down_revision = '142fc50f6de0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_attempts_group_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_attempts_agent_idempotency_key'),
                                          ['group_id', 'agent_id', 'idempotency_key'])


def downgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_attempts_agent_idempotency_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_attempts_group_id'), ['group_id', 'idempotency_key'])
