"""Personal data on every leads surface: full phone numbers only for those who work the lead, the call
center kept out of the lead lists, export cells that stay text, Idempotency-Keys scoped to their caller."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from shared.phones import mask, normalize
from tests.conftest import store_id
from tests.leads.helpers import LEADS, new_lead, phone

PD, XH = "sh-toyota-pd", "sh-lexus-xh"
OWNER, COLLEAGUE, MANAGER = f"{PD}.sales1", f"{PD}.sales2", f"{PD}.manager"
HQ = ("hq.admin", "hq.analyst")


@pytest.fixture(scope="module")
def lead(api) -> dict:
    """A lead of PD's sales1, with its full number."""
    created = new_lead(api, OWNER, name="隐私客户", phone=phone())
    return {**created, "full": normalize(created["phone"])}


def _csv(api, as_, **params) -> list[list[str]]:
    r = api.get(f"{LEADS}/leads/export", as_=as_, query_string={"format": "csv", **params})
    assert r.status_code == 200, r.get_data(as_text=True)
    return list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))


def _xlsx(api, as_, **params) -> list[list]:
    r = api.get(f"{LEADS}/leads/export", as_=as_, query_string={"format": "xlsx", **params})
    assert r.status_code == 200, r.get_data(as_text=True)
    return [[c.value for c in row] for row in load_workbook(io.BytesIO(r.data)).active.iter_rows()]


def _phone_in(rows: list[list], lead_id: str):
    header, *body = rows
    return next(row for row in body if row[0] == lead_id)[header.index("电话")]


@pytest.mark.parametrize("user", [OWNER, MANAGER])
def test_the_owning_consultant_and_the_stores_manager_see_the_whole_number_everywhere(api, lead, user):
    assert api.get(f"{LEADS}/leads/{lead['id']}", as_=user).json["phone"] == lead["full"]
    listed = api.get(f"{LEADS}/leads", as_=user, query_string={"q": "隐私客户"}).json
    assert [x["phone"] for x in listed if x["id"] == lead["id"]] == [lead["full"]]
    assert _phone_in(_csv(api, MANAGER), lead["id"]) == lead["full"]
    assert lead["full"] in api.get(f"/leads/{lead['id']}", as_=user).get_data(as_text=True)
    assert lead["full"] in api.get("/leads/", as_=user).get_data(as_text=True)


@pytest.mark.parametrize("user", HQ)
def test_hq_sees_the_number_masked_in_the_api_search_pages_and_exports(api, lead, user):
    masked = mask(lead["full"])
    assert api.get(f"{LEADS}/leads/{lead['id']}", as_=user).json["phone"] == masked
    listed = api.get(f"{LEADS}/leads", as_=user, query_string={"q": "隐私客户", "per_page": 200}).json
    assert [x["phone"] for x in listed if x["id"] == lead["id"]] == [masked]
    assert _phone_in(_csv(api, user), lead["id"]) == masked
    assert _phone_in(_xlsx(api, user), lead["id"]) == masked
    for page in (f"/leads/{lead['id']}", "/leads/?q=隐私客户"):
        html = api.get(page, as_=user).get_data(as_text=True)
        assert masked in html and lead["full"] not in html and lead["full"][3:] not in html


def test_hq_finds_a_lead_by_its_whole_number_but_cannot_probe_its_hidden_digits(api, lead):
    middle = lead["full"][6:10]  # the digits the mask hides
    assert lead["id"] in {x["id"] for x in api.get(f"{LEADS}/leads", as_="hq.admin",
                                                   query_string={"q": lead["full"], "per_page": 200}).json}
    assert lead["id"] in {x["id"] for x in api.get(f"{LEADS}/leads", as_=MANAGER,
                                                   query_string={"q": middle, "per_page": 200}).json}
    for user in HQ:
        probe = api.get(f"{LEADS}/leads", as_=user, query_string={"q": lead["full"][3:10], "per_page": 200}).json
        assert lead["id"] not in {x["id"] for x in probe}


@pytest.mark.parametrize("user", ["cc.agent1", "cc.sup"])
def test_the_call_center_registers_phone_ins_but_cannot_list_open_or_export_leads(api, lead, user):
    assert api.get(f"{LEADS}/leads/export", as_=user, query_string={"format": "csv"}).status_code == 403
    assert api.get(f"{LEADS}/leads/export", as_=user, query_string={"format": "xlsx"}).status_code == 403
    assert api.get(f"{LEADS}/leads", as_=user).status_code == 403
    assert api.get(f"{LEADS}/leads/{lead['id']}", as_=user).status_code == 403
    assert api.get("/leads/", as_=user).status_code == 403
    assert api.get(f"/leads/{lead['id']}", as_=user).status_code == 403
    r = api.post(f"{LEADS}/leads", as_=user, json={"name": "来电客户", "phone": phone(), "source": "phone_in",
                                                  "store_id": store_id(XH)})
    assert r.status_code == 201 and r.json["phone"].count("*") == 4
    r = api.post(f"{LEADS}/visits", as_=user, json={"kind": "phone_in", "name": "来电客户", "phone": phone(),
                                                   "store_id": store_id(XH)})
    assert r.status_code == 201 and r.json["lead_id"]


def test_a_formula_typed_as_a_name_stays_text_in_csv_and_xlsx(api):
    evil = '=HYPERLINK("http://evil","x")'
    made = new_lead(api, OWNER, name=evil, model="+cmd|' /C calc'!A0")
    row = next(r for r in _csv(api, MANAGER) if r[0] == made["id"])
    assert f"'{evil}" in row and "'+cmd|' /C calc'!A0" in row
    ws = load_workbook(io.BytesIO(api.get(f"{LEADS}/leads/export", as_=MANAGER,
                                          query_string={"format": "xlsx"}).data)).active
    cells = next(r for r in ws.iter_rows() if r[0].value == made["id"])
    name = next(c for c in cells if "HYPERLINK" in str(c.value))
    assert name.data_type == "s" and name.value == f"'{evil}"


def test_an_idempotency_key_belongs_to_its_caller(api):
    key = {"Idempotency-Key": "shared-key-1"}

    def create(user, **extra):
        return api.post(f"{LEADS}/leads", as_=user, headers=key,
                        json={"name": "幂等客户", "phone": phone(), "source": "phone_in", **extra})

    mine = create(OWNER)
    again = create(OWNER)
    colleagues = create(COLLEAGUE)
    managers = create(MANAGER)
    hq = create("hq.admin", store_id=store_id(XH))
    assert [r.status_code for r in (mine, again, colleagues, managers, hq)] == [201] * 5
    assert again.json["id"] == mine.json["id"]
    assert len({mine.json["id"], colleagues.json["id"], managers.json["id"], hq.json["id"]}) == 4
    too_long = api.post(f"{LEADS}/leads", as_=OWNER, headers={"Idempotency-Key": "k" * 81},
                        json={"name": "幂等客户", "phone": phone(), "source": "phone_in"})
    assert too_long.status_code == 400 and "Idempotency-Key" in too_long.json["message"]  # refused at the edge


def test_a_retry_after_the_lead_moved_to_a_colleague_is_a_conflict_not_a_crash(api):
    key = {"Idempotency-Key": "moved-away-1"}
    body = {"name": "转走客户", "phone": phone(), "source": "phone_in"}
    first = api.post(f"{LEADS}/leads", as_=OWNER, headers=key, json=body)
    colleague = api.get("/identity/api/v1/auth/me", as_=COLLEAGUE).json["user_id"]
    assert api.put(f"{LEADS}/leads/{first.json['id']}/consultant", as_=MANAGER,
                   json={"consultant_id": colleague}).status_code == 200
    retry = api.post(f"{LEADS}/leads", as_=OWNER, headers=key, json=body)
    assert retry.status_code == 409 and retry.json["code"] == "idempotency_key_used", retry.get_data(as_text=True)


def test_the_export_speaks_the_readers_language_not_codes(api):
    made = new_lead(api, OWNER, name="转介绍客户", source="owner_referral")
    for rows in (_csv(api, MANAGER), _xlsx(api, MANAGER)):
        header, *body = rows
        assert header[:7] == ["ID", "门店", "销售顾问", "客户", "电话", "来源", "级别"], header
        row = next(r for r in body if r[0] == made["id"])
        assert row[header.index("来源")] == "保有客户介绍" and "owner_referral" not in row
