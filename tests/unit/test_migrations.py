"""Each service's Alembic history builds exactly the schema its models declare (nothing left to autogenerate)."""
from importlib import import_module

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared import config

SERVICES = ["identity", "leads", "customers", "callcenter", "analytics"]


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_match_the_models(service, tmp_path):
    rt = import_module(f"services.{service}.app").build(
        config.load(service, {"CRM_MODE": "embedded", "CRM_VAR_DIR": str(tmp_path)}))
    rt.migrate()
    metadata = import_module(f"services.{service}.models").Base.metadata
    with rt.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    rt.db.engine.dispose()
    assert diff == [], f"{service}: models and migrations differ; write a migration for {diff}"
