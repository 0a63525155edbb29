"""session_versions: each service's copy of its users' token versions (shared.sessions)

A branch of its own (label `sessions`), applied by every service that keeps the copy; the service's
own history goes on beside it. Revision ID: 5e551075a1d1
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = "5e551075a1d1"
down_revision = None
branch_labels = ("sessions",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_versions",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_session_versions")),
    )


def downgrade() -> None:
    op.drop_table("session_versions")
