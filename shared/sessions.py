"""Sessions end when access ends: every service refuses a token older than its user's token version.

Identity gives each user a token version, signs it into every token (`ver`), and raises it when the
user is deactivated, gets another role or store, changes or is given a new password, and when they
log out (which so ends every session of that user). Its user events carry the version
(`identity.user.created`/`updated`, `identity.session.ended`).

Every other service keeps (user, version, active) from those events in its `session_versions` table:
one table and one event handler, which the service's runtime adds (`ServiceRuntime`), so no service
writes them itself. Identity reads its own users table instead. The request authentication
(`shared.web`) then refuses a token whose version is older than the user's, or a user no longer
active, as it refuses an expired one: 401 for the API, the login page for pages.

A process reads a user's stored version at most once per `CACHE_SECONDS`, so a change is seen
everywhere within the bus's delay plus that (docs/security.md: the bound is 5 s). A user the service
has not heard of yet (their first event still on its way) passes on the signature alone.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Boolean, Column, Connection, Engine, Integer, MetaData, String, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared import rls
from shared.auth import Principal
from shared.bus.consumer import EventHandlers
from shared.db import UTCDateTime, make_engine, utcnow
from shared.errors import connection_lost
from shared.events import Event
from shared.tenancy import Scope

CACHE_SECONDS = 1.0
TABLE = "session_versions"
#: the Alembic revision that creates the table, applied to every service that keeps the copy
MIGRATIONS = Path(__file__).resolve().parent / "sessions_migrations"
#: identity's events that carry a user's token version
EVENTS = ("identity.user.*", "identity.session.*")


@dataclass(frozen=True)
class SessionState:
    """What a token is checked against: the user's current token version, and whether they may work."""

    version: int
    active: bool = True

    def admits(self, p: Principal) -> bool:
        return self.active and p.token_version >= self.version


#: reads one user's state: (connection, group id, user id) → state, or None for a user not known here
StateReader = Callable[[Connection, str, str], SessionState | None]


def session_table(metadata: MetaData) -> Table:
    """Declare `session_versions` on one service's metadata (once; returns the existing one after)."""
    if TABLE in metadata.tables:
        return metadata.tables[TABLE]
    return Table(
        TABLE,
        metadata,
        Column("user_id", String(36), primary_key=True),
        Column("group_id", String(36), nullable=False),
        Column("token_version", Integer, nullable=False),
        Column("active", Boolean, nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    )


def stored_state(table: Table) -> StateReader:
    """The reader of a service's copy (the group is in the key too: a token names its own group).

    The statement is the driver's own text, written once: it runs on every request whose user's state
    is not cached, and building, caching and compiling a Core `select` cost several times what the
    database takes to answer it."""

    def read(conn: Connection, group_id: str, user_id: str) -> SessionState | None:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        name = conn.dialect.identifier_preparer.format_table(table)
        row = conn.exec_driver_sql(f"SELECT token_version, active FROM {name} WHERE user_id = {mark} AND group_id = {mark}",
                                   (user_id, group_id)).first()
        return None if row is None else SessionState(row[0], bool(row[1]))

    return read


def reads_engine(engine: Engine) -> Engine:
    """The engine of the check's reads, which run on every request whose user's state is not cached:
    one SELECT each, so they get a small engine of their own on the same database.

    PostgreSQL: autocommit (no BEGIN and COMMIT around the one statement) and no pre-ping (a
    connection that died is found by the SELECT itself, which `SessionCheck` then makes once more on
    a fresh connection: it only reads). SQLite: the service's engine begins every transaction with
    `BEGIN IMMEDIATE`, i.e. takes the write lock even to read; the check must not queue behind writers,
    so its plain engine on the same file runs its SELECTs in autocommit and, in WAL mode, reads a
    snapshot without any lock."""
    if engine.dialect.name == "sqlite":
        reads = create_engine(engine.url, connect_args={"check_same_thread": False, "timeout": 30})
    else:
        reads = make_engine(engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT",
                            pool_pre_ping=False, pool_size=2, max_overflow=8)
    event.listen(engine, "engine_disposed", lambda _engine: reads.dispose())  # its connections go with the service's
    return reads


class SessionCheck:
    """Does a signed token still stand? Reads each user's state at most once per `ttl` seconds.

    `under_rls`: the reader reads a table under row-level security (identity's users), so it runs in a
    transaction of the service's engine with the token's group set; a service's copy
    (`session_versions`) is no tenant's table and is read with one autocommit SELECT (`reads_engine`)."""

    def __init__(self, engine: Engine, read: StateReader, ttl: float = CACHE_SECONDS, under_rls: bool = False):
        self.engine, self.read, self.ttl, self.under_rls = engine, read, ttl, under_rls
        self.reads = engine if under_rls and engine.dialect.name != "sqlite" else reads_engine(engine)
        self._cache: dict[tuple[str, str], tuple[float, SessionState | None]] = {}
        self._lock = threading.Lock()

    def admits(self, p: Principal) -> bool:
        state = self.state(p.group_id, p.user_id)
        return state is None or state.admits(p)

    def state(self, group_id: str, user_id: str) -> SessionState | None:
        key, now = (group_id, user_id), time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            state = self._read(group_id, user_id)
        except Exception as exc:
            if not connection_lost(exc):
                raise
            state = self._read(group_id, user_id)  # the pool let go of the dead connections: a fresh one
        with self._lock:
            if len(self._cache) > 10_000:  # users come and go; drop what has expired
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[key] = (now + self.ttl, state)
        return state

    def _read(self, group_id: str, user_id: str) -> SessionState | None:
        with self.reads.connect() as conn:
            if not self.under_rls:
                return self.read(conn, group_id, user_id)
            with conn.begin():
                rls.apply(conn, Scope.system(group_id))  # PostgreSQL: the token's own group, as row-level security asks
                return self.read(conn, group_id, user_id)


def remember_versions(table: Table) -> Callable[[Session, Event], None]:
    """The event handler that keeps `table` (a newer version always wins; an older event changes nothing)."""

    def remember(s: Session, ev: Event) -> None:
        d = ev.data
        user_id = d["user_id"] if ev.type.startswith("identity.session.") else d["id"]
        values = {"user_id": user_id, "group_id": ev.group_id, "token_version": d.get("token_version", 0),
                  "updated_at": utcnow()}
        if "active" in d:
            values["active"] = d["active"]
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[s.get_bind().dialect.name]
        stmt = dialect.insert(table).values({"active": True, **values})
        s.execute(stmt.on_conflict_do_update(
            index_elements=[table.c.user_id],
            set_={k: stmt.excluded[k] for k in values if k != "user_id"},
            where=stmt.excluded.token_version >= table.c.token_version,
        ))

    return remember


def with_session_copy(handlers: EventHandlers | None, consumer: str, table: Table) -> EventHandlers:
    """`handlers` (a service's routing table, not changed) plus the handler that keeps `table`; the
    service's delivery settings (`gather`, `batch`) kept."""
    keep = remember_versions(table)
    base = handlers or EventHandlers(consumer)
    return replace(base, handlers=[*base.handlers, *((pattern, keep) for pattern in EVENTS)],
                   batch_handlers=list(base.batch_handlers))
