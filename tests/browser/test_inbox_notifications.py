"""Browser: work reaches the right person (issue 14, point 8): the to-do inbox and its notices.

- A defeat proposed by a consultant waits in the manager's inbox (the top bar counts it); the
  manager follows it to the defeats page and sends it back with a note; the item leaves the
  manager's inbox, and the consultant's inbox shows the note until they say they have read it.
- Channels set on the settings pages (the group admin's SMTP server and WeCom robot, the
  consultant's choice): a new lead's notice reaches a real SMTP server on this machine, and a local
  WeCom webhook that checks the robot's documented message format.
"""
from __future__ import annotations

import uuid

import pytest

from tests.browser_fixtures import login, screenshot
from tests.conftest import Api, wait_until
from tests.notify_servers import SmtpInbox, WeComRobot

pytestmark = pytest.mark.browser
PD = "sh-toyota-pd"
SALES, MANAGER, ADMIN = f"{PD}.sales1", f"{PD}.manager", "hq.admin"


def _until(check, what: str):
    """Poll `check` with a generous deadline (a loaded 2-core machine may take a while)."""
    try:
        return wait_until(check, 45, 0.3)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@pytest.fixture(scope="module")
def api(live_server) -> Api:
    return Api(live_server.platform.wsgi())


def _lead(api: Api, name: str) -> dict:
    phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
    r = api.post("/leads/api/v1/leads", as_=SALES, json={"name": name, "phone": phone, "source": "walk_in"})
    assert r.status_code == 201, r.json
    return r.json


def _open_refs(api: Api, user: str) -> set[str]:
    return {i["ref"] for i in api.get("/identity/api/v1/inbox", as_=user).json["items"]}


def test_a_defeat_appears_in_the_managers_inbox_and_clears_when_decided(page, live_server, api):
    lead = _lead(api, "秦先生")
    r = api.post(f"/leads/api/v1/leads/{lead['id']}/defeat", as_=SALES, json={"reason": "price"})
    assert r.status_code == 201, r.json
    _until(lambda: lead["id"] in _open_refs(api, MANAGER), what="the manager's item")

    login(page, live_server.url, MANAGER)
    badge = page.locator("[data-inbox-count]")
    badge.wait_for(state="visible")
    assert int(badge.inner_text()) >= 1
    page.click("a.inbox-link")
    page.wait_for_url("**/identity/inbox")
    row = page.locator("tr[data-kind=defeat_decide]").first
    assert "有战败申请待您审批" in row.inner_text()
    screenshot(page, "inbox-manager")
    n_before = page.locator("tr[data-item]").count()
    row.locator("button[value=open]").click()
    page.wait_for_url("**/leads/defeats")

    form = page.locator("form.ld-row").filter(has=page.locator(f"input[value='{r.json['id']}']"))
    form.locator("input[name=note]").fill("客户下周再来，请继续跟进")
    form.locator("button[name=approve][value='0']").click()
    page.wait_for_load_state("networkidle")
    _until(lambda: lead["id"] not in _open_refs(api, MANAGER), what="the manager's item to close")
    page.goto(f"{live_server.url}/identity/inbox")
    assert page.locator("tr[data-item]").count() == n_before - 1

    # the consultant is told, with the manager's note, and closes the notice once read
    page.context.clear_cookies()
    _until(lambda: lead["id"] in _open_refs(api, SALES), what="the consultant's item")
    login(page, live_server.url, SALES)
    page.goto(f"{live_server.url}/identity/inbox")
    row = page.locator("tr[data-kind=defeat_sent_back]").first
    assert "您的战败申请被退回" in row.inner_text() and "客户下周再来，请继续跟进" in row.inner_text()
    screenshot(page, "inbox-consultant-sent-back")
    row.locator("button[value=done]").click()
    page.wait_for_url("**/identity/inbox")
    assert page.locator("tr[data-kind=defeat_sent_back]").count() == 0
    assert lead["id"] not in _open_refs(api, SALES) or "defeat_sent_back" not in {
        i["kind"] for i in api.get("/identity/api/v1/inbox", as_=SALES).json["items"] if i["ref"] == lead["id"]}


@pytest.fixture(scope="module")
def receivers(browser, live_server, api):
    """A local SMTP server and WeCom robot, set as the group's channels on the settings page by the
    admin; the consultant's address on file (admin API) and their channels chosen on their page."""
    smtp, robot = SmtpInbox().start(), WeComRobot().start()
    ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    try:
        login(page, live_server.url, ADMIN)
        page.goto(f"{live_server.url}/identity/notifications")
        page.fill("input[name=smtp_host]", "127.0.0.1")
        page.fill("input[name=smtp_port]", str(smtp.port))
        page.fill("input[name=smtp_sender]", "crm@dealer.example")
        page.fill("input[name=wecom_webhook]", robot.url)
        page.fill("input[name=public_url]", "https://crm.dealer.example")
        page.locator("form:has(input[name=smtp_host]) button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert page.locator(".flash.ok").count() == 1
        screenshot(page, "notifications-admin")
        user = next(u for u in api.get("/identity/api/v1/users", as_=ADMIN).json if u["username"] == SALES)
        assert api.patch(f"/identity/api/v1/users/{user['id']}", as_=ADMIN,
                         json={"email": "sales1@dealer.example"}).status_code == 200

        ctx.clear_cookies()
        login(page, live_server.url, SALES)
        page.goto(f"{live_server.url}/identity/notifications")
        assert "sales1@dealer.example" in page.inner_text("main")
        page.check("input[name=email]")
        page.check("input[name=wecom]")
        page.locator("form:has(input[name=email]) button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("input[name=email]").is_checked() and page.locator("input[name=wecom]").is_checked()
        yield {"smtp": smtp, "robot": robot, "page": page}
    finally:
        ctx.close()
        smtp.stop()
        robot.stop()


def test_a_new_leads_notice_is_received_by_the_smtp_server(receivers, api, live_server):
    lead = _lead(api, "尤女士")
    smtp = receivers["smtp"]
    to, mail = _until(lambda: next(((t, m) for t, m in smtp.messages if "尤女士" in m["Subject"]), None),
                      what="the e-mail")
    assert to == ["sales1@dealer.example"] and mail["From"] == "crm@dealer.example"
    assert mail["Subject"] == "新线索：尤女士"
    assert f"https://crm.dealer.example/leads/{lead['id']}" in mail.get_content()
    page = receivers["page"]  # the consultant's settings page lists it as sent
    _until(lambda: page.reload() or page.locator("tr[data-channel=email][data-status=sent]").count() >= 1,
           what="the sent e-mail on the settings page")


def test_a_new_leads_notice_is_received_by_the_wecom_robot(receivers, api):
    lead = _lead(api, "许先生")
    robot = receivers["robot"]
    msg = _until(lambda: next((m for m in robot.received if "许先生" in m["text"]["content"]), None),
                 what="the WeCom message")
    assert msg["msgtype"] == "text" and set(msg) == {"msgtype", "text"}
    assert msg["text"]["content"].startswith("新线索：许先生")
    assert f"https://crm.dealer.example/leads/{lead['id']}" in msg["text"]["content"]
    assert not robot.rejected
