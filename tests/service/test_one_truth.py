"""One truth across services (issue 13): analytics counts from the facts leads publishes, so HQ's figures
equal what the stores' own screens show.

- compliance's overdue follow-ups per store = `GET /leads/api/v1/leads?overdue=true` for that store, with
  planned contacts and an HQ cadence change in play;
- a defeat sent back (or withdrawn by an order) stops awaiting approval in analytics as on the store board;
- a cancelled order is taken out of orders and counted as a cancellation;
- a visit logged late counts on the day the customer came.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from shared import clock
from tests.conftest import store_id

SH = ZoneInfo("Asia/Shanghai")
LEADS, ANALYTICS = "/leads/api/v1", "/analytics/api/v1"
STORE = "sh-toyota-pd"
ME, MGR, HQ = f"{STORE}.sales2", f"{STORE}.manager", "hq.admin"


@pytest.fixture(autouse=True)
def signed_in(api):
    for user in (ME, MGR, HQ, "hq.analyst"):
        api.token(user)
    yield
    clock.reset()


def new_lead(api, **kw) -> str:
    body = {"name": "测试客户", "phone": f"+86137{uuid.uuid4().int % 10**8:08d}", "source": "walk_in", **kw}
    r = api.post(f"{LEADS}/leads", as_=ME, json=body)
    assert r.status_code == 201, r.json
    return r.json["id"]


def compliance(api) -> dict[str, dict]:
    r = api.get(f"{ANALYTICS}/compliance", as_="hq.analyst")
    assert r.status_code == 200, r.json
    return {row["store_id"]: row for row in r.json["items"]}


def leads_overdue(api, sid: str) -> int:
    r = api.get(f"{LEADS}/leads", as_=HQ, query_string={"overdue": "true", "store_id": sid, "per_page": 1})
    assert r.status_code == 200, r.json
    return int(r.headers["X-Total-Count"])


def overdue_mismatches(api, platform) -> dict[str, tuple[int, int]]:
    """Stores whose compliance overdue count differs from leads' own list, at one frozen instant."""
    platform.wait_until_consumed()
    clock.freeze(clock.now())
    try:
        rows = compliance(api)
        return {sid: (row["overdue_followups"], n) for sid, row in rows.items()
                if row["overdue_followups"] != (n := leads_overdue(api, sid))}
    finally:
        clock.reset()


def test_compliance_overdue_equals_the_leads_overdue_list_for_every_store(api, platform):
    now = clock.now()
    # a B lead called 3 days ago with a contact planned for yesterday: overdue for leads (the plan), not by
    # the B cadence (7 days) that analytics used to apply on its own
    planned = new_lead(api)
    r = api.post(f"{LEADS}/leads/{planned}/follow-ups", as_=ME, json={
        "kind": "call", "outcome": "reached", "level": "B", "at": (now - timedelta(days=3)).isoformat(),
        "next_planned_at": (now - timedelta(days=1)).isoformat()})
    assert r.status_code == 201, r.json
    assert api.get(f"{LEADS}/leads/{planned}", as_=ME).json["overdue"] is True
    # a C lead called 4 days ago: overdue only once HQ makes C every 2 days (leads' cadence, not analytics')
    plain = new_lead(api)
    api.post(f"{LEADS}/leads/{plain}/follow-ups", as_=ME, json={
        "kind": "call", "outcome": "reached", "level": "C", "at": (now - timedelta(days=4)).isoformat()})
    assert overdue_mismatches(api, platform) == {}
    try:
        assert api.put(f"{LEADS}/settings", as_=HQ, json={"cadence_days": {"C": 2}}).status_code == 200
        assert api.get(f"{LEADS}/leads/{plain}", as_=ME).json["overdue"] is True
        assert overdue_mismatches(api, platform) == {}
    finally:
        api.put(f"{LEADS}/settings", as_=HQ, json={"cadence_days": {"C": 15}})
    assert overdue_mismatches(api, platform) == {}


def _pending(api, platform) -> tuple[int, int]:
    platform.wait_until_consumed()
    sid = store_id(STORE)
    board = api.get(f"{LEADS}/stores/{sid}/board", as_=MGR).json
    return compliance(api)[sid]["defeats_pending"], len(board["pending_defeats"])


def test_a_defeat_sent_back_or_withdrawn_no_longer_awaits_approval_in_analytics(api, platform):
    before = _pending(api, platform)
    assert before[0] == before[1]
    lead = new_lead(api)
    d = api.post(f"{LEADS}/leads/{lead}/defeat", as_=ME, json={"reason": "price"}).json
    assert _pending(api, platform) == (before[0] + 1, before[1] + 1)
    back = api.post(f"{LEADS}/defeats/{d['id']}/decision", as_=MGR, json={"approve": False, "note": "再约一次试驾"})
    assert back.status_code == 200
    assert _pending(api, platform) == before
    # proposed again, then the customer signs: the order withdraws the proposal
    api.post(f"{LEADS}/leads/{lead}/defeat", as_=ME, json={"reason": "price"})
    assert _pending(api, platform) == (before[0] + 1, before[1] + 1)
    assert api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={
        "model": "RAV4", "price": "189800", "payment_method": "cash"}).status_code == 201
    assert _pending(api, platform) == before


def _store_kpis(api, platform) -> dict:
    platform.wait_until_consumed()
    r = api.get(f"{ANALYTICS}/kpis", as_=HQ, query_string={"store_id": store_id(STORE)})
    assert r.status_code == 200, r.json
    return {k["key"]: k["actual"] for k in r.json["kpis"]}


def test_a_cancelled_order_leaves_the_orders_and_counts_as_a_cancellation(api, platform):
    before = _store_kpis(api, platform)
    lead = new_lead(api)
    order = api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={
        "model": "RAV4", "price": "189800", "payment_method": "cash"}).json
    mid = _store_kpis(api, platform)
    assert mid["orders"] == before["orders"] + 1
    r = api.post(f"{LEADS}/orders/{order['id']}/cancellation", as_=ME, json={"reason": "客户改买二手车"})
    assert r.status_code == 200, r.json
    after = _store_kpis(api, platform)
    assert after["orders"] == before["orders"]
    assert after["orders_cancelled"] == (before["orders_cancelled"] or 0) + 1
    assert after["order_amount"] == before["order_amount"]


def test_a_visit_logged_late_counts_on_the_day_the_customer_came(api, platform):
    now = clock.now()
    yesterday = now - timedelta(days=1)
    month = yesterday.astimezone(SH).strftime("%Y-%m")
    q = {"store_id": store_id(STORE), "month": month}

    def daily() -> dict[str, int]:
        platform.wait_until_consumed()
        r = api.get(f"{ANALYTICS}/dashboard", as_=HQ, query_string=q)
        assert r.status_code == 200, r.json
        return {d["day"]: d["value"] for d in r.json["daily"]}

    before = daily()
    r = api.post(f"{LEADS}/visits", as_=ME, json={
        "kind": "walk_in", "name": "迟登记", "phone": f"+86135{uuid.uuid4().int % 10**8:08d}",
        "time_in": yesterday.isoformat()})
    assert r.status_code == 201, r.json
    after = daily()
    day = yesterday.astimezone(SH).date().isoformat()
    assert after[day] == before[day] + 1
    assert {k: v for k, v in after.items() if k != day} == {k: v for k, v in before.items() if k != day}


@pytest.mark.parametrize("lang, text", [("en", "Test-drive rate = test drives / showroom visitor groups"),
                                        ("zh_CN", "试驾率 = 试驾数 ÷ 来店批次")])
def test_the_dashboard_shows_each_kpis_definition_on_hover(platform, lang, text):
    from html import unescape

    from services.analytics.domain.definitions import hover
    from tests.analytics.test_pages import browser

    html = unescape(browser(platform, HQ, lang).get("/analytics/").get_data(as_text=True))
    assert f'title="{hover("test_drive_rate", lang)}"' in html and text in html
    assert f'title="{hover("orders", lang)}"' in html

