"""Tasks that follow from the call center's own use cases are dated by when their cause happened (the store's
local day of the callback, of the resolution), not by the clock when they are planned."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from services.callcenter.adapters.models import Task
from tests.callcenter.conftest import cc_session, delivered, local, new_customer, store

VW = "hz-vw-xh"


@pytest.fixture(scope="module", autouse=True)
def tokens(api):
    """Sign in before the clock moves (tokens are checked against the real time)."""
    for user in ("cc.agent1", "cc.sup", f"{VW}.manager", f"{VW}.sales1"):
        api.token(user)


def _task(platform, task_id: str) -> Task:
    with cc_session(platform) as s:
        return s.scalars(select(Task).where(Task.id == task_id)).one()


def test_a_spot_check_of_a_callback_logged_two_days_late_is_due_on_the_day_the_store_called(api, platform, frozen):
    frozen.travel_to(local(2026, 9, 22, 10, 0))
    assert api.put("/callcenter/api/v1/settings", as_="cc.sup", json={"spot_check_share": 1.0}).status_code == 200
    try:
        cid, _ = new_customer(platform, VW, name="吴女士")
        r = api.post("/callcenter/api/v1/store-callbacks", as_=f"{VW}.sales1",
                     json={"customer_id": cid, "kind": "delivery_callback", "reached": True, "satisfaction": 4,
                           "called_at": local(2026, 9, 20, 15, 0).isoformat()})
        assert r.status_code == 201 and r.json["spot_task_id"]
        assert _task(platform, r.json["spot_task_id"]).due_at == local(2026, 9, 20, 9, 0)  # that day's window
    finally:
        api.put("/callcenter/api/v1/settings", as_="cc.sup", json={"spot_check_share": 0.1})


def test_a_complaint_resolved_early_in_the_morning_is_followed_up_the_next_local_day(api, platform, frozen):
    frozen.travel_to(local(2026, 10, 5, 10, 0))
    _, phone = new_customer(platform, VW, name="郑先生")
    delivered(platform, VW, "vw", date(2026, 10, 2), phone=phone, name="郑先生")
    t = api.post("/callcenter/api/v1/tasks/next", as_="cc.agent1",
                 json={"store_id": store(VW), "task_type": "delivery_callback"}).json["task"]
    c = api.post("/callcenter/api/v1/complaints", as_="cc.agent1",
                 json={"task_id": t["id"], "severity": "low", "summary": "提车等待太久"}).json
    api.post(f"/callcenter/api/v1/tasks/{t['id']}/release", as_="cc.agent1")
    tr = f"/callcenter/api/v1/complaints/{c['id']}/transitions"
    assert api.post(tr, as_=f"{VW}.manager", json={"action": "start"}).status_code == 200
    frozen.travel_to(local(2026, 10, 6, 7, 30))  # still 5 October in UTC
    assert api.post(tr, as_=f"{VW}.manager", json={"action": "resolve", "note": "已致歉"}).status_code == 200
    with cc_session(platform) as s:
        [follow] = [x for x in s.scalars(select(Task).where(Task.task_type == "complaint_followup"))
                    if x.detail.get("complaint_id") == c["id"]]
    assert follow.due_at == local(2026, 10, 7, 9, 0)  # the day after 6 October, local
