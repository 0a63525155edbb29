"""Bus guarantees on the real RabbitMQ and PostgreSQL: outbox, inbox, dead letters, relay catch-up."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from kombu import Connection, Producer

from shared.bus import deadletters
from shared.bus.publisher import PublishNotConfirmed
from shared.bus.topology import events_exchange
from tests.conftest import wait_until
from tests.integration.busrig import POISON, Rig, handlers
from tests.integration.proxy import CuttableProxy

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rig(pg_url, amqp_url, bus_namespace):
    # a database of its own (`pg_url`), not the run's in a rolled-back transaction: the relay and the
    # consumer (threads, and a process of their own) must see each other's commits
    r = Rig(pg_url, amqp_url)
    yield r
    r.stop()
    POISON["names"].clear()


def _queue_depth(amqp_url: str, queue: str) -> int:
    with Connection(amqp_url) as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def test_an_event_is_not_published_when_its_transaction_rolls_back(rig):
    rig.start_consumer()
    with pytest.raises(RuntimeError), rig.db.session(rig_scope()) as s:
        from shared.bus import emit
        from shared.events import Event

        emit(s, Event(type="leads.lead.created", group_id="g1", store_id="s1",
                      data={"lead_id": "rolled-back", "name": "ghost", "phone": "+8613800138000",
                            "source": "walk_in"}))
        raise RuntimeError("the business write failed")
    rig.write("real")
    assert rig.relay.run_once() == 1
    wait_until(lambda: rig.applied().get("real") == 1, 10)
    assert "ghost" not in rig.applied()


def rig_scope():
    from shared.tenancy import Scope

    return Scope.system("g1")


def test_consumer_killed_before_ack_gets_the_event_again_and_applies_it_once(rig, pg_url, amqp_url, tmp_path):
    flag = tmp_path / "die-once"
    flag.write_text("1")
    env = dict(os.environ, BUS_FAULT_EXIT_BEFORE_ACK_FILE=str(flag), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tests.integration.busrig", pg_url, amqp_url], env=env, cwd=ROOT)
    try:
        wait_until(lambda: _queue_exists(amqp_url, handlers.spec.queue_name()), 20)
        rig.write("once")
        rig.relay.run_once()
        assert proc.wait(timeout=180) == 17  # applied and committed, then died before the ack
        assert not flag.exists()
        assert rig.applied() == {"once": 1}
        rig.start_consumer()  # the broker redelivers the unacked message
        wait_until(lambda: _queue_depth(amqp_url, handlers.spec.queue_name()) == 0 and rig.consumer.applied == 0
                   and _inbox_rows(rig) == 1, 15)
        rig.write("after")
        rig.relay.run_once()
        wait_until(lambda: rig.applied().get("after") == 1, 10)
        assert rig.applied()["once"] == 1
    finally:
        proc.kill()


def _inbox_rows(rig) -> int:
    from sqlalchemy import func, select

    from tests.integration.busrig import INBOX

    with rig.db.engine.connect() as c:
        return c.scalar(select(func.count()).select_from(INBOX))


def _queue_exists(amqp_url: str, name: str) -> bool:
    try:
        _queue_depth(amqp_url, name)
        return True
    except Exception:  # noqa: BLE001
        return False


def test_invalid_message_lands_in_the_dead_letter_queue_with_its_reason_and_consumption_goes_on(rig, amqp_url):
    rig.start_consumer()
    with Connection(amqp_url) as conn:
        producer = Producer(conn.default_channel, exchange=events_exchange())
        bad = {"id": "00000000-0000-4000-8000-000000000001", "type": "leads.lead.created", "version": 1,
               "occurred_at": "2026-11-23T01:00:00+00:00", "group_id": "g1", "data": {"lead_id": "x"}}
        producer.publish(json.dumps(bad), routing_key="leads.lead.created", content_type="application/json",
                         content_encoding="utf-8", message_id=bad["id"], delivery_mode=2)
        producer.publish("{not json", routing_key="leads.lead.created", content_type="application/json",
                         content_encoding="utf-8", delivery_mode=2)
    rig.write("good")
    rig.relay.run_once()
    wait_until(lambda: rig.applied().get("good") == 1, 10)
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=amqp_url), name="test")
    dead = wait_until(lambda: (lambda d: d if len(d) == 2 else None)(deadletters.list_dead(rt)), 10)
    reasons = " ".join(d["reason"] for d in dead)
    assert "phone" in reasons and "name" in reasons  # the missing fields are named
    assert "undecodable" in reasons
    assert len(deadletters.list_dead(rt)) == 2  # listing does not consume


def test_a_dead_letter_can_be_replayed_once_the_cause_is_fixed(rig, amqp_url):
    POISON["names"].add("fragile")
    rig.start_consumer()
    rig.write("fragile")
    rig.relay.run_once()
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=amqp_url), name="test")
    dead = wait_until(lambda: deadletters.list_dead(rt), 10)
    assert "cannot apply fragile" in dead[0]["reason"]
    assert "fragile" not in rig.applied()
    POISON["names"].clear()
    assert deadletters.replay(rt) == 1
    wait_until(lambda: rig.applied().get("fragile") == 1, 10)
    assert deadletters.list_dead(rt) == []


def test_a_replayed_dead_letter_keeps_its_event_type_content_type_and_reason(rig, amqp_url):
    """An operator replays a message that still cannot be applied: it comes back to the DLQ as it was."""
    rig.start_consumer()
    with Connection(amqp_url) as conn:
        Producer(conn.default_channel, exchange=events_exchange()).publish(
            b"not an event at all", routing_key="leads.lead.created", content_type="text/plain",
            content_encoding="utf-8", message_id="plain-1", delivery_mode=2)
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=amqp_url), name="test")
    first = wait_until(lambda: deadletters.list_dead(rt), 10)[0]
    assert first["type"] == "leads.lead.created" and first["content_type"] == "text/plain"
    assert deadletters.replay(rt) == 1
    again = wait_until(lambda: (lambda d: d if d and d[0]["replayed"] == 1 else None)(deadletters.list_dead(rt)), 10)[0]
    assert again["type"] == "leads.lead.created"  # not the queue's name
    assert again["content_type"] == "text/plain" and again["reason"] == first["reason"]


def test_a_commit_wakes_the_relay_through_listen_notify_without_polling(rig, pg_url):
    """The relay sleeps on LISTEN: a commit elsewhere is published at once, not at the next poll."""
    import threading

    from sqlalchemy import create_engine, text

    rig.start_consumer()
    t = threading.Thread(target=rig.relay.run_forever, kwargs={"idle": 300}, daemon=True)  # no poll in this test
    t.start()
    watcher = create_engine(pg_url)
    try:
        def listening() -> int:  # a fresh transaction each time: pg_stat_activity is a snapshot per transaction
            with watcher.connect() as c:
                return c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                      " AND query = 'LISTEN crm_outbox'")).scalar()

        wait_until(listening, 30)
        rig.write("woken")
        wait_until(lambda: rig.applied().get("woken") == 1, 15)
    finally:
        rig.relay.stop()
        t.join(5)
        watcher.dispose()


def test_relay_catches_up_after_the_broker_was_unreachable(pg_url, amqp_url, bus_namespace):
    proxy = CuttableProxy(5672)
    rig = Rig(pg_url, amqp_url, relay_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}//")
    try:
        rig.start_consumer()
        rig.write("before")
        assert rig.relay.run_once() == 1
        proxy.cut()
        for i in range(50):
            rig.write(f"during-{i}")
        with pytest.raises(PublishNotConfirmed):
            rig.relay.run_once()
        assert rig.unsent() == 50  # nothing marked sent without a confirm
        proxy.restore()
        import threading

        t = threading.Thread(target=rig.relay.run_forever, daemon=True)
        t.start()
        wait_until(lambda: rig.unsent() == 0, 20)
        wait_until(lambda: sum(v for k, v in rig.applied().items() if k.startswith("during-")) == 50, 20)
        rig.relay.stop()
        t.join(5)
    finally:
        rig.stop()
        proxy.close()


def test_every_queue_has_a_dead_letter_exchange_and_is_a_quorum_queue(amqp_url, bus_namespace):
    from shared.bus.topology import declare

    with Connection(amqp_url) as conn:
        declare(conn, [handlers.spec])
    out = subprocess.run(["rabbitmqctl", "list_queues", "name", "type", "arguments", "--quiet"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith(f"{bus_namespace}.test\t"))
    assert "quorum" in line and f"{bus_namespace}.dlx" in line and "x-delivery-limit" in line


def test_one_poison_event_in_a_batch_is_dead_lettered_and_the_rest_applied_once(rig, amqp_url):
    POISON["names"].add("poison")
    from shared.bus.topology import declare

    with Connection(amqp_url) as conn:
        declare(conn, [handlers.spec])
    for i in range(30):
        rig.write("poison" if i == 17 else f"batch-{i}")
    rig.relay.run_once()  # all 30 arrive together and are applied as one batch, then one by one
    rig.start_consumer()
    wait_until(lambda: sum(v for k, v in rig.applied().items() if k.startswith("batch-")) == 29, 15)
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=amqp_url), name="test")
    dead = wait_until(lambda: deadletters.list_dead(rt), 10)
    assert len(dead) == 1 and "cannot apply poison" in dead[0]["reason"]
    assert set(rig.applied().values()) == {1}


def test_a_consumer_waits_out_a_database_that_refuses_connections_instead_of_dead_lettering(rig, pg_url, amqp_url,
                                                                                           pg_admin_url, caplog):
    """The database down is not the message's fault: the consumer keeps trying (with backoff, past its
    usual retries) and applies the events once the database is back; nothing goes to the DLQ."""
    import psycopg
    from sqlalchemy import make_url

    from shared.bus.topology import connect, declare

    with connect(amqp_url) as conn:
        declare(conn, [handlers.spec])  # the queue exists before the events are published
    for name in ("a", "b", "c"):
        rig.write(name)
    assert rig.relay.run_once() == 3
    database = make_url(pg_url).database
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = %s", (database,))
            rig.start_consumer()
            tries = lambda: sum("failed (attempt" in r.getMessage() for r in caplog.records)  # noqa: E731
            wait_until(lambda: tries() > 6, timeout=60)  # well past the 3 retries that park a failing message
        finally:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    assert wait_until(lambda: rig.applied() == {"a": 1, "b": 1, "c": 1}, timeout=60, interval=0.2)
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=amqp_url), name="test")
    assert deadletters.list_dead(rt) == []
