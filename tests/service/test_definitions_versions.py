"""KPI definitions are versioned (issue 13): rebuilding under either version gives the same figures every
time, and the two versions differ exactly where the definition changed (v2 takes a cancelled order out of
orders and counts it as cancelled; v1 keeps it); the reconciliation with leads' counts agrees under both."""
from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from services.analytics.adapters.models import RollupFine
from shared import clock
from shared.tenancy import Scope
from tests.conftest import store_id

SH = ZoneInfo("Asia/Shanghai")
STORE = "sh-lexus-xh"
ME, HQ = f"{STORE}.sales2", "hq.admin"
REBUILD = "/analytics/api/v1/reconciliation/rebuild"


def figures(platform) -> dict:
    """Every figure of the fine rollup, summed per cell."""
    F = RollupFine
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        return {tuple(r[:-1]): int(r[-1]) for r in s.execute(
            select(F.group_id, F.store_id, F.day, F.metric, F.key, func.sum(F.value))
            .group_by(F.group_id, F.store_id, F.day, F.metric, F.key).having(func.sum(F.value) != 0))}


def store_kpis(api, month: str) -> dict:
    r = api.get(f"/analytics/api/v1/kpis?month={month}&store_id={store_id(STORE)}", as_=HQ)
    assert r.status_code == 200, r.json
    return {k["key"]: k["actual"] for k in r.json["kpis"]}


def rebuild(api, version: str | None) -> dict:
    r = api.post(REBUILD, as_=HQ, query_string={} if version is None else {"definitions": version})
    assert r.status_code == 200, r.json
    return r.json


def reconcile(api) -> tuple[int, list]:
    """Today's comparison with leads' own counts: the definitions version it ran under and the drift."""
    today = clock.now().astimezone(SH).date().isoformat()
    counts = api.get("/leads/api/v1/stats/daily", as_=HQ, query_string={"from": today, "to": today})
    assert counts.status_code == 200, counts.json
    r = api.post("/analytics/api/v1/reconciliation", as_=HQ, json={"from": today, "to": today, "counts": counts.json})
    assert r.status_code == 200, r.json
    return r.json["definitions"], r.json["drift"]


def test_each_version_rebuilds_to_the_same_figures_and_they_differ_where_the_definition_does(api, platform):
    month = clock.now().astimezone(SH).strftime("%Y-%m")
    phone = f"+86138{uuid.uuid4().int % 10**8:08d}"
    lead = api.post("/leads/api/v1/leads", as_=ME, json={"name": "版本", "phone": phone, "source": "walk_in"}).json["id"]
    order = api.post(f"/leads/api/v1/leads/{lead}/orders", as_=ME, json={
        "model": "ES", "price": "329000", "payment_method": "cash"}).json
    assert api.post(f"/leads/api/v1/orders/{order['id']}/cancellation", as_=ME, json={"reason": "改期"}).status_code == 200
    platform.wait_until_consumed()
    live = store_kpis(api, month)

    assert rebuild(api, None)["definitions"] == 2  # the latest is in force
    v2 = figures(platform)
    assert rebuild(api, "v2")["definitions"] == 2 and figures(platform) == v2
    assert store_kpis(api, month) == live  # rebuilt as built when the events arrived

    assert rebuild(api, "v1")["definitions"] == 1
    v1 = figures(platform)
    assert rebuild(api, "1")["definitions"] == 1 and figures(platform) == v1  # reproducible
    assert rebuild(api, None)["definitions"] == 1 and figures(platform) == v1  # v1 stays in force
    under_v1 = store_kpis(api, month)
    assert under_v1["orders"] == live["orders"] + 1 and not under_v1["orders_cancelled"]
    assert live["orders_cancelled"] >= 1
    # the reconciliation compares under the version in force: no drift on the day of the cancellation
    assert reconcile(api) == (1, [])
    # the versions differ only in orders (and their amounts, kinds, sale types) and cancellations
    changed = {k[3] for k in set(v1) | set(v2) if v1.get(k) != v2.get(k)}
    assert changed and changed <= {"orders", "order_amount", "orders_kind", "orders_sale_type", "orders_cancelled"}
    # events that arrive under v1 count under v1
    again = api.post(f"/leads/api/v1/leads/{lead}/orders", as_=ME, json={
        "model": "ES", "price": "329000", "payment_method": "cash"}).json
    assert api.post(f"/leads/api/v1/orders/{again['id']}/cancellation", as_=ME, json={"reason": "再改"}).status_code == 200
    platform.wait_until_consumed()
    assert store_kpis(api, month)["orders"] == under_v1["orders"] + 1

    assert reconcile(api) == (1, [])

    assert rebuild(api, "v2")["definitions"] == 2
    assert store_kpis(api, month)["orders"] == live["orders"]  # both cancelled orders out again
    assert store_kpis(api, month)["orders_cancelled"] == live["orders_cancelled"] + 1
    assert reconcile(api) == (2, [])


def test_a_version_that_does_not_exist_is_refused_and_only_the_group_admin_rebuilds(api, platform):
    r = api.post(REBUILD, as_=HQ, query_string={"definitions": "v9"})
    assert r.status_code == 422 and "v9" in str(r.json)
    assert api.post(REBUILD, as_=f"{STORE}.manager", query_string={"definitions": "v1"}).status_code == 403
