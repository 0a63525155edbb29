"""Reference data a service reads on every request (a store's options, a group's rules, a brand's
catalogue), kept in each process and dropped the moment any process commits a change to it.

The service's database holds one `reference_version` row. Triggers on the reference tables
(`create_reference_version` in a migration) give it a new value in every statement that changes
them, whoever writes (the API, a consumer, a migration, someone in psql): on PostgreSQL the next
value of a sequence, on SQLite a random 63-bit number, so a value is never given twice, not even
after a rollback. A transaction reads the row once: on PostgreSQL in the statement that opens it
(with the row-security settings, `shared.rls.OPENING_READ`: no round trip of its own), on SQLite
the first time it asks the cache for anything. Entries cached under another value are dropped, so
every process sees a change as soon as its next transaction begins after the commit, as it would
reading the tables themselves.

What a transaction reads from the database may be cached under the version it read at its start:
the rows are at least as new as that version, and a newer one makes every process read them again.
A transaction that has written anything through its session (a flush, an INSERT/UPDATE/DELETE)
neither reads from nor adds to the cache from then on: it reads the database, which shows it its
own changes, and nothing uncommitted reaches another request.

Entries are kept per group (`get` adds the session's group to every key): a cache hit is what the
same read under the caller's scope would have returned, as row-level security and the ORM's tenant
filter apply to the read that filled it; a session of every group (an operator's) bypasses the cache.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, event, text
from sqlalchemy.orm import ORMExecuteState, Session

from shared import rls

T = TypeVar("T")

TABLE = "reference_version"
_VERSION = "refcache_version"  # session.info: (the transaction, the version it read)
_WROTE = "refcache_wrote"  # session.info: the transaction that wrote through this session
_READ = f"SELECT version FROM {TABLE} WHERE id = 1"


def _columns() -> list[Column]:
    return [Column("id", Integer, primary_key=True, autoincrement=False),
            Column("version", BigInteger, nullable=False)]


def reference_version_table(metadata: MetaData) -> Table:
    """The one-row table of the version, in a service's metadata (its migration creates it)."""
    return Table(TABLE, metadata, *_columns())


class ReferenceCache:
    """One process's cache of reference data, for the sessions of one service's factory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._entries: dict[Hashable, Any] = {}
        self.hits = self.misses = 0

    def install(self, factory) -> None:
        """Remember, per session, when its transaction writes (from then on it bypasses the cache);
        on PostgreSQL, read the version in the statement that opens every transaction (`shared.rls`)."""
        factory.kw.setdefault("info", {})[rls.OPENING_READ] = f"({_READ})"
        event.listen(factory, "after_flush", _wrote_flush)
        event.listen(factory, "do_orm_execute", _wrote_statement)

    def get(self, s: Session, key: Hashable, load: Callable[[], T]) -> T:
        """The entry `key` of the session's group, from this process's cache if it is of the version
        `s`'s transaction sees; else `load()` (a read in `s`, under its scope), kept for the next
        transactions when `s` has written nothing. A session of no group or of every group (an
        operator's) reads and keeps nothing: an entry belongs to the one group whose scope read it."""
        scope = s.info.get("scope")
        if scope is None or scope.all_groups or not scope.group_id or _has_written(s):
            return load()
        key = (scope.group_id, key)
        version = self._version_of(s)
        with self._lock:
            if self._version != version:
                self._version, self._entries = version, {}
            found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            self.hits += 1
            return found
        self.misses += 1
        value = load()
        if not _has_written(s):  # `load` itself wrote (it must not): keep nothing
            with self._lock:
                if self._version == version:
                    self._entries[key] = value
        return value

    @staticmethod
    def _version_of(s: Session) -> int:
        tx = s.get_transaction()
        known = s.info.get(_VERSION)
        if tx is not None and known is not None and known[0] is tx:
            return known[1]
        connection = s.connection()  # begins the transaction if it has not begun
        opened = s.info.get(rls.OPENING_VALUE)
        if opened is not None and opened[0] is s.get_transaction() and opened[1] is not None:
            found = [opened[1]]  # read with the transaction's settings, in the round trip of its BEGIN
        elif connection.dialect.name == "postgresql":
            found = [row[0] for row in rls.on_driver(connection, _READ, ())]
        else:
            found = list(connection.exec_driver_sql(_READ).scalars())
        if not found:
            raise RuntimeError(f"{TABLE} has no row: run the service's migrations")
        version = int(found[0])
        s.info[_VERSION] = (s.get_transaction(), version)
        return version


_MISSING = object()


def _has_written(s: Session) -> bool:
    wrote = s.info.get(_WROTE)
    return wrote is not None and wrote is s.get_transaction()


def _wrote_flush(session: Session, _flush_context) -> None:
    session.info[_WROTE] = session.get_transaction()


def _wrote_statement(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = state.session.get_transaction()


# ---- the migration's part ------------------------------------------------------------------------

def _pg_statements(tables: dict[str, list[str] | None]) -> list[str]:
    out = [
        f"CREATE SEQUENCE {TABLE}_seq",
        f"CREATE FUNCTION {TABLE}_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE {TABLE} SET version = nextval('{TABLE}_seq') WHERE id = 1; RETURN NULL; END $$",
    ]
    for table, columns in tables.items():
        update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
        out.append(f"CREATE TRIGGER {table}_{TABLE} AFTER INSERT OR DELETE OR TRUNCATE OR {update} ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_bump()")
    return out


def _sqlite_statements(tables: dict[str, list[str] | None]) -> list[str]:
    bump = f"BEGIN UPDATE {TABLE} SET version = (random() >> 1) WHERE id = 1; END"
    out = []
    for table, columns in tables.items():
        update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
        for name, what in (("ins", "INSERT"), ("del", "DELETE"), ("upd", update)):
            out.append(f"CREATE TRIGGER {table}_{TABLE}_{name} AFTER {what} ON {table} {bump}")
    return out


def create_reference_version(tables: dict[str, list[str] | None]) -> None:
    """Migration step: the `reference_version` row and the triggers that renew it on any change to
    `tables` (table -> the columns whose UPDATE counts, None: any; an INSERT or DELETE always does).
    Leave out a column the cache does not hold and writes often (a store's round-robin pointer)."""
    from alembic import op

    op.create_table(TABLE, *_columns())
    op.execute(text(f"INSERT INTO {TABLE} (id, version) VALUES (1, 0)"))
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _pg_statements(tables) if postgres else _sqlite_statements(tables):
        op.execute(text(statement))


def drop_reference_version(tables: dict[str, list[str] | None]) -> None:
    """Undo `create_reference_version`."""
    from alembic import op

    postgres = op.get_bind().dialect.name == "postgresql"
    for table in tables:
        if postgres:
            op.execute(text(f"DROP TRIGGER IF EXISTS {table}_{TABLE} ON {table}"))
        else:
            for name in ("ins", "del", "upd"):
                op.execute(text(f"DROP TRIGGER IF EXISTS {table}_{TABLE}_{name}"))
    if postgres:
        op.execute(text(f"DROP FUNCTION IF EXISTS {TABLE}_bump()"))
        op.execute(text(f"DROP SEQUENCE IF EXISTS {TABLE}_seq"))
    op.drop_table(TABLE)
