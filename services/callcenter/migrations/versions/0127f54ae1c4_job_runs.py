"""job runs: the last local day each daily job ran for each group; the known groups' time zones

Revision ID: 0127f54ae1c4
Revises: 6cdc8d1da2c4
Create Date: 2026-11-30 22:45:00.000000
"""
from shared.migrations import create_job_runs, drop_job_runs


revision = '0127f54ae1c4'
down_revision = '6cdc8d1da2c4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_job_runs()


def downgrade() -> None:
    drop_job_runs()
