"""drop group_id and customer_id indexes the look-ups never use

Every look-up of these tables goes by id, lead, customer, phone or an index that leads with the
group; the single-column group index only cost each insert, and while statistics were stale the
planner ANDed it into the lead look-up (a scan of every lead of the group, per matching batch).
The relationships' unique (customer, store) index serves the look-ups by customer.

Revision ID: 28dab482191f
Revises: 223bda919513
Create Date: 2026-11-23 14:32:34.795562
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '28dab482191f'
down_revision = '223bda919513'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_group_id'))

    with op.batch_alter_table('customer_leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_leads_group_id'))

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_group_id'))

    with op.batch_alter_table('identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identifiers_group_id'))

    with op.batch_alter_table('match_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_candidates_group_id'))

    with op.batch_alter_table('store_relationships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_store_relationships_customer_id'))
        batch_op.drop_index(batch_op.f('ix_store_relationships_group_id'))



def downgrade() -> None:
    with op.batch_alter_table('store_relationships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_relationships_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_store_relationships_customer_id'), ['customer_id'], unique=False)

    with op.batch_alter_table('match_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_candidates_group_id'), ['group_id'], unique=False)

    with op.batch_alter_table('identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identifiers_group_id'), ['group_id'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_group_id'), ['group_id'], unique=False)

    with op.batch_alter_table('customer_leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_leads_group_id'), ['group_id'], unique=False)

    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_group_id'), ['group_id'], unique=False)

