"""Visitor log, assignment, test drive, order, delivery and defeat, with the events they publish."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from shared import clock
from tests.conftest import store_id
from tests.leads.helpers import LEADS, events, new_lead, phone

PD = "hz-vw-xh"
MGR = f"{PD}.manager"


def uid(api, user: str) -> str:
    return api.get("/identity/api/v1/auth/me", as_=user).json["user_id"]


def test_walk_in_becomes_a_lead_and_a_return_visit_joins_it(api, platform):
    me = f"{PD}.sales1"
    ph = phone()
    r = api.post(f"{LEADS}/visits", as_=me, json={"kind": "walk_in", "name": "孔先生", "phone": ph, "party_size": 3,
                                                  "model": "ID.4"})
    assert r.status_code == 201 and r.json["first_visit"] and r.json["lead_id"], r.json
    lead = r.json["lead_id"]
    again = api.post(f"{LEADS}/visits", as_=f"{PD}.sales2", json={"kind": "walk_in", "name": "孔先生", "phone": ph})
    assert again.json["lead_id"] == lead and not again.json["first_visit"] and again.json["joined_colleagues_lead"]
    got = api.get(f"{LEADS}/leads/{lead}", as_=me).json
    assert got["source"] == "walk_in" and got["last_contact_at"] and got["consultant_id"] == uid(api, me)
    # a walk-in without a phone is still counted in the log
    assert api.post(f"{LEADS}/visits", as_=me, json={"kind": "walk_in"}).json["lead_id"] is None
    logged = [e["data"] for e in events(platform, "leads.visit.logged") if e["data"]["lead_id"] == lead]
    assert len(logged) == 2 and logged[0]["party_size"] == 3


def test_order_then_delivery_publishes_what_customers_and_callcenter_need(api, platform):
    me = f"{PD}.sales1"
    lead = new_lead(api, me, name="曹女士")["id"]
    td = api.post(f"{LEADS}/leads/{lead}/test-drives", as_=me, json={"model": "ID.4"}).json
    assert api.post(f"{LEADS}/test-drives/{td['id']}/complete", as_=me).json["status"] == "completed"
    r = api.post(f"{LEADS}/leads/{lead}/orders", as_=me, json={
        "model": "ID.4 Pro", "colour": "白", "price": "199800.00", "deposit": "5000", "payment_method": "financing",
        "trade_in": True, "expected_delivery": "2026-12-20"})
    assert r.status_code == 201, r.json
    assert api.get(f"{LEADS}/leads/{lead}", as_=me).json["level"] == "O"
    bad = api.post(f"{LEADS}/orders/{r.json['id']}/delivery", as_=me,
                   json={"vin": "short", "delivered_on": "2026-12-20"})
    assert bad.status_code == 422 and "vin" in bad.json["errors"]
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()  # not in the future
    d = api.post(f"{LEADS}/orders/{r.json['id']}/delivery", as_=me,
                 json={"vin": "LSVAA4187E2123456", "delivered_on": today})
    assert d.status_code == 200 and d.json["status"] == "delivered"
    assert api.get(f"{LEADS}/leads/{lead}", as_=me).json["level"] == "delivered"
    ev = [e for e in events(platform, "leads.vehicle.delivered") if e["data"]["lead_id"] == lead][0]
    assert ev["data"]["vin"] == "LSVAA4187E2123456" and ev["data"]["customer_name"] == "曹女士"
    assert ev["store_id"] == store_id(PD) and ev["data"]["consultant_id"] == uid(api, me)
    assert [e for e in events(platform, "leads.testdrive.completed") if e["data"]["lead_id"] == lead]
    assert [e for e in events(platform, "leads.order.placed") if e["data"]["lead_id"] == lead]
    assert api.post(f"{LEADS}/leads/{lead}/follow-ups", as_=me,
                    json={"kind": "call", "outcome": "reached"}).status_code == 409


def test_defeat_needs_the_managers_approval(api, platform):
    me = f"{PD}.sales2"
    lead = new_lead(api, me, name="严先生")["id"]
    assert api.post(f"{LEADS}/leads/{lead}/defeat", as_=me, json={"reason": "competitor"}).status_code == 422
    d = api.post(f"{LEADS}/leads/{lead}/defeat", as_=me,
                 json={"reason": "competitor", "competitor_brand": "比亚迪", "competitor_model": "宋PLUS"}).json
    assert api.post(f"{LEADS}/defeats/{d['id']}/decision", as_=me, json={"approve": True}).status_code == 403
    back = api.post(f"{LEADS}/defeats/{d['id']}/decision", as_=MGR, json={"approve": False, "note": "call again"})
    assert back.json["status"] == "sent_back" and api.get(f"{LEADS}/leads/{lead}", as_=me).json["level"] == "N"
    d = api.post(f"{LEADS}/leads/{lead}/defeat", as_=me, json={"reason": "price"}).json
    assert d["id"] in {x["id"] for x in api.get(f"{LEADS}/defeats", as_=MGR).json}
    assert api.post(f"{LEADS}/defeats/{d['id']}/decision", as_=MGR, json={"approve": True}).status_code == 200
    assert api.get(f"{LEADS}/leads/{lead}", as_=me).json["level"] == "defeated"
    ev = [e for e in events(platform, "leads.defeat.approved") if e["data"]["lead_id"] == lead][0]
    assert ev["data"]["reason"] == "price" and ev["data"]["customer_name"] == "严先生"


def test_manager_assigns_round_robin_and_moves_a_leavers_leads(api):
    store = store_id(PD)
    lead = new_lead(api, MGR)["id"]
    assert api.get(f"{LEADS}/leads/{lead}", as_=MGR).json["consultant_id"] is None
    s3 = uid(api, f"{PD}.sales3")
    r = api.put(f"{LEADS}/leads/{lead}/consultant", as_=f"{PD}.sales1", json={"consultant_id": s3})
    assert r.status_code == 403
    assert api.put(f"{LEADS}/leads/{lead}/consultant", as_=MGR, json={"consultant_id": s3}).json["consultant_id"] == s3
    assert api.get(f"{LEADS}/leads/{lead}", as_=f"{PD}.sales3").status_code == 200
    api.put(f"{LEADS}/stores/{store}/options", as_=MGR, json={"round_robin": True})
    owners = [new_lead(api, MGR)["consultant_id"] for _ in range(5)]
    assert len(set(owners)) == 5 and None not in owners
    # sales3 leaves: all their open leads go to sales4 in one action, and stay with the store
    mine = {x["id"] for x in api.get(f"{LEADS}/leads", as_=f"{PD}.sales3").json}
    s4 = uid(api, f"{PD}.sales4")
    r = api.post(f"{LEADS}/stores/{store}/reassign", as_=MGR, json={"from_consultant_id": s3, "to_consultant_id": s4})
    assert r.json["moved"] == len(mine)
    assert api.get(f"{LEADS}/leads", as_=f"{PD}.sales3").json == []
    assert mine <= {x["id"] for x in api.get(f"{LEADS}/leads", as_=f"{PD}.sales4",
                                             query_string={"per_page": 200}).json}
    api.put(f"{LEADS}/stores/{store}/options", as_=MGR, json={"round_robin": False})


def test_funnel_and_refill(api):
    store = store_id(PD)
    api.put(f"{LEADS}/stores/{store}/options", as_=MGR, json={"weekly_sales_target": 5})
    f = api.get(f"{LEADS}/stores/{store}/funnel", as_=MGR).json
    assert [s["key"] for s in f["steps"]] == ["new_leads", "test_drives", "orders", "deliveries"]
    assert f["refill_per_week"] >= 5 and f["close_ratio"] is not None


def test_card_audit_confirms_regrades_and_closes_in_bulk(api, frozen_clock):
    from tests.leads.helpers import sh

    me = f"{PD}.sales5"
    api.token(me)
    frozen_clock.travel_to(sh(2026, 9, 1, 10))
    old = [new_lead(api, me)["id"] for _ in range(3)]
    frozen_clock.travel_to(sh(2026, 10, 15, 10))
    stale = {x["id"] for x in api.get(f"{LEADS}/leads", as_=MGR, query_string={"stale": "true", "per_page": 200}).json}
    assert set(old) <= stale
    assert api.post(f"{LEADS}/audit", as_=MGR, json={"lead_ids": old[:1], "action": "confirm"}).json["done"] == 1
    api.post(f"{LEADS}/audit", as_=MGR, json={"lead_ids": old[1:2], "action": "grade", "level": "C"})
    api.post(f"{LEADS}/audit", as_=MGR, json={"lead_ids": old[2:], "action": "close", "reason": "number dead"})
    levels = [api.get(f"{LEADS}/leads/{x}", as_=MGR).json["level"] for x in old]
    assert levels == ["N", "C", "invalid"]
