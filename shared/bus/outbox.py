"""Writing events: into the outbox, in the caller's transaction, never to the broker directly."""
from __future__ import annotations

import json
import threading

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.events import Event

#: set after any commit that wrote outbox rows, so that an in-process relay publishes at once
outbox_written = threading.Event()


def outbox_table(session: Session) -> Table:
    table = session.info.get("outbox_table")
    if table is None:
        raise RuntimeError("this session's service has no outbox table configured")
    return table


def emit(session: Session, ev: Event) -> Event:
    """Record `ev` in the outbox within the session's transaction; it is published after commit."""
    body = json.dumps(ev.to_message(), ensure_ascii=False, separators=(",", ":"))
    session.execute(
        insert(outbox_table(session)).values(
            event_id=str(ev.id), routing_key=ev.type, body=body, created_at=utcnow()
        )
    )
    session.info["outbox_dirty"] = True
    return ev


def emit_many(session: Session, events: list[Event]) -> None:
    """Batch form of `emit` for imports: one INSERT for many events."""
    if not events:
        return
    now = utcnow()
    rows = [
        {
            "event_id": str(ev.id),
            "routing_key": ev.type,
            "body": json.dumps(ev.to_message(), ensure_ascii=False, separators=(",", ":")),
            "created_at": now,
        }
        for ev in events
    ]
    session.execute(insert(outbox_table(session)), rows)
    session.info["outbox_dirty"] = True


def install_outbox(factory, table: Table) -> None:
    """Give every session of this factory its outbox table, and wake the relay after commits."""
    factory.kw.setdefault("info", {})["outbox_table"] = table

    @event.listens_for(factory, "after_commit")
    def _wake(session):
        if session.info.pop("outbox_dirty", False):
            outbox_written.set()

    @event.listens_for(factory, "after_rollback")
    def _forget(session):
        session.info.pop("outbox_dirty", None)
