"""A consultant's day in the browser: log a walk-in, grade it A, book a test drive, see it overdue later."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared import clock
from tests.browser_fixtures import login, screenshot
from tests.conftest import office_hours, wait_until
from tests.leads.conftest import _known
from tests.leads.helpers import phone

pytestmark = pytest.mark.browser


def test_consultant_logs_a_walk_in_grades_it_books_a_drive_and_sees_it_overdue(live_server, page):  # noqa: F811
    base = live_server.url
    assert wait_until(lambda: _known(live_server.platform)[1] >= 60, 30)
    login(page, base, "sh-toyota-pd.sales1")
    try:
        page.goto(f"{base}/leads/visits/new")
        page.click("label:has(input[name=party_size][value='2'])")
        page.fill("input[name=name]", "浏览器先生")
        page.fill("input[name=phone]", phone())
        page.fill("input[name=model]", "凯美瑞")
        screenshot(page, "leads-visit-form")
        page.click("form.ld-visit button.primary")
        page.wait_for_url(f"{base}/leads/*")
        assert "浏览器先生" in page.inner_text("h1")

        page.click("form[action$='/act/grade'] label:has(input[value='A'])")
        page.check("form[action$='/act/grade'] input[value='says_will_buy']")
        page.fill("form[action$='/act/grade'] input[name=reason]", "下月提车")
        page.click("form[action$='/act/grade'] button")
        assert page.inner_text("h1 .level") == "A"

        page.click("form[action$='/act/test_drive'] button")
        assert page.locator("form[action$='/act/complete_drive']").count() == 1
        assert "凯美瑞" in page.inner_text(".timeline")
        screenshot(page, "leads-detail")

        page.goto(f"{base}/leads/?overdue=1")
        assert page.locator("td a", has_text="浏览器先生").count() == 0

        clock.advance(timedelta(days=5))  # an A lead (every 3 days) contacted today is overdue by then
        page.goto(f"{base}/leads/?overdue=1")
        row = page.locator("tr.overdue", has_text="浏览器先生")
        assert row.count() == 1 and row.locator(".tag.bad").count() == 1
        screenshot(page, "leads-overdue-list")
    finally:
        clock.reset()


def test_manager_board_import_and_report_pages(live_server, page, tmp_path):  # noqa: F811
    base = live_server.url
    assert wait_until(lambda: _known(live_server.platform)[1] >= 60, 30)
    login(page, base, "sh-toyota-pd.manager")
    page.goto(f"{base}/leads/board")
    page.check("input[name=round_robin]")
    page.fill("input[name=weekly_sales_target]", "5")
    page.click("form:has(input[name=action][value=options]) button")
    assert page.is_checked("input[name=round_robin]")
    screenshot(page, "leads-board")

    csv_file = tmp_path / "portal.csv"
    csv_file.write_bytes("姓名,手机,来源\n卫先生,13812347001,网络/官网\n蒋女士,12345,online\n".encode("gbk"))
    page.goto(f"{base}/leads/import")
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("#ld-import button")
    page.wait_for_selector("#ld-errors tr")
    assert "3" == page.inner_text("#ld-errors td.num")
    screenshot(page, "leads-import")

    page.goto(f"{base}/leads/funnel")
    assert page.locator(".ld-big-number").count() == 1
    screenshot(page, "leads-funnel")
    with office_hours():  # the day's report is open until 18:00; the suite may run later than that
        page.goto(f"{base}/leads/reports")
        page.click("form button.primary")
        assert page.locator(".tag", has_text="锁定").count() == 1
        screenshot(page, "leads-report")
