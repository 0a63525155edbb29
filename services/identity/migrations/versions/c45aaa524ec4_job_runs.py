"""job runs: the last local day each daily job ran for each group; the known groups' time zones

Revision ID: c45aaa524ec4
Revises: d94f390a6fd7
Create Date: 2026-11-30 22:45:00.000000
"""
from shared.migrations import create_job_runs, drop_job_runs


revision = 'c45aaa524ec4'
down_revision = 'd94f390a6fd7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_job_runs()


def downgrade() -> None:
    drop_job_runs()
