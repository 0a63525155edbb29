"""Writing events: into the outbox, in the caller's transaction, never to the broker directly."""
from __future__ import annotations

import json

from sqlalchemy import Table, event
from sqlalchemy.orm import Session

from shared.db import insert_rows, utcnow
from shared.events import Event
from shared.wake import wake_after_commit

#: the channel a commit with outbox rows notifies (`shared.wake`: the relays' wake-up)
NOTIFY_CHANNEL = "crm_outbox"
PENDING = "outbox_pending"  # session.info key: rows emitted in this transaction, not written yet


def outbox_table(session: Session) -> Table:
    table = session.info.get("outbox_table")
    if table is None:
        raise RuntimeError("this session's service has no outbox table configured")
    return table


def emit(session: Session, ev: Event) -> Event:
    """Record `ev` in the outbox within the session's transaction; it is published after commit.

    The row is written with the transaction's other events, in the order they were emitted, by one
    INSERT just before the transaction commits (see `install_outbox`); a rollback drops them.
    """
    session.info.setdefault(PENDING, []).append(_row(ev, utcnow()))
    return ev


def emit_many(session: Session, events: list[Event]) -> None:
    """Several events at once (imports, schedules): the same as `emit` for each, in order."""
    now = utcnow()
    session.info.setdefault(PENDING, []).extend(_row(ev, now) for ev in events)


#: `json.dumps(…, ensure_ascii=False, separators=(",", ":"))`, without building an encoder per event
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _row(ev: Event, now) -> dict:
    body = _encode(ev.to_message())
    return {"event_id": str(ev.id), "routing_key": ev.type, "body": body, "created_at": now}


def write_pending(session: Session) -> None:
    """Write the events emitted so far into the outbox table (one INSERT); commit does it by itself."""
    rows = session.info.pop(PENDING, None)
    if rows:  # on PostgreSQL the INSERT itself notifies the relays' LISTEN (delivered when this commits)
        insert_rows(session, outbox_table(session), rows, notify=NOTIFY_CHANNEL)
        wake_after_commit(session, NOTIFY_CHANNEL)  # and the relays of this process


def install_outbox(factory, table: Table) -> None:
    """Give every session of this factory its outbox table; its rows are written just before commit."""
    factory.kw.setdefault("info", {})["outbox_table"] = table

    @event.listens_for(factory, "before_commit")
    def _write(session):
        if not session.in_nested_transaction():  # a savepoint may still roll back: wait for the real commit
            write_pending(session)

    @event.listens_for(factory, "after_rollback")
    def _forget(session):
        if not session.in_nested_transaction():
            session.info.pop(PENDING, None)


def scrub(session: Session, ids: set[str] | list[str], customer_id: str) -> int:
    """Forget an erased person in this service's outbox: every sent event whose body names one of `ids`
    (the customer's and their leads' record ids) gets its personal payload fields replaced
    (`shared.privacy.forget`). Rows not sent yet are left to the relay as they are (their consumers
    apply the erasure when its event reaches them). Returns how many rows changed."""
    from sqlalchemy import or_, select, update

    from shared.privacy import forget

    table = outbox_table(session)
    ids = [i for i in ids if i]
    if not ids:
        return 0
    changed = 0
    rows = session.execute(select(table.c.seq, table.c.body).where(
        table.c.sent_at.is_not(None), or_(*(table.c.body.contains(f'"{i}"') for i in ids)))).all()
    for seq, body in rows:
        message = json.loads(body)
        scrubbed = forget(message.get("data") or {}, customer_id)
        if scrubbed != message.get("data"):
            message["data"] = scrubbed
            session.execute(update(table).where(table.c.seq == seq).values(
                body=json.dumps(message, ensure_ascii=False, separators=(",", ":"))))
            changed += 1
    return changed
