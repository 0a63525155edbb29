"""job runs: the last local day each daily job ran for each group; the known groups' time zones

Revision ID: c31890fb87a9
Revises: 2865dba2f34d
Create Date: 2026-11-30 22:45:00.000000
"""
from shared.migrations import create_job_runs, drop_job_runs


revision = 'c31890fb87a9'
down_revision = '2865dba2f34d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_job_runs()


def downgrade() -> None:
    drop_job_runs()
