"""token versions and login throttles

Users carry a token version (raised when their access changes and on logout); failed logins are
counted per account name and per client address in login_throttles instead of on the user row.

Revision ID: 7d3e0b9c4a21
Revises: 901e8cedfbb2
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "7d3e0b9c4a21"
down_revision = "901e8cedfbb2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_until", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_column("token_version")
    op.drop_table("login_throttles")
