"""reference version: renewed by triggers whenever the data the API caches per process changes

Revision ID: d3a8f61c2b90
Revises: c9493df25453
Create Date: 2026-12-02 12:00:00.000000
"""
from shared.refcache import create_reference_version, drop_reference_version

revision = 'd3a8f61c2b90'
down_revision = 'c9493df25453'
branch_labels = None
depends_on = None

# what `services.leads.handlers.common` caches: a store's row but its round-robin pointer (written by
# creates, not cached), a group's rules, the brands' model catalogues
TABLES = {
    "store_refs": ["group_id", "brand_id", "code", "name", "timezone", "active", "round_robin",
                   "consultants_may_export", "weekly_sales_target"],
    "group_settings": None,
    "vehicle_models": None,
}


def upgrade() -> None:
    create_reference_version(TABLES)


def downgrade() -> None:
    drop_reference_version(TABLES)
