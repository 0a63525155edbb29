"""Browser: an agent takes the next task, answers the questionnaire and closes the task with the keyboard."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from services.callcenter.handlers.config import forget_claim_settings, settings_for
from services.callcenter.adapters.models import SurveyResponse, Task
from shared import clock
from tests.browser_fixtures import login, screenshot
from tests.callcenter.conftest import GID, SH, delivered, new_customer

pytestmark = pytest.mark.browser
PD = "sh-toyota-pd"


class _Pf:
    """The live server's platform in the shape the event helpers expect."""

    def __init__(self, platform):
        self.runtimes = platform.runtimes


@pytest.fixture(scope="module")
def queue(live_server):  # noqa: F811
    """Calls allowed all day (the test may run at night) and one delivery callback due for a known customer."""
    pf = _Pf(live_server.platform)
    rt = pf.runtimes["callcenter"]
    from shared.tenancy import Scope

    with rt.db.session(Scope.system(GID)) as s:
        cfg = settings_for(s, GID)
        cfg.window_start, cfg.window_end = "00:00", "24:00"
        s.add(cfg)
    forget_claim_settings()
    cid, phone = new_customer(pf, PD, name="孙先生")
    ev = delivered(pf, PD, "toyota", clock.now().astimezone(SH).date() - timedelta(days=4), phone=phone,
                   name="孙先生")
    with rt.db.session(Scope.system(GID)) as s:  # the delivery was applied: its callback is waiting
        assert s.scalar(select(Task.id).where(Task.customer_id == cid, Task.task_type == "delivery_callback"))
    return {"customer_id": cid, "order_id": ev.data["order_id"], "rt": rt}


def test_an_agent_takes_the_next_task_fills_the_questionnaire_and_closes_it_with_the_keyboard(live_server, page, queue):  # noqa: F811
    login(page, live_server.url, "cc.agent1")
    page.goto(f"{live_server.url}/callcenter/workbench")
    screenshot(page, "callcenter-workbench-empty")
    page.keyboard.press("n")  # Next task
    page.wait_for_selector("#survey-form")
    assert "孙先生" in page.inner_text(".cc-taskbar")
    screenshot(page, "callcenter-workbench-task")

    page.keyboard.press("4")  # overall satisfaction: 满意; focus moves on by itself
    page.keyboard.press("y")  # the consultant explained the car
    page.keyboard.press("y")  # delivered on time
    page.keyboard.press("9")  # recommend 9/10
    page.keyboard.press("1")  # repurchase: very likely
    page.wait_for_function("document.activeElement && document.activeElement.name === 'q_comments'")
    page.keyboard.type("交车很顺利")
    screenshot(page, "callcenter-workbench-answered")
    page.keyboard.press("Control+Enter")  # save as reached
    page.wait_for_selector(".flash")
    assert "已保存" in page.inner_text(".flash") or "Saved" in page.inner_text(".flash")
    screenshot(page, "callcenter-workbench-saved")

    with queue["rt"].db.session(__import__("shared.tenancy", fromlist=["Scope"]).Scope.system(GID)) as s:
        task = s.scalar(select(Task).where(Task.dedupe_key == f"delivery_callback:{queue['order_id']}"))
        r = s.scalar(select(SurveyResponse).where(SurveyResponse.task_id == task.id))
    assert task.status == "done" and task.outcome == "reached"
    assert (r.satisfaction, r.recommend, r.repurchase) == (4, 9, "high")
    answers = {a["key"]: a["value"] for a in r.answers}
    assert answers["explained"] == "yes" and answers["comments"] == "交车很顺利"


def test_supervisor_pages_render(live_server, page, queue):  # noqa: F811
    login(page, live_server.url, "cc.sup")
    for path, name in (("/callcenter/board", "board"), ("/callcenter/questionnaires/delivery_callback", "designer"),
                       ("/callcenter/rules", "rules"), ("/callcenter/complaints", "complaints"),
                       ("/callcenter/spot-checks", "spot-checks")):
        resp = page.goto(f"{live_server.url}{path}")
        assert resp.status == 200, path
        assert page.locator("h1").count() >= 1
        screenshot(page, f"callcenter-{name}")


def test_the_customer_answers_on_the_public_page_without_logging_in(live_server, page, queue):  # noqa: F811
    from services.callcenter.handlers.surveys import create_link
    from shared.auth import Principal
    from shared.tenancy import Scope

    agent = Principal(user_id="agent", username="cc.agent1", group_id=GID, group_code="demo", role="cc_agent",
                      store_ids=None)
    with queue["rt"].uow(Scope.system(GID)) as uow:
        task_id = uow.session.scalar(select(Task.id).where(Task.dedupe_key == f"delivery_callback:{queue['order_id']}"))
        _link, token = create_link(uow, agent, task_id)
        uow.commit()
    resp = page.goto(f"{live_server.url}/callcenter/s/{token}")
    assert resp.status == 200
    page.check("input[name=q_overall][value='5']")
    page.check("input[name=q_recommend][value='10']")
    screenshot(page, "callcenter-public-survey")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("h1") in ("谢谢您！", "Thank you!")
    assert page.goto(f"{live_server.url}/callcenter/s/{token}").status == 410  # single use
