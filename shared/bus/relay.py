"""The outbox relay: publishes committed outbox rows and marks them sent only after confirms.

It sleeps until there is something to send: on PostgreSQL a commit that wrote outbox rows sends
`NOTIFY crm_outbox` (see `shared.bus.outbox`), which the relay LISTENs to on a connection of its
own; in embedded mode the writing thread sets an in-process event. A slow fallback poll catches
rows written without a wake-up (a row written by hand; a listener connection lost, after which the
relay also looks once on reconnecting): every `FALLBACK_POLL` (5 s) in embedded mode, every
`LISTEN_FALLBACK_POLL` (30 s) while LISTEN is up. An idle relay thus opens one read-only
transaction per 5 or 30 s instead of ten a second.
"""
from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, Table, select, update

from shared.bus.outbox import NOTIFY_CHANNEL, stop_waking, wake_on_commit
from shared.bus.publisher import OutgoingMessage, Publisher, PublishNotConfirmed
from shared.db import read_only, utcnow

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
FALLBACK_POLL = 5.0
LISTEN_FALLBACK_POLL = 30.0


class _Listener:
    """PostgreSQL LISTEN on the outbox channel, on its own autocommit connection (no transaction is
    opened while waiting). Reconnects by itself; while it cannot, waits fall back to the poll."""

    def __init__(self, engine: Engine):
        url = engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.conn: psycopg.Connection | None = None

    def wait(self, timeout: float, stopping: threading.Event) -> bool:
        """Block until a notification (True) or `timeout` (False); checks `stopping` every second."""
        import psycopg

        deadline = time.monotonic() + timeout
        while not stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                if self.conn is None:
                    self.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                    self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    return True  # (re)connected: rows may have been written meanwhile, look once
                if any(True for _ in self.conn.notifies(timeout=min(left, 1.0), stop_after=1)):
                    while any(True for _ in self.conn.notifies(timeout=0, stop_after=1)):
                        pass  # one run publishes what every notification so far was about
                    return True
            except psycopg.Error as exc:
                log.warning("relay: LISTEN connection lost (%s); polling until it is back", exc)
                self.close()
                stopping.wait(min(left, 1.0))
        return False

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 (closing a dead connection)
                pass
            self.conn = None


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
        self.written = wake_on_commit(outbox)  # commits of this process (the embedded mode's wake-up)

    def run_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were confirmed and marked sent."""
        t = self.outbox
        query = select(t.c.seq, t.c.event_id, t.c.routing_key, t.c.body).where(t.c.sent_at.is_(None))
        query = query.order_by(t.c.seq).limit(self.batch)
        if self.engine.dialect.name == "sqlite":
            return self._run_once_sqlite(query)
        with self.engine.begin() as conn:
            rows = conn.execute(query.with_for_update(skip_locked=True)).all()  # several relays share the work
            if not rows:
                return 0
            self.publisher.publish_batch([OutgoingMessage(r.event_id, r.routing_key, r.body) for r in rows])
            conn.execute(update(t).where(t.c.seq.in_([r.seq for r in rows])).values(sent_at=utcnow()))
        return len(rows)

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
        """Publish until stopped; between runs, sleep until woken (NOTIFY or the in-process event) or `idle`."""
        listener = _Listener(self.engine) if self.engine.dialect.name == "postgresql" else None
        if idle is None:
            idle = LISTEN_FALLBACK_POLL if listener is not None else FALLBACK_POLL
        try:
            self._loop(idle, listener)
        finally:
            if listener is not None:
                listener.close()

    def _loop(self, idle: float, listener: _Listener | None) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            self.written.clear()  # before the run: a commit during it sets the event again
            try:
                n = self.run_once()
                backoff = 0.5
            except PublishNotConfirmed as exc:
                log.warning("relay: broker unavailable (%s); retrying in %.1fs", exc, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            except Exception:
                log.exception("relay: unexpected error")
                self.stopping.wait(1.0)
                continue
            if n < self.batch:
                if listener is not None:
                    listener.wait(idle, self.stopping)
                else:
                    self.written.wait(idle)

    def stop(self) -> None:
        self.stopping.set()
        self.written.set()
        stop_waking(self.outbox, self.written)
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
