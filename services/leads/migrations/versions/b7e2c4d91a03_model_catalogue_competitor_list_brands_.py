"""model catalogue, competitor list, brands; leads link to their customer

Revision ID: b7e2c4d91a03
Revises: a14c0e2b7d51
Create Date: 2026-11-30 18:57:29.754575

An installation upgraded to this revision has no brand copies until identity announces its brands again
(`identity.brand.created`); the catalogue page lists the brands leads has heard of.
"""
from alembic import op
import sqlalchemy as sa
import shared.db
from shared.migrations import protect, unprotect

revision = 'b7e2c4d91a03'
down_revision = 'a14c0e2b7d51'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('brand_refs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brand_refs')),
    info={'owned_by': 'group'}
    )
    with op.batch_alter_table('brand_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_brand_refs_group_id'), ['group_id'], unique=False)

    op.create_table('competitors',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('brand', sa.String(length=60), nullable=False),
    sa.Column('model', sa.String(length=80), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competitors')),
    sa.UniqueConstraint('group_id', 'brand', 'model', name='uq_competitors_brand_model'),
    info={'owned_by': 'group'}
    )
    with op.batch_alter_table('competitors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competitors_group_id'), ['group_id'], unique=False)

    op.create_table('vehicle_models',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('brand_id', sa.String(length=36), nullable=False),
    sa.Column('series', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('guide_price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle_models')),
    sa.UniqueConstraint('group_id', 'brand_id', 'name', name='uq_vehicle_models_brand_name'),
    info={'owned_by': 'group'}
    )
    with op.batch_alter_table('vehicle_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_models_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_models_group_id'), ['group_id'], unique=False)

    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('customer_id', sa.String(length=36), nullable=True))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_id', sa.String(length=36), nullable=True))

    protect(op, group=['brand_refs', 'competitors', 'vehicle_models'], store=[])


def downgrade() -> None:
    unprotect(op, ['brand_refs', 'competitors', 'vehicle_models'])
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('model_id')

    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('customer_id')
        batch_op.drop_column('model_id')

    with op.batch_alter_table('vehicle_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_models_group_id'))
        batch_op.drop_index(batch_op.f('ix_vehicle_models_brand_id'))

    op.drop_table('vehicle_models')
    with op.batch_alter_table('competitors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competitors_group_id'))

    op.drop_table('competitors')
    with op.batch_alter_table('brand_refs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brand_refs_group_id'))

    op.drop_table('brand_refs')
