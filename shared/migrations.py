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


def create_known_groups(*sources: str) -> None:
    """Migration step: the `known_groups` table of the consumer's tenant rule (`shared.bus.consumer`),
    filled with the groups this service already holds rows of in the `sources` tables (their
    `group_id`), so that an upgraded installation keeps applying the events of its existing groups."""
    import sqlalchemy as sa
    from alembic import op

    from shared.db import UTCDateTime, utcnow

    table = op.create_table(
        "known_groups",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("known_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_known_groups")),
    )
    groups: set[str] = set()
    for name in sources:
        groups |= {g for g in op.get_bind().execute(sa.text(f"SELECT DISTINCT group_id FROM {name}")).scalars() if g}
    if groups:
        now = utcnow()
        op.bulk_insert(table, [{"group_id": g, "known_at": now} for g in sorted(groups)])
