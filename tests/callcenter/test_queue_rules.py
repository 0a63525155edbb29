"""Leases, calling windows and do-not-call at claim time, on the embedded platform through the API."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from services.callcenter.adapters.models import Attempt, Task
from shared.events import Event
from tests.callcenter.conftest import GID, cc_session, delivered, feed, local, new_customer, store

PD, XH = "sh-toyota-pd", "sh-lexus-xh"
NEXT = "/callcenter/api/v1/tasks/next"


@pytest.fixture(scope="module", autouse=True)
def tokens(api):
    """Sign in before the clock moves (tokens are checked against the real time)."""
    for user in ("cc.agent1", "cc.agent2", "cc.sup", "hq.admin", f"{PD}.manager", f"{XH}.manager"):
        api.token(user)


def _claim(api, user, store_code):
    r = api.post(NEXT, as_=user, json={"store_id": store(store_code)})
    assert r.status_code == 200, r.json
    return r.json


def _drain(api, store_code):
    """Close whatever earlier tests left in this store's queue."""
    while (t := _claim(api, "cc.sup", store_code)["task"]) is not None:
        assert api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.sup",
                        json={"outcome": "refused"}).status_code == 201


def test_an_expired_lease_goes_to_the_next_agent_and_the_late_answer_is_refused(api, platform, frozen):
    frozen.travel_to(local(2026, 3, 10, 10, 0))
    _drain(api, PD)
    delivered(platform, PD, "toyota", date(2026, 3, 7))
    first = _claim(api, "cc.agent1", PD)["task"]
    assert first is not None and first["task_type"] == "delivery_callback"
    assert _claim(api, "cc.agent2", PD)["task"] is None  # held: nobody else gets it

    frozen.advance(timedelta(minutes=21))  # the default lease is 20 minutes
    second = _claim(api, "cc.agent2", PD)["task"]
    assert second["id"] == first["id"]

    late = api.post(f"/callcenter/api/v1/tasks/{first['id']}/attempts", as_="cc.agent1",
                    json={"outcome": "reached", "answers": {"overall": "5"}})
    assert late.status_code == 409 and late.json["code"] == "lease_expired"
    assert "expired" in late.json["message"] and "not recorded" in late.json["message"]
    with cc_session(platform) as s:
        assert s.scalar(select(func.count(Attempt.id)).where(Attempt.task_id == first["id"])) == 0
        t = s.get(Task, first["id"])
        assert t.status == "open" and t.attempts == 0 and t.agent_id != first["agent_id"]

    ok = api.post(f"/callcenter/api/v1/tasks/{first['id']}/attempts", as_="cc.agent2", json={"outcome": "reached"})
    assert ok.status_code == 201 and ok.json["task"]["status"] == "done"


def test_no_task_outside_the_calling_window(api, platform, frozen):
    frozen.travel_to(local(2026, 3, 20, 21, 30))
    _drain(api, XH)
    delivered(platform, XH, "lexus", date(2026, 3, 17))
    r = _claim(api, "cc.agent1", XH)
    assert r["task"] is None and r["reason"] == "outside_window"
    frozen.travel_to(local(2026, 3, 21, 8, 59))
    assert _claim(api, "cc.agent1", XH)["reason"] == "outside_window"
    frozen.travel_to(local(2026, 3, 21, 9, 1))
    t = _claim(api, "cc.agent1", XH)["task"]
    assert t is not None
    assert api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1",
                    json={"outcome": "reached"}).status_code == 201


def test_do_not_call_is_checked_at_claim_time_even_after_the_task_was_made(api, platform, frozen):
    frozen.travel_to(local(2026, 4, 10, 10, 0))
    _drain(api, PD)
    cid, phone = new_customer(platform, PD)
    delivered(platform, PD, "toyota", date(2026, 4, 7), phone=phone)
    with cc_session(platform) as s:
        task = s.scalar(select(Task).where(Task.phone == phone))
        assert task.customer_id == cid  # matched to the customer by phone
    feed(platform, Event(type="customers.consent.changed", group_id=GID, store_id=store(PD),
                         data={"customer_id": cid, "do_not_call": True, "consent": {"phone": False}}))
    assert _claim(api, "cc.agent1", PD)["task"] is None

    feed(platform, Event(type="customers.consent.changed", group_id=GID, store_id=store(PD),
                         data={"customer_id": cid, "do_not_call": False, "consent": {"phone": False}}))
    assert _claim(api, "cc.agent1", PD)["task"] is None  # phone consent withdrawn is enough

    feed(platform, Event(type="customers.consent.changed", group_id=GID, store_id=store(PD),
                         data={"customer_id": cid, "do_not_call": False, "consent": {"phone": True}}))
    t = _claim(api, "cc.agent1", PD)["task"]
    assert t["id"] == task.id
    assert api.post(f"/callcenter/api/v1/tasks/{t['id']}/release", as_="cc.agent1").status_code == 200


def test_a_promised_call_back_stays_with_its_agent_then_is_released(api, platform, frozen):
    frozen.travel_to(local(2026, 5, 12, 10, 0))
    _drain(api, PD)
    delivered(platform, PD, "toyota", date(2026, 5, 9))
    t = _claim(api, "cc.agent1", PD)["task"]
    at = local(2026, 5, 12, 15, 0)
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1",
                 json={"outcome": "call_back", "callback_at": at.isoformat()})
    assert r.status_code == 201 and r.json["task"]["reserved_for"]
    frozen.travel_to(local(2026, 5, 12, 14, 50))
    assert _claim(api, "cc.agent1", PD)["task"] is None  # not before the promised time
    frozen.travel_to(local(2026, 5, 12, 15, 5))
    assert _claim(api, "cc.agent2", PD)["task"] is None  # not someone else's
    mine = _claim(api, "cc.agent1", PD)["task"]
    assert mine["id"] == t["id"]  # the named agent, at its time
    assert api.post(f"/callcenter/api/v1/tasks/{t['id']}/release", as_="cc.agent1").status_code == 200
    assert _claim(api, "cc.agent2", PD)["task"] is None  # still reserved until 30 minutes after the promise
    frozen.travel_to(local(2026, 5, 12, 15, 31))
    again = _claim(api, "cc.agent2", PD)["task"]
    assert again["id"] == t["id"]
    api.post(f"/callcenter/api/v1/tasks/{t['id']}/release", as_="cc.agent2")


def test_a_call_back_outside_the_window_is_refused_with_a_field_error(api, platform, frozen):
    frozen.travel_to(local(2026, 5, 20, 10, 0))
    _drain(api, PD)
    delivered(platform, PD, "toyota", date(2026, 5, 17))
    t = _claim(api, "cc.agent1", PD)["task"]
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1",
                 json={"outcome": "call_back", "callback_at": local(2026, 5, 20, 22, 0).isoformat()})
    assert r.status_code == 422 and "callback_at" in r.json["errors"]
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1", json={"outcome": "sleeping"})
    assert r.status_code == 422 and "outcome" in r.json["errors"]
    with cc_session(platform) as s:
        assert s.get(Task, t["id"]).attempts == 0


def test_unanswered_calls_retry_after_two_hours_then_next_day_then_fail_as_unreachable(api, platform, frozen):
    frozen.travel_to(local(2026, 6, 3, 10, 0))
    _drain(api, PD)
    delivered(platform, PD, "toyota", date(2026, 5, 31))
    t = _claim(api, "cc.agent1", PD)["task"]
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1", json={"outcome": "no_answer"})
    assert r.json["task"]["status"] == "open"
    assert _claim(api, "cc.agent1", PD)["task"] is None
    frozen.travel_to(local(2026, 6, 3, 12, 1))
    assert _claim(api, "cc.agent1", PD)["task"]["id"] == t["id"]
    api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1", json={"outcome": "busy"})
    frozen.travel_to(local(2026, 6, 4, 11, 0))
    assert _claim(api, "cc.agent1", PD)["task"] is None
    frozen.travel_to(local(2026, 6, 4, 12, 2))
    assert _claim(api, "cc.agent1", PD)["task"]["id"] == t["id"]
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1", json={"outcome": "no_answer"})
    assert r.json["task"]["status"] == "failed" and r.json["task"]["outcome"] == "unreachable"


def test_store_staff_cannot_claim_and_other_stores_see_404(api, platform, frozen):
    frozen.travel_to(local(2026, 6, 10, 10, 0))
    ev = delivered(platform, PD, "toyota", date(2026, 6, 7))
    assert api.post(NEXT, as_=f"{PD}.manager", json={}).status_code == 403
    with cc_session(platform) as s:
        tid = s.scalar(select(Task.id).where(Task.dedupe_key == f"delivery_callback:{ev.data['order_id']}"))
    assert api.get(f"/callcenter/api/v1/tasks/{tid}", as_=f"{PD}.manager").status_code == 200
    assert api.get(f"/callcenter/api/v1/tasks/{tid}", as_=f"{XH}.manager").status_code == 404
    listed = api.get("/callcenter/api/v1/tasks?per_page=200", as_=f"{XH}.manager")
    assert all(t["store_id"] == store(XH) for t in listed.json)


def test_the_queue_counts_expired_tasks_apart_from_the_ones_to_call(api, platform, frozen):
    frozen.travel_to(local(2026, 5, 4, 10, 0))
    delivered(platform, XH, "lexus", date(2026, 5, 1))
    with cc_session(platform) as s:
        task = s.scalars(select(Task).where(Task.task_type == "delivery_callback", Task.status == "open")
                         .order_by(Task.created_at.desc())).first()
    before = api.get("/callcenter/api/v1/queue", as_="cc.sup").json

    frozen.travel_to(task.expires_at + timedelta(minutes=1))
    after = api.get("/callcenter/api/v1/queue", as_="cc.sup").json
    now = frozen.now()
    with cc_session(platform) as s:
        callable_now = s.scalar(select(func.count(Task.id)).where(Task.status == "open", Task.expires_at > now))
        expired = s.scalar(select(func.count(Task.id)).where(Task.status == "open", Task.expires_at <= now))
    assert after["open_tasks"] == callable_now and after["expired_tasks"] == expired >= 1
    assert after["expired_tasks"] > before["expired_tasks"]
    assert task.id not in [t["id"] for t in after["tasks"]]
    claimed = _claim(api, "cc.agent1", XH)["task"]
    assert claimed is None or claimed["id"] != task.id
