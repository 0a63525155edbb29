"""Dates no dealer records and page numbers no list has are a 422 naming the field, and nothing is written."""
from __future__ import annotations

import pytest

from tests.conftest import store_id
from tests.leads.helpers import LEADS, new_lead, phone

PD = "sh-lexus-xh"
ME, MGR = f"{PD}.sales1", f"{PD}.manager"
FAR, EARLY = "9999-12-31", "0001-01-01"
FAR_AT, EARLY_AT = "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+08:00"


@pytest.fixture(scope="module")
def order(api) -> dict:
    lead = new_lead(api, ME)["id"]
    r = api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={"model": "ES", "price": "300000",
                                                               "payment_method": "cash"})
    assert r.status_code == 201, r.json
    return r.json


def _total(api) -> str:
    return api.get(f"{LEADS}/leads", as_=MGR).headers["X-Total-Count"]


@pytest.mark.parametrize("field, value", [("time_in", FAR_AT), ("time_in", EARLY_AT), ("time_out", FAR_AT)])
def test_a_visit_at_the_end_of_time_is_refused(api, field, value):
    before = _total(api)
    r = api.post(f"{LEADS}/visits", as_=ME, json={"kind": "walk_in", "name": "时间旅人", "phone": phone(),
                                                  "time_in": "2026-11-20T10:00:00+08:00", field: value})
    assert r.status_code == 422 and field in r.json["errors"], r.get_data(as_text=True)
    assert _total(api) == before


@pytest.mark.parametrize("field, value", [("at", EARLY_AT), ("next_planned_at", FAR_AT), ("next_planned_at", EARLY_AT)])
def test_a_follow_up_at_the_end_of_time_is_refused(api, field, value):
    lead = new_lead(api, ME)["id"]
    r = api.post(f"{LEADS}/leads/{lead}/follow-ups", as_=ME, json={"kind": "call", "outcome": "reached", field: value})
    assert r.status_code == 422 and field in r.json["errors"], r.get_data(as_text=True)
    assert api.get(f"{LEADS}/leads/{lead}/follow-ups", as_=ME).json == []


def test_orders_deliveries_drives_and_campaigns_at_the_end_of_time_are_refused(api, order):
    lead = new_lead(api, ME)["id"]
    cases = [
        (f"{LEADS}/leads/{lead}/orders", {"model": "ES", "price": "1", "payment_method": "cash",
                                          "expected_delivery": FAR}, "expected_delivery", ME),
        (f"{LEADS}/orders/{order['id']}/delivery", {"vin": "LSVAA4187E2123456", "delivered_on": FAR},
         "delivered_on", ME),
        (f"{LEADS}/orders/{order['id']}/delivery", {"vin": "LSVAA4187E2123456", "delivered_on": EARLY},
         "delivered_on", ME),
        (f"{LEADS}/leads/{lead}/test-drives", {"model": "ES", "booked_for": EARLY_AT}, "booked_for", ME),
        (f"{LEADS}/campaigns", {"name": "末日", "channel": "event", "starts_on": "2026-11-01", "ends_on": FAR},
         "ends_on", MGR),
    ]
    for path, body, field, user in cases:
        r = api.post(path, as_=user, json=body)
        assert r.status_code == 422 and field in r.json["errors"], (path, r.get_data(as_text=True))
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["level"] == "N"


@pytest.mark.parametrize("day", [FAR, EARLY])
def test_a_daily_report_for_a_day_out_of_time_is_refused(api, day):
    r = api.post(f"{LEADS}/reports", as_=ME, json={"day": day, "figures": {"calls": 1}})
    assert r.status_code == 422 and "day" in r.json["errors"], r.get_data(as_text=True)
    r = api.get(f"{LEADS}/reports/draft", as_=ME, query_string={"day": day})
    assert r.status_code == 422 and "day" in r.json["errors"], r.get_data(as_text=True)
    assert api.get("/leads/reports", as_=ME, query_string={"day": day}).status_code == 200  # shows today


@pytest.mark.parametrize("path", ["leads", "campaigns", "leads/export"])
def test_a_page_number_past_any_list_is_a_422(api, path):
    r = api.get(f"{LEADS}/{path}", as_=MGR, query_string={"page": str(2**63)})
    assert r.status_code == 422 and "page" in r.json["errors"], r.get_data(as_text=True)


@pytest.mark.parametrize("query", [{"page": str(2**63)}, {"page": "abc"}])
def test_the_lead_page_refuses_a_page_number_it_cannot_have(api, query):
    assert api.get("/leads/", as_=MGR, query_string=query).status_code == 422


@pytest.mark.parametrize("days", ["abc", str(10**12), "0"])
def test_the_funnel_refuses_a_period_it_cannot_count(api, days):
    r = api.get(f"{LEADS}/stores/{store_id(PD)}/funnel", as_=MGR, query_string={"days": days})
    assert r.status_code == 422 and "days" in r.json["errors"], r.get_data(as_text=True)


@pytest.mark.parametrize("next_day", [FAR, EARLY, "2026-13-45"])
def test_a_page_form_with_a_date_out_of_time_says_so_and_saves_nothing(api, next_day):
    lead = new_lead(api, ME)["id"]
    r = api.post(f"/leads/{lead}/act/follow_up", as_=ME,
                 data={"kind": "call", "outcome": "reached", "next_day": next_day})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/leads/{lead}")
    assert "下次联系日期" in api.get(f"/leads/{lead}", as_=ME).get_data(as_text=True)  # the field, as the form names it
    assert api.get(f"{LEADS}/leads/{lead}/follow-ups", as_=ME).json == []
