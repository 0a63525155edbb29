"""Cadence through the API: due dates from the last contact, the overdue list in Shanghai time, group settings."""
from __future__ import annotations

from tests.conftest import store_id
from tests.leads.helpers import LEADS, events, new_lead, sh

PD = "sh-toyota-pd"
ME = f"{PD}.sales5"


def overdue_ids(api, as_=ME, **params) -> set[str]:
    r = api.get(f"{LEADS}/leads", as_=as_, query_string={"overdue": "true", "per_page": 200, **params})
    assert r.status_code == 200, r.json
    return {x["id"] for x in r.json}


def a_lead_contacted_at(api, clock, when) -> str:
    clock.travel_to(when)
    lead = new_lead(api, ME)["id"]
    assert api.post(f"{LEADS}/leads/{lead}/grade", as_=ME,
                    json={"level": "A", "signals": ["says_will_buy"], "reason": "wants a RAV4"}).status_code == 200
    r = api.post(f"{LEADS}/leads/{lead}/follow-ups", as_=ME, json={"kind": "call", "outcome": "reached"})
    assert r.status_code == 201, r.json
    return lead


def test_a_lead_contacted_monday_is_due_thursday_and_overdue_from_friday(api, frozen_clock):
    lead = a_lead_contacted_at(api, frozen_clock, sh(2026, 11, 16, 10))  # Monday
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["due_on"] == "2026-11-19"
    frozen_clock.travel_to(sh(2026, 11, 19, 23, 50))
    assert lead not in overdue_ids(api)
    frozen_clock.travel_to(sh(2026, 11, 20, 0, 10))
    assert lead in overdue_ids(api) and lead in overdue_ids(api, as_=f"{PD}.manager", level="A")
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["overdue"] is True
    # a call moves the cadence on: no longer overdue
    api.post(f"{LEADS}/leads/{lead}/follow-ups", as_=ME, json={"kind": "call", "outcome": "reached"})
    assert lead not in overdue_ids(api)


def test_overdue_list_is_right_across_the_time_zone_boundary(api, frozen_clock):
    # 01:30 Tuesday in Shanghai is Monday 17:30 UTC: the contact counts for Tuesday, so due Friday
    lead = a_lead_contacted_at(api, frozen_clock, sh(2026, 11, 17, 1, 30))
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["due_on"] == "2026-11-20"
    frozen_clock.travel_to(sh(2026, 11, 20, 23, 30))  # Friday night in Shanghai, Friday 15:30 UTC
    assert lead not in overdue_ids(api)
    frozen_clock.travel_to(sh(2026, 11, 21, 0, 30))  # Saturday in Shanghai, still Friday in UTC
    assert lead in overdue_ids(api)


def test_changing_the_groups_cadence_changes_due_dates(api, frozen_clock):
    lead = a_lead_contacted_at(api, frozen_clock, sh(2026, 11, 16, 10))
    assert api.put(f"{LEADS}/settings", as_=f"{PD}.manager", json={"cadence_days": {"A": 2}}).status_code == 403
    try:
        r = api.put(f"{LEADS}/settings", as_="hq.admin", json={"cadence_days": {"A": 2}})
        assert r.status_code == 200 and r.json["cadence_days"]["A"] == 2
        assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["due_on"] == "2026-11-18"
        frozen_clock.travel_to(sh(2026, 11, 19, 9))
        assert lead in overdue_ids(api)
        assert api.get(f"{LEADS}/settings", as_=f"{PD}.manager").json["cadence_days"]["A"] == 2
    finally:
        api.put(f"{LEADS}/settings", as_="hq.admin", json={"cadence_days": {"A": 3}})
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["due_on"] == "2026-11-19"


def test_level_change_keeps_who_when_why_and_signals(api, platform):
    lead = new_lead(api, ME)["id"]
    api.post(f"{LEADS}/leads/{lead}/grade", as_=ME, json={"level": "B", "signals": ["qualified_buyer"]})
    api.post(f"{LEADS}/leads/{lead}/grade", as_=ME,
             json={"level": "H", "signals": ["purchase_date_fixed"], "reason": "buys Saturday"})
    hist = api.get(f"{LEADS}/leads/{lead}/levels", as_=ME).json
    assert [(h["from_level"], h["to_level"]) for h in hist] == [("N", "B"), ("B", "H")]
    assert hist[1]["signals"] == ["purchase_date_fixed"] and hist[1]["reason"] == "buys Saturday" and hist[1]["actor"]
    assert any(e["data"]["lead_id"] == lead and e["data"]["to_level"] == "H"
               for e in events(platform, "leads.lead.level_changed"))
    r = api.post(f"{LEADS}/leads/{lead}/grade", as_=ME, json={"level": "O"})
    assert r.status_code == 422


def test_first_response_time_and_sla_breach_on_the_board(api, frozen_clock, platform):
    frozen_clock.travel_to(sh(2026, 11, 16, 17, 55))  # an online lead just before closing time
    fast = new_lead(api, f"{PD}.manager", source="online")["id"]
    slow = new_lead(api, f"{PD}.manager", source="online")["id"]
    frozen_clock.travel_to(sh(2026, 11, 17, 9, 5))  # next morning: 10 business minutes later
    api.put(f"{LEADS}/leads/{fast}/consultant", as_=f"{PD}.manager",
            json={"consultant_id": api.get("/identity/api/v1/auth/me", as_=ME).json["user_id"]})
    api.post(f"{LEADS}/leads/{fast}/follow-ups", as_=ME, json={"kind": "call", "outcome": "reached"})
    got = api.get(f"{LEADS}/leads/{fast}", as_=ME).json
    assert got["response_seconds"] == 600 and got["within_sla"] is True
    frozen_clock.travel_to(sh(2026, 11, 17, 9, 30))
    board = api.get(f"{LEADS}/stores/{store_id(PD)}/board", as_=f"{PD}.manager").json
    assert slow in board["sla_breaches"] and fast not in board["sla_breaches"]
    fu = [e for e in events(platform, "leads.followup.logged") if e["data"]["lead_id"] == fast][0]
    assert fu["data"]["first_contact"] and fu["data"]["response_seconds"] == 600 and fu["data"]["within_sla"]
