"""Faults injected into the production topology under a steady load; after each, the same truths.

Four consultants register leads, sign orders and hand cars over through the HTTP API (0.2 s between
one consultant's actions), while one fault is injected; then the load stops, and once everything has settled (deadline
poll) the services must agree:

- leads accepted by the API = rows in leads = leads.lead.created rows in its outbox = customers'
  copies = analytics' events = analytics' rollup total (nothing lost, nothing applied twice);
- deliveries = callcenter's delivery callbacks = customers' vehicles;
- no outbox row left unsent, no inbox row twice, no dead letter but the poison message;
- no answer the client could not act on: a 503 (with Retry-After) or a lost connection is sent
  again with the same Idempotency-Key; never a 500.

The faults run in this order on one topology (each starts from the settled state the previous one
left): consumer workers killed, the relay killed with unsent rows, gunicorn workers killed, every
database connection terminated, a poison message, two tables missing for 10 s, and last the broker itself killed and restarted.
"""
from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections import Counter

import psycopg
import pytest
from kombu import Connection, Exchange
from sqlalchemy import make_url

from shared.config import SERVICES
from tests.conftest import wait_until
from tests.faults.conftest import BOOT, SUMMARY
from tests.faults.counts import connect, org_known_to_leads, read, settle
from tests.faults.load import Ledger, Load

# the first test also starts the broker and the topology (minutes on a busy 2-core machine)
pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.timeout(900)]

WARMUP = 5  # leads accepted before a fault is injected
AFTER = 5  # leads accepted after it, before the load stops
PROGRESS = 120.0  # s: deadline for the load to make that progress on a loaded machine
MISSING = 10.0  # s: how long the tables are away


class FaultRun:
    """The load's ledger and the dead letters expected, over the module's faults."""

    def __init__(self, topo, broker, admin_url: str):
        self.topo, self.broker, self.admin_url = topo, broker, admin_url
        self.ledger = Ledger()
        self.expected_dead = {svc: 0 for svc in SERVICES}

    @property
    def amqp_url(self) -> str:
        return self.broker.nodes[0].url

    def progress(self, load: Load, more: int) -> None:
        """Wait until the load has had `more` leads accepted from now."""
        target = load.created + more
        wait_until(lambda: load.accepted_at_least(target), timeout=PROGRESS, interval=0.1)

    def under_load(self, name: str, inject) -> None:
        """Run the load, inject the fault, let the load go on, stop it, settle, assert, report."""
        answers_before = Counter(self.ledger.answers)
        started = time.monotonic()
        load = Load(self.topo, self.ledger).start()
        try:
            self.progress(load, WARMUP)
            what = inject(load)
            self.progress(load, AFTER)
        finally:
            load.stop()
        counts = settle(self.topo, self.admin_url, self.amqp_url, len(self.ledger.leads), self.expected_dead)
        answers = dict(sorted((Counter(self.ledger.answers) - answers_before).items()))
        line = (f"{name}: {what} | {load.created} leads accepted under this fault, settled after "
                f"{time.monotonic() - started:.0f} s | {counts.line()} | answers {answers}")
        SUMMARY.append(line)
        print(line)
        assert self.ledger.unexpected == [], self.ledger.unexpected
        assert self.ledger.unresolved == [], self.ledger.unresolved
        assert counts.leads == len(self.ledger.leads)
        # a create's answer commits with it (shared.idempotency): a retry after a lost answer is given
        # it, never "in progress" for good, so the client knows every delivery made
        assert self.ledger.in_progress == [], self.ledger.in_progress
        assert counts.deliveries == len(self.ledger.deliveries)

    def database(self, svc: str) -> psycopg.Connection:
        return connect(self.topo, self.admin_url, svc)


@pytest.fixture(scope="module")
def run(topo, broker, pg_admin_url) -> FaultRun:
    fr = FaultRun(topo, broker, pg_admin_url)
    settle(topo, pg_admin_url, fr.amqp_url, 0, fr.expected_dead)  # the seed's events are all sent
    wait_until(lambda: org_known_to_leads(topo, pg_admin_url), timeout=PROGRESS, interval=0.5)  # and leads has them
    SUMMARY.append(f"setup: own RabbitMQ node booted in {broker.timings['boot']:.0f} s, topology (migrations, "
                   f"5 gunicorn APIs, 5 crm workers, seed) up in {topo.started_in:.0f} s")
    return fr


def test_consumer_workers_killed_with_kill_9_and_one_dying_between_commit_and_ack(run, tmp_path):
    topo = run.topo

    def inject(load):
        for svc in ("customers", "analytics"):
            topo.workers[svc].kill()  # mid-batch: applied-but-unacked messages come back to the queue
        run.progress(load, 6)  # their queues fill meanwhile
        for svc in ("customers", "analytics"):
            topo.workers[svc].start()
        # callcenter's worker applies a batch, commits, and dies before its ack (exit 17)
        flag = tmp_path / "exit-before-ack"
        cc = topo.workers["callcenter"]
        cc.kill()
        cc.env = {**topo.env, "BUS_FAULT_EXIT_BEFORE_ACK_FILE": str(flag)}
        flag.touch()
        cc.start()
        wait_until(lambda: cc.popen.poll() is not None, timeout=PROGRESS, interval=0.2)
        assert cc.popen.returncode == 17 and not flag.exists()
        cc.env = topo.env
        cc.start()
        return ("kill -9 of the customers and analytics workers, restarted after 6 more leads; "
                "callcenter's worker exited after a commit and before its ack, restarted")

    run.under_load("consumer workers killed", inject)


def test_the_relay_killed_with_unsent_outbox_rows(run):
    worker = run.topo.workers["leads"]  # `crm worker leads` runs leads' relay (and its consumer)

    def six_unsent() -> int:
        with run.database("leads") as conn:
            n = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        return n if n >= 6 else 0

    def inject(load):
        worker.kill()
        waiting = wait_until(six_unsent, timeout=PROGRESS, interval=0.2)
        worker.start()
        return f"kill -9 of leads' worker (its relay); restarted with {waiting} outbox rows unsent"

    run.under_load("relay killed", inject)


def test_gunicorn_workers_killed_while_serving(run):
    master = run.topo.apis["leads"]

    def two_workers() -> list[int] | None:
        pids = master.children()
        return pids if len(pids) == 2 else None

    def inject(load):
        killed = []
        for _ in range(2):
            pids = wait_until(two_workers, timeout=PROGRESS)
            os.kill(pids[0], signal.SIGKILL)  # with the consultants' requests in flight
            killed.append(pids[0])
            run.progress(load, 4)
        after = wait_until(two_workers, timeout=PROGRESS)
        assert not set(killed) & set(after) and master.alive()
        return f"kill -9 of leads' gunicorn workers {killed} one after the other; the master replaced them ({after})"

    run.under_load("gunicorn workers killed", inject)


def test_every_database_connection_terminated_three_times(run):
    names = [make_url(run.topo.database_url(svc)).database for svc in SERVICES]

    def inject(load):
        terminated = []
        for _ in range(3):
            with psycopg.connect(run.admin_url, autocommit=True) as admin:
                rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()", (names,)).fetchall()
            terminated.append(sum(1 for (ok,) in rows if ok))
            run.progress(load, 4)
        assert all(terminated)
        return f"pg_terminate_backend of every connection to the five databases, 3 times ({terminated} connections)"

    run.under_load("database connections terminated", inject)


def test_a_poison_message_is_dead_lettered_with_its_reason_and_nothing_else_is_affected(run):
    queue = f"{run.topo.namespace}.customers"
    poison_id = str(uuid.uuid4())
    body = json.dumps({"id": poison_id, "type": "leads.lead.created", "version": 1,
                       "occurred_at": "2026-11-30T08:00:00+00:00", "group_id": "no-such-group", "brand_id": None,
                       "store_id": None, "actor": None, "data": {"lead_id": "x" * 60, "name": "毒", "phone": "1"}})

    def inject(load):
        with Connection(run.amqp_url) as conn:
            producer = conn.Producer()
            producer.publish(body, exchange=Exchange(""), routing_key=queue, content_type="application/json",
                             message_id=poison_id, delivery_mode=2)
        run.expected_dead["customers"] = 1
        return f"an invalid leads.lead.created (unknown group, no store, a 60-character lead id) put on {queue}"

    run.under_load("poison message", inject)
    with Connection(run.amqp_url) as conn:
        ch = conn.channel()
        parked = ch.basic_get(f"{queue}.dlq", no_ack=False)
        assert parked is not None
        headers = parked.headers or {}
        assert parked.properties.get("message_id") == poison_id
        assert headers.get("x-dead-consumer") == "customers" and headers.get("x-dead-reason")
        ch.close()  # not acked: it stays in the dead-letter queue for an operator


def test_a_table_missing_for_ten_seconds_in_the_api_and_in_a_consumer(run):
    """Leads' `leads` table (the API's creates) and customers' `customer_leads` (its consumer of
    leads.lead.created) renamed away for 10 s: a create answers 503 and saves nothing (the client sends
    it again), the consumer waits for its table instead of dead-lettering, and nothing needs a restart."""
    away = {"leads": "leads", "customers": "customer_leads"}

    def rename(frm: str, to: str) -> None:
        for svc, table in away.items():
            with run.database(svc) as conn:
                conn.execute("SET lock_timeout = '60s'")
                conn.execute(f"ALTER TABLE {frm.format(table=table)} RENAME TO {to.format(table=table)}")

    def inject(load):
        before = Counter(run.ledger.answers)
        run.ledger.reads_may_wait = True
        rename("{table}", "{table}_away")
        try:
            time.sleep(MISSING)  # the fault's length, not a wait for a condition
        finally:
            rename("{table}_away", "{table}")
        met = Counter(run.ledger.answers) - before
        assert met["POST 503"] + met["GET 503"], f"no request met the missing table: {dict(met)}"
        return (f"leads.leads and customers.customer_leads renamed away for {MISSING:.0f} s "
                f"({met['POST 503']} creates and {met['GET 503']} reads answered 503 meanwhile)")

    try:
        run.under_load("table missing", inject)
    finally:
        run.ledger.reads_may_wait = False


def test_the_broker_killed_and_restarted_last(run):
    node = run.broker.nodes[0]

    def inject(load):
        t0, before = time.monotonic(), load.created
        run.broker.kill(node)  # kill -9 of the node: every connection drops, nothing is flushed politely
        run.progress(load, 6)  # leads are still accepted: the outboxes keep their events
        run.broker.start_node(node)  # the same data folder: durable queues and persistent messages survive
        run.broker.wait_for_amqp(node, BOOT)
        return (f"kill -9 of the RabbitMQ node, restarted with its data; no broker for {time.monotonic() - t0:.0f} s, "
                f"while {load.created - before} leads were accepted")

    run.under_load("broker killed and restarted", inject)
    assert read(run.topo, run.admin_url, run.amqp_url).dead_letters["customers"] == 1  # the poison message survived
