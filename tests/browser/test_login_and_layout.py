"""A person logs in through the page, sees the menu of their role, switches language, logs out."""
from __future__ import annotations

import pytest

from tests.browser_fixtures import login, screenshot

pytestmark = pytest.mark.browser


def test_admin_logs_in_sees_the_org_tree_in_chinese_then_english(live_server, page):
    login(page, live_server.url, "hq.admin")
    page.goto(f"{live_server.url}/identity/org")
    assert page.locator("h1").inner_text().startswith("华东汽车集团")
    assert page.locator("nav.mainnav >> text=用户").is_visible()
    assert page.locator("text=上海浦东丰田").is_visible()
    screenshot(page, "identity-org-zh")
    page.click("text=EN")
    page.wait_for_load_state("networkidle")
    assert page.locator("nav.mainnav >> text=Users").is_visible()
    assert page.locator("h2 >> text=Brands and stores").is_visible()
    screenshot(page, "identity-org-en")
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/identity/login")
    page.goto(f"{live_server.url}/identity/org")
    assert "/identity/login" in page.url


def test_wrong_password_keeps_the_user_on_the_form_with_a_message(live_server, page):
    page.goto(f"{live_server.url}/identity/login")
    page.fill("input[name=username]", "hq.admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator(".flash.error").inner_text() == "集团代码、用户名或密码错误。"
    screenshot(page, "identity-login-error")


def test_a_consultant_has_no_admin_menu(live_server, page):
    login(page, live_server.url, "sh-toyota-pd.sales1")
    page.goto(f"{live_server.url}/identity/org")
    assert page.locator("text=无权访问").is_visible()
    assert page.locator("nav.mainnav >> text=组织架构").count() == 0
    assert page.locator("nav.mainnav >> text=我的线索").is_visible()
