"""The walking skeleton on the embedded platform: lead → customer → call center → analytics."""
from __future__ import annotations

import uuid

import pytest

from services.identity.entrypoints.seed import seed_group
from shared.phones import mask
from tests.conftest import store_id, wait_until

PD, XH = "sh-toyota-pd", "sh-lexus-xh"


def _phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


@pytest.fixture(scope="module")
def second_group(platform):
    seed_group(platform.runtimes["identity"], code="north", name="华北汽车集团")
    return "north"


@pytest.fixture(scope="module")
def lead(api):
    r = api.post("/leads/api/v1/leads", as_=f"{PD}.sales1",
                 json={"name": "张三", "phone": "+86 " + _phone(), "source": "walk_in"})
    assert r.status_code == 201, r.json
    return r.json


@pytest.mark.parametrize("user", [f"{PD}.sales1", f"{PD}.manager", "hq.admin", "hq.analyst"])
def test_lead_is_readable_by_its_consultant_manager_and_hq(api, lead, user):
    r = api.get(f"/leads/api/v1/leads/{lead['id']}", as_=user)
    assert r.status_code == 200
    assert r.json["store_id"] == store_id(PD)


def test_the_call_center_registers_leads_but_does_not_read_them(api, lead):
    r = api.get(f"/leads/api/v1/leads/{lead['id']}", as_="cc.agent1")
    assert r.status_code == 403 and lead["phone"] not in r.get_data(as_text=True)


@pytest.mark.parametrize("user", [f"{XH}.manager", f"{XH}.sales1", f"{PD}.sales2"])
def test_other_store_and_other_consultant_get_404(api, lead, user):
    r = api.get(f"/leads/api/v1/leads/{lead['id']}", as_=user)
    assert r.status_code == 404
    assert r.json["code"] == "not_found"
    assert lead["phone"] not in r.get_data(as_text=True)


def test_another_groups_user_gets_404(api, lead, second_group):
    for user in ("hq.admin", f"{PD}.manager"):
        r = api.get(f"/leads/api/v1/leads/{lead['id']}", as_=user, group=second_group)
        assert r.status_code == 404


def test_a_store_lists_only_its_own_leads(api, lead):
    mine = api.get("/leads/api/v1/leads?per_page=200", as_=f"{PD}.manager").json
    theirs = api.get("/leads/api/v1/leads?per_page=200", as_=f"{XH}.manager").json
    assert lead["id"] in {x["id"] for x in mine}
    assert lead["id"] not in {x["id"] for x in theirs}
    assert all(x["store_id"] == store_id(XH) for x in theirs)


def test_hq_must_name_the_store_and_gets_a_clear_error_otherwise(api):
    r = api.post("/leads/api/v1/leads", as_="hq.admin", json={"name": "李四", "phone": _phone(), "source": "online"})
    assert r.status_code == 422 and "store_id" in r.json["errors"]
    r = api.post("/leads/api/v1/leads", as_="hq.admin",
                 json={"name": "李四", "phone": _phone(), "source": "online", "store_id": store_id("hz-vw-xh")})
    assert r.status_code == 201 and r.json["store_id"] == store_id("hz-vw-xh")


def test_read_only_hq_analyst_cannot_create_leads(api):
    r = api.post("/leads/api/v1/leads", as_="hq.analyst",
                 json={"name": "王五", "phone": _phone(), "source": "online", "store_id": store_id(PD)})
    assert r.status_code == 403 and r.json["code"] == "forbidden"


def test_same_phone_at_two_stores_is_one_customer_with_two_relationships(api):
    phone = _phone()
    for store, fmt in ((PD, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"), (XH, phone)):
        r = api.post("/leads/api/v1/leads", as_=f"{store}.sales1", json={"name": "赵六", "phone": fmt, "source": "walk_in"})
        assert r.status_code == 201

    def two_relationships():
        found = api.get(f"/customers/api/v1/customers?phone={phone}", as_="hq.admin").json
        return found if found and len(found[0]["relationships"]) == 2 else None

    found = wait_until(two_relationships, timeout=60)
    assert len(found) == 1
    assert {r["store_id"] for r in found[0]["relationships"]} == {store_id(PD), store_id(XH)}


def test_chain_reaches_customers_callcenter_and_analytics(api):
    before = api.get("/analytics/api/v1/summary", as_="hq.admin").json["leads"]
    phone = _phone()
    r = api.post("/leads/api/v1/leads", as_=f"{PD}.sales2", json={"name": "钱七", "phone": phone, "source": "phone_in"})
    assert r.status_code == 201
    customer = wait_until(lambda: api.get(f"/customers/api/v1/customers?phone={phone}", as_="hq.admin").json, 60)[0]
    contact = wait_until(lambda: (lambda r: r.json if r.status_code == 200 and r.json["store_ids"] else None)(
        api.get(f"/callcenter/api/v1/contacts/{customer['id']}", as_="cc.agent1")), 60)
    # masked: the agent holds no task of this customer (issue 11)
    assert contact["phone"] == mask("+86" + phone) and contact["store_ids"] == [store_id(PD)]
    wait_until(lambda: api.get("/analytics/api/v1/summary", as_="hq.admin").json["leads"] > before, 60)


def test_analytics_summary_is_the_group_for_hq_and_the_store_for_its_manager(api):
    r = api.post("/leads/api/v1/leads", as_=f"{XH}.sales1", json={"name": "孙八", "phone": _phone(), "source": "online"})
    assert r.status_code == 201
    wait_until(lambda: store_id(XH) in api.get("/analytics/api/v1/summary", as_="hq.admin").json["by_store"], 60)

    def both_views():
        # earlier tests' leads may still be on their way to analytics: compare two reads taken with
        # nothing applied between them (the group's figure read again after the store's)
        group = api.get("/analytics/api/v1/summary", as_="hq.admin").json
        mine = api.get("/analytics/api/v1/summary", as_=f"{PD}.manager").json
        again = api.get("/analytics/api/v1/summary", as_="hq.admin").json
        return (group, mine) if group == again else None

    group, mine = wait_until(both_views, 60)
    assert set(mine["by_store"]) == {store_id(PD)}
    assert mine["leads"] == group["by_store"][store_id(PD)]
    assert group["leads"] == sum(group["by_store"].values())


def test_an_idempotency_key_makes_a_retried_create_return_the_first_lead(api):
    body = {"name": "周九", "phone": _phone(), "source": "walk_in"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    a = api.post("/leads/api/v1/leads", as_=f"{PD}.sales1", json=body, headers=key)
    b = api.post("/leads/api/v1/leads", as_=f"{PD}.sales1", json=body, headers=key)
    assert a.status_code == 201 and b.json["id"] == a.json["id"]
