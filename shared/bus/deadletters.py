"""Operator tools for a consumer's dead-letter queue: list with reasons, replay into the queue."""
from __future__ import annotations

import json

from kombu import Exchange
from kombu.message import Message

from shared.bus.publisher import OutgoingMessage, Publisher
from shared.bus.topology import connect, declare


def _drain(rt, limit: int = 10_000):
    """Fetch the DLQ's messages unacknowledged (the caller acks or lets them return on close)."""
    spec = rt.handlers.spec
    conn = connect(rt.settings.bus_url)
    declare(conn, [spec])
    ch = conn.channel()
    queue = spec.dead_letter_queue()(ch)
    messages: list[Message] = []
    while len(messages) < limit:
        m = queue.get(no_ack=False, accept=None)
        if m is None:
            break
        messages.append(m)
    return conn, ch, messages


def list_dead(rt) -> list[dict]:
    conn, ch, messages = _drain(rt)
    try:
        out = []
        for m in messages:
            h = m.headers or {}
            try:
                body = json.loads(m.body)
            except (ValueError, TypeError):
                body = None
            out.append({
                "event_id": (m.properties or {}).get("message_id") or (body or {}).get("id", ""),
                "type": h.get("x-original-routing-key", ""),
                "reason": h.get("x-dead-reason", "rejected by the broker (delivery limit or expiry)"),
                "dead_at": h.get("x-dead-at", ""),
                "content_type": m.content_type or "",
                "replayed": int(h.get("x-replayed") or 0),
            })
        return out
    finally:
        ch.close()  # unacked messages go back to the dead-letter queue
        conn.release()


def print_list(rt) -> None:
    rows = list_dead(rt)
    if not rows:
        print(f"{rt.name}: no dead letters")
    for r in rows:
        again = f"  (replayed {r['replayed']}x)" if r['replayed'] else ""
        print(f"{r['event_id']}  {r['type']}  {r['content_type']}  {r['dead_at']}  {r['reason']}{again}")


def replay(rt, event_id: str | None = None) -> int:
    """Send dead letters (all, or one event id) back to the consumer's queue; ack them once confirmed."""
    conn, ch, messages = _drain(rt)
    pub = Publisher(rt.settings.bus_url, exchange=Exchange("", type="direct"))
    n = 0
    try:
        queue_name = rt.handlers.spec.queue_name()
        for m in messages:
            mid = (m.properties or {}).get("message_id") or ""
            if event_id and mid != event_id:
                continue
            old = m.headers or {}
            headers = {k: v for k, v in old.items() if not k.startswith("x-")}
            headers["x-original-routing-key"] = old.get("x-original-routing-key", "")  # the event type, kept
            headers["x-replayed"] = int(old.get("x-replayed") or 0) + 1
            again = OutgoingMessage(mid, queue_name, m.body, headers, content_type=m.content_type or "application/json",
                                    content_encoding=m.content_encoding)  # the body and its type exactly as parked
            pub.publish_batch([again], exchange=Exchange("", type="direct"))
            m.ack()
            n += 1
        return n
    finally:
        pub.close()
        ch.close()
        conn.release()
