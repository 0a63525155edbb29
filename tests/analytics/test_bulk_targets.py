"""Bulk targets (issue 14, point 11): HQ uploads an XLSX or CSV of monthly targets, checks it first (a dry
run lists every bad row by its row number and saves nothing), then applies it; the template reads back."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from services.analytics.adapters.models import Target
from shared.tenancy import Scope
from tests.analytics.test_pages import browser
from tests.conftest import store_id

MONTH = "2031-03"  # a month no other test sets targets for


def _targets(platform, month: str = MONTH) -> dict[tuple[str, str, str], float]:
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        return {(t.level, t.node_id, t.kpi): t.value for t in s.scalars(select(Target).where(Target.month == month))}


def _upload(api, body: bytes, name: str, dry_run: bool, as_: str = "hq.admin", lang: str = "zh-CN"):
    return api.post(f"/analytics/api/v1/targets/import?dry_run={'true' if dry_run else 'false'}", as_=as_,
                    data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data",
                    headers={"Accept-Language": lang})


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


BAD_CSV = "\n".join([
    "month,level,node,kpi,value",
    f"{MONTH},store,sh-toyota-pd,leads,80",     # row 2: fine
    "2031-13,store,sh-toyota-pd,orders,5",       # row 3: no such month
    f"{MONTH},store,no-such-store,orders,5",     # row 4: unknown store
    f"{MONTH},brand,toyota,happiness,5",         # row 5: unknown KPI
    f"{MONTH},consultant,sh-toyota-pd.sales1,orders,-2",  # row 6: negative
    f"{MONTH},store,上海浦东丰田,leads,90",         # row 7: the same target as row 2 (by the store's name)
]).encode()


def test_a_dry_run_lists_every_bad_row_by_number_and_saves_nothing(platform, api):
    r = _upload(api, BAD_CSV, "targets.csv", dry_run=True)
    assert r.status_code == 200, r.json
    assert [(e["row"], e["field"]) for e in r.json["errors"]] == [
        (3, "month"), (4, "node"), (5, "kpi"), (6, "value"), (7, "row")]
    assert r.json["applied"] == 0 and [row["row"] for row in r.json["rows"]] == [2]
    assert _targets(platform) == {}


def test_applying_a_sheet_with_a_bad_row_is_refused_and_saves_nothing(platform, api):
    r = _upload(api, BAD_CSV, "targets.csv", dry_run=False)
    assert r.status_code == 422 and "row 4" in r.json["errors"]
    assert _targets(platform) == {}


def test_hq_applies_an_xlsx_with_chinese_headers_and_names(platform, api):
    sheet = _xlsx([["月份", "层级", "对象", "指标", "目标值"],
                   [MONTH, "集团", "", "orders", 120],
                   [MONTH, "门店", "sh-toyota-pd", "线索", 80],
                   [MONTH, "销售顾问", "sh-toyota-pd.sales2", "Test-drive rate", 0.3]])
    dry = _upload(api, sheet, "目标.xlsx", dry_run=True)
    assert dry.status_code == 200 and dry.json["errors"] == [], dry.json
    assert _targets(platform) == {}
    done = _upload(api, sheet, "目标.xlsx", dry_run=False)
    assert done.status_code == 200 and done.json["applied"] == 3
    saved = _targets(platform)
    assert saved[("group", "", "orders")] == 120 and saved[("store", store_id("sh-toyota-pd"), "leads")] == 80
    assert [v for (lv, _, kpi), v in saved.items() if lv == "consultant"] == [0.3]
    again = _upload(api, sheet, "目标.xlsx", dry_run=True)  # the preview shows what a row replaces
    assert [r["current"] for r in again.json["rows"]] == [120, 80, 0.3]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_template_reads_back_without_errors(api, fmt):
    r = api.client.get(f"/analytics/api/v1/targets/template?format={fmt}&month={MONTH}",
                       headers={**api.headers("hq.admin"), "Accept-Language": "zh-CN"})
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith(f'.{fmt}"')
    if fmt == "xlsx":
        assert load_workbook(io.BytesIO(r.data)).worksheets[0]["A1"].value == "月份"
    check = _upload(api, r.data, f"t.{fmt}", dry_run=True)
    assert check.status_code == 200 and check.json["errors"] == [] and len(check.json["rows"]) == 4, check.json


def test_a_store_manager_may_not_upload_targets(platform, api):
    r = _upload(api, BAD_CSV, "targets.csv", dry_run=False, as_="sh-toyota-pd.manager")
    assert r.status_code == 403


def test_an_unreadable_file_gets_a_clear_4xx(api):
    r = _upload(api, b"PK\x03\x04 not really a workbook", "t.xlsx", dry_run=True)
    assert r.status_code == 422 and r.json["errors"]["file"] == ["unreadable"]
    r = _upload(api, b"a,b,c\n1,2,3\n", "t.csv", dry_run=True)
    assert r.status_code == 422 and "header" in r.json["message"]


def test_the_page_checks_then_applies_in_chinese(platform):
    month = "2031-04"
    c = browser(platform, "hq.admin")
    html = c.get(f"/analytics/targets?month={month}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert "从文件导入目标" in html
    template = c.get(f"/analytics/targets/template.xlsx?month={month}")
    assert template.status_code == 200 and load_workbook(io.BytesIO(template.data)).worksheets[0]["B2"].value == "集团"
    body = BAD_CSV.replace(MONTH.encode(), month.encode())
    r = c.post("/analytics/targets/import", data={"csrf_token": token, "month": month, "action": "check",
                                                  "file": (io.BytesIO(body), "targets.csv")})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-row="4"' in page and "未保存任何内容" in page
    assert "没有该品牌、门店或销售顾问" in page and _targets(platform, month) == {}
    good = b"\n".join(body.split(b"\n")[:2])
    r = c.post("/analytics/targets/import", data={"csrf_token": token, "month": month, "action": "check",
                                                  "file": (io.BytesIO(good), "targets.csv")})
    page = r.get_data(as_text=True)
    assert "应用：保存 1 个目标" in page and _targets(platform, month) == {}
    sheet = re.search(r'name="sheet" value="([^"]+)"', page).group(1)
    r = c.post("/analytics/targets/import", data={"csrf_token": token, "month": month, "action": "apply",
                                                  "sheet": sheet, "filename": "targets.csv"})
    assert r.status_code == 302
    assert _targets(platform, month) == {("store", store_id("sh-toyota-pd"), "leads"): 80}
