"""The body of every service's Alembic env.py (one history per service, batch mode on SQLite), and
what migrations do for row-level security on PostgreSQL (`shared.rls`).

Migrations run as the owner of the service's tables, across every group (`crm.all_groups`), so that
a data migration sees all rows under forced row-level security. `grant_app_role` then lets the
service's own role (which owns nothing) read and write those tables, under the policies.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import context
from alembic.autogenerate import renderers
from alembic.operations import MigrateOperation, ops
from sqlalchemy import MetaData, create_engine, pool, text

from shared import rls
from shared.tenancy import Scope


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
        url = cfg.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("alembic: give a connection or set sqlalchemy.url")
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as conn:
            _run(conn, metadata)
        return
    _run(connection, metadata)


def _run(connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      process_revision_directives=protect_new_tables)
    with context.begin_transaction():
        rls.apply(connection, Scope.system(None))  # data migrations see every group's rows
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
def create_job_runs() -> None:
    """Migration step: the daily jobs' `job_runs` (`shared.scheduler`, protected by group) and the time
    zone of each known group, in which those jobs run (NULL for the groups known so far: the default
    zone). The same in every service."""
    import sqlalchemy as sa
    from alembic import op

    from shared.db import UTCDateTime

    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=60), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("ran_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "group_id", name=op.f("pk_job_runs")),
    )
    protect(op, group=["job_runs"])
    with op.batch_alter_table("known_groups") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=60), nullable=True))


def drop_job_runs() -> None:
    """Undo `create_job_runs`."""
    from alembic import op

    with op.batch_alter_table("known_groups") as batch:
        batch.drop_column("timezone")
    op.drop_table("job_runs")


# ---- row-level security, in revisions -----------------------------------------------------------------

def create_idempotency_keys() -> None:
    """Migration step: the service's `idempotency_keys` (`shared.idempotency`), protected by group (the
    answers it keeps hold personal data). The same in every service."""
    import sqlalchemy as sa
    from alembic import op

    from shared.db import UTCDateTime

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    protect(op, group=["idempotency_keys"])


def protect(op, group: Sequence[str] = (), store: Sequence[str] = ()) -> None:
    """Force row-level security on tables owned by a group (`group`) or by a store (`store`), each with
    the `tenant` policy of `shared.rls.POLICIES`. PostgreSQL only; elsewhere nothing happens.

    The policy text is read when the revision runs: a change to `POLICIES` needs a new revision that
    calls `protect` again (it replaces the policy)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for kind, tables in (("group", group), ("store", store)):
        for table in tables:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"DROP POLICY IF EXISTS {rls.POLICY_NAME} ON {table}")
            expr = rls.POLICIES[kind]
            op.execute(f"CREATE POLICY {rls.POLICY_NAME} ON {table} USING ({expr}) WITH CHECK ({expr})")


class ProtectOp(MigrateOperation):
    """`protect(op, group=…, store=…)` in an autogenerated revision."""

    def __init__(self, group: list[str], store: list[str]):
        self.group, self.store = group, store


@renderers.dispatch_for(ProtectOp)
def _render_protect(autogen_context, op: ProtectOp) -> str:
    autogen_context.imports.add("from shared.migrations import protect")
    return f"protect(op, group={op.group!r}, store={op.store!r})"


def protect_new_tables(migration_context, _revision, directives) -> None:
    """Autogenerate (`crm make-migration`): a revision that creates group-owned tables protects them."""
    owned = dict(rls.protected_tables(migration_context.opts["target_metadata"]))
    for script in directives:
        created = [o.table_name for o in script.upgrade_ops.ops if isinstance(o, ops.CreateTableOp)]
        group = [t for t in created if owned.get(t) == "group"]
        store = [t for t in created if owned.get(t) == "store"]
        if group or store:
            script.upgrade_ops.ops.append(ProtectOp(group, store))


def unprotect(op, tables: list[str]) -> None:
    """Undo `protect` (downgrades)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS {rls.POLICY_NAME} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


# ---- the service's own role ---------------------------------------------------------------------------

class AppRoleError(RuntimeError):
    """The role the service connects as cannot be used safely (missing, or above the policies)."""


def grant_app_role(conn, role: str) -> None:
    """Let `role` (the service's login, created by the operator) connect, use temporary tables, and
    read and write every table and sequence of the schema, without owning any; it cannot change the
    schema or the policies. Run as the owner, after the upgrade, every time (idempotent)."""
    found = conn.execute(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if found is None:
        raise AppRoleError(f"role {role!r} does not exist: create it first (deploy/postgres-init/02-app-roles.sql)")
    if found[0]:
        raise AppRoleError(f"role {role!r} is a superuser or bypasses row-level security: the service must not use it")
    q = conn.dialect.identifier_preparer.quote
    who, db, schema = q(role), q(conn.scalar(text("SELECT current_database()"))), q(conn.scalar(text("SELECT current_schema()")))
    for stmt in (
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {who}",
        f"GRANT USAGE ON SCHEMA {schema} TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}",
        f"REVOKE ALL ON {schema}.alembic_version FROM {who}",
    ):
        conn.execute(text(stmt))
