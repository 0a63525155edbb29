"""Row-level security: the database's own copy of the tenant rule (PostgreSQL), under the ORM hook.

Every group-owned table (a model with `Scoped`) has forced row-level security and one policy,
`tenant`, that lets a statement see and write only the rows of the group in the transaction-local
setting `crm.group_id`; store-owned tables (`StoreScoped`) also only the stores in `crm.store_ids`
(`*`: every store of the group). A session sets the three settings from its `Scope` at the start of
every transaction (`install`, in the round trip of its BEGIN) and again when `widened` changes the scope mid-way, so
a raw statement, a Core query the ORM hook does not see, or a forgotten filter still cannot reach
another tenant's rows. With no setting, nothing is visible and nothing can be written.

The operators' all-groups scope (`Scope.system(None)`: login by group code, the public survey link,
seeding, migrations, cross-group jobs) sets `crm.all_groups = on`, which every policy honours. The
services' database role may set it too: the policies guard against mistakes in the application,
not against someone who can run arbitrary SQL as the service (the non-owner role keeps that someone
from switching the policies off). The per-consultant rule (their own leads) and other finer rules
stay in the ORM hook.

    .venv/bin/python -m shared.rls                              # every protected table and its policy
    .venv/bin/python -m shared.rls --update docs/security.md    # the list in the security document
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import MetaData, event, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shared.tenancy import Scope

ALL_GROUPS, GROUP, STORES = "crm.all_groups", "crm.group_id", "crm.store_ids"

# Each setting is read through a scalar sub-select: PostgreSQL evaluates it once per statement (an
# InitPlan) instead of once per row, so a row costs a boolean and a comparison or two, and
# `group_id = $1` can still drive an index scan.
_ALL = f"(SELECT current_setting('{ALL_GROUPS}', true) = 'on')"
_GROUP = f"group_id = (SELECT current_setting('{GROUP}', true))"
_STORES = (f"((SELECT current_setting('{STORES}', true) = '*') OR "
           f"store_id = ANY ((SELECT string_to_array(current_setting('{STORES}', true), ','))::text[]))")

#: the USING (and WITH CHECK) expression of the `tenant` policy, by what owns the rows
POLICIES = {
    "group": f"{_ALL} OR {_GROUP}",
    "store": f"{_ALL} OR ({_GROUP} AND {_STORES})",
}
POLICY_NAME = "tenant"

_SET = (f"SELECT set_config('{ALL_GROUPS}', %s, true), set_config('{GROUP}', %s, true), "
        f"set_config('{STORES}', %s, true)")


def settings_for(scope: Scope | None) -> tuple[str, str, str]:
    """(`crm.all_groups`, `crm.group_id`, `crm.store_ids`) for a session's scope; no scope sees nothing."""
    if scope is None:
        return "off", "", ""
    if scope.all_groups:
        return "on", "", "*"
    if scope.store_ids is None:
        return "off", scope.group_id or "", "*"
    if any("," in s for s in scope.store_ids):
        raise ValueError("a store id cannot contain a comma")
    return "off", scope.group_id or "", ",".join(sorted(scope.store_ids))


#: session.info keys: a scalar sub-select a service reads at the start of every transaction, in the
#: same statement as the settings (`shared.refcache`'s version), and (the transaction, its value)
OPENING_READ, OPENING_VALUE = "rls_opening_read", "rls_opening_value"


def apply(connection, scope: Scope | None, also: str | None = None) -> list[tuple]:
    """Set the transaction-local settings of `scope` on a connection inside its transaction; `also`:
    a scalar sub-select read in the same statement (its value is the row's last column, when the
    statement is not queued in a pipeline the caller opened)."""
    if connection.dialect.name != "postgresql":
        return []
    # once per transaction, in the round trip of psycopg's BEGIN; inside a pipeline the caller opened
    # (`first_on_driver`), queued with the caller's statement instead
    queued = connection.connection.driver_connection.pgconn.pipeline_status != 0
    return on_driver(connection, f"{_SET}, {also}" if also else _SET, settings_for(scope), pipelined=not queued)


def on_driver(connection, sql: str, params, pipelined: bool = False) -> list[tuple]:
    """Run one statement (`%s` parameters) on the driver's own cursor of a SQLAlchemy connection, inside
    its transaction; returns the rows, if it has any. A third of the client time of `exec_driver_sql`
    for the same round trip, for the statements every transaction or delivery runs (these settings, a
    consumer's inbox rows); the driver prepares it after a few calls. Its errors are raised as
    SQLAlchemy's, a lost connection invalidated, as `exec_driver_sql` would.

    `pipelined`: sent in one psycopg pipeline with the BEGIN psycopg opens the transaction with, when
    this is the transaction's first statement (the scope's settings, `apply`): one round trip where
    there were two, for every transaction of every service (each round trip is a wait for the server,
    and on a busy machine for the CPU)."""
    dialect = connection.dialect
    pg = connection.connection.driver_connection
    try:
        with pg.cursor() as cursor:
            if pipelined:
                with pg.pipeline():
                    cursor.execute(sql, params)
            else:
                cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []
    except dialect.loaded_dbapi.Error as exc:
        _raise_as_sqlalchemy(connection, sql, params, exc)


def first_on_driver(session: Session, connection, sql: str, params) -> list[tuple]:
    """The first statement of `session`'s next transaction on `connection` (its bind, a connection kept
    checked out, outside a transaction), as `on_driver`, in one round trip with what precedes it:
    psycopg's BEGIN and the scope's settings (`set_scope`, run as the session begins) are queued in
    one pipeline with it (a consumer's inbox rows: one round trip where there were two)."""
    pg = connection.connection.driver_connection
    try:
        with pg.cursor() as cursor:
            with pg.pipeline():
                session.connection()  # the transaction begins: its settings queued, not sent
                cursor.execute(sql, params)
            return cursor.fetchall()
    except connection.dialect.loaded_dbapi.Error as exc:
        _raise_as_sqlalchemy(connection, sql, params, exc)


def _raise_as_sqlalchemy(connection, sql: str, params, exc: Exception) -> NoReturn:
    """A driver's error as `exec_driver_sql` raises it: SQLAlchemy's, a lost connection invalidated."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
    if lost:
        connection.invalidate(exc)
    raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost) from exc


def install(factory) -> None:
    """Every transaction of this session factory starts with the settings of its session's scope."""
    event.listen(factory, "after_begin", set_scope)


def set_scope(session: Session, _transaction, connection) -> None:
    """`after_begin`: the settings of the session's scope, in the transaction just begun (and the
    service's opening read, if it has one: `OPENING_READ`)."""
    also = session.info.get(OPENING_READ)
    rows = apply(connection, session.info.get("scope"), also)
    if also and rows:
        session.info[OPENING_VALUE] = (session.get_transaction(), rows[0][-1])


def resync(session: Session) -> None:
    """After the session's scope changed inside a transaction (`widened`), bring the settings along."""
    if session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        apply(session.connection(), session.info.get("scope"))


class UnsafeRole(RuntimeError):
    """The service would run as a role the policies do not hold for, or that could switch them off."""


def check_role(engine) -> None:
    """Refuse a database role that is a superuser, bypasses row-level security or owns tables of the
    service's schema (it could disable the policies): production APIs and workers call it at start."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        role, above = conn.execute(text("SELECT rolname, rolsuper OR rolbypassrls FROM pg_roles "
                                        "WHERE rolname = current_user")).one()
        owned = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                                  "AND tableowner = current_user ORDER BY tablename LIMIT 3")).all()
    if above:
        raise UnsafeRole(f"database role {role!r} is a superuser or bypasses row-level security")
    if owned:
        raise UnsafeRole(f"database role {role!r} owns tables ({', '.join(owned)}, …): connect as a role that "
                         f"owns nothing and give the owner to `crm migrate` (<SERVICE>_MIGRATE_DATABASE_URL)")


# ---- which tables, with which policy ----------------------------------------------------------------

def protected_tables(metadata: MetaData) -> Iterator[tuple[str, str]]:
    """(table, "group" | "store") for every group-owned table of one service's metadata (the tables
    of `Scoped` and `StoreScoped` models are marked so)."""
    for name, table in sorted(metadata.tables.items()):
        if "owned_by" in table.info:
            yield name, table.info["owned_by"]


def markdown() -> str:
    """The table of every service's protected tables and their policies, as docs/security.md lists it."""
    from importlib import import_module

    from shared.config import SERVICES

    lines = ["| service | table | policy |", "|---|---|---|"]
    for svc in SERVICES:
        metadata = import_module(f"services.{svc}.adapters.models").Base.metadata
        lines += [f"| {svc} | `{table}` | {kind} |" for table, kind in protected_tables(metadata)]
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- rls-tables:begin (python -m shared.rls --update docs/security.md) -->", "<!-- rls-tables:end -->"


def update(path: str) -> bool:
    """Rewrite the table between the markers of a document; True if it changed."""
    from pathlib import Path

    doc = Path(path)
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path} has no {BEGIN} … {END} markers")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{markdown()}{END}{tail}"
    if new != text:
        doc.write_text(new)
    return new != text


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--update"]:
        print("updated" if update(sys.argv[2]) else "up to date")
    else:
        print(markdown(), end="")
