"""Exchanges and queues, declared in one place.

- `<ns>.events`: one durable topic exchange; routing key = event type (`leads.lead.created`).
- `<ns>.<consumer>`: one durable queue per consuming service, bound by routing-key patterns.
  On RabbitMQ it is a quorum queue (replicated, and `x-delivery-limit` sends a message that keeps
  crashing consumers to the dead-letter exchange instead of redelivering it for ever). Every such
  queue names `<ns>.dlx` as its dead-letter exchange: RabbitMQ 4 drops a message after 20
  deliveries when a quorum queue has none.
- `<ns>.dlx`: direct exchange; `<ns>.<consumer>.dlq` (classic, durable, no delivery limit) holds
  what one consumer could not apply, with the reason in the `x-dead-reason` header.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from kombu import Connection, Exchange, Queue, binding
from kombu.transport.virtual import BrokerState

DELIVERY_LIMIT = 10
_FS_STATES: dict[str, BrokerState] = {}


def namespace() -> str:
    return os.environ.get("BUS_NAMESPACE", "crm")


def events_exchange(ns: str | None = None) -> Exchange:
    return Exchange(f"{ns or namespace()}.events", type="topic", durable=True)


def dead_letter_exchange(ns: str | None = None) -> Exchange:
    return Exchange(f"{ns or namespace()}.dlx", type="direct", durable=True)


@dataclass(frozen=True)
class ConsumerSpec:
    """One consuming service: its queue name and the routing-key patterns it listens to."""

    name: str
    patterns: tuple[str, ...]

    def queue_name(self, ns: str | None = None) -> str:
        return f"{ns or namespace()}.{self.name}"

    def queue(self, amqp: bool, ns: str | None = None) -> Queue:
        ex = events_exchange(ns)
        args = {}
        if amqp:
            args = {
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": dead_letter_exchange(ns).name,
                "x-dead-letter-routing-key": self.queue_name(ns),
                "x-delivery-limit": DELIVERY_LIMIT,
            }
        return Queue(
            self.queue_name(ns),
            exchange=ex,
            bindings=[binding(ex, routing_key=p) for p in self.patterns],
            durable=True,
            queue_arguments=args or None,
        )

    def dead_letter_queue(self, ns: str | None = None) -> Queue:
        dlx = dead_letter_exchange(ns)
        return Queue(f"{self.queue_name(ns)}.dlq", exchange=dlx, routing_key=self.queue_name(ns), durable=True)


def is_amqp(url: str) -> bool:
    return url.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")


def broker_urls(url: str) -> str:
    """The nodes of a RabbitMQ cluster in one URL, written as in libpq
    (`amqp://user:pass@node1:5672,node2:5672,node3:5672//`), as kombu's failover list: one full URL
    per node, joined by `;`. Any other URL (a single node, a list already in kombu's form) is kept."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if not sep or ";" in url or "," not in hosts:
        return url
    return ";".join(f"{scheme}://{userinfo}{at}{host}{slash}{path}" for host in hosts.split(",") if host)


def connect(url: str, heartbeat: int = 30) -> Connection:
    """A kombu connection; the embedded `filesystem://<dir>` bus keeps messages in files under var/.

    On RabbitMQ `url` may name several nodes of a cluster (see `broker_urls`): kombu connects to the
    first that answers and, when a connection fails or is lost, goes on to the next in the list.
    """
    scheme = url.split("://", 1)[0]
    if scheme == "filesystem":
        folder = Path(urlparse(url).path or "var/bus")
        (folder / "control").mkdir(parents=True, exist_ok=True)
        (folder / "data").mkdir(parents=True, exist_ok=True)
        from shared.bus.fs_transport import Transport

        conn = Connection(
            "filesystem://localhost/",
            transport=Transport,
            transport_options={
                "data_folder_in": str(folder / "data"),
                "data_folder_out": str(folder / "data"),
                "control_folder": str(folder / "control"),
                "polling_interval": 0.05,
            },
        )
        # kombu keeps the filesystem transport's binding cache process-wide; keep one per bus folder so
        # that two buses in one process (tests) each write their own bindings
        conn.transport.state = _FS_STATES.setdefault(str(folder.resolve()), BrokerState())
        return conn
    if scheme == "memory":
        return Connection(url, transport_options={"polling_interval": 0.01})
    return Connection(broker_urls(url), heartbeat=heartbeat, connect_timeout=5)


def declare(conn: Connection, specs: list[ConsumerSpec]) -> None:
    """Declare the exchanges and every given consumer's queue and dead-letter queue (idempotent)."""
    amqp = is_amqp(conn.as_uri())
    with conn.channel() as ch:
        events_exchange()(ch).declare()
        dead_letter_exchange()(ch).declare()
        for spec in specs:
            spec.queue(amqp)(ch).declare()
            spec.dead_letter_queue()(ch).declare()
