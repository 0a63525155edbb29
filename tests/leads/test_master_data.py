"""Master data (issue 14): the model catalogue per brand and the competitor list that HQ keeps, the names
every form and import is held to, and the connected order records of the lead page (what its state allows)."""
from __future__ import annotations

import io
import re

import pytest

from services.identity.entrypoints.seed import stable_id
from services.leads.domain import allowed_actions, check_grade
from shared import clock
from tests.conftest import store_id, wait_until
from tests.leads.helpers import LEADS, _csrf, browser, events, new_lead

TOYOTA, LEXUS = stable_id("brand", "demo/toyota"), stable_id("brand", "demo/lexus")
PD, XH = "sh-toyota-pd", "sh-lexus-xh"
ME, MGR = f"{PD}.sales2", f"{PD}.manager"


@pytest.fixture(scope="module")
def toyota_catalogue(api):
    """The toyota brand's starter catalogue, loaded by HQ (once leads has heard of the brand)."""
    assert wait_until(lambda: api.post(f"{LEADS}/catalogue/starter", as_="hq.admin",
                                       json={"brand_id": TOYOTA}).status_code == 200, 30)
    return {m["name"]: m for m in api.get(f"{LEADS}/catalogue", as_=ME, query_string={"brand_id": TOYOTA}).json}


def test_only_hq_keeps_the_catalogue_and_every_role_reads_its_own_brand(api, toyota_catalogue):
    body = {"brand_id": LEXUS, "series": "LM", "name": "LM 350h", "aliases": ["LM"], "guide_price": "1165000"}
    for who in ("hq.analyst", MGR, ME, f"{XH}.manager"):
        assert api.post(f"{LEADS}/catalogue", as_=who, json=body).status_code == 403, who
    assert api.post(f"{LEADS}/catalogue", as_="hq.admin", json={**body, "brand_id": "no-such-brand"}).status_code == 404
    r = api.post(f"{LEADS}/catalogue", as_="hq.admin", json=body)
    assert r.status_code == 201 and r.json["name"] == "LM 350h", r.json
    lexus_store = api.get(f"{LEADS}/catalogue", as_=f"{XH}.sales1", query_string={"store_id": store_id(XH)}).json
    assert [m["name"] for m in lexus_store] == ["LM 350h"]
    toyota_store = api.get(f"{LEADS}/catalogue", as_=ME, query_string={"store_id": store_id(PD)}).json
    assert "LM 350h" not in {m["name"] for m in toyota_store} and "RAV4荣放" in {m["name"] for m in toyota_store}
    # one name means one model: an alias that is another model's name is refused, and nothing changes
    clash = api.post(f"{LEADS}/catalogue", as_="hq.admin",
                     json={"brand_id": TOYOTA, "series": "RAV4荣放", "name": "RAV4 新能源", "aliases": ["卡罗拉"]})
    assert clash.status_code == 422 and "aliases" in clash.json["errors"], clash.json
    assert "RAV4 新能源" not in {m["name"] for m in api.get(f"{LEADS}/catalogue", as_=ME,
                                                         query_string={"brand_id": TOYOTA}).json}


def test_names_the_catalogue_knows_are_kept_as_its_name_and_events_carry_its_id(api, platform, toyota_catalogue):
    rav4 = toyota_catalogue["RAV4荣放"]
    lead = new_lead(api, ME, model="rav4")
    assert lead["model"] == "RAV4荣放"
    created = [e for e in events(platform, "leads.lead.created") if e["data"]["lead_id"] == lead["id"]]
    assert created[0]["data"]["model"] == "RAV4荣放" and created[0]["data"]["model_id"] == rav4["id"]
    order = api.post(f"{LEADS}/leads/{lead['id']}/orders", as_=ME,
                     json={"model": "RAV4", "price": "179800", "payment_method": "cash"})
    assert order.status_code == 201 and order.json["model"] == "RAV4荣放" and order.json["model_id"] == rav4["id"]
    placed = [e for e in events(platform, "leads.order.placed") if e["data"]["lead_id"] == lead["id"]]
    assert placed[0]["data"]["model_id"] == rav4["id"]


def test_a_model_the_brand_does_not_sell_is_refused_everywhere(api, toyota_catalogue):
    before = int(api.get(f"{LEADS}/leads", as_=ME).headers["X-Total-Count"])
    r = api.post(f"{LEADS}/leads", as_=ME, json={"name": "甲", "phone": "13900001111", "source": "walk_in",
                                                  "model": "Model Y"})
    assert r.status_code == 422 and r.json["errors"] == {"model": ["not in the brand's model catalogue"]}, r.json
    r = api.post(f"{LEADS}/visits", as_=ME, json={"kind": "walk_in", "model": "ES 300h", "phone": "13900001112",
                                                   "name": "乙"})
    assert r.status_code == 422 and "model" in r.json["errors"], r.json  # a lexus model at a toyota store
    assert int(api.get(f"{LEADS}/leads", as_=ME).headers["X-Total-Count"]) == before
    lead = new_lead(api, ME)["id"]
    assert api.post(f"{LEADS}/leads/{lead}/test-drives", as_=ME, json={"model": "思域"}).status_code == 422
    assert api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={"model": "思域", "price": "1",
                                                                  "payment_method": "cash"}).status_code == 422
    assert api.get(f"{LEADS}/leads/{lead}", as_=ME).json["level"] == "N"


def test_an_import_maps_known_names_and_refuses_unknown_ones_with_the_row_number(api, toyota_catalogue):
    data = "姓名,手机,来源,意向车型\n甲一,13911110001,online,RAV4\n乙二,13911110002,online,思域\n丙三,13911110003,online,\n"
    r = api.post(f"{LEADS}/imports", as_=MGR, data={"file": (io.BytesIO(data.encode()), "portal.csv")},
                 content_type="multipart/form-data")
    assert r.status_code == 202, r.json
    job = r.json["id"]
    assert wait_until(lambda: api.get(f"{LEADS}/imports/{job}", as_=MGR).json["status"] in ("done", "failed"), 30)
    got = api.get(f"{LEADS}/imports/{job}", as_=MGR).json
    assert got["imported"] == 2 and got["bad_rows"] == 1, got
    assert [(e["row"], e["reason"]) for e in got["errors"]] == [
        (3, "unknown model: '思域' is not in the brand's catalogue")]
    found = api.get(f"{LEADS}/leads", as_=MGR, query_string={"q": "13911110001"}).json
    assert [x["model"] for x in found] == ["RAV4荣放"]


def test_a_catalogue_file_is_checked_row_by_row_and_saved_only_when_every_row_is_good(platform, api, toyota_catalogue):
    web = browser(platform, "hq.admin")
    page = web.get(f"/leads/catalogue?brand_id={TOYOTA}").get_data(as_text=True)
    assert "RAV4荣放" in page and "车型库" in page

    def send(text: str, dry: bool):
        form = {"csrf_token": _csrf(page), "brand_id": TOYOTA,
                "file": (io.BytesIO(text.encode()), "models.csv")}
        if dry:
            form["dry_run"] = "1"
        return web.post("/leads/catalogue/import", data=form, content_type="multipart/form-data")

    bad = "车系,车型,别名,指导价\n威兰达,威兰达,Wildlander,175800\n,,x,\n锋兰达,锋兰达,,abc\n"
    r = send(bad, dry=False)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert re.search(r'<td class="num">3</td><td>缺少车型名称</td>', html), html[-3000:]
    assert re.search(r'<td class="num">4</td><td>指导价', html)
    names = lambda: {m["name"] for m in api.get(f"{LEADS}/catalogue", as_=ME,  # noqa: E731
                                                 query_string={"brand_id": TOYOTA}).json}
    assert "威兰达" not in names()
    good = "车系,车型,别名,指导价\n威兰达,威兰达,Wildlander,175800\n凯美瑞,凯美瑞,Camry|凯美瑞 双擎,179800\n"
    r = send(good, dry=True)
    assert r.status_code == 200 and "威兰达" not in names()
    assert "将新增 1 个车型、更新 1 个" in r.get_data(as_text=True)
    r = send(good, dry=False)
    assert r.status_code == 200 and "威兰达" in names()
    assert new_lead(api, ME, model="wildlander")["model"] == "威兰达"


def test_defeats_name_a_competitor_from_the_list_hq_keeps(api, toyota_catalogue):
    lead = new_lead(api, ME)["id"]
    free = api.post(f"{LEADS}/leads/{lead}/defeat", as_=ME, json={"reason": "competitor",
                                                                   "competitor_brand": "小鹏"})
    assert free.status_code == 201  # no list yet: any name goes
    assert api.post(f"{LEADS}/competitors", as_=MGR, json={"brand": "本田", "model": "雅阁"}).status_code == 403
    assert api.post(f"{LEADS}/competitors", as_="hq.admin", json={"brand": "本田", "model": "雅阁"}).status_code == 201
    lead = new_lead(api, ME)["id"]
    r = api.post(f"{LEADS}/leads/{lead}/defeat", as_=ME, json={"reason": "competitor", "competitor_brand": "小鹏"})
    assert r.status_code == 422 and "competitor_brand" in r.json["errors"], r.json
    r = api.post(f"{LEADS}/leads/{lead}/defeat", as_=ME, json={"reason": "competitor", "competitor_brand": "本田",
                                                                "competitor_model": "思域"})
    assert r.status_code == 422 and "competitor_model" in r.json["errors"], r.json
    r = api.post(f"{LEADS}/leads/{lead}/defeat", as_=ME, json={"reason": "competitor", "competitor_brand": "本田",
                                                                "competitor_model": "雅阁"})
    assert r.status_code == 201, r.json
    assert [(c["brand"], c["model"]) for c in api.get(f"{LEADS}/competitors", as_=ME).json] == [("本田", "雅阁")]


def test_what_a_leads_state_allows_is_one_rule():
    assert allowed_actions("O") == {"follow_up", "test_drive", "deliver", "cancel_order", "assign"}
    assert allowed_actions("B", defeat_pending=True) == {"follow_up", "grade", "test_drive", "order", "assign"}
    assert allowed_actions("delivered") == allowed_actions("defeated") == allowed_actions("invalid") == set()
    assert check_grade("O", "invalid", []) != []  # a signed order is cancelled first, not left on a closed lead


def test_the_lead_page_offers_only_what_the_leads_state_allows(platform, api, toyota_catalogue):
    lead = new_lead(api, ME, model="凯美瑞")["id"]
    web = browser(platform, ME)
    html = web.get(f"/leads/{lead}").get_data(as_text=True)
    assert f"/leads/{lead}/act/grade" in html and f"/leads/{lead}/act/defeat" in html
    assert f"/leads/{lead}/act/order" in html and 'data-testid="model-picker"' in html
    order = api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={
        "model": "凯美瑞", "colour": "珍珠白", "price": "189800", "deposit": "5000", "payment_method": "financing",
        "expected_delivery": "2030-01-15"}).json
    html = web.get(f"/leads/{lead}").get_data(as_text=True)
    for gone in ("act/grade", "act/defeat", "act/order"):
        assert f"/leads/{lead}/{gone}" not in html, gone
    assert "5,000" in html and "贷款" in html and "2030-01-15" in html and "act/cancel_order" in html
    # what is not offered is refused too
    assert api.post(f"{LEADS}/leads/{lead}/grade", as_=ME, json={"level": "invalid"}).status_code == 422
    assert api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={"model": "凯美瑞", "price": "1",
                                                                  "payment_method": "cash"}).status_code == 409
    # cancelled from the page with the customer's reason: the lead is open again, the reason in its timeline
    r = web.post(f"/leads/{lead}/act/cancel_order", data={"csrf_token": _csrf(html), "order_id": order["id"],
                                                         "reason": "客户资金未到位"})
    assert r.status_code == 302
    assert api.get(f"{LEADS}/orders/{order['id']}", as_=ME).json["status"] == "cancelled"
    html = web.get(f"/leads/{lead}").get_data(as_text=True)
    assert "客户资金未到位" in html and f"/leads/{lead}/act/order" in html and "act/cancel_order" not in html
    # delivered: no order form, the VIN and the way to the customer
    order = api.post(f"{LEADS}/leads/{lead}/orders", as_=ME, json={"model": "凯美瑞", "price": "189800",
                                                                   "payment_method": "cash"}).json
    today = clock.now().astimezone(clock.zone()).date().isoformat()
    delivered = api.post(f"{LEADS}/orders/{order['id']}/delivery", as_=ME,
                         json={"vin": "LVGBE40K8PG000123", "delivered_on": today})
    assert delivered.status_code == 200, delivered.json
    html = web.get(f"/leads/{lead}").get_data(as_text=True)
    assert "LVGBE40K8PG000123" in html and "/customers/?q=LVGBE40K8PG000123" in html
    for gone in ("act/order", "act/grade", "act/defeat", "act/follow_up", "act/cancel_order"):
        assert f"/leads/{lead}/{gone}" not in html, gone
    assert "/callcenter/tasks?lead_id=" not in html  # a consultant does not read call-center tasks
    manager_view = browser(platform, MGR).get(f"/leads/{lead}").get_data(as_text=True)
    assert f"/callcenter/tasks?lead_id={lead}" in manager_view


def test_the_lead_page_links_to_the_customer_customers_matched_it_to(platform, api):
    import uuid

    from shared.bus.consumer import Applier
    from shared.events import Event

    rt = platform.runtimes["leads"]
    lead = new_lead(api, ME)["id"]
    group = stable_id("group", "demo")
    customer, survivor = str(uuid.uuid4()), str(uuid.uuid4())
    Applier(rt.db, rt.inbox, rt.handlers).apply(Event(
        type="customers.relationship.linked", group_id=group, store_id=store_id(PD), brand_id=TOYOTA,
        data={"customer_id": customer, "store_id": store_id(PD), "brand_id": TOYOTA, "customer_class": "intent",
              "lead_id": lead, "new_customer": True}))
    web = browser(platform, ME)
    assert f'href="/customers/{customer}"' in web.get(f"/leads/{lead}").get_data(as_text=True)
    Applier(rt.db, rt.inbox, rt.handlers).apply(Event(
        type="customers.customer.merged", group_id=group,
        data={"survivor_id": survivor, "merged_id": customer, "merge_id": str(uuid.uuid4())}))
    assert f'href="/customers/{survivor}"' in web.get(f"/leads/{lead}").get_data(as_text=True)


def test_one_delivery_links_its_leads_each_to_the_customer_it_named_last(platform, api):
    """The links of one delivery are applied in one statement, as applying them in order would: a lead
    linked twice keeps the second customer, the other lead its own, a lead of the delivery unknown here
    changes nothing."""
    import uuid

    from shared.bus.consumer import Applier
    from shared.events import Event

    rt = platform.runtimes["leads"]
    first, second = new_lead(api, ME)["id"], new_lead(api, ME)["id"]
    group = stable_id("group", "demo")
    c1, c2, c3 = (str(uuid.uuid4()) for _ in range(3))

    def linked(lead: str, customer: str) -> Event:
        return Event(type="customers.relationship.linked", group_id=group, store_id=store_id(PD), brand_id=TOYOTA,
                     data={"customer_id": customer, "store_id": store_id(PD), "brand_id": TOYOTA,
                           "customer_class": "intent", "lead_id": lead, "new_customer": True})

    applied = Applier(rt.db, rt.inbox, rt.handlers).apply_batch(
        [linked(first, c1), linked(second, c2), linked(str(uuid.uuid4()), c2), linked(first, c3)])
    assert applied == 4
    assert api.get(f"{LEADS}/leads/{first}", as_=ME).json["customer_id"] == c3
    assert api.get(f"{LEADS}/leads/{second}", as_=ME).json["customer_id"] == c2


def test_an_xlsx_catalogue_is_read_like_a_csv_and_its_bad_rows_named(platform, api):
    from openpyxl import Workbook

    assert wait_until(lambda: api.post(f"{LEADS}/catalogue/starter", as_="hq.admin",
                                       json={"brand_id": stable_id("brand", "demo/vw")}).status_code == 200, 30)
    book = Workbook()
    sheet = book.active
    for row in (["车系", "车型", "别名", "指导价"], ["ID.", "ID.6 CROZZ", "ID6", 259900], ["途观", "途观L", "途观", "x"]):
        sheet.append(row)
    raw = io.BytesIO()
    book.save(raw)
    web = browser(platform, "hq.admin")
    vw = stable_id("brand", "demo/vw")
    page = web.get(f"/leads/catalogue?brand_id={vw}").get_data(as_text=True)
    r = web.post("/leads/catalogue/import", content_type="multipart/form-data", data={
        "csrf_token": _csrf(page), "brand_id": vw, "file": (io.BytesIO(raw.getvalue()), "models.xlsx")})
    assert r.status_code == 422 and re.search(r'<td class="num">3</td><td>指导价', r.get_data(as_text=True))
    assert "ID.6 CROZZ" not in {m["name"] for m in api.get(f"{LEADS}/catalogue", as_=ME,
                                                            query_string={"brand_id": vw}).json}


def test_a_groups_catalogue_and_competitors_are_its_own(platform, api, toyota_catalogue):
    from services.identity.entrypoints.seed import seed_group

    seed_group(platform.runtimes["identity"], "north", "华北汽车集团")
    north_toyota, north = stable_id("brand", "north/toyota"), {"group": "north"}
    assert wait_until(lambda: api.post(f"{LEADS}/catalogue", as_="hq.admin", **north, json={
        "brand_id": north_toyota, "series": "皇冠", "name": "皇冠陆放"}).status_code == 201, 30)
    theirs = api.get(f"{LEADS}/catalogue", as_="hq.admin", **north).json
    assert [m["name"] for m in theirs] == ["皇冠陆放"]  # none of demo's models
    assert api.get(f"{LEADS}/catalogue", as_="hq.admin", **north, query_string={"brand_id": TOYOTA}).json == []
    for path, body in ((f"{LEADS}/catalogue", {"brand_id": TOYOTA, "name": "X1"}),
                       (f"{LEADS}/catalogue/starter", {"brand_id": TOYOTA})):
        assert api.post(path, as_="hq.admin", **north, json=body).status_code == 404  # demo's brand: not theirs
    assert "皇冠陆放" not in {m["name"] for m in api.get(f"{LEADS}/catalogue", as_="hq.admin").json}
    # north's own catalogue holds at north's stores, demo's does not
    seller = api.post(f"{LEADS}/leads", as_=f"{PD}.sales1", **north, json={
        "name": "北方客户", "phone": "13977770001", "source": "walk_in", "model": "凯美瑞"})
    assert seller.status_code == 422 and "model" in seller.json["errors"], seller.json
    assert new_lead(api, ME, model="凯美瑞")["model"] == "凯美瑞"
