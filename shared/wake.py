"""Waking a worker when a commit gives it work, instead of polling the database for it.

A transaction that leaves work for a worker (outbox rows, a queued import, a notice to send) calls
`notify(session, channel)`. On PostgreSQL that is `NOTIFY <channel>` inside the transaction itself:
PostgreSQL delivers it when the transaction commits and drops it if it rolls back, to every process
LISTENing on the channel in that database. Everywhere (and so in embedded mode's SQLite, which has no
such thing) the commit also sets the in-process event of every `Wakeup` of that database and channel.

A worker waits on its `Wakeup` between looks. A slow fallback poll catches what no signal announced (a
row written by hand, a commit in another embedded process, a LISTEN connection lost, after which the
worker also looks once on reconnecting): `LISTEN_FALLBACK_POLL` (30 s) while LISTEN is up,
`FALLBACK_POLL` (5 s, or the caller's `fallback`) without it. An idle worker thus opens one read-only
transaction per fallback interval instead of several a second.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
FALLBACK_POLL = 5.0
LISTEN_FALLBACK_POLL = 30.0
_PENDING = "wake_channels"  # session.info key: (database, channel) pairs to wake after the commit
_events: dict[tuple[str, str], list[threading.Event]] = {}
_commits: dict[tuple[str, str], int] = {}  # commits of this process that notified each (database, channel)
_lock = threading.Lock()


def _database(bind: Engine | Connection) -> str:
    return (bind.engine if isinstance(bind, Connection) else bind).url.render_as_string(hide_password=True)


def notify(session: Session, channel: str) -> None:
    """Wake the workers waiting on `channel` of this session's database once the transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {channel}"))
    wake_after_commit(session, channel)


def wake_after_commit(session: Session, channel: str) -> None:
    """The in-process half of `notify`, for a statement that sent its NOTIFY itself
    (`shared.db.insert_rows(…, notify=channel)`: the outbox's INSERT, one round trip fewer)."""
    session.info.setdefault(_PENDING, set()).add((_database(session.get_bind()), channel))


@event.listens_for(Session, "after_commit")
def _wake(session: Session) -> None:
    for key in session.info.pop(_PENDING, ()):
        with _lock:
            _commits[key] = _commits.get(key, 0) + 1
            waiting = list(_events.get(key, ()))
        for ev in waiting:
            ev.set()


def commits_notifying(engine: Engine, channel: str) -> int:
    """How many commits of this process have notified `channel` in `engine`'s database so far: for a loop
    that keeps a copy of something and reads it again only when this number has moved (and, for what
    other processes write, on a slow fallback), instead of reading it on every turn."""
    with _lock:
        return _commits.get((_database(engine), channel), 0)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's rollback leaves the transaction's notices
        session.info.pop(_PENDING, None)


class Wakeup:
    """What a worker sleeps on: a commit that notified one of `channels` in `engine`'s database, a
    due time the worker names (`wait(timeout)`), or the fallback poll, whichever comes first.

    Usage: `clear()`, look for work, and if there was none `wait()`: a commit during the look is not
    missed (it sets the event again, or its NOTIFY waits on the LISTEN connection)."""

    def __init__(self, engine: Engine, *channels: str, fallback: float = FALLBACK_POLL):
        self.channels = channels
        self.listen = engine.dialect.name == "postgresql"
        self.fallback = LISTEN_FALLBACK_POLL if self.listen else fallback
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn: psycopg.Connection | None = None
        self.event = threading.Event()  # commits of this process
        self.stopping = threading.Event()
        self._keys = [(_database(engine), ch) for ch in channels]
        with _lock:
            for key in self._keys:
                _events.setdefault(key, []).append(self.event)

    def clear(self) -> None:
        self.event.clear()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until woken (True) or until `timeout` (capped at the fallback poll) has passed (False)."""
        timeout = self.fallback if timeout is None else max(0.0, min(timeout, self.fallback))
        if self.stopping.is_set():
            return False
        if not self.listen:
            return self.event.wait(timeout) and not self.stopping.is_set()
        return self._listen(timeout)

    def _listen(self, timeout: float) -> bool:
        """PostgreSQL LISTEN on an autocommit connection of its own (no transaction is open while it
        waits). Reconnects by itself; while it cannot, the wait is the poll's."""
        import psycopg

        deadline = time.monotonic() + timeout
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                if self.conn is None:
                    self.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                    for ch in self.channels:
                        self.conn.execute(f"LISTEN {ch}")
                    return True  # (re)connected: work may have been written meanwhile, look once
                if any(True for _ in self.conn.notifies(timeout=min(left, 1.0), stop_after=1)):
                    while any(True for _ in self.conn.notifies(timeout=0, stop_after=1)):
                        pass  # one look serves every notification so far
                    return True
            except psycopg.Error as exc:
                log.warning("LISTEN %s: connection lost (%s); polling until it is back", ",".join(self.channels), exc)
                self._close_conn()
                self.stopping.wait(min(left, 1.0))
        return False

    def _close_conn(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 (closing a dead connection)
                pass
            self.conn = None

    def stop(self) -> None:
        """Wake the waiter for good and stop listening (from any thread); the LISTEN connection is closed
        by `close`, in the waiting thread, or when it notices the stop (within a second)."""
        self.stopping.set()
        self.event.set()
        with _lock:
            for key in self._keys:
                if self.event in _events.get(key, ()):
                    _events[key].remove(self.event)

    def close(self) -> None:
        self.stop()
        self._close_conn()
