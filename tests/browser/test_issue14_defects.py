"""Browser: the defects found by trying the platform as each user would (issue 14, items 2 to 7).

Each test walks the path where the defect showed, and fails on the behaviour that was seen.
"""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.callcenter.handlers.config import forget_claim_settings, settings_for
from services.callcenter.adapters.models import Task
from shared.events import Event
from shared.tenancy import Scope
from tests.browser_fixtures import login, screenshot
from tests.conftest import office_hours
from tests.callcenter.conftest import GID, feed, store

pytestmark = pytest.mark.browser
PD = "sh-toyota-pd"


class _Pf:
    """The live server's platform in the shape the event helpers expect."""

    def __init__(self, platform):
        self.runtimes = platform.runtimes


@pytest.fixture(scope="module")
def verification(live_server):
    """A defeat-verification task due now (its first question is yes/no, its reason 'postponed') for a
    customer the call center knows and may call; calls allowed all day (the test may run at night)."""
    pf, rt = _Pf(live_server.platform), live_server.platform.runtimes["callcenter"]
    with rt.db.session(Scope.system(GID)) as s:
        cfg = settings_for(s, GID)
        cfg.window_start, cfg.window_end = "00:00", "24:00"
        s.add(cfg)
    forget_claim_settings()
    lead_id, cid, phone = str(uuid.uuid4()), str(uuid.uuid4()), f"+86137{uuid.uuid4().int % 10**8:08d}"
    feed(pf, Event(type="leads.defeat.approved", group_id=GID, store_id=store(PD),
                   data={"lead_id": lead_id, "reason": "postponed", "customer_name": "钱先生", "phone": phone}))
    feed(pf, Event(type="customers.customer.created", group_id=GID, store_id=store(PD),
                   data={"customer_id": cid, "name": "钱先生", "phone": phone, "do_not_call": False,
                         "consent": {"phone": True}}))
    with rt.db.session(Scope.system(GID)) as s:
        task = s.scalar(select(Task).where(Task.lead_id == lead_id))
        assert task is not None and task.customer_id == cid
    return {"pf": pf, "rt": rt, "customer_id": cid, "task_id": task.id}


def test_n_on_a_held_task_answers_nothing_and_y_then_answers_question_1(live_server, page, verification):
    login(page, live_server.url, "cc.agent1")
    page.goto(f"{live_server.url}/callcenter/workbench")
    page.keyboard.press("n")  # Next task
    page.wait_for_selector("#survey-form")
    page.keyboard.press("n")  # by habit, or twice: the agent already holds the task
    assert page.locator("#holding-note").is_visible()
    q1 = page.locator("fieldset.cc-q").first
    assert q1.get_attribute("data-type") == "yes_no"
    assert q1.locator("input:checked").count() == 0, "N answered question 1"
    page.keyboard.press("y")
    assert q1.locator("input[value=yes]").is_checked()
    screenshot(page, "defect-workbench-n-while-holding")
    text = page.inner_text(".cc-side")
    assert "postponed" not in text and "推迟购买" in text  # the task's reason through the label table
    page.keyboard.press("Escape")
    page.keyboard.press("l")  # give it back for the next test
    page.wait_for_selector("#next-task")


def test_do_not_call_on_a_held_task_takes_the_number_away_at_once(live_server, page, verification):
    login(page, live_server.url, "cc.agent1")
    page.goto(f"{live_server.url}/callcenter/workbench")
    page.keyboard.press("n")
    page.wait_for_selector("#survey-form")
    assert page.locator("a.cc-phone").count() == 1  # held and callable: a number to dial
    feed(verification["pf"], Event(type="customers.consent.changed", group_id=GID,
                                   data={"customer_id": verification["customer_id"], "do_not_call": True,
                                         "consent": {"phone": False}}))
    # the open page: the link goes and the warning shows, without the agent reloading
    page.wait_for_selector("#do-not-call:not([hidden])", timeout=45_000)
    assert page.locator("a.cc-phone").count() == 0
    screenshot(page, "defect-workbench-do-not-call")
    page.reload()
    assert page.locator("a.cc-phone").count() == 0 and page.locator("#do-not-call").is_visible()
    page.click("#btn-reached")  # saving a call is refused, nothing recorded
    assert "客户已要求不再来电；本次未记录" in page.inner_text(".flash.error")
    with verification["rt"].db.session(Scope.system(GID)) as s:
        assert s.get(Task, verification["task_id"]).attempts == 0


def test_slash_jumps_to_the_customer_search_without_typing_itself(live_server, page):
    login(page, live_server.url, "cc.agent1")
    page.goto(f"{live_server.url}/customers/")
    page.keyboard.press("/")  # as the page says
    page.keyboard.type("王建国")
    assert page.input_value("input[name=q]") == "王建国"
    page.locator("input[name=q]").blur()
    page.keyboard.press("/")  # from elsewhere on the page: back into the box, still no slash
    assert page.input_value("input[name=q]") == "王建国"
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "q=%E7%8E%8B%E5%BB%BA%E5%9B%BD" in page.url  # ?q=王建国, no "/" before it


def test_questionnaire_buttons_say_edit_not_the_status_word(live_server, page):
    login(page, live_server.url, "cc.sup")
    page.goto(f"{live_server.url}/callcenter/questionnaires")
    buttons = page.locator("section.card a.button, section.card button").all_inner_texts()
    assert buttons and all(b.strip() == "编辑问卷" for b in buttons), buttons
    assert "待处理" not in page.inner_text("section.card")


def _new_lead(page, base: str, name: str) -> str:
    page.goto(f"{base}/leads/visits/new")
    page.fill("input[name=name]", name)
    page.fill("input[name=phone]", f"136{uuid.uuid4().int % 10**8:08d}")
    page.fill("input[name=model]", "凯美瑞")
    page.click("button.ld-big")
    page.wait_for_url("**/leads/*-*")
    return page.url.rsplit("/", 1)[1]


def test_a_level_signals_choose_level_a_and_save_without_a_browser_bubble(live_server, page):
    login(page, live_server.url, "sh-toyota-pd.sales1")
    _new_lead(page, live_server.url, "周女士")
    grade = page.locator("#ld-grade")
    assert grade.locator("input[name=level]:checked").count() == 0  # a new lead (N) has no gradable level yet
    grade.locator("input[value=says_will_buy]").check()
    assert grade.locator("input[name=level][value=A]").is_checked()
    assert page.locator("#ld-suggest").is_visible() and "A" in page.inner_text("#ld-suggest")
    screenshot(page, "defect-grade-suggests-a")
    grade.locator("button.primary").click()
    page.wait_for_load_state("networkidle")
    assert "A" in page.inner_text(".ld-head .level")
    # nothing ticked, nothing chosen: the page says why, instead of a bubble on a hidden radio
    _new_lead(page, live_server.url, "吴先生")
    assert page.evaluate("document.getElementById('ld-grade').checkValidity()")
    page.locator("#ld-grade button.primary").click()
    page.wait_for_load_state("networkidle")
    assert "请选择意向级别" in page.inner_text(".flash.error")


def test_the_lead_timeline_speaks_chinese_after_an_order(live_server, page):
    login(page, live_server.url, "sh-toyota-pd.sales1")
    _new_lead(page, live_server.url, "郑先生")
    page.fill("form[action$='/act/order'] input[name=price]", "189800")
    page.click("form[action$='/act/order'] button.primary")
    page.wait_for_load_state("networkidle")
    timeline = page.inner_text("ul.timeline")
    assert "order placed" not in timeline and "已下订单" in timeline
    screenshot(page, "defect-lead-timeline-order")


def _in_force(page, figure_label: str) -> str:
    row = page.locator("table.table tr", has=page.locator(f"td:text-is('{figure_label}')"))
    return row.locator("td.num").nth(1).inner_text()


def test_a_submitted_report_changes_only_when_the_manager_approves(live_server, browser, page):
    with office_hours():  # the day's report is open until 18:00; the suite may run later than that
        _submit_then_amend_with_approval(live_server, browser, page)


def _submit_then_amend_with_approval(live_server, browser, page):
    me = f"{PD}.sales2"
    login(page, live_server.url, me)
    page.goto(f"{live_server.url}/leads/reports")
    page.fill("input[name=calls]", "1")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    assert _in_force(page, "电话拨打") == "1"
    # the consultant asks for 1 → 5 calls: the figure in force stays 1 until the manager says yes
    page.fill("form input[name=calls]", "5")
    page.fill("input[name=reason]", "下午的电话用的是展厅座机")
    page.click("text=申请经理修改")
    page.wait_for_load_state("networkidle")
    assert _in_force(page, "电话拨打") == "1"
    assert "等待经理审批" in page.inner_text("#ld-amendments")
    screenshot(page, "defect-report-amendment-pending")

    manager = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN").new_page()
    login(manager, live_server.url, f"{PD}.manager")
    manager.goto(f"{live_server.url}/leads/reports")
    request = manager.locator("#ld-requests .ld-request", has_text="下午的电话用的是展厅座机")
    assert "1 → 5" in request.inner_text()
    screenshot(manager, "defect-report-amendment-to-approve")
    request.locator("button[value=approve]").click()
    manager.wait_for_load_state("networkidle")
    assert "没有待您审批的修改申请" in manager.inner_text("#ld-requests")
    manager.context.close()

    page.reload()
    assert _in_force(page, "电话拨打").startswith("5")
    assert "已批准" in page.inner_text("#ld-amendments")


def test_import_row_problems_read_in_chinese(live_server, page, tmp_path):
    login(page, live_server.url, f"{PD}.manager")
    page.goto(f"{live_server.url}/leads/import")
    csv_file = tmp_path / "leads.csv"
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    csv_file.write_text(f"name,phone,source\n赵先生,{phone},walk_in\n,13800000000,walk_in\n钱女士,{phone},walk_in\n"
                        "孙先生,12345,walk_in\n", encoding="utf-8")
    page.set_input_files("input[name=file]", str(csv_file))
    page.click("#ld-import button.primary")
    page.wait_for_selector("#ld-errors tr")
    problems = page.inner_text("#ld-errors")
    assert "缺少姓名" in problems and "重复" in problems and "手机号无效" in problems, problems
    assert "duplicate" not in problems and "missing" not in problems
    screenshot(page, "defect-import-row-problems")
