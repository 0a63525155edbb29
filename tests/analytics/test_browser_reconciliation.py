"""HQ opens "figures reconciled": no drift after a day's work; rollups that lose rows show as drift on
that KPI, store and day; one click rebuilds and the drift is gone (issue 13)."""
from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from services.analytics.adapters.models import RollupFine
from shared import clock
from shared.tenancy import Scope
from tests.browser_fixtures import login, screenshot
from tests.conftest import Api, store_id

pytestmark = pytest.mark.browser
SH = ZoneInfo("Asia/Shanghai")
STORE = "hz-vw-xh"


def test_hq_sees_drift_and_rebuilds_it_away(live_server, page):  # noqa: F811 (fixtures)
    pf = live_server.platform
    api = Api(pf.wsgi())
    me = f"{STORE}.sales2"
    lead = api.post("/leads/api/v1/leads", as_=me, json={
        "name": "核对", "phone": f"+86139{uuid.uuid4().int % 10**8:08d}", "source": "walk_in"}).json["id"]
    assert api.post(f"/leads/api/v1/leads/{lead}/orders", as_=me, json={
        "model": "ID.4", "price": "199800", "payment_method": "cash"}).status_code == 201
    pf.wait_until_consumed()

    login(page, live_server.url, "hq.admin")
    page.goto(f"{live_server.url}/analytics/reconciliation")
    page.wait_for_selector("#reconcile-status[data-state=ok]")
    assert page.locator("#drift").is_hidden() and page.locator("#rebuild").is_hidden()
    assert page.locator("#definitions").input_value() == "2"

    today = clock.now().astimezone(SH).date()
    with pf.runtimes["analytics"].db.session(Scope.system()) as s:
        s.execute(delete(RollupFine).where(RollupFine.store_id == store_id(STORE), RollupFine.metric == "orders",
                                           RollupFine.day == today))
    page.get_by_role("button", name="核对").click()
    page.wait_for_selector("#reconcile-status[data-state=drift]")
    row = page.locator(f'#drift [data-drift="leads|orders|{store_id(STORE)}|{today.isoformat()}"]')
    assert row.count() == 1 and "杭州西湖大众" in row.inner_text()
    screenshot(page, "analytics-reconciliation-drift")

    page.locator("#rebuild").click()
    page.wait_for_selector("#reconcile-status[data-state=ok]", timeout=60_000)
    assert page.locator("#drift").is_hidden()
    screenshot(page, "analytics-reconciliation-ok")

    # the group admin rebuilds under the first definitions: the page names it in force afterwards
    page.select_option("#definitions", "1")
    page.locator("#rebuild-under").click()
    page.wait_for_selector('#definitions option[value="1"][selected]', state="attached", timeout=60_000)
    assert "第 1 版" in page.locator("#definitions-form").inner_text()
    page.select_option("#definitions", "2")
    page.locator("#rebuild-under").click()
    page.wait_for_selector('#definitions option[value="2"][selected]', state="attached", timeout=60_000)

    # the night passes: analytics' daily job compares every source's counts of the week before
    now = clock.now()
    try:
        clock.freeze(now + timedelta(days=1))
        pf.wait_until_consumed(timeout=120)
        page.reload()
        assert page.locator("#nightly [data-run][data-state=ok]").count() == 3
        assert page.locator("#nightly-drift").count() == 0
    finally:
        clock.reset()


def test_hq_repairs_an_event_lost_for_good_from_its_source(live_server, page):  # noqa: F811 (fixtures)
    """An order analytics lost from its event log: a rebuild cannot bring it back; "repair from the source
    services" has leads publish the day again and the drift is gone."""
    from playwright.sync_api import expect
    from sqlalchemy import select

    from services.analytics.adapters.models import EventLog

    pf = live_server.platform
    api = Api(pf.wsgi())
    me = f"{STORE}.sales3"
    lead = api.post("/leads/api/v1/leads", as_=me, json={
        "name": "修复", "phone": f"+86139{uuid.uuid4().int % 10**8:08d}", "source": "walk_in"}).json["id"]
    order = api.post(f"/leads/api/v1/leads/{lead}/orders", as_=me, json={
        "model": "ID.4", "price": "199800", "payment_method": "cash"})
    assert order.status_code == 201, order.json
    pf.wait_until_consumed()
    with pf.runtimes["analytics"].db.session(Scope.system()) as s:
        lost = [i for i, d in s.execute(select(EventLog.id, EventLog.data).where(EventLog.type == "leads.order.placed"))
                if d.get("order_id") == order.json["id"]]
        assert len(lost) == 1
        s.execute(delete(EventLog).where(EventLog.id.in_(lost)))
    assert api.post("/analytics/api/v1/reconciliation/rebuild", as_="hq.admin").status_code == 200

    login(page, live_server.url, "hq.admin")
    page.goto(f"{live_server.url}/analytics/reconciliation")
    page.wait_for_selector("#reconcile-status[data-state=drift]")
    today = clock.now().astimezone(SH).date().isoformat()
    assert page.locator(f'#drift [data-drift="leads|orders|{store_id(STORE)}|{today}"]').count() == 1
    page.get_by_role("button", name="从源服务修复").click()
    page.wait_for_selector("#reconcile-status[data-state=ok]", timeout=120_000)
    expect(page.locator("#reconcile-status")).to_contain_text("已从源服务修复")
    assert page.locator("#drift").is_hidden() and page.locator("#repair").is_hidden()
    screenshot(page, "analytics-reconciliation-repaired")
    with pf.runtimes["analytics"].db.session(Scope.system()) as s:
        assert s.scalar(select(EventLog.id).where(EventLog.id == lost[0])) == lost[0]
