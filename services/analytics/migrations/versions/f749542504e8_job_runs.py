"""job runs: the last local day each daily job ran for each group; the known groups' time zones

Revision ID: f749542504e8
Revises: c7d41a9e0b12
Create Date: 2026-11-30 22:45:00.000000
"""
from shared.migrations import create_job_runs, drop_job_runs


revision = 'f749542504e8'
down_revision = 'c7d41a9e0b12'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_job_runs()


def downgrade() -> None:
    drop_job_runs()
