"""Reconciliation (issue 13): analytics' daily figures per KPI, store and day beside leads' own counts.

Leads answers its counts (`GET /leads/api/v1/stats/daily`), analytics compares (`POST
/analytics/api/v1/reconciliation`): on a day of mixed activity they agree
exactly (the embedded test platform seeds the group without history: the day's activity is what is
compared); rollups that lose rows on purpose show as drift on that KPI, store and day, and a rebuild from
the event log brings the drift back to 0.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from services.analytics.adapters.models import RollupFine
from shared import clock
from shared.tenancy import Scope
from tests.conftest import store_id

SH = ZoneInfo("Asia/Shanghai")
LEADS, ANALYTICS = "/leads/api/v1", "/analytics/api/v1"
STORE = "sh-lexus-xh"
ME, MGR, HQ = f"{STORE}.sales1", f"{STORE}.manager", "hq.admin"


def days() -> tuple[str, str]:
    today = clock.now().astimezone(SH).date()
    return (today - timedelta(days=60)).isoformat(), today.isoformat()


def reconcile(api, platform, user: str = HQ) -> dict:
    platform.wait_until_consumed()
    day_from, day_to = days()
    counts = api.get(f"{LEADS}/stats/daily", as_=user, query_string={"from": day_from, "to": day_to})
    assert counts.status_code == 200, counts.json
    r = api.post(f"{ANALYTICS}/reconciliation", as_=user, json={"from": day_from, "to": day_to,
                                                                "counts": counts.json})
    assert r.status_code == 200, r.json
    return r.json


def test_analytics_agrees_with_leads_per_kpi_store_and_day_and_a_rebuild_repairs_drift(api, platform):
    assert reconcile(api, platform)["drift"] == []
    # a day of mixed activity: a visit typed in late, an order cancelled, a delivery, a defeat sent back
    now = clock.now()
    phone = f"+86138{uuid.uuid4().int % 10**8:08d}"
    visit = api.post(f"{LEADS}/visits", as_=ME, json={"kind": "walk_in", "name": "补登", "phone": phone,
                                                      "time_in": (now - timedelta(days=1)).isoformat()})
    lead = visit.json["lead_id"]
    order = api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={
        "model": "ES", "price": "329000", "payment_method": "cash"}).json
    assert api.post(f"{LEADS}/orders/{order['id']}/cancellation", as_=ME, json={"reason": "改期"}).status_code == 200
    again = api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={
        "model": "ES", "price": "329000", "payment_method": "cash"}).json
    today = now.astimezone(SH).date().isoformat()
    assert api.post(f"{LEADS}/orders/{again['id']}/delivery", as_=ME, json={
        "vin": "JTHBA1D20K5012345", "delivered_on": today}).status_code == 200
    other = api.post(f"{LEADS}/leads", as_=ME, json={"name": "战败", "phone": f"+86138{uuid.uuid4().int % 10**8:08d}",
                                                     "source": "phone_in"}).json["id"]
    d = api.post(f"{LEADS}/leads/{other}/defeat", as_=ME, json={"reason": "price"}).json
    api.post(f"{LEADS}/defeats/{d['id']}/decision", as_=MGR, json={"approve": False, "note": "再跟"})
    api.post(f"{LEADS}/leads/{other}/defeat", as_=ME, json={"reason": "price"})
    after = reconcile(api, platform)
    assert after["checked"] >= 6 and after["drift"] == []  # leads, visits, orders, cancelled, deliveries x days
    # the store manager compares their own store only
    assert reconcile(api, platform, MGR)["drift"] == []
    # the orders rollup of this store and day loses its rows: drift, on exactly that KPI, store and day
    sid = store_id(STORE)
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        s.execute(delete(RollupFine).where(RollupFine.store_id == sid, RollupFine.metric == "orders",
                                           RollupFine.day == now.astimezone(SH).date()))
    drifted = reconcile(api, platform)["drift"]
    assert [(x["kpi"], x["store_id"], x["day"], x["diff"] < 0) for x in drifted] == [("orders", sid, today, True)]
    assert api.post(f"{ANALYTICS}/reconciliation/rebuild", as_=MGR).status_code == 403
    rebuilt = api.post(f"{ANALYTICS}/reconciliation/rebuild", as_=HQ)
    assert rebuilt.status_code == 200 and rebuilt.json["events"] > 0
    assert reconcile(api, platform)["drift"] == []
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        assert s.scalar(select(RollupFine.id).where(RollupFine.store_id == sid, RollupFine.metric == "orders"))


@pytest.mark.parametrize("query", [{"from": "2026-11-02", "to": "2026-11-01"}, {"from": "2026-01-01", "to": "2026-12-31"},
                                   {"from": "2026-11-01"}])
def test_the_counts_take_a_bounded_range(api, query):
    assert api.get(f"{LEADS}/stats/daily", as_=HQ, query_string=query).status_code == 422


def counts_of(api, source: str, user: str, day: str) -> list[dict]:
    r = api.get(f"/{source}/api/v1/stats/daily", as_=user, query_string={"from": day, "to": day})
    assert r.status_code == 200, r.json
    return r.json


def test_every_source_is_reconciled_nightly_and_a_dropped_event_shows_until_rebuilt(api, platform):
    """The call center's and customers' counts beside analytics' too: a complaint and a service visit agree
    on demand; analytics loses both on purpose; the nightly run (the clock moves to the next day) reports
    each on its source, KPI, store and day; a rebuild brings the drift to 0, on demand and the next night."""
    sid, now = store_id(STORE), clock.now()
    today = now.astimezone(SH).date().isoformat()
    r = api.post("/callcenter/api/v1/complaints", as_="cc.sup", json={
        "store_id": sid, "severity": "low", "summary": "交车等待时间长"})
    assert r.status_code == 201, r.json
    r = api.post("/customers/api/v1/service-visits", as_=HQ, json={
        "customer_name": "核对", "phone": f"+86137{uuid.uuid4().int % 10**8:08d}", "store_id": sid,
        "repair_order": f"RO-{uuid.uuid4().hex[:8]}", "visit_date": today, "kind": "maintenance"})
    assert r.status_code == 201, r.json
    platform.wait_until_consumed()
    assert {"store_id": sid, "day": today, "metric": "complaints", "value": 1} in counts_of(api, "callcenter", HQ, today)
    assert {"store_id": sid, "day": today, "metric": "service_visits", "value": 1} in counts_of(api, "customers", HQ, today)
    assert api.get("/callcenter/api/v1/stats/daily", as_=ME, query_string={"from": today, "to": today}).status_code == 403
    for source in ("leads", "callcenter", "customers"):
        r = api.post(f"{ANALYTICS}/reconciliation", as_=HQ, json={
            "from": today, "to": today, "source": source, "counts": counts_of(api, source, HQ, today)})
        assert r.status_code == 200 and r.json["checked"] > 0 and r.json["drift"] == [], (source, r.json)
    # another source's KPI posted as leads' is refused
    assert api.post(f"{ANALYTICS}/reconciliation", as_=HQ, json={
        "from": today, "to": today, "source": "leads", "counts": counts_of(api, "customers", HQ, today)}).status_code == 422

    with platform.runtimes["analytics"].db.session(Scope.system()) as s:  # analytics drops both events' figures
        s.execute(delete(RollupFine).where(RollupFine.store_id == sid, RollupFine.day == now.astimezone(SH).date(),
                                           RollupFine.metric.in_(("complaints", "service_visits"))))
    try:
        clock.freeze(now + timedelta(days=1))  # the night passes: analytics' daily job asks every source
        platform.wait_until_consumed(timeout=120)
        runs = {r["source"]: r for r in api.get(f"{ANALYTICS}/reconciliation/runs", as_=HQ).json}
        assert set(runs) == {"leads", "callcenter", "customers"}
        assert all(r["to"] == today and r["checked"] > 0 for r in runs.values())
        assert runs["leads"]["drift"] == []
        assert [(x["kpi"], x["store_id"], x["day"], x["counted"], x["diff"]) for x in runs["callcenter"]["drift"]] \
            == [("complaints", sid, today, 1, -1)]
        assert [(x["kpi"], x["store_id"], x["day"], x["counted"], x["diff"]) for x in runs["customers"]["drift"]] \
            == [("service_visits", sid, today, 1, -1)]
        # the store manager sees their store's drift; another store's manager sees none
        assert len(api.get(f"{ANALYTICS}/reconciliation/runs", as_=MGR).json) == 3
        other = api.get(f"{ANALYTICS}/reconciliation/runs", as_="hz-vw-xh.manager").json
        assert other and all(r["drift"] == [] for r in other)

        assert api.post(f"{ANALYTICS}/reconciliation/rebuild", as_=HQ).status_code == 200
        for source in ("callcenter", "customers"):
            r = api.post(f"{ANALYTICS}/reconciliation", as_=HQ, json={
                "from": today, "to": today, "source": source, "counts": counts_of(api, source, HQ, today)})
            assert r.json["drift"] == [], r.json
        clock.freeze(now + timedelta(days=2))  # and the next night's run finds none
        platform.wait_until_consumed(timeout=120)
        runs = api.get(f"{ANALYTICS}/reconciliation/runs", as_=HQ).json
        assert len(runs) == 3 and all(r["drift"] == [] and r["from"] <= today <= r["to"] for r in runs)
    finally:
        clock.reset()
