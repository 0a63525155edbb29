"""The outbox relay: publishes committed outbox rows and marks them sent only after confirms.

It sleeps until there is something to send (`shared.wake`): on PostgreSQL a commit that wrote
outbox rows sends `NOTIFY crm_outbox` (see `shared.bus.outbox`), which the relay LISTENs to on a
connection of its own; in embedded mode the writing thread sets an in-process event. A slow fallback
poll catches rows written without a wake-up (a row written by hand; a listener connection lost,
after which the relay also looks once on reconnecting): every `FALLBACK_POLL` (5 s) in embedded
mode, every `LISTEN_FALLBACK_POLL` (30 s) while LISTEN is up.

On PostgreSQL a batch costs two round trips to the database, on a connection the relay keeps while it
runs (no pool check-out and pre-ping per batch): BEGIN and the locking SELECT in one pipeline, then,
after the broker's confirms, the UPDATE that marks the rows sent and the COMMIT in another. That
commit does not wait for its WAL flush (`synchronous_commit` off for that transaction): should
PostgreSQL itself crash in the fraction of a second before the flush, the rows are published again,
and the consumers' inboxes drop the copies; nothing else rides on it. A look that finds nothing ends
with ROLLBACK: an idle relay's fallback poll reads, and commits nothing.
"""
from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Connection, Engine, Table, select, update

from shared.bus.outbox import NOTIFY_CHANNEL
from shared.bus.publisher import OutgoingMessage, Publisher, PublishNotConfirmed
from shared.db import give_back, read_only, utcnow
from shared.errors import connection_lost
from shared.wake import FALLBACK_POLL, LISTEN_FALLBACK_POLL, Wakeup

__all__ = ["FALLBACK_POLL", "LISTEN_FALLBACK_POLL", "Relay", "wait_until"]
log = logging.getLogger(__name__)


@contextmanager
def _relay_turn(engine: Engine) -> Iterator[None]:
    """An exclusive lock, across threads and processes, for the relays of one SQLite database (a file
    beside it); an in-memory database has one process, and its relays a lock of that process."""
    path = engine.url.database
    if not path or path == ":memory:":
        with _MEMORY_TURN:
            yield
        return
    with open(f"{path}.relay-lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


_MEMORY_TURN = threading.Lock()


class Relay:
    def __init__(self, engine: Engine, outbox: Table, publisher: Publisher, batch: int = 500):
        self.engine, self.outbox, self.publisher, self.batch = engine, outbox, publisher, batch
        self.stopping = threading.Event()
        self.wakeup = Wakeup(engine, NOTIFY_CHANNEL)  # commits that wrote outbox rows
        self._keep = False  # PostgreSQL: `run_forever` keeps a connection between batches, in `_conn`
        self._conn: Connection | None = None
        name = engine.dialect.identifier_preparer.format_table(outbox)
        # several relays share the work: each takes the unsent rows no other one holds
        self._claim = (f"SELECT seq, event_id, routing_key, body FROM {name} WHERE sent_at IS NULL "
                       f"ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED")
        self._mark = f"UPDATE {name} SET sent_at = %s WHERE seq = ANY(%s)"

    def run_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were confirmed and marked sent."""
        if self.engine.dialect.name == "sqlite":
            t = self.outbox
            query = select(t.c.seq, t.c.event_id, t.c.routing_key, t.c.body).where(t.c.sent_at.is_(None))
            return self._run_once_sqlite(query.order_by(t.c.seq).limit(self.batch))
        if not self._keep:  # called on its own (a tool, a test): a connection for this batch only
            with self.engine.connect() as conn:
                return self._run_once_pg(conn)
        reused = self._conn is not None
        if self._conn is None:
            self._conn = self.engine.connect()
        try:
            return self._run_once_pg(self._conn)
        except Exception as exc:
            if not connection_lost(exc):
                raise
            self._release(invalidate=True)
            if not reused:
                raise
        # lost while it waited (terminated, the server restarted: what a pre-ping would have caught)
        self._conn = self.engine.connect()
        return self._run_once_pg(self._conn)

    def _run_once_pg(self, conn: Connection) -> int:
        """One batch on `conn`'s psycopg connection, in two pipelined round trips (see the module's
        docstring); the rows stay locked by this transaction from the SELECT to the COMMIT."""
        import psycopg

        pg = conn.connection.driver_connection
        assert isinstance(pg, psycopg.Connection)
        try:
            with pg.pipeline():
                pg.execute("SET LOCAL synchronous_commit TO off")  # for the marking commit; see above
                rows = pg.execute(self._claim, (self.batch,)).fetchall()
            if not rows:
                pg.rollback()
                return 0
            self.publisher.publish_batch([OutgoingMessage(event_id, key, body) for _, event_id, key, body in rows])
            with pg.pipeline():
                pg.execute(self._mark, (utcnow(), [r[0] for r in rows]))
                pg.commit()
        except BaseException:
            if not pg.closed and not pg.broken:
                try:
                    pg.rollback()  # unlock the rows for the next try (or another relay)
                except psycopg.Error:
                    pass
            raise
        return len(rows)

    def _release(self, invalidate: bool = False) -> None:
        """Give back (or, lost, throw away) the connection kept between batches."""
        give_back(self._conn, lost=invalidate)
        self._conn = None

    def _run_once_sqlite(self, query) -> int:
        """SQLite has one write lock per database: publishing inside a writing transaction held it for
        the broker's time (file writes, in embedded mode), and every API write and consumer of the
        service queued behind the relay. Instead the relays of a database (one per serving process)
        take turns on a file lock of their own, read the unsent rows without the write lock, publish,
        and take the write lock only to mark them sent: still no row sent twice by two relays."""
        with _relay_turn(self.engine):
            with read_only(), self.engine.begin() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return 0
            self.publisher.publish_batch([OutgoingMessage(r.event_id, r.routing_key, r.body) for r in rows])
            with self.engine.begin() as conn:
                conn.execute(update(self.outbox).where(self.outbox.c.seq.in_([r.seq for r in rows]))
                             .values(sent_at=utcnow()))
        return len(rows)

    def replay_recent(self, minutes: int) -> int:
        """Mark rows sent in the last `minutes` unsent again (embedded bus after a crash; inboxes dedupe)."""
        since = utcnow() - timedelta(minutes=minutes)
        with self.engine.begin() as conn:
            res = conn.execute(update(self.outbox).where(self.outbox.c.sent_at >= since).values(sent_at=None))
        return res.rowcount or 0

    def run_forever(self, idle: float | None = None) -> None:
        """Publish until stopped; between runs, sleep until woken (a commit with outbox rows) or the
        fallback poll (`idle`, if given, is a shorter one)."""
        self._keep = True
        try:
            self._loop(idle)
        finally:
            self.wakeup.close()
            self._release()

    def _loop(self, idle: float | None) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            self.wakeup.clear()  # before the run: a commit during it wakes the next wait
            try:
                n = self.run_once()
                backoff = 0.5
            except PublishNotConfirmed as exc:
                log.warning("relay: broker unavailable (%s); retrying in %.1fs", exc, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            except Exception as exc:
                log.exception("relay: unexpected error")
                self._release(invalidate=connection_lost(exc))  # a new connection at the next try
                self.stopping.wait(1.0)
                continue
            if n < self.batch:
                self.wakeup.wait(idle)

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.stop()
        self.publisher.close()


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll `predicate` until it returns something truthy or the deadline passes (tests, tools)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
