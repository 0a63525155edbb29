"""Who sees which leads: a consultant their own, a manager the store's, HQ the group's; others get 404."""
from __future__ import annotations

from tests.conftest import store_id
from tests.leads.helpers import LEADS, new_lead

PD, XH = "sh-toyota-pd", "sh-lexus-xh"


def ids(api, as_, **params) -> set[str]:
    r = api.get(f"{LEADS}/leads", as_=as_, query_string={"per_page": 200, **params})
    assert r.status_code == 200, r.json
    return {x["id"] for x in r.json}


def test_consultant_sees_own_leads_manager_the_store_hq_the_group(api):
    mine = new_lead(api, f"{PD}.sales1")["id"]
    colleague = new_lead(api, f"{PD}.sales2")["id"]
    other_store = new_lead(api, f"{XH}.sales1")["id"]
    assert mine in ids(api, f"{PD}.sales1") and colleague not in ids(api, f"{PD}.sales1")
    assert {mine, colleague} <= ids(api, f"{PD}.manager") and other_store not in ids(api, f"{PD}.manager")
    assert {mine, colleague, other_store} <= ids(api, "hq.admin")
    assert other_store not in ids(api, "hq.admin", store_id=store_id(PD))


def test_another_stores_lead_is_404_in_the_api_and_on_pages(api):
    lead = new_lead(api, f"{PD}.sales1")["id"]
    for who in (f"{XH}.manager", f"{XH}.sales1", f"{PD}.sales2"):
        assert api.get(f"{LEADS}/leads/{lead}", as_=who).status_code == 404
        assert api.post(f"{LEADS}/leads/{lead}/grade", as_=who, json={"level": "A"}).status_code == 404
        assert api.post(f"{LEADS}/leads/{lead}/follow-ups", as_=who,
                        json={"kind": "call", "outcome": "reached"}).status_code == 404
        assert api.get(f"/leads/{lead}", as_=who).status_code == 404
    assert api.get(f"/leads/{lead}", as_=f"{PD}.manager").status_code == 200
    assert api.get(f"{LEADS}/leads/{lead}", as_="hq.analyst").status_code == 200


def test_hq_must_name_the_store_and_store_roles_cannot_pick_another(api):
    r = api.post(f"{LEADS}/leads", as_="hq.admin", json={"name": "王", "phone": "13800000001", "source": "online"})
    assert r.status_code == 422 and "store_id" in r.json["errors"]
    r = api.post(f"{LEADS}/leads", as_=f"{PD}.manager",
                 json={"name": "王", "phone": "13800000001", "source": "online", "store_id": store_id(XH)})
    assert r.status_code == 404


def test_idempotency_key_returns_the_first_lead(api):
    body = {"name": "赵六", "phone": "13600136000", "source": "phone_in"}
    h = {"Idempotency-Key": "k-scope-1"}
    a = api.post(f"{LEADS}/leads", as_=f"{PD}.sales1", json=body, headers=h)
    b = api.post(f"{LEADS}/leads", as_=f"{PD}.sales1", json=body, headers=h)
    assert a.status_code == 201 and b.status_code == 201 and a.json["id"] == b.json["id"]


def test_bad_input_is_422_with_field_errors_and_nothing_written(api):
    before = api.get(f"{LEADS}/leads", as_=f"{PD}.manager").headers["X-Total-Count"]
    r = api.post(f"{LEADS}/leads", as_=f"{PD}.sales1", json={"name": " ", "phone": "12", "source": "tiktok"})
    assert r.status_code == 422 and {"name", "phone", "source"} <= set(r.json["errors"])
    assert api.get(f"{LEADS}/leads", as_=f"{PD}.manager").headers["X-Total-Count"] == before


def test_exports_follow_the_read_scope_and_are_off_for_consultants_until_allowed(api):
    mine = new_lead(api, f"{PD}.sales3", name="导出客户")["id"]
    other = new_lead(api, f"{XH}.sales1")["id"]
    r = api.get(f"{LEADS}/leads/export", as_=f"{PD}.sales3")
    assert r.status_code == 403
    r = api.get(f"{LEADS}/leads/export", as_=f"{PD}.manager")
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and mine in text and other not in text and "导出客户" in text
    assert api.put(f"{LEADS}/stores/{store_id(PD)}/options", as_=f"{PD}.manager",
                   json={"consultants_may_export": True}).status_code == 200
    r = api.get(f"{LEADS}/leads/export", as_=f"{PD}.sales3", query_string={"format": "xlsx"})
    assert r.status_code == 200 and r.data[:2] == b"PK"
    from io import BytesIO

    from openpyxl import load_workbook

    cells = {c.value for row in load_workbook(BytesIO(r.data)).active.iter_rows() for c in row}
    assert mine in cells and other not in cells
    # a consultant's export holds only their own leads
    colleague = new_lead(api, f"{PD}.sales4")["id"]
    r = api.get(f"{LEADS}/leads/export", as_=f"{PD}.sales3")
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and mine in text and colleague not in text
