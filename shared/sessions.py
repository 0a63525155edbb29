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
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Boolean, Column, Connection, Engine, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared import rls
from shared.auth import Principal
from shared.bus.consumer import EventHandlers
from shared.db import UTCDateTime, utcnow
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
    """The reader of a service's copy (the group is in the key too: a token names its own group)."""

    def read(conn: Connection, group_id: str, user_id: str) -> SessionState | None:
        row = conn.execute(select(table.c.token_version, table.c.active)
                           .where(table.c.user_id == user_id, table.c.group_id == group_id)).first()
        return None if row is None else SessionState(row.token_version, row.active)

    return read


def lock_free_reads(engine: Engine) -> Engine:
    """An engine for the check's reads. On SQLite the service's engine begins every transaction with
    `BEGIN IMMEDIATE`, i.e. takes the write lock even to read; the check runs on every request and
    must not queue behind writers, so it gets a plain engine on the same file, whose SELECTs run in
    autocommit and, in WAL mode, read a snapshot without any lock. Elsewhere: the same engine."""
    if engine.dialect.name != "sqlite":
        return engine
    return create_engine(engine.url, connect_args={"check_same_thread": False, "timeout": 30})


class SessionCheck:
    """Does a signed token still stand? Reads each user's state at most once per `ttl` seconds."""

    def __init__(self, engine: Engine, read: StateReader, ttl: float = CACHE_SECONDS):
        self.engine, self.read, self.ttl = lock_free_reads(engine), read, ttl
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
        with self.engine.connect() as conn, conn.begin():
            rls.apply(conn, Scope.system(group_id))  # PostgreSQL: the token's own group, as row-level security asks
            state = self.read(conn, group_id, user_id)
        with self._lock:
            if len(self._cache) > 10_000:  # users come and go; drop what has expired
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[key] = (now + self.ttl, state)
        return state


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
    """`handlers` (a service's routing table, not changed) plus the handler that keeps `table`."""
    keep = remember_versions(table)
    base = handlers or EventHandlers(consumer)
    return EventHandlers(base.consumer, [*base.handlers, *((pattern, keep) for pattern in EVENTS)],
                         list(base.batch_handlers))
