"""Issue 12, point 5, as reported, on the embedded platform: a `leads.lead.created` with an unknown group,
no store and a 60-character lead id went into analytics' event log and rollups while customers
dead-lettered it. Now every consumer dead-letters it with the reason, and applies nothing of it.
"""
from __future__ import annotations

import json
import uuid

from kombu import Producer
from sqlalchemy import func, select

from services.analytics.adapters.models import EventLog, RollupFine
from shared.bus import deadletters
from shared.bus.topology import connect, events_exchange
from shared.tenancy import Scope
from tests.conftest import store_id, wait_until


def _publish(platform, message: dict) -> None:
    """Straight onto the bus, as a misbehaving producer (or someone with the broker's password) would."""
    with connect(platform.runtimes["analytics"].settings.bus_url) as conn:
        Producer(conn.default_channel, exchange=events_exchange()).publish(
            json.dumps(message), routing_key=message["type"], content_type="application/json",
            content_encoding="utf-8", message_id=message["id"])


def _dead_reason(rt, event_id: str) -> str | None:
    return next((d["reason"] for d in deadletters.list_dead(rt) if d["event_id"] == event_id), None)


def test_the_reported_lead_is_dead_lettered_by_analytics_and_customers_alike(platform):
    rogue_group = str(uuid.uuid4())
    message = {"id": str(uuid.uuid4()), "type": "leads.lead.created", "version": 1,
               "occurred_at": "2026-11-23T01:00:00+00:00", "group_id": rogue_group, "brand_id": None,
               "store_id": None, "actor": None,
               "data": {"lead_id": "L" * 60, "name": "某人", "phone": "+8613800138000", "source": "walk_in"}}
    _publish(platform, message)
    analytics, customers = platform.runtimes["analytics"], platform.runtimes["customers"]
    reasons = {rt.name: wait_until(lambda rt=rt: _dead_reason(rt, message["id"]), 60, interval=0.2)
               for rt in (analytics, customers)}
    for name, reason in reasons.items():
        assert "lead_id" in reason and "store_id" in reason, (name, reason)
    with analytics.db.session(Scope.system()) as s:
        assert s.get(EventLog, message["id"]) is None
        assert s.scalar(select(func.count()).select_from(RollupFine).where(RollupFine.group_id == rogue_group)) == 0


def test_an_event_of_a_group_nobody_created_is_dead_lettered_by_every_service_that_consumes_it(platform):
    """A well-formed store change for a group identity never announced (renaming a demo store): every
    consumer of identity.store.* (leads, customers, call center, analytics) refuses it, naming the group."""
    rogue_group, sid = str(uuid.uuid4()), store_id("sh-toyota-pd")
    message = {"id": str(uuid.uuid4()), "type": "identity.store.updated", "version": 1,
               "occurred_at": "2026-11-23T01:00:00+00:00", "group_id": rogue_group, "brand_id": None,
               "store_id": sid, "actor": None,
               "data": {"id": sid, "code": "sh-toyota-pd", "name": "被改名的门店", "brand_id": str(uuid.uuid4()),
                        "timezone": "Asia/Shanghai"}}
    _publish(platform, message)
    for name in ("leads", "customers", "callcenter", "analytics"):
        rt = platform.runtimes[name]
        reason = wait_until(lambda rt=rt: _dead_reason(rt, message["id"]), 60, interval=0.2)
        assert f"unknown group {rogue_group}" in reason, (name, reason)
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        assert s.get(EventLog, message["id"]) is None
