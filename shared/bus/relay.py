"""The outbox relay: publishes committed outbox rows and marks them sent only after confirms."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import Engine, Table, select, update

from shared.bus.outbox import outbox_written
from shared.bus.publisher import OutgoingMessage, Publisher, PublishNotConfirmed
from shared.db import utcnow

log = logging.getLogger(__name__)


class Relay:
    def __init__(self, engine: Engine, outbox: Table, publisher: Publisher, batch: int = 500):
        self.engine, self.outbox, self.publisher, self.batch = engine, outbox, publisher, batch
        self.stopping = threading.Event()

    def run_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were confirmed and marked sent."""
        t = self.outbox
        query = select(t.c.seq, t.c.event_id, t.c.routing_key, t.c.body).where(t.c.sent_at.is_(None))
        query = query.order_by(t.c.seq).limit(self.batch)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)  # several relays share the work
            rows = conn.execute(query).all()
            if not rows:
                return 0
            self.publisher.publish_batch([OutgoingMessage(r.event_id, r.routing_key, r.body) for r in rows])
            conn.execute(update(t).where(t.c.seq.in_([r.seq for r in rows])).values(sent_at=utcnow()))
        return len(rows)

    def replay_recent(self, minutes: int) -> int:
        """Mark rows sent in the last `minutes` unsent again (embedded bus after a crash; inboxes dedupe)."""
        since = utcnow() - timedelta(minutes=minutes)
        with self.engine.begin() as conn:
            res = conn.execute(update(self.outbox).where(self.outbox.c.sent_at >= since).values(sent_at=None))
        return res.rowcount or 0

    def run_forever(self, idle: float = 0.1) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
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
                outbox_written.wait(idle)
                outbox_written.clear()

    def stop(self) -> None:
        self.stopping.set()
        outbox_written.set()
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
