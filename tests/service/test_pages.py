"""Pages: login form with CSRF, cookie session, navigation per role, language switch, 404 across tenants."""
from __future__ import annotations

import re

from werkzeug.test import Client

from tests.conftest import DEMO_PASSWORD


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _browser(platform) -> Client:
    return Client(platform.wsgi())


def _page_login(c: Client, username: str):
    token = _csrf(c.get("/identity/login").get_data(as_text=True))
    return c.post("/identity/login", data={"group": "demo", "username": username, "password": DEMO_PASSWORD,
                                           "csrf_token": token})


def test_login_form_without_csrf_token_is_refused(platform):
    c = _browser(platform)
    c.get("/identity/login")
    r = c.post("/identity/login", data={"group": "demo", "username": "hq.admin", "password": DEMO_PASSWORD})
    assert r.status_code == 400
    assert c.get_cookie("crm_token") is None


def test_login_sets_an_httponly_cookie_and_lands_on_the_role_home(platform):
    c = _browser(platform)
    r = _page_login(c, "hq.admin")
    assert r.status_code == 302
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("crm_token=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    org = c.get("/identity/org")
    assert org.status_code == 200 and "上海浦东丰田" in org.get_data(as_text=True)


def test_wrong_password_shows_the_form_again_with_a_message(platform):
    c = _browser(platform)
    token = _csrf(c.get("/identity/login").get_data(as_text=True))
    r = c.post("/identity/login", data={"group": "demo", "username": "hq.admin", "password": "x", "csrf_token": token})
    assert r.status_code == 401 and "密码错误" in r.get_data(as_text=True)


def test_navigation_follows_the_role(platform):
    admin, sales = _browser(platform), _browser(platform)
    _page_login(admin, "hq.admin")
    _page_login(sales, "sh-toyota-pd.sales1")
    admin_html = admin.get("/identity/org").get_data(as_text=True)
    assert 'href="/identity/users"' in admin_html
    r = sales.get("/identity/org")
    assert r.status_code == 403
    assert 'href="/identity/users"' not in r.get_data(as_text=True)
    assert 'href="/leads/"' in r.get_data(as_text=True)


def test_signed_out_pages_redirect_to_login_with_next(platform):
    r = _browser(platform).get("/identity/users")
    assert r.status_code == 302 and r.headers["Location"].startswith("/identity/login?next=/identity/users")


def test_language_switch_turns_the_ui_english(platform):
    c = _browser(platform)
    assert "登录" in c.get("/identity/login").get_data(as_text=True)
    r = c.get("/identity/lang/en?next=/identity/login")
    assert r.status_code == 302 and r.headers["Location"] == "/identity/login"
    html = c.get("/identity/login").get_data(as_text=True)
    assert "Log in" in html and "Group code" in html


def test_language_switch_refuses_to_redirect_off_site(platform):
    r = _browser(platform).get("/identity/lang/en?next=//evil.example/")
    assert r.headers["Location"] == "/"


def test_logout_needs_csrf_and_forgets_the_session(platform):
    c = _browser(platform)
    _page_login(c, "hq.admin")
    assert c.post("/identity/logout").status_code == 400
    token = _csrf(c.get("/identity/org").get_data(as_text=True))
    c.post("/identity/logout", data={"csrf_token": token})
    assert c.get("/identity/org").status_code == 302


def test_each_role_lands_on_its_working_page_after_login(platform):
    for user, home in (("cc.agent1", "/callcenter/workbench"), ("sh-toyota-pd.sales1", "/leads/"),
                       ("sh-toyota-pd.manager", "/leads/board"), ("hq.analyst", "/analytics/")):
        r = _page_login(_browser(platform), user)
        assert r.status_code == 302 and r.headers["Location"] == home
