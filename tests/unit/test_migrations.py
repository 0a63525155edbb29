"""Each service's Alembic history builds exactly the schema its models declare (nothing left to autogenerate)."""
from importlib import import_module

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared import config

SERVICES = ["identity", "leads", "customers", "callcenter", "analytics"]


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models(service, tmp_path):
    rt = import_module(f"services.{service}.bootstrap").build(
        config.load(service, {"CRM_MODE": "embedded", "CRM_VAR_DIR": str(tmp_path)}))
    rt.migrate()
    metadata = import_module(f"services.{service}.adapters.models").Base.metadata
    with rt.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    rt.db.engine.dispose()
    assert diff == [], f"{service}: models and migrations differ; write a migration for {diff}"


def test_an_upgraded_installation_knows_the_groups_it_already_held(tmp_path):
    """The consumer applies events only of known groups: the migration that brings the rule counts the
    groups a service already holds copies of as known, so an upgrade does not dead-letter their events."""
    from alembic import command
    from sqlalchemy import text

    rt = import_module("services.analytics.bootstrap").build(
        config.load("analytics", {"CRM_MODE": "embedded", "CRM_VAR_DIR": str(tmp_path)}))
    cfg = rt.alembic_config()
    with rt.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "3f1c9a7d2e60")  # the revision before known_groups
        conn.execute(text("INSERT INTO dim_brand (id, group_id, code, name, as_of) "
                          "VALUES ('b1', 'g-old', 'toyota', '丰田', '2026-01-01 00:00:00')"))
        command.upgrade(cfg, "heads")
        assert conn.execute(text("SELECT group_id FROM known_groups")).scalars().all() == ["g-old"]
    rt.db.engine.dispose()
