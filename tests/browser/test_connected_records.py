"""Master data and connected records in the browser (issue 14): HQ loads a brand's model catalogue, a
consultant picks the model from it in the visitor log and the order form, sees the order's details on the
lead page and cancels the order there with the customer's reason."""
from __future__ import annotations

import pytest

from services.identity.entrypoints.seed import stable_id
from tests.browser_fixtures import login, screenshot
from tests.leads.helpers import phone

pytestmark = pytest.mark.browser

TOYOTA = stable_id("brand", "demo/toyota")


def test_hq_loads_the_catalogue_and_a_consultant_picks_the_model_from_it(live_server, page):
    base = live_server.url
    login(page, base, "hq.admin")
    page.goto(f"{base}/leads/catalogue?brand_id={TOYOTA}")
    page.click("button[name=action][value=starter]")
    page.wait_for_load_state("networkidle")
    table = page.locator("[data-testid=models]")
    assert "RAV4荣放" in table.inner_text() and "凯美瑞" in table.inner_text()
    screenshot(page, "leads-catalogue")
    page.context.clear_cookies()

    login(page, base, "sh-toyota-pd.sales1")
    page.goto(f"{base}/leads/visits/new")
    picker = page.locator("form.ld-visit select[name=model]")
    options = picker.locator("option").all_inner_texts()
    assert "RAV4荣放" in options and not any("ES" in o for o in options)  # the store's brand only
    page.fill("input[name=name]", "车型库先生")
    page.fill("input[name=phone]", phone())
    picker.select_option("RAV4荣放")
    page.click("form.ld-visit button.primary")
    page.wait_for_url(f"{base}/leads/*")
    assert "RAV4荣放" in page.inner_text(".timeline")
    order_picker = page.locator("form[action$='/act/order'] select[name=model]")
    assert order_picker.input_value() == "RAV4荣放"  # the lead's model, chosen from the same list
    screenshot(page, "leads-detail-model-picker")


def test_an_order_is_shown_on_the_lead_page_and_cancelled_there_with_the_reason(live_server, page):
    base = live_server.url
    login(page, base, "sh-toyota-pd.sales2")
    page.goto(f"{base}/leads/visits/new")
    page.fill("input[name=name]", "取消订单女士")
    page.fill("input[name=phone]", phone())
    page.click("form.ld-visit button.primary")
    page.wait_for_url(f"{base}/leads/*")
    lead_url = page.url

    order = page.locator("form[action$='/act/order']")
    model = order.locator("[name=model]")
    if model.evaluate("el => el.tagName") == "SELECT":
        model.select_option("凯美瑞")
    else:
        model.fill("凯美瑞")
    order.locator("input[name=price]").fill("189800")
    order.locator("input[name=deposit]").fill("5000")
    order.locator("select[name=payment_method]").select_option("financing")
    order.locator("input[name=expected_delivery]").fill("2030-03-15")
    order.locator("button.primary").click()
    page.wait_for_url(lead_url)

    facts = page.locator("[data-testid=order]").inner_text()
    assert "5,000" in facts and "贷款" in facts and "2030-03-15" in facts, facts
    assert page.locator("form[action$='/act/grade']").count() == 0  # no grading or defeat with a signed order
    assert page.locator("form[action$='/act/defeat']").count() == 0
    screenshot(page, "leads-detail-order")

    page.click("details.ld-cancel summary")
    page.fill("form[action$='/act/cancel_order'] input[name=reason]", "客户改买二手车")
    page.click("form[action$='/act/cancel_order'] button")
    page.wait_for_url(lead_url)
    assert "订单已取消：客户改买二手车" in page.inner_text(".timeline")
    assert page.locator("[data-testid=order]").count() == 0
    assert page.locator("form[action$='/act/order']").count() == 1  # open again: a new order may be signed
    assert page.locator("form[action$='/act/grade']").count() == 1
    assert page.inner_text("h1 .level") == "N"
    screenshot(page, "leads-detail-order-cancelled")
