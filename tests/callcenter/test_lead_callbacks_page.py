"""The callbacks of one lead or customer (the lead page and the 360 view link here), in the reader's scope."""
from __future__ import annotations

from datetime import timedelta

from shared import clock
from tests.callcenter.conftest import delivered, new_customer, signed_in

PD, XH = "sh-toyota-pd", "sh-lexus-xh"


def test_a_leads_delivery_callback_is_listed_for_those_who_read_tasks_in_their_scope(platform):
    cid, phone = new_customer(platform, PD, name="回访先生")
    day = clock.now().date() - timedelta(days=1)
    ev = delivered(platform, PD, "toyota", day, phone=phone, name="回访先生")
    delivered(platform, PD, "toyota", day)  # another lead's callback: not on this lead's list
    lead = ev.data["lead_id"]
    page = signed_in(platform, f"{PD}.manager").get(f"/callcenter/tasks?lead_id={lead}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("<tr>") == 2, html  # the header and the lead's one callback
    assert "交车回访" in html
    other_store = signed_in(platform, f"{XH}.manager").get(f"/callcenter/tasks?lead_id={lead}").get_data(as_text=True)
    assert "交车回访" not in other_store and "没有回访任务" in other_store
    assert signed_in(platform, f"{PD}.sales1").get(f"/callcenter/tasks?lead_id={lead}").status_code == 403
