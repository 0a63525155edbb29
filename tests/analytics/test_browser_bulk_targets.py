"""HQ enters a month's targets from a file in the browser (issue 14, point 11): the dry run shows the bad
rows by number and saves nothing; a good file is checked, then applied, and the targets list shows it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from services.analytics.adapters.models import Target
from shared.tenancy import Scope
from tests.browser_fixtures import login, screenshot

pytestmark = pytest.mark.browser
MONTH = "2031-05"


def _saved(pf) -> dict:
    with pf.runtimes["analytics"].db.session(Scope.system()) as s:
        return {(t.level, t.kpi): t.value for t in s.scalars(select(Target).where(Target.month == MONTH))}


def _choose(page, body: str) -> None:
    page.set_input_files("#targets-upload input[type=file]",
                         files=[{"name": "targets.csv", "mimeType": "text/csv", "buffer": body.encode()}])


def test_hq_checks_a_file_sees_its_errors_then_applies_a_good_one(live_server, page):  # noqa: F811 (fixtures)
    pf = live_server.platform
    login(page, live_server.url, "hq.admin")
    page.goto(f"{live_server.url}/analytics/targets?month={MONTH}")
    _choose(page, f"月份,层级,对象,指标,目标值\n{MONTH},门店,sh-toyota-pd,线索,80\n{MONTH},门店,nowhere,订单,5\n")
    page.get_by_role("button", name="检查（试运行）").click()
    page.wait_for_selector("#sheet-errors")
    bad = page.locator('#sheet-errors tr[data-row="3"]')
    assert bad.count() == 1 and "没有该品牌、门店或销售顾问" in bad.inner_text()
    assert "未保存任何内容" in page.locator("#sheet-errors h2").inner_text()
    screenshot(page, "analytics-bulk-targets-errors")
    assert _saved(pf) == {}

    page.goto(f"{live_server.url}/analytics/targets?month={MONTH}")
    _choose(page, f"月份,层级,对象,指标,目标值\n{MONTH},门店,sh-toyota-pd,线索,80\n{MONTH},集团,,订单,130\n")
    page.get_by_role("button", name="检查（试运行）").click()
    page.wait_for_selector("#sheet-ok")
    assert page.locator("#sheet-preview tbody tr").count() == 2 and _saved(pf) == {}
    screenshot(page, "analytics-bulk-targets-checked")
    page.get_by_role("button", name="应用：保存 2 个目标").click()
    page.wait_for_selector(".flash")
    assert "已保存 2 个目标" in page.locator(".flash").inner_text()
    assert _saved(pf) == {("store", "leads"): 80, ("group", "orders"): 130}
    assert "上海浦东丰田" in page.locator("table.table").last.inner_text()
