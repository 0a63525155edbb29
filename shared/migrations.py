"""The body of every service's Alembic env.py: one history per service, batch mode on SQLite."""
from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, pool


def run_env(metadata: MetaData) -> None:
    cfg = context.config
    connection = cfg.attributes.get("connection")
    if context.is_offline_mode():
        context.configure(url=cfg.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                          literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    if connection is None:
        engine = create_engine(cfg.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
        with engine.connect() as conn:
            _run(conn, metadata)
        return
    _run(connection, metadata)


def _run(connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
