"""An agent on a call searches a phone in another format and reads the customer's 360 view and timeline."""
from __future__ import annotations

import uuid

import pytest

import shared.events.callcenter  # noqa: F401  (see conftest: register every payload schema)
import shared.events.customers  # noqa: F401
import shared.events.identity  # noqa: F401
import shared.events.leads  # noqa: F401
from tests.browser_fixtures import login, screenshot
from tests.conftest import store_id, wait_until

from .helpers import feed, mobile, stores_known, vin

pytestmark = pytest.mark.browser


def _story(platform, api_post) -> tuple[str, str]:
    phone, car, lead = mobile(), vin(), str(uuid.uuid4())
    feed(platform, "leads.lead.created", {"lead_id": lead, "name": "林晓东", "phone": f"+86 {phone}",
                                          "source": "walk_in", "level": "H", "model": "凯美瑞"},
         store="sh-toyota-pd", brand="toyota")
    feed(platform, "leads.order.placed", {"lead_id": lead, "order_id": str(uuid.uuid4()), "model": "凯美瑞 双擎",
                                          "price": "229800", "payment_method": "financing", "customer_name": "林晓东",
                                          "phone": f"+86{phone}"}, store="sh-toyota-pd", brand="toyota")
    feed(platform, "leads.vehicle.delivered", {"lead_id": lead, "order_id": "o", "vin": car, "model": "凯美瑞 双擎",
                                               "delivered_on": "2026-06-18", "customer_name": "林晓东",
                                               "phone": f"+86{phone}", "price": "229800"},
         store="sh-toyota-pd", brand="toyota")
    api_post({"customer_name": "林晓东", "phone": phone, "store_id": store_id("sh-toyota-pd"),
              "repair_order": "RO-2026-0918", "visit_date": "2026-09-18", "kind": "maintenance", "vin": car,
              "mileage": 5200, "amount": "680"})
    return phone, car


def test_agent_finds_a_customer_by_phone_in_another_format_and_reads_the_timeline(live_server, browser, page):
    import requests

    base = live_server.url
    tok = requests.post(f"{base}/identity/api/v1/auth/login", json={
        "group": "demo", "username": "hq.admin", "password": "demo-pass-2026"}, timeout=10).json()["access_token"]

    def post_visit(body):
        r = requests.post(f"{base}/customers/api/v1/service-visits", json=body,
                          headers={"Authorization": f"Bearer {tok}"}, timeout=10)
        assert r.status_code == 201, r.text

    wait_until(lambda: stores_known(live_server.platform), timeout=20)
    phone, car = _story(live_server.platform, post_visit)

    login(page, base, "cc.agent1")
    page.goto(f"{base}/customers/")
    page.fill("input[name=q]", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}")  # typed as the caller says it
    page.click("button.primary")
    page.wait_for_selector("text=林晓东")
    screenshot(page, "customers-search")
    page.click("text=林晓东")
    page.wait_for_selector("[data-testid=timeline]")
    timeline = page.inner_text("[data-testid=timeline]")
    assert "RO-2026-0918" not in timeline  # the timeline shows what happened, not internal numbers
    for words in ("保养", "交车", "下单", "新线索"):
        assert words in timeline, timeline
    # the customers service shows the agent the number masked (the workbench shows it while the task is held),
    # and offers no reveal
    assert page.inner_text("[data-testid=phone]") == f"+86 {phone[:3]}****{phone[-4:]}"
    assert page.locator(".cust-reveal").count() == 0
    assert car in page.content()
    screenshot(page, "customers-360")

    sup = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN").new_page()
    page = sup  # a supervisor may reveal it, saying why
    login(page, base, "cc.sup")
    page.goto(f"{base}/customers/?q={phone}")
    page.click("text=林晓东")
    page.click(".cust-reveal summary")
    page.select_option("select[name=field]", "phone")
    page.fill("input[name=reason]", "核对来电")
    page.click(".cust-reveal button")
    page.wait_for_selector(".cust-revealed")
    assert page.inner_text(".cust-revealed") == f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    page.goto(f"{base}/customers/")
    assert page.locator("input[name=q]").is_visible()
    sup.context.close()
