"""Identity: login, lockout, the org tree and users managed by the group admin, published as events."""
from __future__ import annotations

import uuid

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

    lead = wait_until(created, timeout=10).json  # leads learns the new store from identity's event
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
