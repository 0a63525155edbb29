"""Scope on the embedded platform: HQ sees the group, a store manager only their store (API, pages, exports)."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.conftest import store_id

from .demo_data import load_demo_history

PD = "sh-toyota-pd"
MONTH = "2026-09"


@pytest.fixture(scope="module")
def org(platform):
    return load_demo_history(platform)


def _others(org, mine: str) -> list[str]:
    """Every other store's id and name: none may appear in what the manager of `mine` gets."""
    out = []
    for sid, name in org.names.items():
        if sid in org.stores and sid != mine:
            out += [sid, name]
    return out


def test_hq_dashboard_has_every_store_and_sums_to_the_group(api, org):
    d = api.get(f"/analytics/api/v1/dashboard?month={MONTH}", as_="hq.analyst").json
    assert d["level"] == "group" and len(d["children"]["rows"]) == 3  # brands
    stores = api.get(f"/analytics/api/v1/rankings?month={MONTH}&by=store&kpi=leads", as_="hq.admin").json["items"]
    assert {r["id"] for r in stores} == set(org.stores)
    group = {r["key"]: r["actual"] for r in d["kpis"]}
    assert group["leads"] > 0
    for key in ("leads", "orders", "deliveries", "test_drives"):
        assert sum(r["kpis"][key] for r in stores) == group[key]
        assert sum(r["kpis"][key] for r in d["children"]["rows"]) == group[key]


def test_a_store_manager_sees_only_their_store_and_the_group_average(api, org):
    mine = store_id(PD)
    hq_store = api.get(f"/analytics/api/v1/kpis?month={MONTH}&store_id={mine}", as_="hq.admin").json
    d = api.get(f"/analytics/api/v1/dashboard?month={MONTH}", as_=f"{PD}.manager")
    assert d.status_code == 200
    assert d.json["level"] == "store" and d.json["node"]["id"] == mine
    assert {r["key"]: r["actual"] for r in d.json["kpis"]} == {r["key"]: r["actual"] for r in hq_store["kpis"]}
    group_leads = api.get(f"/analytics/api/v1/kpis?month={MONTH}", as_="hq.admin").json["kpis"][0]["actual"]
    assert d.json["group_average"]["leads"] == pytest.approx(group_leads / 12)
    bodies = [d.get_data(as_text=True)]
    for path in (f"/analytics/api/v1/rankings?month={MONTH}&by=store&kpi=leads",
                 f"/analytics/api/v1/rankings?month={MONTH}&by=consultant&kpi=orders",
                 f"/analytics/api/v1/rankings?month={MONTH}&by=brand",
                 "/analytics/api/v1/summary", "/analytics/api/v1/compliance", "/analytics/api/v1/forecast",
                 f"/analytics/api/v1/trend?month={MONTH}&kpi=orders", "/analytics/api/v1/targets",
                 f"/analytics/?month={MONTH}", "/analytics/compliance", "/analytics/forecast", "/analytics/targets",
                 f"/analytics/report.xlsx?month={MONTH}", f"/analytics/export/rank_consultant.csv?month={MONTH}",
                 f"/analytics/export/children.csv?month={MONTH}", "/analytics/export/compliance.csv"):
        r = api.get(path, as_=f"{PD}.manager")
        assert r.status_code == 200, (path, r.status_code)
        if path.startswith("/analytics/report.xlsx"):
            wb = load_workbook(io.BytesIO(r.data))
            bodies.append("\n".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row))
        else:
            bodies.append(r.get_data(as_text=True))
    for body in bodies:
        for needle in _others(org, mine):
            assert needle not in body


def test_a_store_manager_gets_404_for_another_store_brand_or_consultant(api, org):
    other = store_id("sh-lexus-xh")
    brand = org.stores[store_id(PD)]
    consultant = org.consultants[other][0]
    for q in (f"store_id={other}", f"brand_id={brand}", f"consultant_id={consultant}"):
        assert api.get(f"/analytics/api/v1/dashboard?{q}", as_=f"{PD}.manager").status_code == 404
        assert api.get(f"/analytics/?{q}", as_=f"{PD}.manager").status_code == 404
    own = org.consultants[store_id(PD)][0]
    assert api.get(f"/analytics/api/v1/kpis?consultant_id={own}&month={MONTH}", as_=f"{PD}.manager").status_code == 200


def test_consultants_and_call_center_agents_have_no_analytics(api):
    assert api.get("/analytics/api/v1/dashboard", as_=f"{PD}.sales1").status_code == 403
    assert api.get("/analytics/api/v1/kpis", as_="cc.agent1").status_code == 403


def test_hq_sets_a_target_and_sees_the_achievement(api, org):
    sid = store_id(PD)
    r = api.put("/analytics/api/v1/targets", as_="hq.admin",
                json={"month": MONTH, "level": "store", "node_id": sid, "kpi": "leads", "value": 4})
    assert r.status_code == 200, r.json
    rows = {k["key"]: k for k in api.get(f"/analytics/api/v1/kpis?month={MONTH}&store_id={sid}",
                                          as_="hq.admin").json["kpis"]}
    assert rows["leads"]["target"] == 4 and rows["leads"]["achievement"] == pytest.approx(rows["leads"]["actual"] / 4)
    mine = api.get(f"/analytics/api/v1/targets?month={MONTH}", as_=f"{PD}.manager").json["items"]
    assert [t["node_id"] for t in mine] == [sid]


def test_bad_targets_are_refused_with_field_errors_and_nothing_written(api):
    before = api.get("/analytics/api/v1/targets", as_="hq.admin").json["items"]
    for body, field in (({"month": "2026-13", "level": "store", "kpi": "leads", "value": 1}, "month"),
                        ({"month": MONTH, "level": "store", "node_id": "nope", "kpi": "leads", "value": 1}, "node_id"),
                        ({"month": MONTH, "level": "group", "kpi": "nonsense", "value": 1}, "kpi"),
                        ({"month": MONTH, "level": "group", "kpi": "leads", "value": -3}, "value")):
        r = api.put("/analytics/api/v1/targets", as_="hq.admin", json=body)
        assert r.status_code == 422 and field in r.json["errors"], (body, r.json)
    assert api.put("/analytics/api/v1/targets", as_="hq.analyst",
                   json={"month": MONTH, "level": "group", "kpi": "leads", "value": 1}).status_code == 403
    assert api.get("/analytics/api/v1/targets", as_="hq.admin").json["items"] == before


def test_forecast_probabilities_are_a_group_setting(api, org):
    r = api.put("/analytics/api/v1/settings", as_="hq.admin", json={"probability": {"B": 0.4}})
    assert r.status_code == 200 and r.json["probability"]["B"] == 0.4 and r.json["probability"]["A"] == 0.5
    assert api.put("/analytics/api/v1/settings", as_="hq.admin", json={"probability": {"B": 3}}).status_code == 422
    f = api.get("/analytics/api/v1/forecast", as_="hq.admin").json
    assert set(f["total"]) == {"7", "30", "90"} and f["total"]["7"] <= f["total"]["30"] <= f["total"]["90"]


def test_compliance_ranks_every_store(api, org):
    items = api.get("/analytics/api/v1/compliance", as_="hq.admin").json["items"]
    assert len(items) == 12 and [i["rank"] for i in items] == list(range(1, 13))
    assert items[0]["total"] >= items[-1]["total"]


def test_any_table_exports_to_csv_and_xlsx(api):
    csv = api.get(f"/analytics/export/kpis.csv?month={MONTH}", as_="hq.admin")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    xlsx = api.get(f"/analytics/export/children.xlsx?month={MONTH}", as_="hq.admin")
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    assert ws.max_row == 4  # header + 3 brands
    assert api.get("/analytics/export/nope.csv", as_="hq.admin").status_code == 404
