"""Publishing with broker confirms, pipelined: many messages in flight, then wait for their acks.

Waiting for each confirm one by one gives a few hundred messages per second from Python; here a
batch is published in confirm mode and the relay waits once for the acks of the whole batch.
On the embedded transports a publish is a local write and counts as confirmed when it returns.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kombu import Connection, Exchange, Producer

from shared.bus.topology import connect, events_exchange, is_amqp

log = logging.getLogger(__name__)


class PublishNotConfirmed(Exception):
    """The broker nacked or did not confirm in time: the rows stay unsent."""


@dataclass
class OutgoingMessage:
    event_id: str
    routing_key: str
    body: str | bytes  # JSON text, exactly as stored in the outbox (a dead letter's raw bytes, as received)
    headers: dict | None = None
    content_type: str = "application/json"
    content_encoding: str | None = "utf-8"


class Publisher:
    def __init__(self, url: str, exchange: Exchange | None = None, confirm_timeout: float = 10.0):
        self.url = url
        self.amqp = is_amqp(url)
        self.exchange = exchange or events_exchange()
        self.confirm_timeout = confirm_timeout
        self._conn: Connection | None = None
        self._channel = None
        self._acked = 0
        self._nacked = False

    def _ensure(self):
        if self._channel is not None:
            return self._channel
        # no AMQP heartbeat: a publisher sits idle between batches and nothing would answer the
        # broker's heartbeats, so it would drop the connection after two missed intervals
        conn = connect(self.url, heartbeat=0)
        conn.ensure_connection(max_retries=1)
        ch = conn.channel()
        self.exchange(ch).declare()
        if self.amqp:
            ch.confirm_select()
            ch.events["basic_ack"].add(self._on_ack)
            ch.events["basic_nack"].add(self._on_nack)
            self._acked = 0
            self._published = 0
        self._conn, self._channel = conn, ch
        return ch

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._acked = max(self._acked, delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked = True

    def publish_batch(self, messages: list[OutgoingMessage], exchange: Exchange | None = None) -> None:
        """Publish persistently; returns only when the broker confirmed every message.

        A connection kept from an earlier batch may have died meanwhile: then reconnect and try once
        more (a message published twice is harmless, consumers' inboxes drop the copy).
        """
        reused = self._channel is not None
        try:
            self._publish(messages, exchange)
        except PublishNotConfirmed:
            if not reused:
                raise
            self._publish(messages, exchange)

    def _publish(self, messages: list[OutgoingMessage], exchange: Exchange | None) -> None:
        if not messages:
            return
        try:
            ch = self._ensure()
            producer = Producer(ch, exchange=exchange or self.exchange, auto_declare=False)
            self._nacked = False
            for m in messages:
                producer.publish(
                    m.body,
                    routing_key=m.routing_key,
                    content_type=m.content_type,
                    content_encoding=m.content_encoding,
                    delivery_mode=2,
                    message_id=m.event_id,
                    headers=m.headers or {},
                )
                if self.amqp:
                    self._published += 1
            if self.amqp:
                self._wait_for_confirms()
        except PublishNotConfirmed:
            self.close()
            raise
        except Exception as exc:  # connection lost mid-batch: nothing is marked sent
            self.close()
            raise PublishNotConfirmed(f"publish failed: {exc}") from exc

    def _wait_for_confirms(self) -> None:
        deadline = time.monotonic() + self.confirm_timeout
        conn = self._conn
        if conn is None:  # publish() connects first; closed meanwhile means the confirms are lost
            raise PublishNotConfirmed("the connection closed before the broker confirmed")
        while self._acked < self._published:
            if self._nacked:
                raise PublishNotConfirmed("broker nacked a message")
            left = deadline - time.monotonic()
            if left <= 0:
                raise PublishNotConfirmed("timed out waiting for publisher confirms")
            try:
                conn.drain_events(timeout=min(left, 1.0))
            except TimeoutError:
                continue
        if self._nacked:
            raise PublishNotConfirmed("broker nacked a message")

    def close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.release()
        except Exception:  # closing a dead connection
            pass
        self._conn = self._channel = None
