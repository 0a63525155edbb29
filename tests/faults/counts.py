"""The cross-service counts a fault must leave true, read from each service's database (as the
superuser, past row-level security) and from the dead-letter queues."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import psycopg
from kombu import Connection
from sqlalchemy import make_url

from shared.config import SERVICES
from tests.conftest import wait_until

SETTLE = 240.0  # s: for every outbox to drain and every consumer to apply it, on a loaded 2-core machine


@dataclass(frozen=True)
class Counts:
    leads: int  # rows in leads
    leads_outbox: int  # leads.lead.created rows in leads' outbox
    customer_leads: int  # customers' copy of each lead
    lead_events: int  # analytics' event log: leads.lead.created
    rollup_leads: int  # analytics' rollup: sum of the `leads` metric
    deliveries: int  # orders delivered in leads
    callbacks: int  # callcenter's delivery callback tasks
    vehicles: int  # customers' vehicles
    unsent: int  # outbox rows not yet confirmed by the broker, every service
    duplicate_inbox: int  # inbox rows beyond one per (consumer, event), every service
    dead_letters: dict  # messages in each consumer's dead-letter queue

    def settled(self, expected_leads: int, expected_dead: dict) -> bool:
        return (self.unsent == 0 and self.leads == expected_leads
                and self.leads == self.leads_outbox == self.customer_leads == self.lead_events == self.rollup_leads
                and self.deliveries == self.callbacks == self.vehicles
                and self.duplicate_inbox == 0 and self.dead_letters == expected_dead)

    def line(self) -> str:
        d = asdict(self)
        dead = d.pop("dead_letters")
        return ", ".join(f"{k}={v}" for k, v in d.items()) + f", dead_letters={sum(dead.values())} {dead}"


def connect(topo, admin_url: str, svc: str) -> psycopg.Connection:
    url = make_url(admin_url).set(database=make_url(topo.database_url(svc)).database)
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def org_known_to_leads(topo, admin_url: str) -> bool:
    """Every store and user identity announced is in leads' inbox: a consultant's first lead finds its store
    (an empty outbox says only that the events were sent, not that leads applied them)."""
    with connect(topo, admin_url, "identity") as conn:
        sent = {r[0] for r in conn.execute("SELECT event_id FROM outbox WHERE routing_key LIKE 'identity.store.%' "
                                           "OR routing_key LIKE 'identity.user.%'")}
    with connect(topo, admin_url, "leads") as conn:
        applied = {r[0] for r in conn.execute("SELECT event_id FROM inbox")}
    return bool(sent) and sent <= applied


def _one(conn, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0] or 0)


def read(topo, admin_url: str, amqp_url: str) -> Counts:
    c: dict[str, int] = {"unsent": 0, "duplicate_inbox": 0}
    for svc in SERVICES:
        with connect(topo, admin_url, svc) as conn:
            c["unsent"] += _one(conn, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            c["duplicate_inbox"] += _one(conn, "SELECT count(*) - count(DISTINCT (consumer, event_id)) FROM inbox")
            if svc == "leads":
                c["leads"] = _one(conn, "SELECT count(*) FROM leads")
                c["leads_outbox"] = _one(conn, "SELECT count(*) FROM outbox WHERE routing_key = 'leads.lead.created'")
                c["deliveries"] = _one(conn, "SELECT count(*) FROM orders WHERE status = 'delivered'")
            elif svc == "customers":
                c["customer_leads"] = _one(conn, "SELECT count(*) FROM customer_leads")
                c["vehicles"] = _one(conn, "SELECT count(*) FROM vehicles")
            elif svc == "analytics":
                c["lead_events"] = _one(conn, "SELECT count(*) FROM event_log WHERE type = 'leads.lead.created'")
                c["rollup_leads"] = _one(conn, "SELECT sum(value) FROM rollup_fine WHERE metric = 'leads'")
            elif svc == "callcenter":
                c["callbacks"] = _one(conn, "SELECT count(*) FROM tasks WHERE task_type = 'delivery_callback'")
    return Counts(**c, dead_letters=dead_letters(amqp_url, topo.namespace))


def dead_letters(amqp_url: str, ns: str) -> dict[str, int]:
    """Messages waiting in each consumer's dead-letter queue (a queue not declared counts 0)."""
    out = {}
    with Connection(amqp_url, connect_timeout=10) as conn:
        for svc in SERVICES:
            ch = conn.channel()
            try:
                out[svc] = ch.queue_declare(f"{ns}.{svc}.dlq", passive=True).message_count
            except Exception:  # noqa: BLE001 (not declared: that service consumes nothing)
                out[svc] = 0
            finally:
                try:
                    ch.close()
                except Exception:  # noqa: BLE001 (closed by the broker after a failed passive declare)
                    pass
    return out


def settle(topo, admin_url: str, amqp_url: str, expected_leads: int, expected_dead: dict) -> Counts:
    """Poll until the counts agree (or fail with the last ones read)."""
    last: list[Counts] = []

    def agreed():
        try:
            last[:] = [read(topo, admin_url, amqp_url)]
        except Exception as exc:  # noqa: BLE001 (a database or the broker still coming back)
            print(f"counts not readable yet: {exc}")
            return None
        return last[0] if last[0].settled(expected_leads, expected_dead) else None

    try:
        return wait_until(agreed, timeout=SETTLE, interval=0.5)
    except TimeoutError:
        raise AssertionError(f"not settled within {SETTLE}s (expected {expected_leads} leads, dead letters "
                             f"{expected_dead}): {last[0].line() if last else 'never read'}\n{topo.tracebacks()}") from None
