"""Care schedules are published once per trigger; DMS CSV imports validate everything and dry-run."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from services.customers.bootstrap import group_scopes
from services.customers.handlers.schedules import run_schedules
from services.customers.adapters.models import Customer, StoreRelationship
from tests.conftest import store_id

from .helpers import mobile, outbox_events, runtime, system_session, vin


def _schedules(platform, kind: str, customer_id: str) -> list[dict]:
    return [e["data"] for e in outbox_events(platform, f"customers.schedule.{kind}")
            if e["data"]["customer_id"] == customer_id]


def test_schedules_are_published_once_with_stable_ids_and_churn_changes_the_class(customers_ready, api):
    platform = customers_ready
    phone, car = mobile(), vin()
    r = api.post("/customers/api/v1/vehicles", as_="hq.admin", json={
        "customer_name": "卫九", "phone": phone, "vin": car, "model": "卡罗拉", "purchase_date": "2024-01-10",
        "selling_store_id": store_id("sh-toyota-mh"), "price": "120000"})
    assert r.status_code == 201, r.json
    cid = r.json["customer_id"]
    api.patch(f"/customers/api/v1/customers/{cid}", as_="hq.admin", json={"birthday": "1985-03-02"})
    api.post("/customers/api/v1/insurance-policies", as_="hq.admin", json={
        "customer_name": "卫九", "vin": car, "policy_no": uuid.uuid4().hex[:12], "insurer": "太平洋",
        "starts_on": "2024-03-20", "ends_on": "2025-03-19", "premium": "3900"})
    # one visit in 2024-02: next maintenance by 5 months; no visit since → churned after 12 months
    api.post("/customers/api/v1/service-visits", as_="hq.admin", json={
        "customer_name": "卫九", "vin": car, "store_id": store_id("sh-toyota-mh"), "repair_order": uuid.uuid4().hex[:8],
        "visit_date": "2024-02-01", "kind": "maintenance", "mileage": 3000})
    db, groups = runtime(platform).db, group_scopes(runtime(platform))

    run_schedules(db, date(2025, 2, 27), groups)  # birthday in 3 days, policy ends in 20 days (30-day notice)
    run_schedules(db, date(2025, 2, 27), groups)
    assert [s["due_on"] for s in _schedules(platform, "birthday", cid)] == ["2025-03-02"]
    expiring = _schedules(platform, "insurance_expiring", cid)
    assert [(s["detail"]["days"], s["vin"]) for s in expiring] == [(30, car)]
    churned = _schedules(platform, "churned", cid)
    assert [s["detail"]["stage"] for s in churned] == ["churned"]
    with system_session(platform) as s:
        rel = s.scalar(select(StoreRelationship).where(StoreRelationship.customer_id == cid))
        assert rel.customer_class == "churned"
    changed = [e["data"] for e in outbox_events(platform, "customers.relationship.changed")
               if e["data"]["customer_id"] == cid]
    assert changed[-1]["from_class"] == "self_sold" and changed[-1]["to_class"] == "churned"

    run_schedules(db, date(2025, 3, 21), groups)  # the policy lapsed without renewal
    assert len(_schedules(platform, "insurance_lapsed", cid)) == 1
    r = api.post("/customers/api/v1/service-visits", as_="hq.admin", json={  # the churned owner comes back
        "customer_name": "卫九", "vin": car, "store_id": store_id("sh-toyota-mh"), "repair_order": uuid.uuid4().hex[:8],
        "visit_date": "2025-03-25", "kind": "repair", "mileage": 15000, "amount": "600"})
    won = [e["data"] for e in outbox_events(platform, "customers.service.recorded") if e["data"]["customer_id"] == cid]
    assert won[-1]["won_back"] is True
    with system_session(platform) as s:
        assert s.scalar(select(StoreRelationship.customer_class).where(StoreRelationship.customer_id == cid)) \
            == "self_sold"
    ids = [s["schedule_id"] for k in ("birthday", "insurance_expiring", "churned", "insurance_lapsed")
           for s in _schedules(platform, k, cid)]
    assert len(ids) == len(set(ids)) == 4


def test_admin_endpoint_runs_schedules_and_only_admins_may(customers_ready, api):
    r = api.post("/customers/api/v1/schedules/run", as_="hq.admin", json={"date": "2025-06-01"})
    assert r.status_code == 200 and r.json["date"] == "2025-06-01"
    assert api.post("/customers/api/v1/schedules/run", as_="cc.sup", json={}).status_code == 403


def test_maintenance_due_follows_the_brand_rule(customers_ready, api):
    platform = customers_ready
    car = vin()
    r = api.post("/customers/api/v1/vehicles", as_="hq.admin", json={
        "customer_name": "蒋十", "phone": mobile(), "vin": car, "purchase_date": "2025-01-15"})
    cid = r.json["customer_id"]
    rt = runtime(platform)
    run_schedules(rt.db, date(2025, 4, 10), group_scopes(rt))  # first service 3 months after purchase: 04-15
    assert [(s["due_on"], s["vin"]) for s in _schedules(platform, "maintenance_due", cid)] == [("2025-04-15", car)]


CSV_OK = """customer_name,phone,repair_order,visit_date,kind,vin,mileage,amount
沈十一,{p1},R-{u}-1,2026-05-01,maintenance,{v1},5000,399
韩十二,{p2},R-{u}-2,2026-05-02,repair,,,1200.50
"""


def test_csv_import_dry_run_writes_nothing_then_imports_and_refuses_bad_files(customers_ready, api):
    platform = customers_ready
    p1, p2, u = mobile(), mobile(), uuid.uuid4().hex[:6]
    body = CSV_OK.format(p1=p1, p2=p2, u=u, v1=vin()).encode()
    url = "/customers/api/v1/imports/service-visits"
    headers = {"Content-Type": "text/csv"}
    r = api.post(url + "?dry_run=true", as_="hz-vw-xh.manager", data=body, headers=headers)
    assert r.status_code == 200, r.json
    assert r.json == {"dry_run": True, "rows": 2, "created": 2, "duplicates": 0, "new_customers": 2,
                      "matched_customers": 0, "held_for_review": 0}
    with system_session(platform) as s:
        assert s.scalar(select(Customer).where(Customer.phone == f"+86{p1}")) is None
    r = api.post(url, as_="hz-vw-xh.manager", data=body, headers=headers)
    assert r.json["created"] == 2 and r.json["dry_run"] is False
    r = api.post(url, as_="hz-vw-xh.manager", data=body, headers=headers)
    assert (r.json["created"], r.json["duplicates"]) == (0, 2)  # re-importing the same orders changes nothing

    bad = body.decode().replace("2026-05-02", "2026-02-30").replace(p1, "12").encode()
    r = api.post(url, as_="hz-vw-xh.manager", data=bad, headers=headers)
    assert r.status_code == 422 and set(r.json["errors"]) == {"row 2", "row 3"}
    r = api.post(url, as_="hz-vw-xh.manager", data=b"name,phone\nx,1\n", headers=headers)
    assert r.status_code == 422 and "header" in r.json["errors"]
    other = CSV_OK.format(p1=mobile(), p2=mobile(), u=u + "x", v1=vin()).replace(
        "customer_name,", "store_id,customer_name,").replace("\n沈", f"\n{store_id('sh-toyota-pd')},沈").replace(
        "\n韩", "\n,韩")
    assert api.post(url, as_="hz-vw-xh.manager", data=other.encode(), headers=headers).status_code == 404
    assert api.post(url, as_="hz-vw-xh.sales1", data=body, headers=headers).status_code == 403


def test_the_import_page_dry_run_writes_nothing(customers_ready, api):
    platform = customers_ready
    p1, p2, u = mobile(), mobile(), uuid.uuid4().hex[:6]
    body = CSV_OK.format(p1=p1, p2=p2, u=u, v1=vin()).encode()
    import io

    def upload(dry: bool):
        data = {"kind": "service-visits", "file": (io.BytesIO(body), "dms.csv")}
        if dry:
            data["dry_run"] = "1"
        return api.client.post("/customers/import", data=data, headers=api.headers("hz-vw-xh.manager"),
                               content_type="multipart/form-data")

    r = upload(dry=True)
    assert r.status_code == 200 and "试运行" in r.get_data(as_text=True)
    with system_session(platform) as s:
        assert s.scalar(select(Customer).where(Customer.phone == f"+86{p1}")) is None
    assert upload(dry=False).status_code == 200
    with system_session(platform) as s:
        assert s.scalar(select(Customer).where(Customer.phone == f"+86{p1}")) is not None
