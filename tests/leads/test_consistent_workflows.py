"""Workflows that cannot contradict themselves (issue 13): orders against defeats, orders read, listed and
cancelled, delivery dates, a planned contact kept through re-grading and cadence changes."""
from __future__ import annotations

from datetime import timedelta

from tests.leads.helpers import LEADS, events, new_lead, sh

PD = "sh-toyota-pd"
ME, OTHER, MGR = f"{PD}.sales3", f"{PD}.sales4", f"{PD}.manager"
ORDER = {"model": "RAV4", "price": "189800", "deposit": "5000", "payment_method": "cash"}


def order_on(api, lead: str, as_: str = ME) -> dict:
    r = api.post(f"{LEADS}/leads/{lead}/orders", as_=as_, json=ORDER)
    assert r.status_code == 201, r.json
    return r.json


def test_an_order_withdraws_a_pending_defeat_and_the_manager_cannot_then_approve_it(api, platform):
    lead = new_lead(api, ME)["id"]
    d = api.post(f"{LEADS}/leads/{lead}/defeat", as_=ME, json={"reason": "price"}).json
    order_on(api, lead)
    got = api.get(f"{LEADS}/leads/{lead}", as_=ME).json
    assert got["level"] == "O" and got["defeat_pending"] is False
    assert d["id"] not in {x["id"] for x in api.get(f"{LEADS}/defeats", as_=MGR).json}
    r = api.post(f"{LEADS}/defeats/{d['id']}/decision", as_=MGR, json={"approve": True})
    assert r.status_code == 409, r.json
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["level"] == "O"
    withdrawn = [e for e in events(platform, "leads.defeat.withdrawn") if e["data"]["lead_id"] == lead]
    assert [e["data"]["why"] for e in withdrawn] == ["order_signed"]


def test_a_lead_with_a_signed_order_cannot_be_defeated(api):
    lead = new_lead(api, ME)["id"]
    order_on(api, lead)
    r = api.post(f"{LEADS}/leads/{lead}/defeat", as_=ME, json={"reason": "price"})
    assert r.status_code == 409 and r.json["code"] == "has_order"


def test_orders_are_read_and_listed_within_the_callers_scope(api):
    lead = new_lead(api, ME)["id"]
    order = order_on(api, lead)
    one = api.get(f"{LEADS}/orders/{order['id']}", as_=ME)
    assert one.status_code == 200 and one.json["lead_id"] == lead and one.json["status"] == "placed"
    assert api.get(f"{LEADS}/orders/{order['id']}", as_=MGR).status_code == 200
    assert api.get(f"{LEADS}/orders/{order['id']}", as_="hq.analyst").status_code == 200
    assert api.get(f"{LEADS}/orders/{order['id']}", as_=OTHER).status_code == 404  # a colleague's lead
    assert api.get(f"{LEADS}/orders/{order['id']}", as_="sh-lexus-xh.manager").status_code == 404
    mine = api.get(f"{LEADS}/orders", as_=ME, query_string={"status": "placed", "per_page": 200})
    assert mine.status_code == 200 and order["id"] in {o["id"] for o in mine.json}
    assert int(mine.headers["X-Total-Count"]) >= 1
    assert order["id"] not in {o["id"] for o in api.get(f"{LEADS}/orders", as_=OTHER,
                                                            query_string={"per_page": 200}).json}
    assert order["id"] not in {o["id"] for o in api.get(f"{LEADS}/orders", as_="sh-lexus-xh.manager",
                                                            query_string={"per_page": 200}).json}
    by_lead = api.get(f"{LEADS}/orders", as_=MGR, query_string={"lead_id": lead}).json
    assert [o["id"] for o in by_lead] == [order["id"]]
    assert api.get(f"{LEADS}/orders", as_=MGR, query_string={"status": "lost"}).status_code == 422


def test_an_order_is_cancelled_with_a_reason_and_the_lead_goes_back_to_its_level(api, platform):
    lead = new_lead(api, ME)["id"]
    api.post(f"{LEADS}/leads/{lead}/grade", as_=ME, json={"level": "H", "signals": ["purchase_date_fixed"]})
    order = order_on(api, lead)
    assert api.post(f"{LEADS}/orders/{order['id']}/cancellation", as_=ME, json={}).status_code == 422
    assert api.post(f"{LEADS}/orders/{order['id']}/cancellation", as_=OTHER,
                    json={"reason": "x"}).status_code == 404
    assert api.get(f"{LEADS}/orders/{order['id']}", as_=ME).json["status"] == "placed"
    r = api.post(f"{LEADS}/orders/{order['id']}/cancellation", as_=ME, json={"reason": "客户资金不足"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "cancelled" and r.json["cancel_reason"] == "客户资金不足" and r.json["cancelled_at"]
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["level"] == "H"
    again = api.post(f"{LEADS}/orders/{order['id']}/cancellation", as_=ME, json={"reason": "twice"})
    assert again.status_code == 409
    assert api.post(f"{LEADS}/orders/{order['id']}/delivery", as_=ME,
                    json={"vin": "LSVAA4187E2123456", "delivered_on": "2026-11-01"}).status_code == 409
    ev = [e for e in events(platform, "leads.order.cancelled") if e["data"]["lead_id"] == lead]
    assert len(ev) == 1 and ev[0]["data"]["order_id"] == order["id"] and ev[0]["data"]["reason"] == "客户资金不足"
    # the lead is open again: graded and ordered anew
    assert api.post(f"{LEADS}/leads/{lead}/grade", as_=ME, json={"level": "A"}).status_code == 200
    order_on(api, lead)
    listed = api.get(f"{LEADS}/orders", as_=MGR, query_string={"lead_id": lead}).json
    assert sorted(o["status"] for o in listed) == ["cancelled", "placed"]


def test_a_delivery_is_dated_between_the_order_and_today(api, frozen_clock):
    frozen_clock.travel_to(sh(2026, 11, 10, 11))
    lead = new_lead(api, ME)["id"]
    order = order_on(api, lead)
    frozen_clock.travel_to(sh(2026, 11, 20, 15))
    url = f"{LEADS}/orders/{order['id']}/delivery"
    for day in ("2026-11-25", "2026-11-21", "2026-11-07", "2026-11-09"):
        r = api.post(url, as_=ME, json={"vin": "LSVAA4187E2123456", "delivered_on": day})
        assert r.status_code == 422 and "delivered_on" in r.json["errors"], (day, r.json)
    assert api.get(f"{LEADS}/orders/{order['id']}", as_=ME).json["status"] == "placed"
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["level"] == "O"
    r = api.post(url, as_=ME, json={"vin": "LSVAA4187E2123456", "delivered_on": "2026-11-10"})
    assert r.status_code == 200 and r.json["delivered_on"] == "2026-11-10"


def test_a_delivery_today_is_accepted(api, frozen_clock):
    frozen_clock.travel_to(sh(2026, 11, 12, 23, 50))  # late evening in Shanghai, still the 12th
    lead = new_lead(api, ME)["id"]
    order = order_on(api, lead)
    r = api.post(f"{LEADS}/orders/{order['id']}/delivery", as_=ME,
                 json={"vin": "LSVAA4187E2123457", "delivered_on": "2026-11-12"})
    assert r.status_code == 200, r.json


def test_a_planned_contact_survives_the_regrading_in_the_same_follow_up(api, frozen_clock):
    frozen_clock.travel_to(sh(2026, 11, 16, 10))
    lead = new_lead(api, ME)["id"]
    r = api.post(f"{LEADS}/leads/{lead}/follow-ups", as_=ME, json={
        "kind": "call", "outcome": "reached", "level": "B", "signals": ["qualified_buyer"],
        "next_planned_at": sh(2026, 11, 18, 10).isoformat()})
    assert r.status_code == 201, r.json
    got = api.get(f"{LEADS}/leads/{lead}", as_=ME).json
    assert got["level"] == "B" and got["due_on"] == "2026-11-18" and got["planned_on"] == "2026-11-18"
    # the next real contact fulfils the plan: the level's cadence applies again
    frozen_clock.advance(timedelta(days=2))
    api.post(f"{LEADS}/leads/{lead}/follow-ups", as_=ME, json={"kind": "call", "outcome": "reached"})
    got = api.get(f"{LEADS}/leads/{lead}", as_=ME).json
    assert got["due_on"] == "2026-11-25" and got["planned_on"] is None


def test_a_cadence_change_by_hq_never_moves_a_planned_contact(api, frozen_clock, platform):
    frozen_clock.travel_to(sh(2026, 11, 16, 10))
    planned = new_lead(api, ME)["id"]
    api.post(f"{LEADS}/leads/{planned}/follow-ups", as_=ME, json={
        "kind": "call", "outcome": "reached", "level": "B", "next_planned_at": sh(2026, 11, 19, 10).isoformat()})
    plain = new_lead(api, ME)["id"]
    api.post(f"{LEADS}/leads/{plain}/follow-ups", as_=ME, json={"kind": "call", "outcome": "reached", "level": "B"})
    assert api.get(f"{LEADS}/leads/{plain}", as_=ME).json["due_on"] == "2026-11-23"
    try:
        assert api.put(f"{LEADS}/settings", as_="hq.admin", json={"cadence_days": {"B": 5}}).status_code == 200
        assert api.get(f"{LEADS}/leads/{planned}", as_=ME).json["due_on"] == "2026-11-19"
        assert api.get(f"{LEADS}/leads/{plain}", as_=ME).json["due_on"] == "2026-11-21"
    finally:
        api.put(f"{LEADS}/settings", as_="hq.admin", json={"cadence_days": {"B": 7}})
    assert api.get(f"{LEADS}/leads/{planned}", as_=ME).json["due_on"] == "2026-11-19"
    moved = [e["data"] for e in events(platform, "leads.lead.due_changed") if e["data"]["lead_id"] == plain]
    assert [m["due_on"] for m in moved][-2:] == ["2026-11-21", "2026-11-23"]
