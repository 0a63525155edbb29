"""The group admin finds a user and gives them a new password through the pages (issue 14, admin basics)."""
from __future__ import annotations

import pytest

from tests.browser_fixtures import login, screenshot

pytestmark = pytest.mark.browser

USER, NEW_PASSWORD = "sh-toyota-pd.sales3", "Nouveau-2026-pass"


def test_the_admin_finds_a_user_and_resets_the_password_which_then_works_and_the_old_one_not(live_server, browser):
    admin = browser.new_context(locale="zh-CN").new_page()
    try:
        login(admin, live_server.url, "hq.admin")
        admin.goto(f"{live_server.url}/identity/users")
        admin.fill("input[name=q]", USER)
        admin.click("form[role=search] button")
        admin.wait_for_load_state("networkidle")
        rows = admin.locator("table.table tbody tr", has_text="销售")  # the users found (one)
        assert rows.count() == 1 and USER in rows.first.inner_text(), admin.locator("main").inner_text()
        rows.first.locator("a").click()
        admin.wait_for_load_state("networkidle")
        admin.fill("input[name=password]", NEW_PASSWORD)
        admin.click("button:has-text('设置新密码')")
        admin.wait_for_load_state("networkidle")
        assert "已设置新密码" in admin.locator(".flash.ok").inner_text()
        screenshot(admin, "identity-password-reset")
    finally:
        admin.context.close()

    person = browser.new_context(locale="zh-CN").new_page()
    try:
        login(person, live_server.url, USER)  # the old password no longer opens the door
        assert "/identity/login" in person.url and person.locator(".flash.error").is_visible()
        login(person, live_server.url, USER, password=NEW_PASSWORD)
        assert "/identity/login" not in person.url
        assert person.locator("nav.mainnav").is_visible()
    finally:
        person.context.close()
