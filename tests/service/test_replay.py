"""Repair from the source (issue 13): an event analytics lost for good — gone from its event log, so a
rebuild cannot bring it back — shows as drift; the group admin asks the source to publish the facts of
those days again (`POST /analytics/api/v1/reconciliation/replay`); analytics takes the lost events, counts
the ones it still had once, rebuilds, and the reconciliation that follows reports 0.
"""
from __future__ import annotations

import time
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from services.analytics.adapters.models import EventLog
from shared import clock
from shared.tenancy import Scope
from tests.conftest import store_id

SH = ZoneInfo("Asia/Shanghai")
LEADS, ANALYTICS = "/leads/api/v1", "/analytics/api/v1"
STORE = "sh-toyota-mh"
ME, MGR, HQ = f"{STORE}.sales1", f"{STORE}.manager", "hq.admin"


def phone() -> str:
    return f"+86138{uuid.uuid4().int % 10**8:08d}"


def drift_of(api, source: str, day_from: str, day_to: str) -> list[dict]:
    counts = api.get(f"/{source}/api/v1/stats/daily", as_=HQ, query_string={"from": day_from, "to": day_to})
    assert counts.status_code == 200, counts.json
    r = api.post(f"{ANALYTICS}/reconciliation", as_=HQ, json={"from": day_from, "to": day_to, "source": source,
                                                              "counts": counts.json})
    assert r.status_code == 200, r.json
    return r.json["drift"]


def lose(platform, *event_ids: str) -> None:
    """Analytics loses events for good: out of its event log, then its figures are rebuilt from the log
    (the fact and rollups that counted them are gone too)."""
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        assert s.execute(delete(EventLog).where(EventLog.id.in_(event_ids))).rowcount == len(event_ids)


def logged(platform, event_type: str, key: str, value: str) -> list[str]:
    """The ids of analytics' logged events of a type whose payload names `value` under `key`."""
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        return [i for i, d in s.execute(select(EventLog.id, EventLog.data).where(EventLog.type == event_type))
                if d.get(key) == value]


def wait_for_run(api, platform, source: str, request_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        platform.wait_until_consumed(timeout=timeout)
        runs = {r["source"]: r for r in api.get(f"{ANALYTICS}/reconciliation/runs", as_=HQ,
                                                query_string={"request_id": request_id}).json}
        if source in runs:
            assert runs[source]["request_id"] == request_id
            return runs[source]
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)


def test_a_lost_event_is_published_again_by_its_source_and_counted_once(api, platform):
    sid, now = store_id(STORE), clock.now()
    today = now.astimezone(SH).date().isoformat()
    yesterday = (now - timedelta(days=1)).astimezone(SH).date().isoformat()
    # a visit typed in late (counted yesterday), an order signed and one cancelled today
    visit = api.post(f"{LEADS}/visits", as_=ME, json={"kind": "walk_in", "name": "重放", "phone": phone(),
                                                      "time_in": (now - timedelta(days=1)).isoformat()})
    assert visit.status_code == 201, visit.json
    lead = visit.json["lead_id"]
    order = api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={
        "model": "Camry", "price": "199000", "payment_method": "cash"})
    assert order.status_code == 201, order.json
    other = api.post(f"{LEADS}/leads", as_=ME, json={"name": "取消", "phone": phone(), "source": "phone_in"}).json["id"]
    cancelled = api.post(f"{LEADS}/leads/{other}/orders", as_=ME, json={
        "model": "Camry", "price": "199000", "payment_method": "cash"}).json
    assert api.post(f"{LEADS}/orders/{cancelled['id']}/cancellation", as_=ME, json={"reason": "改期"}).status_code == 200
    platform.wait_until_consumed()
    assert drift_of(api, "leads", yesterday, today) == []

    # analytics loses the order and the late visit for good (never to be delivered again: the inbox has them)
    placed = logged(platform, "leads.order.placed", "order_id", order.json["id"])
    visited = logged(platform, "leads.visit.logged", "visit_id", visit.json["id"])
    assert len(placed) == len(visited) == 1
    lose(platform, *placed, *visited)
    assert api.post(f"{ANALYTICS}/reconciliation/rebuild", as_=HQ).status_code == 200  # a rebuild cannot help
    drifted = drift_of(api, "leads", yesterday, today)
    assert sorted((x["kpi"], x["store_id"], x["day"], x["diff"]) for x in drifted) == [
        ("orders", sid, today, -1), ("showroom_visits", sid, yesterday, -1)]

    # only the group admin repairs; bad requests change nothing
    body = {"source": "leads", "from": yesterday, "to": today, "store_ids": [sid]}
    assert api.post(f"{ANALYTICS}/reconciliation/replay", as_=MGR, json=body).status_code == 403
    for bad in ({**body, "source": "identity"}, {**body, "store_ids": ["no-such-store"]},
                {**body, "from": "2026-01-01", "to": "2026-12-31"}, {**body, "from": today, "to": yesterday}):
        r = api.post(f"{ANALYTICS}/reconciliation/replay", as_=HQ, json=bad)
        assert r.status_code == 422, (bad, r.json)

    # the run that answers the repair is at 0, and so is a fresh comparison on demand
    request_id = api.post(f"{ANALYTICS}/reconciliation/replay", as_=HQ, json=body).json["request_id"]
    run = wait_for_run(api, platform, "leads", request_id)
    assert run["drift"] == [] and run["checked"] > 0 and (run["from"], run["to"]) == (yesterday, today)
    assert drift_of(api, "leads", yesterday, today) == []
    # each lost event is back once under its original id; the events analytics kept are not doubled
    assert logged(platform, "leads.order.placed", "order_id", order.json["id"]) == placed
    assert logged(platform, "leads.visit.logged", "visit_id", visit.json["id"]) == visited
    assert len(logged(platform, "leads.lead.created", "lead_id", lead)) == 1
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        assert s.scalar(select(func.count()).select_from(EventLog).where(EventLog.type.like("%.restated"))) == 0
    # the KPIs equal leads' own counts of those days
    counts = api.get(f"{LEADS}/stats/daily", as_=HQ, query_string={"from": yesterday, "to": today}).json
    mine = {(r["day"], r["metric"]): r["value"] for r in counts if r["store_id"] == sid}
    kpis = api.get(f"{ANALYTICS}/kpis", as_=HQ, query_string={
        "month": today[:7], "store_id": sid}).json
    assert mine[(today, "orders")] >= 1 and mine[(yesterday, "showroom_visits")] >= 1
    if yesterday[:7] == today[:7]:  # the month's figures hold both days
        month = {k["key"]: k["actual"] for k in kpis["kpis"]}
        month_counts = api.get(f"{LEADS}/stats/daily", as_=HQ, query_string={
            "from": today[:8] + "01", "to": today}).json
        assert month["orders"] == sum(r["value"] for r in month_counts if r["store_id"] == sid and r["metric"] == "orders")
        assert month["showroom_visits"] == sum(r["value"] for r in month_counts
                                               if r["store_id"] == sid and r["metric"] == "showroom_visits")


def test_every_source_repairs_its_own_facts(api, platform):
    """The call center and customers publish again too: a complaint and a service visit lost by analytics
    come back, for the whole group when no store is named."""
    sid, today = store_id(STORE), clock.now().astimezone(SH).date().isoformat()
    complaint = api.post("/callcenter/api/v1/complaints", as_="cc.sup", json={
        "store_id": sid, "severity": "low", "summary": "重放投诉"})
    assert complaint.status_code == 201, complaint.json
    visit = api.post("/customers/api/v1/service-visits", as_=HQ, json={
        "customer_name": "重放", "phone": phone(), "store_id": sid,
        "repair_order": f"RO-{uuid.uuid4().hex[:8]}", "visit_date": today, "kind": "maintenance"})
    assert visit.status_code == 201, visit.json
    platform.wait_until_consumed()
    lost = {"callcenter": logged(platform, "callcenter.complaint.opened", "complaint_id", complaint.json["id"]),
            "customers": logged(platform, "customers.service.recorded", "visit_id", visit.json["record_id"])}
    assert all(len(ids) == 1 for ids in lost.values()), lost
    lose(platform, *lost["callcenter"], *lost["customers"])
    assert api.post(f"{ANALYTICS}/reconciliation/rebuild", as_=HQ).status_code == 200
    assert [(x["kpi"], x["diff"]) for x in drift_of(api, "callcenter", today, today)] == [("complaints", -1)]
    assert [(x["kpi"], x["diff"]) for x in drift_of(api, "customers", today, today)] == [("service_visits", -1)]
    for source in ("callcenter", "customers"):
        r = api.post(f"{ANALYTICS}/reconciliation/replay", as_=HQ, json={"source": source, "from": today, "to": today})
        assert r.status_code == 202, r.json
        assert wait_for_run(api, platform, source, r.json["request_id"])["drift"] == []
        assert drift_of(api, source, today, today) == []
