"""Browser: a consultant's pages on a phone (390 px) and a tablet (1024 px), and the visitor log's full line.

Each page is opened at both widths, kept as a screenshot under test-artifacts/, and fails when anything
makes the page wider than the screen (the table cut off, the due date out of sight).
"""
from __future__ import annotations

import uuid

import pytest

from tests.browser_fixtures import login, screenshot

pytestmark = pytest.mark.browser
ME = "sh-toyota-pd.sales1"
WIDTHS = {"phone": (390, 844), "tablet": (1024, 768)}
OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module")
def lead_url(live_server, browser):
    """A lead of the consultant with some history, logged through the visitor log as a walk-in."""
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    login(page, live_server.url, ME)
    for i in range(3):
        page.goto(f"{live_server.url}/leads/visits/new")
        page.fill("input[name=name]", f"测试客户{i}号")
        page.fill("input[name=phone]", f"135{uuid.uuid4().int % 10**8:08d}")
        page.fill("input[name=model]", "凯美瑞 2.5L 豪华版")
        page.click("button.ld-big")
        page.wait_for_url("**/leads/*-*")
    url = page.url
    ctx.close()
    return url


def test_the_visitor_log_keeps_time_out_and_the_receiving_consultant(live_server, page):
    login(page, live_server.url, ME)
    page.goto(f"{live_server.url}/leads/visits/new")
    page.fill("input[name=time_in]", "09:05")
    page.fill("input[name=time_out]", "09:50")
    page.fill("input[name=model]", "RAV4荣放")
    page.click("button.ld-big")  # no phone: a visit, no lead
    page.wait_for_load_state("networkidle")
    row = page.locator("#ld-today tr", has_text="RAV4荣放")
    text = row.inner_text()
    assert "09:05" in text and "09:50" in text
    assert row.locator("td.ld-receiver").inner_text().strip()  # the consultant who received them
    # a visitor still in the showroom gets their time out with one tap when they leave
    page.fill("input[name=model]", "汉兰达")
    page.click("button.ld-big")
    page.wait_for_load_state("networkidle")
    row = page.locator("#ld-today tr", has_text="汉兰达")
    row.locator("button.ld-out").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#ld-today tr", has_text="汉兰达").locator("button.ld-out").count() == 0
    screenshot(page, "leads-visitor-log-times")


@pytest.mark.parametrize("device", WIDTHS)
def test_consultant_pages_fit_a_phone_and_a_tablet(live_server, browser, lead_url, device):
    width, height = WIDTHS[device]
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", is_mobile=device == "phone",
                              has_touch=device == "phone")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, live_server.url, ME)
        wide = []
        for name, url in (("my-leads", f"{live_server.url}/leads/"), ("lead", lead_url),
                          ("visitor-log", f"{live_server.url}/leads/visits/new"),
                          ("daily-report", f"{live_server.url}/leads/reports")):
            assert page.goto(url).status == 200
            page.wait_for_load_state("networkidle")
            screenshot(page, f"consultant-{device}-{width}-{name}")
            over = page.evaluate(OVERFLOW)
            if over > 0:
                wide.append(f"{name}: {over}px wider than the screen")
            if name == "my-leads":  # the due date is on screen, not cut off
                due = page.locator("table.ld-list th").last
                box = due.bounding_box()
                if not box or box["x"] + box["width"] > width:
                    wide.append("my-leads: the due date column is off screen")
        assert not wide, wide
    finally:
        ctx.close()
