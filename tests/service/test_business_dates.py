"""HQ counts each fact on the day it happened in the store, not on the day it was typed in.

On the 1st of a month a consultant records what happened on the last day of the month before: a car
handed over, a visitor who came in the afternoon. The previous month's figures must carry them, as the
store's own screens do, whatever day the suite runs on.
"""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared import clock
from tests.conftest import store_id, wait_until

SH = ZoneInfo("Asia/Shanghai")
STORE = "nj-toyota-jn"
SALES, MANAGER, ADMIN = f"{STORE}.sales1", f"{STORE}.manager", "hq.admin"


@pytest.fixture
def month_turn(api):
    """(last day of the previous month, the 1st of this month) around the run's 'now'; the clock is put back after."""
    for user in (SALES, MANAGER, ADMIN):
        api.token(user)  # tokens are signed and checked at the real time
    first = (clock.now().astimezone(SH).date().replace(day=1) + timedelta(days=32)).replace(day=1)
    yield first - timedelta(days=1), first
    clock.reset()


def _at(day, hh, mm=0) -> datetime:
    return datetime.combine(day, time(hh, mm), SH)


def _kpis(api, month: str) -> dict:
    r = api.get(f"/analytics/api/v1/kpis?month={month}&store_id={store_id(STORE)}", as_=ADMIN)
    assert r.status_code == 200, r.json
    return {k["key"]: k["actual"] or 0 for k in r.json["kpis"]}


def _phone() -> str:
    return f"+86137{uuid.uuid4().int % 10**8:08d}"


def test_a_delivery_recorded_on_the_1st_counts_in_the_month_the_car_was_handed_over(api, month_turn):
    last_day, first = month_turn
    before, this_before = _kpis(api, f"{last_day:%Y-%m}"), _kpis(api, f"{first:%Y-%m}")

    clock.travel_to(_at(last_day, 15))
    lead = api.post("/leads/api/v1/leads", as_=SALES, json={"name": "褚女士", "phone": _phone(), "source": "walk_in"})
    assert lead.status_code == 201, lead.json
    order = api.post(f"/leads/api/v1/leads/{lead.json['id']}/orders", as_=SALES, json={
        "model": "凯美瑞", "price": "209800", "payment_method": "cash"})
    assert order.status_code == 201, order.json

    clock.travel_to(_at(first, 9, 30))  # the handover on the evening of the last day is typed in next morning
    r = api.post(f"/leads/api/v1/orders/{order.json['id']}/delivery", as_=SALES,
                 json={"vin": "LVGBE40K8PG00" + f"{uuid.uuid4().int % 10**4:04d}", "delivered_on": last_day.isoformat()})
    assert r.status_code == 200, r.json

    def counted():
        now = _kpis(api, f"{last_day:%Y-%m}")
        return now if now["deliveries"] == before["deliveries"] + 1 else None

    after = wait_until(counted, 30)
    assert after["orders"] == before["orders"] + 1
    assert after["leads"] == before["leads"] + 1
    this_month = _kpis(api, f"{first:%Y-%m}")
    assert this_month["deliveries"] == this_before["deliveries"]
    assert this_month["orders"] == this_before["orders"]


def test_a_visit_logged_late_counts_on_the_day_the_customer_came(api, month_turn):
    last_day, first = month_turn
    before, this_before = _kpis(api, f"{last_day:%Y-%m}"), _kpis(api, f"{first:%Y-%m}")

    clock.travel_to(_at(first, 9, 5))
    r = api.post("/leads/api/v1/visits", as_=SALES, json={
        "kind": "walk_in", "name": "卫先生", "phone": _phone(), "model": "RAV4荣放",
        "time_in": _at(last_day, 16).isoformat(), "time_out": _at(last_day, 17).isoformat()})
    assert r.status_code == 201, r.json

    def counted():
        now = _kpis(api, f"{last_day:%Y-%m}")
        return now if now["leads"] == before["leads"] + 1 else None

    wait_until(counted, 30)
    # the store's own daily activity for that day counts the visitor too
    report = api.get(f"/leads/api/v1/reports/draft?day={last_day.isoformat()}", as_=SALES)
    assert report.status_code == 200, report.json
    assert report.json["figures"]["showroom_groups"] >= 1
    assert _kpis(api, f"{first:%Y-%m}")["leads"] == this_before["leads"]
