"""Phones masked by role on every customers surface, reveals only for the roles that need them, and the
access log that managers and HQ admins read, filter and export."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from openpyxl import load_workbook

from shared import clock
from tests.conftest import store_id

from .helpers import feed, mobile
from .test_privacy import _lead, _user_id

STORE = "sh-toyota-pd"


def _masked(phone: str) -> str:
    return f"+86 {phone[:3]}****{phone[-4:]}"


def test_the_phone_is_masked_by_role_on_search_the_360_and_its_page(customers_ready, api):
    platform = customers_ready
    phone = mobile()
    cid = _lead(platform, phone, STORE, "toyota", consultant=_user_id(platform, f"{STORE}.sales1"))
    full, masked = f"+86{phone}", _masked(phone)
    spaced = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    expected = {"hq.admin": masked, "hq.analyst": masked, "cc.sup": masked, "cc.agent1": masked,
                f"{STORE}.manager": full, f"{STORE}.sales1": full, f"{STORE}.sales2": masked}
    for user, shown in expected.items():
        found = api.get(f"/customers/api/v1/customers?phone={phone}", as_=user).json
        assert [c["phone"] for c in found] == [shown], user
        assert api.get(f"/customers/api/v1/customers/{cid}", as_=user).json["phone"] == shown, user
        assert api.get(f"/customers/api/v1/customers/{cid}/360", as_=user).json["profile"]["phone"] == shown, user
        html = api.get(f"/customers/{cid}", as_=user).get_data(as_text=True)
        results = api.get(f"/customers/?q={phone}", as_=user).get_data(as_text=True)
        for text in (html, results):
            assert (spaced in text) == (shown == full), user
            assert full not in text or shown == full, user


def test_reveal_is_for_the_reveal_roles_only_with_a_reason_and_is_logged(customers_ready, api):
    platform = customers_ready
    phone = mobile()
    cid = _lead(platform, phone, STORE, "toyota", consultant=_user_id(platform, f"{STORE}.sales1"))
    url = f"/customers/api/v1/customers/{cid}/reveal"
    body = {"field": "phone", "reason": "客户来电要求回拨"}
    for user in ("hq.analyst", "cc.agent1", f"{STORE}.sales1", f"{STORE}.sales2"):
        assert api.post(url, as_=user, json=body).status_code == 403, user
    assert api.post(url, as_="hz-vw-xh.manager", json=body).status_code == 404  # not a customer of theirs
    assert api.post(url, as_=f"{STORE}.manager", json={"field": "phone"}).status_code == 422
    assert api.post(url, as_=f"{STORE}.manager", json={"field": "phone", "reason": " "}).status_code == 422
    for user in (f"{STORE}.manager", "cc.sup", "hq.admin"):
        r = api.post(url, as_=user, json=body)
        assert r.status_code == 200 and r.json["value"] == f"+86{phone}", user
    log = api.get(f"/customers/api/v1/access-log?customer_id={cid}&action=reveal_phone", as_="hq.admin").json
    assert sorted((a["username"], a["reason"]) for a in log) == sorted(
        (u, "客户来电要求回拨") for u in (f"{STORE}.manager", "cc.sup", "hq.admin"))
    # the page offers the reveal form only to those who may use it
    assert "cust-reveal" in api.get(f"/customers/{cid}", as_="cc.sup").get_data(as_text=True)
    for user in ("cc.agent1", "hq.analyst", f"{STORE}.sales1"):
        assert "cust-reveal" not in api.get(f"/customers/{cid}", as_=user).get_data(as_text=True), user
        r = api.post(f"/customers/{cid}/reveal", as_=user, data={"field": "phone", "reason": "看一下"})
        assert r.status_code == 403, user


def test_the_access_log_is_filtered_paginated_and_exported_with_safe_cells(customers_ready, api):
    platform = customers_ready
    phone = mobile()
    formula = '=HYPERLINK("http://evil.example","点我")'
    cid = _lead(platform, phone, STORE, "toyota", name="=cmd|' /C calc'!A0")
    other = _lead(platform, mobile(), "hz-vw-xh", "vw")
    api.get(f"/customers/api/v1/customers/{cid}/360", as_=f"{STORE}.sales2")
    api.get(f"/customers/api/v1/customers/{other}/360", as_="hz-vw-xh.sales1")
    assert api.post(f"/customers/api/v1/customers/{cid}/reveal", as_="cc.sup",
                    json={"field": "phone", "reason": formula}).status_code == 200

    url = "/customers/api/v1/access-log"
    mine = api.get(f"{url}?customer_id={cid}", as_=f"{STORE}.manager")
    assert mine.status_code == 200 and mine.headers["X-Total-Count"] == "2"
    assert [a["action"] for a in mine.json] == ["reveal_phone", "view_360"]
    assert api.get(f"{url}?customer_id={other}", as_=f"{STORE}.manager").json == []  # not their store's customer
    everything = api.get(f"{url}?per_page=200", as_=f"{STORE}.manager")
    assert {a["customer_id"] for a in everything.json} <= set(_customers_of(platform, STORE))
    assert int(everything.headers["X-Total-Count"]) == len(everything.json) < 200  # counted in the same scope
    assert [a["username"] for a in api.get(f"{url}?customer_id={cid}&user=sales2", as_="hq.admin").json] == [
        f"{STORE}.sales2"]
    paged = api.get(f"{url}?customer_id={cid}&per_page=1&page=2", as_="hq.admin")
    assert [a["action"] for a in paged.json] == ["view_360"] and paged.headers["X-Total-Count"] == "2"
    today = clock.now().date()
    assert api.get(f"{url}?customer_id={cid}&date_from={today + timedelta(days=2)}", as_="hq.admin").json == []
    assert len(api.get(f"{url}?customer_id={cid}&date_from={today - timedelta(days=1)}&date_to="
                       f"{today + timedelta(days=1)}", as_="hq.admin").json) == 2
    assert api.get(f"{url}?date_from=2026-05-02&date_to=2026-05-01", as_="hq.admin").status_code == 422
    assert api.get(f"{url}?date_to=9999-12-31", as_="hq.admin").status_code == 422
    assert api.get(f"{url}?page=99999999999999999999", as_="hq.admin").status_code == 422
    for user in (f"{STORE}.sales1", "cc.agent1", "hq.analyst", "cc.sup"):
        assert api.get(url, as_=user).status_code == 403, user
        assert api.get("/customers/access-log", as_=user).status_code == 403, user

    r = api.get(f"{url}/export?customer_id={cid}&format=csv", as_=f"{STORE}.manager")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "at" and len(rows) == 3
    cells = [c for row in rows[1:] for c in row]
    assert "'" + formula in cells and "'=cmd|' /C calc'!A0" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    r = api.get(f"{url}/export?customer_id={cid}&format=xlsx", as_="hq.admin")
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = [c.value for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert "'" + formula in values and not any(v.startswith(("=", "+", "-", "@")) for v in values)

    # the page, in Chinese, in the menu of those who may read it
    html = api.get(f"/customers/access-log?customer_id={cid}", as_=f"{STORE}.manager").get_data(as_text=True)
    assert "访问记录" in html and "查看客户全景" in html and f"{STORE}.sales2" in html
    assert 'href="/customers/access-log"' in html
    assert 'href="/customers/access-log"' not in api.get("/customers/", as_=f"{STORE}.sales1").get_data(as_text=True)
    assert 'href="/customers/access-log"' in api.get("/customers/", as_="hq.admin").get_data(as_text=True)
    page_csv = api.get(f"/customers/access-log/export?customer_id={cid}&format=csv", as_="hq.admin")
    rows = list(csv.reader(io.StringIO(page_csv.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["时间", "人员", "角色"] and "'" + formula in [c for row in rows for c in row]


def _customers_of(platform, store: str) -> list[str]:
    from sqlalchemy import select

    from services.customers.adapters.models import StoreRelationship

    from .helpers import system_session

    with system_session(platform) as s:
        return list(s.scalars(select(StoreRelationship.customer_id).where(
            StoreRelationship.store_id == store_id(store))))


def test_a_showroom_lead_that_matches_another_stores_customer_is_logged(customers_ready, api):
    platform = customers_ready
    phone = mobile()
    cid = _lead(platform, phone, STORE, "toyota")
    feed(platform, "leads.lead.created", {"lead_id": str(uuid.uuid4()), "name": "郑六", "phone": phone,
                                          "source": "walk_in", "level": "B"}, store="hz-vw-xh", brand="vw",
         actor=_user_id(platform, "hz-vw-xh.sales1"))
    log = api.get(f"/customers/api/v1/access-log?customer_id={cid}&action=cross_store_match",
                  as_=f"{STORE}.manager").json
    assert [(a["store_id"], a["user_id"]) for a in log] == [(store_id("hz-vw-xh"), _user_id(platform,
                                                                                             "hz-vw-xh.sales1"))]
