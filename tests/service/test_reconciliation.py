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

from services.analytics.models import RollupFine
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
