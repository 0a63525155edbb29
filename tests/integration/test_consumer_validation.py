"""Every consumer validates before applying (issue 12, point 5): a message whose payload fails its versioned
schema, or whose envelope breaks the tenant rule, goes to the dead-letter queue with the reason, and the
events around it are applied. Run on the embedded bus (kombu's filesystem transport, SQLite) and on
RabbitMQ with PostgreSQL.
"""
from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest
from kombu import Producer

from shared.bus import deadletters
from shared.bus.topology import connect, declare, events_exchange
from tests.conftest import wait_until
from tests.integration.busrig import Rig, handlers

NEW_GROUP = str(uuid.UUID(int=7))


@pytest.fixture(params=["embedded", pytest.param("rabbitmq", marks=[pytest.mark.rabbitmq, pytest.mark.postgres])])
def rig(request, tmp_path, monkeypatch):
    if request.param == "embedded":
        monkeypatch.setenv("BUS_NAMESPACE", f"t{uuid.uuid4().hex[:10]}")
        db_url, bus_url = f"sqlite:///{tmp_path / 'rig.sqlite'}", f"filesystem://{tmp_path / 'bus'}"
    else:
        request.getfixturevalue("bus_namespace")
        # a database of its own: the consumer's thread commits what the test then reads
        db_url, bus_url = request.getfixturevalue("pg_url"), request.getfixturevalue("amqp_url")
    r = Rig(db_url, bus_url)
    with connect(bus_url) as conn:
        declare(conn, [handlers.spec])
    r.start_consumer()
    yield r
    r.stop()


def _message(group_id: str | None = "g1", store_id: str | None = "s1", type_: str = "leads.lead.created",
             **data) -> dict:
    body = {"lead_id": str(uuid.uuid4()), "name": "hostile", "phone": "+8613800138000", "source": "walk_in"}
    return {"id": str(uuid.uuid4()), "type": type_, "version": 1, "occurred_at": "2026-11-23T01:00:00+00:00",
            "group_id": group_id, "store_id": store_id, "data": {**body, **data} if type_ == "leads.lead.created"
            else data}


def _publish(rig: Rig, *messages: dict) -> None:
    """Put messages on the bus as a misbehaving producer would: straight to the exchange, no outbox."""
    with connect(rig.amqp_url) as conn:
        producer = Producer(conn.default_channel, exchange=events_exchange())
        for m in messages:
            producer.publish(json.dumps(m), routing_key=m["type"], content_type="application/json",
                             content_encoding="utf-8", message_id=m["id"], delivery_mode=2)


def _dead(rig: Rig, n: int) -> dict[str, str]:
    """The dead letters once there are `n` of them: event id → reason."""
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=rig.amqp_url), name="test")
    dead = wait_until(lambda: (lambda d: d if len(d) >= n else None)(deadletters.list_dead(rt)), 20)
    return {d["event_id"]: d["reason"] for d in dead}


def _then_a_good_one_is_applied(rig: Rig) -> None:
    rig.write("good")
    rig.relay.run_once()
    wait_until(lambda: rig.applied().get("good") == 1, 20)


def test_a_lead_from_an_unknown_group_without_a_store_and_with_a_60_character_id_is_dead_lettered(rig):
    """The message of the report, and each of its faults on its own."""
    reported = _message(group_id=str(uuid.uuid4()), store_id=None, lead_id="L" * 60)
    long_id, no_store, unknown_group = (_message(lead_id="L" * 60), _message(store_id=None),
                                        _message(group_id=str(uuid.uuid4())))
    no_group = _message(group_id=None)
    _publish(rig, reported, long_id, no_store, unknown_group, no_group)
    _then_a_good_one_is_applied(rig)
    reasons = _dead(rig, 5)
    assert "lead_id" in reasons[long_id["id"]] and "36" in reasons[long_id["id"]]
    assert "store_id" in reasons[no_store["id"]] and "store" in reasons[no_store["id"]]
    assert f"unknown group {unknown_group['group_id']}" in reasons[unknown_group["id"]]
    assert "group_id" in reasons[no_group["id"]]
    assert "lead_id" in reasons[reported["id"]] or "store_id" in reasons[reported["id"]]
    assert rig.applied() == {"good": 1}


def test_a_groups_creation_makes_its_events_welcome_and_an_early_one_can_be_replayed(rig):
    early = _message(group_id=NEW_GROUP)
    _publish(rig, early)
    reasons = _dead(rig, 1)
    assert "unknown group" in reasons[early["id"]] and "identity.group.created" in reasons[early["id"]]
    created = _message(group_id=NEW_GROUP, type_="identity.group.created", store_id=None,
                       id=NEW_GROUP, code="new", name="新集团", timezone="Asia/Shanghai")
    later = _message(group_id=NEW_GROUP, name="later")
    _publish(rig, created, later)
    wait_until(lambda: rig.applied().get("later") == 1, 20)
    rt = SimpleNamespace(handlers=handlers, settings=SimpleNamespace(bus_url=rig.amqp_url), name="test")
    assert deadletters.replay(rt) == 1
    wait_until(lambda: rig.applied().get("hostile") == 1, 20)
    assert deadletters.list_dead(rt) == []


def test_a_group_creation_that_names_another_group_is_refused(rig):
    forged = _message(group_id=NEW_GROUP, type_="identity.group.created", store_id=None,
                      id=str(uuid.uuid4()), code="forged", name="伪造", timezone="Asia/Shanghai")
    then = _message(group_id=NEW_GROUP, name="then")
    _publish(rig, forged, then)
    reasons = _dead(rig, 2)
    assert "creates group" in reasons[forged["id"]]
    assert "unknown group" in reasons[then["id"]]
    _then_a_good_one_is_applied(rig)
    assert "then" not in rig.applied()
