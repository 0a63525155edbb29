"""the fine rollup becomes a ledger of changes (no unique index on its cells)

Each batch appends its summed changes to rollup_fine instead of upserting one row per cell, so the
ten-column unique index that only the upsert used goes. Readers already add the rows up. Downgrading
first adds each cell's rows up into one row, then puts the unique constraint back.

Revision ID: 3f1c9a7d2e60
Revises: 5eac07108599
Create Date: 2026-11-23 14:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '3f1c9a7d2e60'
down_revision = '5eac07108599'
branch_labels = None
depends_on = None

CELL = ("group_id", "store_id", "day", "metric", "key", "consultant_id", "model", "source", "channel", "brand_id")


def upgrade() -> None:
    with op.batch_alter_table('rollup_fine', schema=None) as batch_op:
        batch_op.drop_constraint('uq_rollup_fine_cell', type_='unique')


def downgrade() -> None:
    cols = ", ".join(CELL)
    op.execute(f"CREATE TABLE rollup_fine_cells AS SELECT {cols}, SUM(value) AS value FROM rollup_fine "
               f"GROUP BY {cols}")
    op.execute("DELETE FROM rollup_fine")
    op.execute(f"INSERT INTO rollup_fine ({cols}, value) SELECT {cols}, value FROM rollup_fine_cells")
    op.drop_table('rollup_fine_cells')
    with op.batch_alter_table('rollup_fine', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_rollup_fine_cell', list(CELL))
