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


def test_every_page_tells_the_total_of_the_callers_leads_and_a_page_past_the_end_is_empty(api):
    me = f"{PD}.sales2"
    for _ in range(3):
        new_lead(api, me)
    every = api.get(f"{LEADS}/leads", as_=me, query_string={"per_page": 200})
    total = int(every.headers["X-Total-Count"])
    assert total == len(every.json) >= 3
    pages = [api.get(f"{LEADS}/leads", as_=me, query_string={"per_page": 2, "page": n}) for n in (1, 2)]
    assert [int(r.headers["X-Total-Count"]) for r in pages] == [total, total]
    assert [x["id"] for r in pages for x in r.json] == [x["id"] for x in every.json][:4]
    past = api.get(f"{LEADS}/leads", as_=me, query_string={"per_page": 2, "page": total // 2 + 2})
    assert past.status_code == 200 and past.json == [] and past.headers["X-Total-Count"] == str(total)
    nobody = api.get(f"{LEADS}/leads", as_=me, query_string={"q": "无此人的名字"})
    assert nobody.json == [] and nobody.headers["X-Total-Count"] == "0"


def test_the_list_answers_what_the_lead_entities_dumped_answer(api, platform):
    """The API's list reads the lead's columns, not ORM entities (issue 16): for every role, filter and page,
    its JSON is the same bytes as `LeadOut` dumping the entities of the same query in the caller's scope
    (masking included), and it still sees only the caller's leads."""
    from flask import g
    from marshmallow import Schema

    from services.leads.schemas import LeadOut
    from services.leads.views import lead_query, page_of
    from shared.auth import current_principal

    new_lead(api, f"{PD}.sales1", name="李雷 Li", note="备注 “引号”", model=None)
    new_lead(api, f"{XH}.sales1", name="韩梅梅")
    app, db = platform.apps["leads"], platform.runtimes["leads"].db
    cases = [("hq.admin", {}), ("hq.admin", {"store_id": store_id(PD)}), (f"{PD}.manager", {}),
             (f"{PD}.sales1", {}), (f"{PD}.sales1", {"q": "李雷"}), (f"{XH}.manager", {"open": "true"}),
             (f"{PD}.manager", {"per_page": 2, "page": 2}), ("hq.analyst", {"level": "N"})]
    for who, params in cases:
        query = {"per_page": 200, **params}
        r = api.get(f"{LEADS}/leads", as_=who, query_string=query)
        assert r.status_code == 200 and r.json, (who, params)
        with app.test_request_context(headers=api.headers(who)):
            app.preprocess_request()  # signs the caller in, as a request does
            p = current_principal()
            q = {"page": 1, "per_page": 200, **params, **({"open": True} if "open" in params else {})}
            with db.session(p.scope) as s:
                entities, total = page_of(s, lead_query(q, viewer=p), int(q["page"]), int(q["per_page"]))
                expected = app.json.response(Schema.dump(LeadOut(many=True), entities)).get_data()  # marshmallow's own
            assert g.principal is p
        assert r.get_data() == expected, (who, params)
        assert r.headers["X-Total-Count"] == str(total)
        if who.endswith("sales1"):
            assert {x["consultant_id"] for x in r.json} == {p.user_id}
        if who.startswith(PD):
            assert {x["store_id"] for x in r.json} == {store_id(PD)}
