"""Stories that cross services, through the real bus on the embedded platform.

- A customer who asks not to be called (customers API) never gets handed out in a callback queue,
  even for a task created before (issue 4 and 5).
- A delivery in leads makes a delivery callback; a low survey score on that call opens a complaint
  for the store, shows in the customer's 360 view, and reaches analytics (issue 5).
"""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.callcenter.adapters.models import Contact, Task
from shared import clock
from shared.bus import emit
from shared.events import Event
from shared.tenancy import Scope
from tests.conftest import store_id, wait_until

SH = ZoneInfo("Asia/Shanghai")
STORE = "hz-toyota-xs"
AGENT, ADMIN = "cc.agent1", "hq.admin"


@pytest.fixture(scope="module")
def story(api, platform):
    """A walk-in at the store whose car was delivered three days before 'now' (tomorrow, 10:00)."""
    for user in (AGENT, ADMIN, "cc.sup", f"{STORE}.sales1", f"{STORE}.manager"):
        api.token(user)  # sign in before moving the clock: tokens are checked against real time
    tomorrow = clock.now().astimezone(SH).date() + timedelta(days=1)
    clock.travel_to(datetime.combine(tomorrow, time(10, 0), SH))
    phone = f"+86136{uuid.uuid4().int % 10**8:08d}"
    r = api.post("/leads/api/v1/leads", as_=f"{STORE}.sales1", json={"name": "冯先生", "phone": phone, "source": "walk_in"})
    assert r.status_code == 201
    customer = wait_until(lambda: api.get(f"/customers/api/v1/customers?phone={phone}", as_=ADMIN).json, 60)[0]
    leads = platform.runtimes["leads"]
    gid = r.json["group_id"]
    with leads.db.session(Scope.system(gid)) as s:
        emit(s, Event(type="leads.vehicle.delivered", group_id=gid, store_id=r.json["store_id"],
                      brand_id=r.json["brand_id"], actor=r.json["consultant_id"],
                      data={"lead_id": r.json["id"], "order_id": str(uuid.uuid4()), "vin": "LVGBE40K8PG000123",
                            "model": "凯美瑞", "delivered_on": tomorrow - timedelta(days=3), "customer_name": "冯先生",
                            "phone": phone, "price": "219800", "consultant_id": r.json["consultant_id"]}))
    cc = platform.runtimes["callcenter"]

    def task():
        with cc.db.session(Scope.system(gid)) as s:
            return s.scalar(select(Task).where(Task.customer_id == customer["id"], Task.task_type == "delivery_callback"))

    yield {"gid": gid, "customer": customer, "task": wait_until(task, 60), "phone": phone,
           "delivered_on": tomorrow - timedelta(days=3)}
    clock.reset()


def _claim(api):
    r = api.post("/callcenter/api/v1/tasks/next", as_=AGENT, json={"store_id": store_id(STORE)})
    assert r.status_code == 200, r.json
    return r.json["task"]


def _contact(platform, gid, cid):
    with platform.runtimes["callcenter"].db.session(Scope.system(gid)) as s:
        return s.get(Contact, cid)


def test_a_do_not_call_request_in_customers_keeps_the_task_out_of_the_queue(api, platform, story):
    cid = story["customer"]["id"]
    r = api.put(f"/customers/api/v1/customers/{cid}/consent", as_=ADMIN, json={"do_not_call": True})
    assert r.status_code == 200
    wait_until(lambda: _contact(platform, story["gid"], cid).do_not_call, 60)
    assert _claim(api) is None

    r = api.put(f"/customers/api/v1/customers/{cid}/consent", as_=ADMIN,
                json={"do_not_call": False, "consent": {"phone": True}})
    assert r.status_code == 200
    wait_until(lambda: not _contact(platform, story["gid"], cid).do_not_call, 60)
    t = _claim(api)
    assert t is not None and t["id"] == story["task"].id
    assert api.post(f"/callcenter/api/v1/tasks/{t['id']}/release", as_=AGENT).status_code == 200


def test_a_low_score_opens_a_complaint_and_reaches_the_360_view_and_analytics(api, platform, story):
    cid = story["customer"]["id"]
    month = clock.now().astimezone(SH).strftime("%Y-%m")
    t = _claim(api)
    assert t is not None and t["id"] == story["task"].id
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_=AGENT, json={
        "outcome": "reached", "answers": {"overall": "1", "explained": "no", "on_time": "no", "recommend": "2",
                                          "repurchase": "low", "comments": "交车时车漆有划痕"}})
    assert r.status_code == 201, r.json
    assert r.json["low_score"] is True and r.json["complaint_id"]
    complaint = api.get(f"/callcenter/api/v1/complaints/{r.json['complaint_id']}", as_=f"{STORE}.manager")
    assert complaint.status_code == 200

    def survey_in_360():
        view = api.get(f"/customers/api/v1/customers/{cid}/360", as_=ADMIN)
        return view.json if view.status_code == 200 and "survey" in view.get_data(as_text=True) else None

    view = wait_until(survey_in_360, 60)
    survey = next(x for x in view["timeline"] if x["kind"] == "survey")
    assert survey["detail"]["low_score"] and survey["detail"]["satisfaction"] == 1
    assert survey["store"]["store_id"] == store_id(STORE)
    assert any(x["kind"] == "complaint" for x in view["timeline"])
    assert view["loyalty"]["satisfaction"] == 1 and view["loyalty"]["open_complaints"] == 1

    def satisfaction_counted():
        kpis = api.get(f"/analytics/api/v1/kpis?month={month}", as_=ADMIN).json["kpis"]
        rows = {k["key"]: k for k in kpis} if isinstance(kpis, list) else kpis
        sat, complaints = rows.get("sat_overall"), rows.get("complaints")
        return rows if sat and sat.get("actual") is not None and complaints and complaints.get("actual") else None

    rows = wait_until(satisfaction_counted, 60)
    assert rows["complaints"]["actual"] == 1
    # the delivery counts in the month the car was handed over, which is last month on the 1st
    delivered = api.get(f"/analytics/api/v1/kpis?month={story['delivered_on']:%Y-%m}", as_=ADMIN).json["kpis"]
    assert next(k for k in delivered if k["key"] == "deliveries")["actual"] == 1


def test_a_reopened_complaint_counts_as_open_again_in_the_360_view_and_analytics(api, platform, story):
    """Resolve → the customer does not accept → reopen → resolve → confirmed: each step reaches the others."""
    cid, manager = story["customer"]["id"], f"{STORE}.manager"
    month = clock.now().astimezone(SH).strftime("%Y-%m")
    complaints = api.get("/callcenter/api/v1/complaints?per_page=200", as_=manager).json
    c = next(x for x in complaints if x["customer_id"] == cid)
    tr = f"/callcenter/api/v1/complaints/{c['id']}/transitions"

    def loyalty():
        return api.get(f"/customers/api/v1/customers/{cid}/360", as_=ADMIN).json["loyalty"]["open_complaints"]

    def resolved_rate():
        kpis = api.get(f"/analytics/api/v1/kpis?month={month}", as_=ADMIN).json["kpis"]
        rows = {k["key"]: k for k in kpis} if isinstance(kpis, list) else kpis
        return rows["complaint_resolved_rate"]["actual"]

    assert api.post(tr, as_=manager, json={"action": "start"}).status_code == 200
    assert api.post(tr, as_=manager, json={"action": "resolve", "note": "重新喷漆"}).status_code == 200
    assert wait_until(lambda: loyalty() == 0, 60) and wait_until(lambda: resolved_rate() == 1, 60)

    r = api.post(tr, as_=manager, json={"action": "reopen", "note": "客户不满意"})
    assert r.status_code == 200 and r.json["status"] not in ("resolved", "confirmed")
    assert wait_until(lambda: loyalty() == 1, 60)
    assert wait_until(lambda: resolved_rate() == 0, 60)

    assert api.post(tr, as_=manager, json={"action": "resolve", "note": "更换车门"}).status_code == 200
    assert api.post(tr, as_=ADMIN, json={"action": "confirm"}).status_code == 200  # HQ confirms with the customer
    assert wait_until(lambda: resolved_rate() == 1, 60)

    def timeline_has_every_step():  # the customers consumer applies the confirmation on its own time
        view = api.get(f"/customers/api/v1/customers/{cid}/360", as_=ADMIN).json
        kinds = {x["kind"] for x in view["timeline"] if x.get("ref_id") == c["id"] or x["kind"].startswith("complaint")}
        return view if {"complaint_reopened", "complaint_confirmed"} <= kinds else None

    view = wait_until(timeline_has_every_step, 60)
    assert view["loyalty"]["open_complaints"] == 0
