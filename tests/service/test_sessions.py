"""Sessions end when access ends: after a user is deactivated, demoted, moved to another store, changes
their password, has it reset, or logs out, the token and the cookie they held stop working on every
service (401 from the API, the login page for pages) — and nobody else's do."""
from __future__ import annotations

import re
import uuid

import pytest
from werkzeug.test import Client

from tests.conftest import store_id, wait_until

PASSWORD = "a-long-password-1"
DEADLINE = 30  # the platform's bound is 5 s (docs/security.md); a loaded test machine gets room
#: per service: an API call and a page a store manager may use
PROBES = {
    "identity": ("/identity/api/v1/auth/me", "/identity/password"),
    "leads": ("/leads/api/v1/leads?per_page=1", "/leads/"),
    "customers": ("/customers/api/v1/customers?q=13900000000", "/customers/"),
    "callcenter": ("/callcenter/api/v1/complaints", "/callcenter/complaints"),
    "analytics": ("/analytics/api/v1/summary", "/analytics/compliance"),
}


class Session:
    """One user signed in twice: a Bearer token (API) and a browser with the session cookie (pages)."""

    def __init__(self, platform, username: str, password: str):
        self.username = username
        self.api = Client(platform.wsgi())
        r = self.api.post("/identity/api/v1/auth/login", json={"group": "demo", "username": username, "password": password})
        assert r.status_code == 200, r.get_data(as_text=True)
        self.token = r.json["access_token"]
        self.browser = Client(platform.wsgi())
        html = self.browser.get("/identity/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        r = self.browser.post("/identity/login", data={"group": "demo", "username": username, "password": password,
                                                       "csrf_token": csrf})
        assert r.status_code == 302 and self.browser.get_cookie("crm_token"), r.get_data(as_text=True)

    def answers(self, service: str) -> tuple[int, int, str]:
        api_path, page_path = PROBES[service]
        api = self.api.get(api_path, headers={"Authorization": f"Bearer {self.token}"})
        page = self.browser.get(page_path)
        return api.status_code, page.status_code, page.headers.get("Location", "")

    def works_everywhere(self) -> bool:
        return all(self.answers(svc)[:2] == (200, 200) for svc in PROBES)

    def refused_everywhere(self) -> bool:
        for svc in PROBES:
            api, page, location = self.answers(svc)
            if api != 401 or page != 302 or not location.startswith("/identity/login"):
                return False
        return True


def _new_manager(api, store: str = "sh-toyota-pd") -> tuple[str, str]:
    username = f"sess-{uuid.uuid4().hex[:8]}.manager"
    r = api.post("/identity/api/v1/users", as_="hq.admin",
                 json={"username": username, "name": "临时经理", "role": "store_manager", "store_id": store_id(store),
                       "password": PASSWORD})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json["id"], username


@pytest.fixture
def user(platform, api):
    """A fresh store manager, signed in by API and browser, whose sessions every service accepts."""
    user_id, username = _new_manager(api)
    platform.wait_until_consumed()  # every service has heard of the user
    s = Session(platform, username, PASSWORD)
    assert wait_until(s.works_everywhere, timeout=DEADLINE)
    s.user_id = user_id
    return s


@pytest.fixture(scope="module")
def bystander(platform):
    """A colleague in the same store, whose sessions must outlive every change to someone else."""
    return Session(platform, "sh-toyota-pd.manager", "demo-pass-2026")


def _patch(api, user, changes):
    r = api.patch(f"/identity/api/v1/users/{user.user_id}", as_="hq.admin", json=changes)
    assert r.status_code == 200, r.get_data(as_text=True)


@pytest.mark.parametrize("change", [
    pytest.param({"active": False}, id="deactivated"),
    pytest.param({"role": "sales_consultant"}, id="demoted"),
    pytest.param({"store_id": store_id("sh-lexus-xh")}, id="moved-to-another-store"),
    pytest.param({"role": "hq_analyst", "store_id": None}, id="moved-to-hq"),
])
def test_an_admin_change_of_access_ends_the_users_sessions_on_every_service(api, user, bystander, change):
    _patch(api, user, change)
    assert wait_until(user.refused_everywhere, timeout=DEADLINE)
    assert bystander.works_everywhere()


def test_a_password_reset_by_the_admin_ends_the_users_sessions_and_the_new_password_works(platform, api, user, bystander):
    r = api.post(f"/identity/api/v1/users/{user.user_id}/password-reset", as_="hq.admin",
                 json={"password": "another-password-2"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert wait_until(user.refused_everywhere, timeout=DEADLINE)
    assert bystander.works_everywhere()
    assert wait_until(Session(platform, user.username, "another-password-2").works_everywhere, timeout=DEADLINE)


def test_changing_ones_own_password_ends_the_other_sessions_and_keeps_the_new_one(platform, user, bystander):
    r = user.api.post("/identity/api/v1/auth/password", headers={"Authorization": f"Bearer {user.token}"},
                      json={"current_password": PASSWORD, "new_password": "my-new-password-3"})
    assert r.status_code == 200, r.get_data(as_text=True)
    new_token = r.json["access_token"]
    assert wait_until(user.refused_everywhere, timeout=DEADLINE)
    user.token = new_token
    assert user.api.get("/identity/api/v1/auth/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    assert wait_until(lambda: all(user.answers(svc)[0] == 200 for svc in PROBES), timeout=DEADLINE)
    assert bystander.works_everywhere()


def test_a_wrong_current_password_changes_nothing(user):
    r = user.api.post("/identity/api/v1/auth/password", headers={"Authorization": f"Bearer {user.token}"},
                      json={"current_password": "not-my-password", "new_password": "my-new-password-3"})
    assert r.status_code == 422 and "current_password" in r.json["errors"]
    assert user.works_everywhere()


def test_logging_out_through_the_api_ends_every_session_of_the_user(user, bystander):
    r = user.api.post("/identity/api/v1/auth/logout", headers={"Authorization": f"Bearer {user.token}"})
    assert r.status_code == 204
    assert wait_until(user.refused_everywhere, timeout=DEADLINE)  # the browser's cookie too
    assert bystander.works_everywhere()


def test_logging_out_in_the_browser_ends_the_cookie_and_the_users_tokens(user, bystander):
    html = user.browser.get("/identity/password").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = user.browser.post("/identity/logout", data={"csrf_token": csrf})
    assert r.status_code == 302 and r.headers["Location"] == "/identity/login"
    assert wait_until(user.refused_everywhere, timeout=DEADLINE)
    assert bystander.works_everywhere()


def test_a_name_change_or_going_off_duty_leaves_the_sessions_alone(platform, api, user):
    _patch(api, user, {"name": "改名经理", "on_duty": False})
    platform.wait_until_consumed()
    assert user.works_everywhere()
