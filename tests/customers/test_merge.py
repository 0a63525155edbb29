"""Merging two records of one person is reversible: unmerge restores both records and all their links."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from services.customers.adapters.models import (Activity, Customer, CustomerLead, Identifier, InsurancePolicy, ServiceVisit,
                                       StoreRelationship, Vehicle)
from tests.conftest import store_id

from .helpers import feed, id_number, mobile, outbox_events, system_session, vin

VOLATILE = {"updated_at"}
EVENT_KINDS = {"merged", "unmerged", "consent"}


def _state(platform, customer_id: str) -> dict:
    """Everything that hangs off one customer, as comparable values."""
    def rows(s, model, skip=()):
        return sorted(tuple(sorted((k, str(v)) for k, v in vars(r).items() if not k.startswith("_")
                                   and k not in skip)) for r in s.scalars(select(model).where(
                                       model.customer_id == customer_id)))

    with system_session(platform) as s:
        c = s.get(Customer, customer_id)
        return {
            "customer": {k: v for k, v in vars(c).items() if not k.startswith("_") and k not in VOLATILE},
            "identifiers": rows(s, Identifier), "vehicles": rows(s, Vehicle), "visits": rows(s, ServiceVisit),
            "policies": rows(s, InsurancePolicy), "leads": rows(s, CustomerLead, ("updated_at",)),
            "relationships": rows(s, StoreRelationship, ("last_seen_at",)),
            "timeline": sorted(x for x in rows(s, Activity) if dict(x)["kind"] not in EVENT_KINDS),
        }


def _customer_with_history(platform, api, name: str, store: str, brand: str) -> str:
    phone, car = mobile(), vin()
    lead = str(uuid.uuid4())
    feed(platform, "leads.lead.created", {"lead_id": lead, "name": name, "phone": phone, "source": "walk_in",
                                          "level": "A"}, store=store, brand=brand)
    r = api.post("/customers/api/v1/service-visits", as_="hq.admin", json={
        "customer_name": name, "phone": phone, "store_id": store_id(store), "repair_order": uuid.uuid4().hex[:10],
        "visit_date": "2026-09-01", "kind": "repair", "vin": car, "amount": "1500"})
    assert r.status_code == 201, r.json
    api.post("/customers/api/v1/insurance-policies", as_="hq.admin", json={
        "customer_name": name, "vin": car, "id_number": id_number(), "policy_no": uuid.uuid4().hex[:12],
        "insurer": "人保", "starts_on": "2026-02-01", "ends_on": "2027-01-31", "premium": "4300"})
    return r.json["customer_id"]


def test_merge_then_unmerge_restores_both_records_and_all_links(customers_ready, api):
    platform = customers_ready
    a = _customer_with_history(platform, api, "孙三", "sh-toyota-pd", "toyota")
    b = _customer_with_history(platform, api, "孙三", "sh-lexus-xh", "lexus")
    # the same store knows both records: the relationships collide and must come apart again
    feed(platform, "leads.lead.created", {"lead_id": str(uuid.uuid4()), "name": "孙三",
                                          "phone": _state(platform, b)["customer"]["phone"],
                                          "source": "phone_in", "level": "C"}, store="sh-toyota-pd", brand="toyota")
    assert api.put(f"/customers/api/v1/customers/{b}/consent", as_="hq.admin",
                   json={"consent": {"sms": False}}).status_code == 200
    before = {a: _state(platform, a), b: _state(platform, b)}

    r = api.post(f"/customers/api/v1/customers/{a}/merge", as_="hq.admin", json={"other_id": b, "reason": "同一人"})
    assert r.status_code == 200, r.json
    merge_id = r.json["id"]
    merged = _state(platform, a)
    assert len(merged["vehicles"]) == 2 and len(merged["relationships"]) == 2
    assert merged["customer"]["consent"]["sms"] is False  # the strictest opt-out survives the merge
    assert api.get(f"/customers/api/v1/customers/{b}/360", as_="cc.agent1").json["profile"]["id"] == a
    assert any(e["data"]["merged_id"] == b for e in outbox_events(platform, "customers.customer.merged"))

    r = api.post(f"/customers/api/v1/merges/{merge_id}/unmerge", as_="hq.admin")
    assert r.status_code == 200, r.json
    after = {a: _state(platform, a), b: _state(platform, b)}
    assert after == before
    assert api.post(f"/customers/api/v1/merges/{merge_id}/unmerge", as_="hq.admin").status_code == 409
    assert any(e["data"]["restored_id"] == b for e in outbox_events(platform, "customers.customer.unmerged"))


def test_an_opt_out_given_while_merged_survives_the_unmerge(customers_ready, api):
    platform = customers_ready
    a = _customer_with_history(platform, api, "周四", "hz-vw-xh", "vw")
    b = _customer_with_history(platform, api, "周四", "sh-vw-jd", "vw")
    merge_id = api.post(f"/customers/api/v1/customers/{a}/merge", as_="hq.admin", json={"other_id": b}).json["id"]
    api.put(f"/customers/api/v1/customers/{a}/consent", as_="hq.admin", json={"do_not_call": True})
    api.post(f"/customers/api/v1/merges/{merge_id}/unmerge", as_="hq.admin")
    assert _state(platform, a)["customer"]["do_not_call"] is True
    assert _state(platform, b)["customer"]["do_not_call"] is True


def test_review_queue_merge_and_reject(customers_ready, api):
    platform = customers_ready
    p1 = mobile()
    p2 = p1[:3] + ("2222" if p1[3:7] != "2222" else "3333") + p1[7:]
    for phone in (p1, p2):
        feed(platform, "leads.lead.created", {"lead_id": str(uuid.uuid4()), "name": "吴五", "phone": phone,
                                              "source": "walk_in"}, store="nb-vw-yz", brand="vw")
    queue = api.get("/customers/api/v1/matches", as_="nb-vw-yz.manager").json
    mine = [m for m in queue if m["reason"] == "name_phone_tail"]
    assert mine, queue
    assert api.get("/customers/api/v1/matches", as_="sh-toyota-pd.manager").json == [] or all(
        m["id"] != mine[0]["id"] for m in api.get("/customers/api/v1/matches", as_="sh-toyota-pd.manager").json)
    assert api.post(f"/customers/api/v1/matches/{mine[0]['id']}/merge", as_="sh-toyota-pd.manager",
                    json={}).status_code == 404
    r = api.post(f"/customers/api/v1/matches/{mine[0]['id']}/reject", as_="nb-vw-yz.manager")
    assert r.status_code == 200 and r.json["status"] == "rejected"
    assert api.post(f"/customers/api/v1/matches/{mine[0]['id']}/merge", as_="nb-vw-yz.manager",
                    json={}).status_code == 409
    assert api.get("/customers/api/v1/matches", as_="nb-vw-yz.sales1").status_code == 403


def _pair_at(platform, api, store: str, brand: str, also_at: tuple[str, str] | None = None) -> tuple[dict, list]:
    """Two records with one name and the same last four digits at a store (a pair to review); the first one
    also known at `also_at` when given."""
    p1 = mobile()
    p2 = p1[:3] + ("4444" if p1[3:7] != "4444" else "5555") + p1[7:]
    name = f"何{uuid.uuid4().hex[:4]}"
    for phone in (p1, p2):
        feed(platform, "leads.lead.created", {"lead_id": str(uuid.uuid4()), "name": name, "phone": phone,
                                              "source": "walk_in"}, store=store, brand=brand)
    if also_at:
        feed(platform, "leads.lead.created", {"lead_id": str(uuid.uuid4()), "name": name, "phone": p1,
                                              "source": "walk_in"}, store=also_at[0], brand=also_at[1])
    with system_session(platform) as s:
        ids = [s.scalar(select(Customer.id).where(Customer.phone == f"+86{p}")) for p in (p1, p2)]
    pair = next(m for m in api.get("/customers/api/v1/matches?per_page=200", as_="hq.admin").json
                if {m["customer_a"], m["customer_b"]} == set(ids))
    return pair, ids


def test_a_store_manager_merges_only_records_their_own_store_alone_knows(customers_ready, api):
    """One rule for the API and the page: records known at another store too are merged by HQ."""
    platform = customers_ready
    manager = "sh-vw-jd.manager"
    pair, ids = _pair_at(platform, api, "sh-vw-jd", "vw", also_at=("hz-vw-xh", "vw"))
    assert pair["id"] in {m["id"] for m in api.get("/customers/api/v1/matches", as_=manager).json}
    r = api.post(f"/customers/api/v1/matches/{pair['id']}/merge", as_=manager, json={})
    assert r.status_code == 403 and "HQ" in r.json["message"]
    assert api.post(f"/customers/api/v1/customers/{ids[0]}/merge", as_=manager,
                    json={"other_id": ids[1]}).status_code == 403
    page = api.post(f"/customers/review/{pair['id']}", as_=manager,
                    data={"decision": "merge", "survivor_id": ids[0]})
    assert page.status_code == 302
    assert "由集团总部决定" in api.get("/customers/review", as_=manager).get_data(as_text=True)  # the reason, flashed
    with system_session(platform) as s:
        assert {s.get(Customer, i).status for i in ids} == {"active"}

    merged = api.post(f"/customers/api/v1/matches/{pair['id']}/merge", as_="hq.admin", json={})
    assert merged.status_code == 200
    assert api.post(f"/customers/api/v1/merges/{merged.json['id']}/unmerge", as_=manager).status_code == 403
    assert api.post(f"/customers/api/v1/merges/{merged.json['id']}/unmerge", as_="hq.admin").status_code == 200

    # a pair only their store knows is the manager's to decide, on the page as in the API
    own, own_ids = _pair_at(platform, api, "sh-vw-jd", "vw")
    r = api.post(f"/customers/review/{own['id']}", as_=manager, data={"decision": "merge", "survivor_id": own_ids[1]})
    assert r.status_code == 302
    with system_session(platform) as s:
        assert s.get(Customer, own_ids[0]).merged_into == own_ids[1]
    assert api.post(f"/customers/api/v1/matches/{own['id']}/merge", as_=manager, json={}).status_code == 409
