"""Bus guarantees on the real RabbitMQ and PostgreSQL: outbox, inbox, dead letters, relay catch-up."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from kombu import Connection, Producer
from sqlalchemy import Engine, create_engine, text

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
    wait_until(lambda: rig.applied().get("real") == 1, 60)
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
        wait_until(lambda: _queue_exists(amqp_url, handlers.spec.queue_name()), 120)  # a process starting on a busy box
        rig.write("once")
        rig.relay.run_once()
        assert proc.wait(timeout=180) == 17  # applied and committed, then died before the ack
        assert not flag.exists()
        assert rig.applied() == {"once": 1}
        rig.start_consumer()  # the broker redelivers the unacked message
        wait_until(lambda: _queue_depth(amqp_url, handlers.spec.queue_name()) == 0 and rig.consumer.applied == 0
                   and _inbox_rows(rig) == 1, 60)
        rig.write("after")
        rig.relay.run_once()
        wait_until(lambda: rig.applied().get("after") == 1, 60)
        assert rig.applied()["once"] == 1
    finally:
        proc.kill()
        proc.wait(30)  # reaped, also when the test failed before it exited


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
    wait_until(lambda: rig.applied().get("good") == 1, 60)
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=amqp_url), name="test")
    dead = wait_until(lambda: (lambda d: d if len(d) == 2 else None)(deadletters.list_dead(rt)), 60)
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
    dead = wait_until(lambda: deadletters.list_dead(rt), 60)
    assert "cannot apply fragile" in dead[0]["reason"]
    assert "fragile" not in rig.applied()
    POISON["names"].clear()
    assert deadletters.replay(rt) == 1
    wait_until(lambda: rig.applied().get("fragile") == 1, 60)
    assert deadletters.list_dead(rt) == []


def test_a_replayed_dead_letter_keeps_its_event_type_content_type_and_reason(rig, amqp_url):
    """An operator replays a message that still cannot be applied: it comes back to the DLQ as it was."""
    rig.start_consumer()
    with Connection(amqp_url) as conn:
        Producer(conn.default_channel, exchange=events_exchange()).publish(
            b"not an event at all", routing_key="leads.lead.created", content_type="text/plain",
            content_encoding="utf-8", message_id="plain-1", delivery_mode=2)
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=amqp_url), name="test")
    first = wait_until(lambda: deadletters.list_dead(rt), 60)[0]
    assert first["type"] == "leads.lead.created" and first["content_type"] == "text/plain"
    assert deadletters.replay(rt) == 1
    again = wait_until(lambda: (lambda d: d if d and d[0]["replayed"] == 1 else None)(deadletters.list_dead(rt)), 60)[0]
    assert again["type"] == "leads.lead.created"  # not the queue's name
    assert again["content_type"] == "text/plain" and again["reason"] == first["reason"]


@contextmanager
def relay_on_listen(rig: Rig, pg_url: str) -> Iterator[Engine]:
    """The rig's consumer, and its relay in a thread of its own asleep on LISTEN (no poll within the
    test); yields an engine for the test to watch the database with."""
    rig.start_consumer()
    rig.relay.wakeup.fallback = 300.0  # no poll in this test
    t = threading.Thread(target=rig.relay.run_forever, daemon=True)
    t.start()
    watcher = create_engine(pg_url)
    try:
        def listening() -> int:  # a fresh transaction each time: pg_stat_activity is a snapshot per transaction
            with watcher.connect() as c:
                return c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                      " AND query = 'LISTEN crm_outbox'")).scalar()

        wait_until(listening, 30)
        yield watcher
    finally:
        rig.relay.stop()
        t.join(5)
        watcher.dispose()


def test_a_commit_wakes_the_relay_through_listen_notify_without_polling(rig, pg_url):
    """The relay sleeps on LISTEN: a commit elsewhere is published at once, not at the next poll."""
    with relay_on_listen(rig, pg_url):
        rig.write("woken")
        wait_until(lambda: rig.applied().get("woken") == 1, 60)


def test_the_relay_replaces_its_kept_connection_when_the_database_ended_it(rig, pg_url, caplog):
    """The relay keeps one connection between batches (no pre-ping): ended by the server while the relay
    slept, it is replaced at the next wake-up, and the commit that woke it is published at once, with no
    error and no second's pause."""
    with relay_on_listen(rig, pg_url) as watcher:
        def relay_backend() -> int | None:  # the kept connection, idle after its first look
            with watcher.connect() as c:
                return c.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND state = 'idle' AND query LIKE 'ROLLBACK'")).scalar() or None

        pid = wait_until(relay_backend, 30)
        with watcher.connect() as c:
            assert c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        caplog.set_level(logging.WARNING, logger="shared.bus.relay")
        rig.write("after the connection was ended")
        wait_until(lambda: rig.applied().get("after the connection was ended") == 1, 60)
        assert not [r for r in caplog.records if r.name == "shared.bus.relay"]


def test_the_consumer_applies_on_a_kept_connection_and_replaces_it_when_the_database_ended_it(rig, pg_url):
    """A consumer keeps one connection between deliveries (no pool checkout and pre-ping each): ended by
    the server while the consumer waited, the next delivery falls back (one by one, on the pool) and is
    applied once, and the one after runs on a new kept connection."""
    consumer = rig.start_consumer()
    rig.write("first")
    rig.relay.run_once()
    wait_until(lambda: rig.applied().get("first") == 1, 60)
    kept = consumer.applier._conn
    assert kept is not None and not kept.closed  # kept between deliveries
    pid = kept.connection.driver_connection.info.backend_pid
    with rig.db.engine.connect() as c:
        assert c.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}).scalar()
    rig.write("second")
    rig.relay.run_once()
    wait_until(lambda: rig.applied().get("second") == 1, 60)
    rig.write("third")
    rig.relay.run_once()
    wait_until(lambda: rig.applied().get("third") == 1, 60)
    renewed = consumer.applier._conn
    assert renewed is not None and renewed.connection.driver_connection.info.backend_pid != pid
    assert rig.applied() == {"first": 1, "second": 1, "third": 1}


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
    wait_until(lambda: sum(v for k, v in rig.applied().items() if k.startswith("batch-")) == 29, 60)
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=amqp_url), name="test")
    dead = wait_until(lambda: deadletters.list_dead(rt), 60)
    assert len(dead) == 1 and "cannot apply poison" in dead[0]["reason"]
    assert set(rig.applied().values()) == {1}


def test_a_lone_event_is_applied_at_once_not_held_back_for_a_batch(rig, amqp_url):
    """Nothing else arrives: the consumer applies it as soon as no further message is waiting, not
    when a batch fills or a hold expires (made a minute long here)."""
    consumer = rig.start_consumer()
    consumer.hold = 60.0
    rig.write("alone")
    rig.relay.run_once()
    assert wait_until(lambda: rig.applied().get("alone") == 1, 30)  # long before the minute's hold


def test_a_gathering_consumer_applies_an_event_that_comes_while_another_waits_in_the_same_transaction(rig):
    """`EventHandlers(gather=…)` (analytics): a delivery waits that long for more events; one published
    while the first is waiting is applied with it, in one transaction, and not before."""
    import dataclasses
    import threading

    from sqlalchemy import func, select

    from shared.bus.consumer import Applier, EventConsumer
    from tests.integration.busrig import INBOX

    consumer = EventConsumer(rig.amqp_url, Applier(rig.db, INBOX, dataclasses.replace(handlers, gather=6.0)))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert consumer.ready.wait(10)
        rig.write("first")
        rig.relay.run_once()
        wait_until(lambda: consumer.pending, 20)  # arrived, waiting for company
        assert rig.applied() == {}
        rig.write("second")
        rig.relay.run_once()
        wait_until(lambda: rig.applied() == {"first": 1, "second": 1}, 30)
        with rig.db.engine.connect() as c:  # one inbox timestamp per transaction
            assert c.scalar(select(func.count(func.distinct(INBOX.c.handled_at)))) == 1
    finally:
        consumer.stop()
        thread.join(10)


def test_events_that_arrive_together_are_applied_in_batches(rig, amqp_url):
    from sqlalchemy import func, select

    from shared.bus.topology import declare
    from tests.integration.busrig import INBOX

    with Connection(amqp_url) as conn:
        declare(conn, [handlers.spec])
    for i in range(60):
        rig.write(f"together-{i}")
    rig.relay.run_once()  # all 60 wait in the queue when the consumer starts
    rig.start_consumer()
    assert wait_until(lambda: len(rig.applied()) == 60, 60)
    with rig.db.engine.connect() as c:  # one inbox timestamp per transaction
        transactions = c.scalar(select(func.count(func.distinct(INBOX.c.handled_at))))
    print(f"60 events applied in {transactions} transactions")
    assert transactions <= 30  # batched: at least two events per transaction on average
    assert set(rig.applied().values()) == {1}


def test_a_delivery_is_acked_with_one_frame_and_nothing_stays_unacked(rig, amqp_url, monkeypatch):
    """A delivery applied in one transaction is acked with one `basic.ack` (`multiple`, up to its last
    message's tag); once the consumer's connection is gone no message comes back to the queue, which an
    unacked one would."""
    from amqp.channel import Channel

    from shared.bus.topology import declare

    acks: list[bool] = []
    ack = Channel.basic_ack
    monkeypatch.setattr(Channel, "basic_ack", lambda ch, tag, multiple=False, *a, **k: (
        acks.append(multiple), ack(ch, tag, multiple, *a, **k))[1])
    with Connection(amqp_url) as conn:
        declare(conn, [handlers.spec])
    for i in range(40):
        rig.write(f"acked-{i}")
    rig.relay.run_once()  # all 40 wait in the queue when the consumer starts
    consumer = rig.start_consumer()
    assert wait_until(lambda: len(rig.applied()) == 40, 60)
    assert wait_until(lambda: consumer.applied == 40 and acks, 60)
    rig.stop()  # the consumer's connection closes: anything it left unacked goes back to the queue
    assert not rig.thread.is_alive()
    rig.consumer = None
    assert _queue_depth(amqp_url, handlers.spec.queue_name()) == 0
    assert len(acks) < 40 and all(acks), acks  # a frame per delivery, each acking up to its last message


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
