"""HQ drills from the group to a brand, a store and a consultant, then downloads the monthly report."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.browser_fixtures import login, screenshot

from .demo_data import load_demo_history

pytestmark = pytest.mark.browser
MONTH = "2026-09"


def _figure(page, kpi: str) -> int:  # noqa: F811 (the page fixture's value)
    return int(page.locator(f"[data-kpi={kpi}] [data-value]").inner_text().replace(",", ""))


def _report_rows(path) -> list[tuple]:
    wb = load_workbook(path)
    sales = wb.worksheets[0]  # the first sheet is the sales family
    return [r for r in sales.iter_rows(min_row=2, values_only=True)]


def test_hq_drills_down_and_downloads_the_monthly_report(live_server, page, tmp_path):  # noqa: F811 (fixtures)
    load_demo_history(live_server.platform)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server.url, "hq.admin")
    page.goto(f"{live_server.url}/analytics/?month={MONTH}")
    page.wait_for_selector("#chart-trend .main-svg")
    page.wait_for_selector("#chart-children .main-svg")
    group_leads, group_orders = _figure(page, "leads"), _figure(page, "orders")
    assert group_leads > 0
    screenshot(page, "analytics-hq-group")

    # group → brand, by clicking the brand's bar in the chart
    bar = page.locator("#chart-children .bars .point path").first
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**brand_id=**")
    page.wait_for_selector("[data-crumb=brand]")
    brand_name = page.locator("strong[data-crumb=brand]").inner_text()
    assert _figure(page, "leads") <= group_leads

    # brand → store → consultant, through the drill links of the tables
    page.locator("a[data-drill=store]").first.click()
    page.wait_for_selector("strong[data-crumb=store]")
    store_name = page.locator("strong[data-crumb=store]").inner_text()
    store_leads = _figure(page, "leads")
    page.wait_for_selector("#chart-funnel .main-svg")
    screenshot(page, "analytics-hq-store")
    page.locator("a[data-drill=consultant]").first.click()
    page.wait_for_selector("strong[data-crumb=consultant]")
    assert [c.inner_text() for c in page.locator("[data-crumb]").all()][1:3] == [brand_name, store_name]
    assert _figure(page, "leads") <= store_leads
    screenshot(page, "analytics-hq-consultant")

    # back to the group, download the monthly HQ report and find the figures shown on screen
    page.locator("a[data-crumb=group]").click()
    page.wait_for_selector("[data-testid=monthly-report]")
    with page.expect_download() as info:
        page.click("[data-testid=monthly-report]")
    path = tmp_path / "report.xlsx"
    info.value.save_as(path)
    rows = _report_rows(path)
    by_scope = {(r[2], r[3]): r[5] for r in rows}
    group_label = page.locator("strong[data-crumb=group]").inner_text()
    assert by_scope[(group_label, "leads")] == group_leads
    assert by_scope[(group_label, "orders")] == group_orders
    assert by_scope[(store_name, "leads")] == store_leads
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
