"""Complaints through their states with SLAs, HQ spot checks, the public survey link, rules and settings."""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from services.callcenter.adapters.models import Complaint, SurveyResponse, Task
from tests.callcenter.conftest import GID, SH, brand, cc_session, delivered, local, new_customer, store

PD, XH, VW = "sh-toyota-pd", "sh-lexus-xh", "hz-vw-xh"


@pytest.fixture(scope="module", autouse=True)
def tokens(api):
    """Sign in before the clock moves (tokens are checked against the real time)."""
    for user in ("cc.agent1", "cc.sup", "hq.admin", "hq.analyst", f"{PD}.manager", f"{XH}.manager", f"{VW}.manager",
                 f"{VW}.sales1"):
        api.token(user)


@pytest.fixture(scope="module")
def browsers(platform):
    """Page sessions (cookie + CSRF) of two store managers, signed in before the clock moves."""
    return {code: _signed_in(platform, f"{code}.manager") for code in (VW, PD)}


def _next(api, user, store_code, task_type=None):
    body = {"store_id": store(store_code), **({"task_type": task_type} if task_type else {})}
    return api.post("/callcenter/api/v1/tasks/next", as_=user, json=body).json["task"]


def test_a_complaint_goes_to_the_store_manager_through_its_states_and_the_customer_confirms(api, platform, frozen,
                                                                                         browsers):
    frozen.travel_to(local(2026, 9, 1, 10, 0))
    cid, phone = new_customer(platform, VW, name="李先生")
    delivered(platform, VW, "vw", date(2026, 8, 29), phone=phone, name="李先生")
    t = _next(api, "cc.agent1", VW, "delivery_callback")
    r = api.post("/callcenter/api/v1/complaints", as_="cc.agent1",
                 json={"task_id": t["id"], "severity": "medium", "summary": "交车时车内有划痕"})
    assert r.status_code == 201
    c = r.json
    assert c["store_id"] == store(VW) and c["status"] == "open" and c["assignee_id"] and c["customer_id"] == cid
    assert api.get(f"/callcenter/api/v1/complaints/{c['id']}", as_=f"{PD}.manager").status_code == 404
    mine = api.get("/callcenter/api/v1/complaints?per_page=200", as_=f"{VW}.manager").json
    assert c["id"] in {x["id"] for x in mine} and all(x["store_id"] == store(VW) for x in mine)
    assert c["id"] in {x["id"] for x in api.get("/callcenter/api/v1/complaints?per_page=200", as_="hq.analyst").json}

    tr = f"/callcenter/api/v1/complaints/{c['id']}/transitions"
    assert api.post(tr, as_="cc.agent1", json={"action": "confirm"}).status_code == 409  # not resolved yet
    assert api.post(tr, as_=f"{VW}.manager", json={"action": "confirm"}).status_code == 403  # not the store's word
    assert api.post(tr, as_="hq.analyst", json={"action": "start"}).status_code == 403
    assert api.post(tr, as_=f"{VW}.manager", json={"action": "start"}).json["status"] == "in_progress"
    frozen.advance(timedelta(hours=80))  # medium: 72 h SLA
    late = api.get("/callcenter/api/v1/complaints?breached=true&per_page=200", as_="hq.admin").json
    assert c["id"] in {x["id"] for x in late}
    bad = api.post(tr, as_=f"{VW}.manager", json={"action": "resolve"})
    assert bad.status_code == 422 and "note" in bad.json["errors"]
    done = api.post(tr, as_=f"{VW}.manager", json={"action": "resolve", "note": "已为客户免费补漆"})
    assert done.json["status"] == "resolved" and done.json["breached"] is True

    frozen.advance(timedelta(days=1))
    api.post(f"/callcenter/api/v1/tasks/{t['id']}/release", as_="cc.agent1")
    follow = _next(api, "cc.agent1", VW, "complaint_followup")
    assert follow is not None and follow["detail"]["complaint_id"] == c["id"]
    r = api.post(f"/callcenter/api/v1/tasks/{follow['id']}/attempts", as_="cc.agent1",
                 json={"outcome": "reached", "answers": {"resolved_ok": "yes", "overall": "4"}})
    assert r.status_code == 201
    after = api.get(f"/callcenter/api/v1/complaints/{c['id']}", as_="hq.admin").json
    assert after["status"] == "confirmed" and [h["action"] for h in after["history"]] == [
        "open", "start", "resolve", "confirm"]
    page = browsers[VW].get(f"/callcenter/complaints/{c['id']}")
    assert page.status_code == 200 and "交车时车内有划痕" in page.get_data(as_text=True)
    assert browsers[PD].get(f"/callcenter/complaints/{c['id']}").status_code == 404


def test_store_callbacks_are_spot_checked_by_hq_and_disagreements_listed_per_store(api, platform, frozen):
    frozen.travel_to(local(2026, 9, 10, 10, 0))
    assert api.put("/callcenter/api/v1/settings", as_="cc.sup", json={"spot_check_share": 1.0}).status_code == 200
    cid, _ = new_customer(platform, VW, name="周女士")
    r = api.post("/callcenter/api/v1/store-callbacks", as_=f"{VW}.sales1",
                 json={"customer_id": cid, "kind": "delivery_callback", "reached": True, "satisfaction": 5})
    assert r.status_code == 201 and r.json["sampled"] and r.json["store_id"] == store(VW)
    t = _next(api, "cc.agent1", VW, "spot_check")
    assert t["id"] == r.json["spot_task_id"] and t["customer_name"] == "周女士"
    api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1",
             json={"outcome": "reached", "answers": {"called": "no", "overall": "2"}})
    listed = api.get("/callcenter/api/v1/spot-checks?disagreement=true&per_page=200", as_="hq.admin").json
    [mine] = [x for x in listed if x["id"] == r.json["id"]]
    assert set(mine["disagreement_reasons"]) == {"not_called", "satisfaction"}
    summary = api.get("/callcenter/api/v1/spot-checks/summary", as_="hq.admin").json["stores"]
    assert any(s["store_id"] == store(VW) and s["disagreements"] >= 1 for s in summary)
    theirs = api.get("/callcenter/api/v1/spot-checks/summary", as_=f"{PD}.manager").json["stores"]
    assert all(s["store_id"] == store(PD) for s in theirs)  # a store sees its own figures only
    api.put("/callcenter/api/v1/settings", as_="cc.sup", json={"spot_check_share": 0.1})


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_public_web_link_is_single_use_and_expires(api, platform, frozen):
    frozen.travel_to(local(2026, 9, 20, 10, 0))
    cid, phone = new_customer(platform, XH, name="吴先生")
    delivered(platform, XH, "lexus", date(2026, 9, 17), phone=phone)
    t = _next(api, "cc.agent1", XH, "delivery_callback")
    api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1", json={"outcome": "reached"})
    link = api.post(f"/callcenter/api/v1/tasks/{t['id']}/survey-link", as_="cc.agent1")
    assert link.status_code == 201
    path = "/callcenter/s/" + link.json["url"].rsplit("/", 1)[1]
    customer = Client(platform.wsgi())  # no login
    page = customer.get(path)
    assert page.status_code == 200 and "整体满意度" in page.get_data(as_text=True)
    token = _csrf(page.get_data(as_text=True))
    assert customer.post(path, data={"q_overall": "5"}).status_code == 400  # no CSRF token: refused
    bad = customer.post(path, data={"csrf_token": token, "q_recommend": "11"})
    assert bad.status_code == 422
    ok = customer.post(path, data={"csrf_token": token, "q_overall": "5", "q_recommend": "10", "q_comments": "很好"})
    assert ok.status_code == 200 and "谢谢" in ok.get_data(as_text=True)
    assert customer.post(path, data={"csrf_token": token, "q_overall": "1"}).status_code == 410
    with cc_session(platform) as s:
        [resp] = s.scalars(select(SurveyResponse).where(SurveyResponse.task_id == t["id"])).all()
    assert resp.channel == "web" and resp.satisfaction == 5 and resp.agent_id is None

    t2 = delivered(platform, XH, "lexus", date(2026, 9, 17))
    task2 = _next(api, "cc.agent1", XH, "delivery_callback")
    link2 = api.post(f"/callcenter/api/v1/tasks/{task2['id']}/survey-link", as_="cc.agent1").json
    api.post(f"/callcenter/api/v1/tasks/{task2['id']}/release", as_="cc.agent1")
    frozen.advance(timedelta(hours=73))  # links are valid 72 hours
    assert customer.get("/callcenter/s/" + link2["url"].rsplit("/", 1)[1]).status_code == 410
    assert customer.get("/callcenter/s/not-a-token").status_code == 404
    assert t2


def test_rules_are_configurable_per_brand_and_bad_rules_are_refused(api, platform, frozen):
    frozen.travel_to(local(2026, 10, 5, 10, 0))
    bad = api.put("/callcenter/api/v1/rules/delivery_callback", as_="cc.sup", json={"max_attempts": 0})
    assert bad.status_code == 422 and "max_attempts" in bad.json["errors"]
    forbidden = api.put("/callcenter/api/v1/rules/delivery_callback", as_="cc.agent1", json={"priority": 1})
    assert forbidden.status_code == 403
    r = api.put("/callcenter/api/v1/rules/delivery_callback", as_="cc.sup",
                json={"brand_id": brand("lexus"), "offsets_days": [5], "retry_minutes": [60, 240, 1440],
                      "max_attempts": 4})
    assert r.status_code == 200 and r.json["origin"] == "brand"
    lexus = delivered(platform, XH, "lexus", date(2026, 10, 1))
    toyota = delivered(platform, PD, "toyota", date(2026, 10, 1))
    with cc_session(platform) as s:
        lx = s.scalar(select(Task).where(Task.dedupe_key == f"delivery_callback:{lexus.data['order_id']}"))
        ty = s.scalar(select(Task).where(Task.dedupe_key == f"delivery_callback:{toyota.data['order_id']}"))
    assert lx.due_at.astimezone(SH).date() == date(2026, 10, 6) and lx.max_attempts == 4
    assert ty.due_at.astimezone(SH).date() == date(2026, 10, 4) and ty.max_attempts == 3
    listed = api.get(f"/callcenter/api/v1/rules?brand_id={brand('lexus')}", as_="cc.sup").json
    rules = {x["task_type"]: x for x in listed}
    assert rules["delivery_callback"]["offsets_days"] == [5] and rules["service_callback"]["origin"] == "default"
    off = api.put("/callcenter/api/v1/rules/birthday_care", as_="cc.sup", json={"enabled": False})
    assert off.status_code == 200
    cid, _ = new_customer(platform, PD)
    from shared.events import Event
    from tests.callcenter.conftest import feed

    feed(platform, Event(type="customers.schedule.birthday", group_id=GID, store_id=store(PD),
                         data={"customer_id": cid, "schedule_id": f"bday-{uuid.uuid4()}", "due_on": date(2026, 10, 5)}))
    with cc_session(platform) as s:
        assert s.scalar(select(Task).where(Task.customer_id == cid, Task.task_type == "birthday_care")) is None
    api.put("/callcenter/api/v1/rules/birthday_care", as_="cc.sup", json={"enabled": True})


def test_the_board_shows_queues_reach_and_surveys(api, platform, frozen):
    frozen.travel_to(local(2026, 10, 20, 10, 0))  # the calls above were made from September on: in the window
    b = api.get("/callcenter/api/v1/board?days=90", as_="cc.sup")
    assert b.status_code == 200
    d = b.json
    assert {"queues", "sla", "reach", "agents", "surveys"} <= set(d)
    assert d["reach"]["closed"] >= 1 and d["agents"] and d["surveys"]["by_store"]
    assert api.get("/callcenter/api/v1/board", as_=f"{PD}.manager").status_code == 403
    assert api.get("/callcenter/api/v1/complaints?status=bogus", as_="hq.admin").status_code == 422
    with cc_session(platform) as s:
        assert s.scalar(select(Complaint).limit(1)) is not None


def _signed_in(platform, username: str) -> Client:
    c = Client(platform.wsgi())
    token = _csrf(c.get("/identity/login").get_data(as_text=True))
    r = c.post("/identity/login", data={"group": "demo", "username": username, "password": "demo-pass-2026",
                                         "csrf_token": token})
    assert r.status_code == 302
    return c


def test_a_store_manager_logs_a_callback_on_the_page_by_phone_and_sees_only_the_store(api, platform):
    cid, phone = new_customer(platform, VW, name="郑先生")
    c = _signed_in(platform, f"{VW}.manager")
    page = c.get("/callcenter/spot-checks")
    assert page.status_code == 200
    r = c.post("/callcenter/store-callbacks", data={"csrf_token": _csrf(page.get_data(as_text=True)),
                                                "customer": phone[3:], "kind": "service_callback", "reached": "1",
                                                "satisfaction": "4"})
    assert r.status_code == 302
    with cc_session(platform) as s:
        from services.callcenter.adapters.models import StoreCallback

        cb = s.scalar(select(StoreCallback).where(StoreCallback.customer_id == cid))
    assert cb.store_id == store(VW) and cb.reported_satisfaction == 4 and cb.kind == "service_callback"
    assert c.get("/callcenter/board").status_code == 403
    complaints = c.get("/callcenter/complaints").get_data(as_text=True)
    assert "上海浦东丰田" not in complaints  # another store's complaints never show
