"""Identity: login, lockout, the org tree and users managed by the group admin, published as events."""
from __future__ import annotations

import uuid

import pytest

from tests.conftest import DEMO_PASSWORD, store_id, wait_until


def _login(api, username, password=DEMO_PASSWORD, group="demo"):
    return api.client.post("/identity/api/v1/auth/login",
                           json={"group": group, "username": username, "password": password})


def test_login_returns_a_bearer_token_and_me_describes_the_caller(api):
    r = _login(api, "sh-toyota-pd.manager")
    assert r.status_code == 200 and r.json["token_type"] == "Bearer" and r.json["expires_in"] > 0
    me = api.client.get("/identity/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json['access_token']}"}).json
    assert me["role"] == "store_manager" and me["store_ids"] == [store_id("sh-toyota-pd")]


def test_wrong_password_unknown_user_and_unknown_group_look_the_same(api):
    answers = [_login(api, "hq.analyst", "wrong"), _login(api, "nobody"), _login(api, "hq.analyst", group="nogroup")]
    assert {r.status_code for r in answers} == {401}
    assert len({r.json["message"] for r in answers}) == 1


def test_five_failures_lock_the_account_even_for_the_right_password(api):
    user = "wx-vw-bh.sales5"
    for _ in range(5):
        assert _login(api, user, "wrong-password").status_code == 401
    r = _login(api, user)
    assert r.status_code == 429 and r.json["code"] == "locked"


def test_public_key_is_published_for_verification(api):
    keys = api.client.get("/identity/api/v1/keys").json
    assert keys["keys"][0]["alg"] == "RS256" and keys["keys"][0]["kid"]
    assert "BEGIN PUBLIC KEY" in keys["pem"]


def test_group_admin_adds_a_store_and_a_consultant_who_can_then_log_and_sell(api):
    org = api.get("/identity/api/v1/org", as_="hq.admin").json
    toyota = next(b for b in org["brands"] if b["code"] == "toyota")
    code = f"sz-toyota-{uuid.uuid4().hex[:6]}"
    st = api.post("/identity/api/v1/stores", as_="hq.admin",
                  json={"brand_id": toyota["id"], "code": code, "name": "苏州新店", "city": "苏州"})
    assert st.status_code == 201
    u = api.post("/identity/api/v1/users", as_="hq.admin",
                 json={"username": f"{code}.sales1", "name": "新顾问", "role": "sales_consultant",
                       "store_id": st.json["id"], "password": "a-long-password-1"})
    assert u.status_code == 201
    token = _login(api, f"{code}.sales1", "a-long-password-1").json["access_token"]

    def created():
        r = api.client.post("/leads/api/v1/leads", json={"name": "客户", "phone": "13912345678", "source": "walk_in"},
                            headers={"Authorization": f"Bearer {token}"})
        return r if r.status_code == 201 else None

    lead = wait_until(created, timeout=60).json  # leads learns the new store from identity's event
    assert lead["store_id"] == st.json["id"] and lead["brand_id"] == toyota["id"]


def test_only_the_group_admin_manages_users_and_bad_scopes_are_refused(api):
    body = {"username": "x.user", "name": "X", "role": "sales_consultant", "password": "a-long-password-1"}
    assert api.post("/identity/api/v1/users", as_="hq.analyst", json=body).status_code == 403
    assert api.post("/identity/api/v1/users", as_="sh-toyota-pd.manager", json=body).status_code == 403
    r = api.post("/identity/api/v1/users", as_="hq.admin", json=body)
    assert r.status_code == 422 and "store_id" in r.json["errors"]
    r = api.post("/identity/api/v1/users", as_="hq.admin", json={**body, "role": "hq_analyst", "store_id": store_id("sh-toyota-pd")})
    assert r.status_code == 422
    r = api.post("/identity/api/v1/users", as_="hq.admin", json={**body, "username": "hq.admin", "role": "hq_analyst"})
    assert r.status_code == 409


def test_a_deactivated_user_can_no_longer_log_in(api):
    users = api.get("/identity/api/v1/users?role=sales_consultant", as_="hq.admin").json
    victim = next(u for u in users if u["username"] == "nb-vw-yz.sales4")
    assert api.patch(f"/identity/api/v1/users/{victim['id']}", as_="hq.admin", json={"active": False}).status_code == 200
    assert _login(api, "nb-vw-yz.sales4").status_code == 401


def test_store_users_see_only_their_store_colleagues(api):
    users = api.get("/identity/api/v1/users", as_="sh-lexus-xh.manager").json
    assert users and {u["store_id"] for u in users} == {store_id("sh-lexus-xh")}


def _toyota(api) -> str:
    return next(b["id"] for b in api.get("/identity/api/v1/org", as_="hq.admin").json["brands"] if b["code"] == "toyota")


def test_a_store_with_an_unknown_time_zone_is_refused_and_not_saved(api):
    code = f"sh-toyota-{uuid.uuid4().hex[:6]}"
    r = api.post("/identity/api/v1/stores", as_="hq.admin",
                 json={"brand_id": _toyota(api), "code": code, "name": "火星店", "timezone": "Mars/Olympus"})
    assert r.status_code == 422 and "timezone" in r.json["errors"]
    assert code not in {st["code"] for st in api.get("/identity/api/v1/org", as_="hq.admin").json["stores"]}


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "asia/shanghai"])
def test_a_store_cannot_be_moved_to_an_unknown_time_zone(api, zone):
    sid = store_id("hz-lexus-bj")
    r = api.patch(f"/identity/api/v1/stores/{sid}", as_="hq.admin", json={"timezone": zone, "name": "改名了吗"})
    assert r.status_code == 422 and "timezone" in r.json["errors"]
    st = next(s for s in api.get("/identity/api/v1/org", as_="hq.admin").json["stores"] if s["id"] == sid)
    assert st["timezone"] == "Asia/Shanghai" and st["name"] == "杭州滨江雷克萨斯"
    assert api.patch(f"/identity/api/v1/stores/{sid}", as_="hq.admin", json={"timezone": "Asia/Urumqi"}).status_code == 200
    assert api.patch(f"/identity/api/v1/stores/{sid}", as_="hq.admin", json={"timezone": "Asia/Shanghai"}).status_code == 200


def test_a_group_with_an_unknown_time_zone_is_refused(platform):
    from services.identity.handlers.org import create_group
    from shared.errors import Invalid
    from shared.tenancy import Scope

    with platform.runtimes["identity"].uow(Scope.system()) as uow, pytest.raises(Invalid) as err:
        create_group(uow, f"g-{uuid.uuid4().hex[:6]}", "火星集团", "Mars/Olympus")
    assert "timezone" in err.value.errors


def test_the_admin_finds_users_by_part_of_their_username_or_name(api):
    found = api.get("/identity/api/v1/users?q=sh-lexus-xh.sales", as_="hq.admin").json
    assert {u["username"] for u in found} == {f"sh-lexus-xh.sales{i}" for i in range(1, 6)}
    assert [u["username"] for u in api.get("/identity/api/v1/users?q=展厅经理&store_id=" + store_id("hz-vw-xh"),
                                           as_="hq.admin").json] == ["hz-vw-xh.manager"]
    assert api.get("/identity/api/v1/users?q=no-such-person", as_="hq.admin").json == []


def test_an_admin_cannot_take_their_own_access_away(api):
    me = api.get("/identity/api/v1/auth/me", as_="hq.admin").json
    r = api.patch(f"/identity/api/v1/users/{me['user_id']}", as_="hq.admin", json={"role": "hq_analyst"})
    assert r.status_code == 409
    assert api.get("/identity/api/v1/auth/me", as_="hq.admin").status_code == 200


def _browser_as(platform, username: str, password: str = DEMO_PASSWORD):
    import re

    from werkzeug.test import Client

    c = Client(platform.wsgi())
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/identity/login").get_data(as_text=True)).group(1)
    assert c.post("/identity/login", data={"group": "demo", "username": username, "password": password,
                                           "csrf_token": csrf}).status_code == 302
    return c, csrf


def _form(c, path: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(path).get_data(as_text=True)).group(1)


def test_the_admin_changes_role_and_store_resets_a_password_on_the_users_pages(platform, api):
    u = api.post("/identity/api/v1/users", as_="hq.admin", json={
        "username": f"page-{uuid.uuid4().hex[:6]}", "name": "页面用户", "role": "sales_consultant",
        "store_id": store_id("sh-toyota-pd"), "password": "a-long-password-1"}).json
    admin, _ = _browser_as(platform, "hq.admin")
    listing = admin.get(f"/identity/users?q={u['username']}").get_data(as_text=True)
    assert f'href="/identity/users/{u["id"]}"' in listing and "sh-toyota-pd.sales1" not in listing
    csrf = _form(admin, f"/identity/users/{u['id']}")
    r = admin.post(f"/identity/users/{u['id']}", data={"csrf_token": csrf, "action": "profile", "role": "store_manager",
                                                      "store_id": store_id("sh-lexus-xh"), "active": "1", "on_duty": "1"})
    assert r.status_code == 302
    after = next(x for x in api.get(f"/identity/api/v1/users?q={u['username']}", as_="hq.admin").json)
    assert (after["role"], after["store_id"]) == ("store_manager", store_id("sh-lexus-xh"))
    r = admin.post(f"/identity/users/{u['id']}", data={"csrf_token": csrf, "action": "reset", "password": "reset-by-admin-9"})
    assert r.status_code == 302
    _browser_as(platform, u["username"], "reset-by-admin-9")  # the new password works


def test_a_user_changes_their_own_password_on_the_page_and_stays_signed_in(platform, api):
    name = f"pw-{uuid.uuid4().hex[:6]}"
    api.post("/identity/api/v1/users", as_="hq.admin", json={
        "username": name, "name": "改密用户", "role": "hq_analyst", "password": "a-long-password-1"})
    c, _ = _browser_as(platform, name, "a-long-password-1")
    csrf = _form(c, "/identity/password")
    wrong = c.post("/identity/password", data={"csrf_token": csrf, "current_password": "nope-nope-nope",
                                               "new_password": "b-long-password-2", "repeat_password": "b-long-password-2"})
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    r = c.post("/identity/password", data={"csrf_token": csrf, "current_password": "a-long-password-1",
                                           "new_password": "b-long-password-2", "repeat_password": "b-long-password-2"})
    assert r.status_code == 302
    assert c.get("/identity/password").status_code == 200  # this browser goes on with its new cookie
    _browser_as(platform, name, "b-long-password-2")
