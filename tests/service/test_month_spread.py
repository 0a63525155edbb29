"""A month of activity spread over its days (issue 13), on the embedded platform whose clock the test
moves: on every fourth day of the last four weeks visitors come, orders are signed, orders of an earlier
day are cancelled or delivered (dated the day before), defeats proposed earlier are approved or sent back,
complaints are opened and service visits recorded. Then every figure analytics derives from leads, the
call center and customers is compared with their own counts per KPI, store and day: 0 differences.

(tests/e2e/test_month_reconciled.py runs on the production topology, where each process keeps the real
clock: its orders, deliveries, defeats and complaints all fall on the last day.)"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared import clock
from tests.conftest import FrozenClock, store_id
from tests.contract.world import vin

SH = ZoneInfo("Asia/Shanghai")
LEADS = "/leads/api/v1"
STORES = ("hz-vw-xh",)
HQ = "hq.admin"


@pytest.fixture
def frozen_clock():
    yield FrozenClock()
    clock.reset()


def phone() -> str:
    return f"+86136{uuid.uuid4().int % 10**8:08d}"


def ok(r, *codes: int) -> dict:
    assert r.status_code in (codes or (200, 201)), (r.status_code, r.json)
    return r.json


def test_a_month_spread_over_its_days_agrees_with_every_source(api, platform, frozen_clock):
    today = clock.now().astimezone(SH).date()
    days = [today - timedelta(days=back) for back in range(24, -1, -4)]
    signed: dict[str, list[tuple[str, str]]] = defaultdict(list)  # store → (order id, its consultant)
    proposed: dict[str, list[str]] = defaultdict(list)  # store → defeat ids awaiting the manager
    for n, day in enumerate(days):
        frozen_clock.travel_to(datetime.combine(day, time(11, n), SH))
        api._tokens.clear()  # signed in again on the moved clock
        for st in STORES:
            me, mgr = f"{st}.sales{1 + n % 3}", f"{st}.manager"
            # the orders of the day before: one cancelled, one delivered dated yesterday
            for (order, owner), cancel in zip(signed.pop(st, []), (True, False), strict=False):
                if cancel:
                    ok(api.post(f"{LEADS}/orders/{order}/cancellation", as_=owner, json={"reason": "改期"}))
                else:
                    ok(api.post(f"{LEADS}/orders/{order}/delivery", as_=owner, json={
                        "vin": vin(), "delivered_on": (day - timedelta(days=1)).isoformat()}))
            # the defeats proposed the day before: one approved, one sent back
            for defeat, approve in zip(proposed.pop(st, []), (True, False), strict=False):
                ok(api.post(f"{LEADS}/defeats/{defeat}/decision", as_=mgr,
                            json={"approve": approve, "note": "同意" if approve else "再跟进"}))
            visits = [ok(api.post(f"{LEADS}/visits", as_=me, json={"kind": kind, "name": "月中", "phone": phone()}))
                      for kind in ("walk_in", "walk_in", "phone_in", "phone_in")]
            for v in visits[:2]:
                order = ok(api.post(f"{LEADS}/leads/{v['lead_id']}/orders", as_=me, json={
                    "model": "Camry" if "toyota" in st else "ID.4", "price": "199000", "payment_method": "cash"}))
                signed[st].append((order["id"], me))
            for v in visits[2:]:
                proposed[st].append(ok(api.post(f"{LEADS}/leads/{v['lead_id']}/defeat", as_=me,
                                                json={"reason": "price"}))["id"])
            ok(api.post("/callcenter/api/v1/complaints", as_="cc.sup", json={
                "store_id": store_id(st), "severity": "low", "summary": "等待时间长"}))
            ok(api.post("/customers/api/v1/service-visits", as_=HQ, json={
                "customer_name": "保养", "phone": phone(), "store_id": store_id(st), "kind": "maintenance",
                "repair_order": f"RO-{uuid.uuid4().hex[:8]}", "visit_date": day.isoformat()}))
        platform.wait_until_consumed(timeout=120)

    api._tokens.clear()
    day_from, day_to = days[0].isoformat(), days[-1].isoformat()
    counts = {}
    for source in ("leads", "callcenter", "customers"):
        counts[source] = ok(api.get(f"/{source}/api/v1/stats/daily", as_=HQ,
                                    query_string={"from": day_from, "to": day_to}))
        r = ok(api.post("/analytics/api/v1/reconciliation", as_=HQ, json={
            "from": day_from, "to": day_to, "source": source, "counts": counts[source]}))
        assert r["checked"] > 0 and r["drift"] == [], (source, r["drift"][:5])
    # the facts are spread: orders, cancellations, deliveries, defeats and complaints on many days each
    on_days = defaultdict(set)
    for rows in counts.values():
        for row in rows:
            if row["store_id"] in {store_id(st) for st in STORES} and row["value"]:
                on_days[row["metric"]].add(row["day"])
    for metric in ("orders", "orders_cancelled", "deliveries", "defeats", "complaints", "service_visits"):
        assert len(on_days[metric]) >= len(days) - 1, (metric, sorted(on_days[metric]))
