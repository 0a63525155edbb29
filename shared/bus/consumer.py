"""Consumers: validate, apply each event once (inbox), retry with backoff, park poison messages in the DLQ.

A handler is `fn(session, event)`; it runs in one transaction with the inbox row, so an event
applied and then redelivered (consumer killed before its ack) is recognised and skipped.

A failure that is the database's, not the message's (`shared.errors.database_unavailable`: no
connection, a connection lost, SQLite busy) is not counted against the message: the consumer keeps
trying with backoff (up to 5 s apart) until the database answers, for up to `db_outage` (10 min),
instead of parking good events in the DLQ after its few retries. Any other error is retried
`retries` times, then dead-lettered.

Nothing is applied that breaks the contract, in any service: the message must parse as an envelope
whose payload passes its versioned schema (`Event.from_message`: ids of at most 36 characters, a
group, the store of anything a store owns), and it must pass the tenant rule below. Either failure
is permanent: the message goes to the consumer's dead-letter queue at once, with the reason.

The tenant rule: an event is applied only for a group this service knows, and it knows a group from
identity's `identity.group.created` (every consumer's queue is bound to it; the group is recorded in
`known_groups` in the same transaction as the inbox row). The order question, decided:
- `identity.group.created` itself is the one event of a group not known yet; it is accepted when its
  payload names the group of its envelope.
- An event of a group whose creation has not arrived is dead-lettered, not held back. The topology
  makes that a sign of a bad message rather than of a race: identity publishes a group's creation
  before its stores and users (one relay, in outbox order, with broker confirms), every queue is
  declared before the group exists (`crm migrate` before `crm seed`), and another service can only
  write about a group's store after it has consumed that store's creation, by which time the
  exchange has already put the group's creation in every queue ahead of anything that follows.
  Should it happen all the same (a queue declared after the group existed), the dead letter waits
  in the DLQ with its reason and `crm dead-letters replay` applies it once the group is known; a
  service's migration marks the groups it already held copies of as known.
"""
from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from itertools import groupby
from typing import Any

from kombu import Connection
from kombu.message import Message
from kombu.mixins import ConsumerMixin
from marshmallow import ValidationError
from sqlalchemy import Connection as DbConnection, Table, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.bus.publisher import OutgoingMessage, Publisher, PublishNotConfirmed
from shared.bus.tables import KNOWN_GROUPS_CHANNEL, known_groups_of
from shared.bus.topology import ConsumerSpec, connect, dead_letter_exchange, declare, is_amqp
from shared.db import Database, give_back, utcnow
from shared.errors import DomainError, connection_lost, database_unavailable
from shared.rls import first_on_driver, on_driver
from shared.events import Event
from shared.tenancy import Scope
from shared.wake import wake_after_commit

log = logging.getLogger(__name__)
Handler = Callable[[Session, Event], None]
BatchHandler = Callable[[Session, list[Event]], None]


GROUP_CREATED = "identity.group.created"


class PermanentError(Exception):
    """The event can never be applied (bad data): dead-letter it at once, no retries."""


class TenantRejected(PermanentError):
    """The envelope breaks the tenant rule: it names no group, or a group this service does not know."""


@lru_cache(maxsize=4096)
def _topic_match(pattern: str, key: str) -> bool:
    """AMQP topic match: `*` is exactly one word, `#` zero or more words."""
    return _words_match(tuple(pattern.split(".")), tuple(key.split(".")))


def _words_match(p: tuple[str, ...], k: tuple[str, ...]) -> bool:
    if not p:
        return not k
    if p[0] == "#":
        return _words_match(p[1:], k) or (bool(k) and _words_match(p, k[1:]))
    return bool(k) and p[0] in ("*", k[0]) and _words_match(p[1:], k[1:])


@dataclass
class EventHandlers:
    """The routing table of one consuming service: routing-key pattern → handler.

    A handler registered with `on_batch` takes `fn(session, events)`: every event it handles that
    arrives consecutively in one delivered batch, in order, whatever their types (a single event is a
    list of one). It must be the only handler of its event types; one function may be registered for
    several patterns.

    `gather` (seconds, default none): how long a delivery may wait for more events before it is applied,
    for a consumer whose work nobody waits on to that fraction of a second (every service's sets one): each
    delivery costs a transaction and a fixed set of statements whatever its size, so at a low rate the
    events of one lead (published by two services a few milliseconds apart), and of the leads that follow
    it within the window, are applied together instead of one by one. Without it a delivery is applied as
    soon as no more events are arriving (`EventConsumer.consume`).

    `batch`: the most events one delivery takes (100; analytics 200: its per-event cost falls with the size
    of the delivery, and a backlog drains faster).
    """

    consumer: str
    handlers: list[tuple[str, Handler]] = field(default_factory=list)
    batch_handlers: list[tuple[str, BatchHandler]] = field(default_factory=list)
    gather: float = 0.0
    batch: int = 100

    def on(self, pattern: str):
        def deco(fn: Handler) -> Handler:
            self.handlers.append((pattern, fn))
            return fn

        return deco

    def on_batch(self, pattern: str):
        def deco(fn: BatchHandler) -> BatchHandler:
            self.batch_handlers.append((pattern, fn))
            return fn

        return deco

    @property
    def spec(self) -> ConsumerSpec:
        """The queue and its bindings: the handlers' patterns, and always the groups' creation (the
        tenant rule needs it, whether or not a handler does)."""
        patterns = [p for p, _ in self.handlers] + [p for p, _ in self.batch_handlers]
        if not any(_topic_match(p, GROUP_CREATED) for p in patterns):
            patterns.append(GROUP_CREATED)
        return ConsumerSpec(self.consumer, tuple(dict.fromkeys(patterns)))

    def for_type(self, event_type: str) -> list[Handler]:
        return [fn for p, fn in self.handlers if _topic_match(p, event_type)]

    def batch_for(self, event_type: str) -> BatchHandler | None:
        found = list(dict.fromkeys(fn for p, fn in self.batch_handlers if _topic_match(p, event_type)))
        if found and (len(found) > 1 or self.for_type(event_type)):
            raise RuntimeError(f"{self.consumer}: a batch handler must be the only handler of {event_type}")
        return found[0] if found else None

    def apply(self, s: Session, events: list[Event]) -> None:
        """Run the handlers over `events` in order; a run of events of one batch handler goes in one call."""
        for key, same in groupby(events, key=lambda ev: self.batch_for(ev.type) or ev.type):
            run = list(same)
            if not isinstance(key, str):  # the run's batch handler
                key(s, run)
                continue
            fns = self.for_type(key)
            for ev in run:
                for fn in fns:
                    fn(s, ev)


class Applier:
    """Applies one event inside a unit of work guarded by the inbox, after the tenant rule."""

    def __init__(self, db: Database, inbox: Table, handlers: EventHandlers):
        self.db, self.inbox, self.handlers = db, inbox, handlers
        self.known_groups = known_groups_of(inbox)
        self._known: set[str | None] = set()  # groups found known (a group is never forgotten)
        #: PostgreSQL, set by the consumer's loop (`keep_connection`): batches run on a connection kept
        #: checked out between them, in `_conn` (no pool checkout and pre-ping per delivery)
        self._keep = False
        self._conn: DbConnection | None = None

    def keep_connection(self) -> None:
        """Run batches on one connection kept between them (PostgreSQL; a consumer's loop, which calls
        `release` when it stops): a delivery's unit of work then costs a round trip fewer, the pool's
        pre-ping. A connection found lost is thrown away and the batch falls back as any failed batch
        does (`EventConsumer.flush`: one by one, on the pool's connections, with retries)."""
        self._keep = self.db.engine.dialect.name == "postgresql"

    def release(self, invalidate: bool = False) -> None:
        give_back(self._conn, lost=invalidate)
        self._conn = None

    def admit(self, s: Session, events: list[Event]) -> None:
        """The tenant rule (see the module's docstring) for events of one group, in order: raises
        `TenantRejected`; records a group's creation in `known_groups`."""
        gid = events[0].group_id
        if not gid:
            raise TenantRejected("the event names no group")
        known = gid in self._known or s.execute(
            select(self.known_groups.c.group_id).where(self.known_groups.c.group_id == gid)).first() is not None
        for ev in events:
            if ev.group_id != gid:
                raise ValueError("admit() takes the events of one group")
            if ev.type == GROUP_CREATED:
                if ev.data.get("id") != gid:
                    raise TenantRejected(f"{GROUP_CREATED} creates group {ev.data.get('id')} but its envelope "
                                         f"names group {gid}")
                if not known:
                    s.execute(insert(self.known_groups).values(group_id=gid, known_at=utcnow(),
                                                               timezone=ev.data.get("timezone")))
                    wake_after_commit(s, KNOWN_GROUPS_CHANNEL)  # the scheduler's copy of the groups
                    known = True
            elif not known:
                raise TenantRejected(f"unknown group {gid}: no {GROUP_CREATED} for it has reached "
                                     f"{self.handlers.consumer} (replay this dead letter once it has)")

    def apply(self, ev: Event) -> bool:
        """Apply `ev` once; returns False when the inbox says it was applied before."""
        name = self.handlers.consumer
        try:
            with self.db.session(Scope.system(ev.group_id)) as s:
                seen = s.execute(
                    select(self.inbox.c.event_id).where(
                        self.inbox.c.consumer == name, self.inbox.c.event_id == str(ev.id)
                    )
                ).first()
                if seen:
                    return False
                self.admit(s, [ev])
                s.execute(
                    insert(self.inbox).values(
                        consumer=name, event_id=str(ev.id), event_type=ev.type, handled_at=utcnow()
                    )
                )
                self.handlers.apply(s, [ev])
        except IntegrityError:
            # a concurrent replica inserted the same inbox row first; if so it is a duplicate
            with self.db.session(Scope.system(ev.group_id)) as s:
                if s.execute(
                    select(self.inbox.c.event_id).where(
                        self.inbox.c.consumer == name, self.inbox.c.event_id == str(ev.id)
                    )
                ).first():
                    return False
            raise
        self._known.add(ev.group_id)
        return True

    def apply_batch(self, events: list[Event]) -> int:
        """Apply events of one group in one transaction (one inbox look-up, one insert, one commit).

        Returns how many were new. Any error rolls the whole batch back; the caller then falls back
        to `apply` one event at a time, which retries and dead-letters individually.
        """
        name, inbox = self.handlers.consumer, self.inbox
        unique = list({str(ev.id): ev for ev in events}.values())  # the same event twice counts once
        if self._keep and self._conn is None:
            self._conn = self.db.engine.connect()
        try:
            with self.db.session(Scope.system(events[0].group_id), bind=self._conn) as s:
                new_ids = _record_in_inbox(s, inbox, name, unique, kept=self._conn)
                fresh = [ev for ev in unique if str(ev.id) in new_ids]
                if fresh:
                    self.admit(s, fresh)
                self.handlers.apply(s, fresh)
        except BaseException as exc:
            self.release(invalidate=connection_lost(exc))  # rolled back; the next batch takes a fresh one
            raise
        if fresh:
            self._known.add(events[0].group_id)
        return len(fresh)


def _record_in_inbox(s: Session, inbox: Table, consumer: str, events: list[Event],
                     kept: DbConnection | None = None) -> set[str]:
    """Insert the events' inbox rows; return the ids that were not there before.

    One `INSERT … ON CONFLICT DO NOTHING RETURNING` on PostgreSQL and SQLite: a single round trip,
    and a concurrent replica's rows are simply skipped.
    """
    now = utcnow()
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":  # the ids as two array parameters: a short statement, on the driver's cursor
        name = s.get_bind().dialect.identifier_preparer.format_table(inbox)
        sql = (f"INSERT INTO {name} (consumer, event_id, event_type, handled_at) "
               "SELECT %s, e.id, e.type, %s FROM unnest(%s::text[], %s::text[]) "
               "AS e(id, type) ON CONFLICT DO NOTHING RETURNING event_id")
        params = (consumer, now.astimezone(UTC), [str(ev.id) for ev in events], [ev.type for ev in events])
        if kept is not None and not s.in_transaction():  # with BEGIN and the scope's settings, one round trip
            return {row[0] for row in first_on_driver(s, kept, sql, params)}
        return {row[0] for row in on_driver(s.connection(), sql, params)}
    rows: list[dict[str, Any]] = [{"consumer": consumer, "event_id": str(ev.id), "event_type": ev.type, "handled_at": now}
                                  for ev in events]
    if dialect == "sqlite":
        returning = sqlite_insert(inbox).values(rows).on_conflict_do_nothing().returning(inbox.c.event_id)
        return set(s.execute(returning).scalars())
    ids = [r["event_id"] for r in rows]
    seen = set(s.execute(select(inbox.c.event_id).where(inbox.c.consumer == consumer,
                                                        inbox.c.event_id.in_(ids))).scalars())
    new = [r for r in rows if r["event_id"] not in seen]
    if new:
        s.execute(insert(inbox), new)
    return {r["event_id"] for r in new}


class EventConsumer(ConsumerMixin):
    """Runs one service's queue: validate, apply with retries, dead-letter with a reason, ack."""

    def __init__(
        self,
        url: str,
        applier: Applier,
        retries: int = 3,
        backoff: float = 0.2,
        prefetch: int | None = None,
        batch: int | None = None,
        linger: float | None = None,
        hold: float | None = None,
        db_outage: float = 600.0,
    ):
        self.url = url
        self._amqp = is_amqp(url)
        self.connection: Connection = connect(url)
        self.applier = applier
        self.spec = applier.handlers.spec
        batch = batch or applier.handlers.batch
        #: the broker may have twice a delivery in flight: while one is applied the next is already on its
        #: way, instead of leaving only after the first one's ack (a backlog then streams without a stall)
        prefetch = prefetch or 2 * batch
        self.retries, self.backoff, self.prefetch = retries, backoff, prefetch
        self.db_outage = db_outage  # s: how long the database may be unavailable before a message is parked
        self.dead_publisher = Publisher(url, exchange=dead_letter_exchange())
        #: batching (see `consume`): at most `batch` messages; read on while the next one is already
        #: arriving (within `linger`, 1 ms), and for at most `hold` (10 ms) after the first one came; a
        #: consumer that gathers (`EventHandlers.gather`) reads on for that long in any case
        gather = applier.handlers.gather
        self.batch = max(1, min(batch, prefetch))
        self.linger = linger if linger is not None else max(0.001, gather)
        self.hold = hold if hold is not None else max(0.01, gather)
        self.pending: list[tuple[Any, Message]] = []
        self._flush_by = 0.0
        self.applied = 0
        self.ready = threading.Event()

    def get_consumers(self, Consumer, channel):
        amqp = is_amqp(self.url)
        if amqp:
            self.connection.connect()  # closed after the last declaration (below)
        declare(self.connection, [self.spec])
        if amqp:  # kombu's loop consumes on a clone of it: this connection only declares, and is not left open
            self.connection.release()
        queue = self.spec.queue(is_amqp(self.url))
        c = Consumer(queues=[queue], callbacks=[self.on_message], accept=["json"], prefetch_count=self.prefetch)
        c.on_decode_error = self.on_decode_error
        return [c]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.ready.set()

    def on_decode_error(self, message, exc) -> None:
        self.dead_letter(message, f"undecodable message: {exc}")

    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        """kombu's loop, batching only what is already there: the pending messages are applied as soon as
        no further frame is waiting (none arrives within `linger`, 1 ms: the broker has nothing more ready
        for us), when `batch` are pending, or `hold` (10 ms) after the first of them came, whichever is
        first. An event arriving alone is applied at once; under load the messages that arrive while a
        batch is applied are waiting in the socket when it is done, and make the next batch (the busier,
        the larger, up to `batch`). A consumer that gathers (`EventHandlers.gather`) waits that long after
        the first pending message for more, whatever arrives. Acks still follow the commit (`flush`).
        While it runs, batches are applied on a database connection kept between them
        (`Applier.keep_connection`)."""
        # the filesystem bus (embedded mode) is polled anyway: a short wait lets `stop` end the loop at once
        # instead of up to a second later (each embedded platform's stop waited for it)
        idle = float(safety_interval) if is_amqp(self.url) else min(float(safety_interval), 0.1)
        self.applier.keep_connection()
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers), _released(self.applier):
            while not self.should_stop:
                wait = idle
                if self.pending:
                    wait = min(self.linger, self._flush_by - time.monotonic())
                    if wait <= 0:  # held long enough: a steady trickle must not keep the batch open
                        self.flush()
                        yield
                        continue
                try:
                    conn.drain_events(timeout=wait)  # a positive timeout: no busy loop inside a frame
                except TimeoutError:
                    if self.pending:
                        self.flush()
                    else:
                        conn.heartbeat_check()
                yield

    def on_message(self, body, message) -> None:
        """Buffer the message; a full batch is applied at once."""
        if not self.pending:
            self._flush_by = time.monotonic() + self.hold
        self.pending.append((body, message))
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Apply the buffered messages, a transaction per group, then ack them; on trouble, one by one.

        A delivery of one message takes the same path (one inbox statement instead of a look-up and an
        insert); only what fails there goes to `handle_one`, with its retries and the dead-letter queue."""
        batch, self.pending = self.pending, []
        try:
            events = [Event.from_message(body) for body, _ in batch]
            groups: dict[str | None, list[Event]] = {}
            for ev in events:
                groups.setdefault(ev.group_id, []).append(ev)
            applied = sum(self.applier.apply_batch(evs) for evs in groups.values())
        except Exception as exc:  # invalid message, handler error, race: the careful path sorts it out
            log.info("%s: batch of %d falls back to one by one (%s)", self.spec.name, len(batch), exc)
            for body, message in batch:
                self.handle_one(body, message)
            return
        self.applied += applied
        _fault_exit_before_ack()
        self.ack_all([message for _, message in batch])

    def ack_all(self, messages: list[Message]) -> None:
        """Ack a delivery's messages, all applied. On AMQP one frame does it (`multiple`: every message of the
        channel up to the last one's tag, which are exactly these: each earlier one was acked, rejected or
        dead-lettered by the delivery that held it, or left for redelivery by `handle_one` only when the
        consumer is stopping, after which no delivery is acked so); the filesystem bus acks each."""
        last = messages[-1]
        if self._amqp and all(m.channel is last.channel for m in messages):
            last.ack(multiple=True)
            for m in messages[:-1]:
                m._state = "ACK"  # kombu's own mark, as its ack() sets it
            return
        for message in messages:
            message.ack()

    def handle_one(self, body, message) -> None:
        """Validate and apply one message with retries; dead-letter it with the reason if it can't be."""
        try:
            ev = Event.from_message(body)
        except ValidationError as exc:
            self.dead_letter(message, f"invalid event: {json.dumps(exc.messages, ensure_ascii=False)}")
            return
        last: Exception | None = None
        attempt, outage_since = 0, None
        while True:
            try:
                if self.applier.apply(ev):
                    self.applied += 1
                last = None
                break
            except (PermanentError, ValidationError, DomainError) as exc:  # the same input fails the same way
                last = exc
                break
            except Exception as exc:  # transient (database busy, deadlock...): back off and retry
                last = exc
                log.warning("%s: %s failed (attempt %d): %s", self.spec.name, ev.type, attempt + 1, exc)
                if database_unavailable(exc):  # not the message's fault: wait for the database, don't park it
                    outage_since = outage_since or time.monotonic()
                    if time.monotonic() - outage_since > self.db_outage:
                        break
                elif attempt >= self.retries:
                    break
                if not self._pause(min(self.backoff * (2**attempt), 5.0)):
                    return  # stopping: left unacked, the broker gives it to the next consumer
                attempt += 1
        if last is not None:
            self.dead_letter(message, f"{type(last).__name__}: {last}")
            return
        _fault_exit_before_ack()
        message.ack()

    def _pause(self, seconds: float) -> bool:
        """Sleep between tries while keeping the broker connection's heartbeat; False when stopping."""
        deadline = time.monotonic() + seconds
        while not self.should_stop and time.monotonic() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            try:
                self.connection.heartbeat_check()
            except Exception:  # noqa: BLE001 (a lost broker connection shows on the ack; kombu reconnects)
                pass
        return not self.should_stop

    def dead_letter(self, message, reason: str) -> None:
        """Park the raw message in this consumer's DLQ with the reason, then ack the original.

        If the dead-letter queue cannot take it now, the message goes back to the queue (nothing lost).
        """
        log.error("%s: dead-lettering message: %s", self.spec.name, reason)
        headers = dict(message.headers or {})
        headers.update(
            {
                "x-dead-reason": reason[:2000],
                "x-dead-consumer": self.spec.name,
                # a replayed message arrives on the queue's own name: keep the event type it first had
                "x-original-routing-key": headers.get("x-original-routing-key")
                or message.delivery_info.get("routing_key", ""),
                "x-dead-at": utcnow().isoformat(),
            }
        )
        msg_id = (message.properties or {}).get("message_id") or ""
        parked = OutgoingMessage(msg_id, self.spec.queue_name(), message.body, headers,  # the body as it came
                                 content_type=message.content_type or "application/octet-stream",
                                 content_encoding=message.content_encoding)
        try:
            self.dead_publisher.publish_batch([parked], exchange=dead_letter_exchange())
        except PublishNotConfirmed as exc:
            log.error("%s: dead-letter queue unavailable (%s); message requeued", self.spec.name, exc)
            time.sleep(self.backoff)
            message.requeue()
            return
        message.ack()

    def stop(self) -> None:
        self.should_stop = True
        self.dead_publisher.close()


@contextmanager
def _released(applier: Applier) -> Iterator[None]:
    try:
        yield
    finally:
        applier.release()


def _fault_exit_before_ack() -> None:
    """Fault injection for tests: die once after applying, before the ack (flag file is consumed)."""
    flag = os.environ.get("BUS_FAULT_EXIT_BEFORE_ACK_FILE")
    if flag and os.path.exists(flag):
        os.remove(flag)
        os._exit(17)
