"""Issue 11 in the call center: a store reaches only its own customers, phones are masked by role on
every surface, only the call center or HQ confirms a complaint with the customer, bad time zones are
refused (and a stored one does not take the queue down), do-not-call stops a held call, and an
Idempotency-Key belongs to its caller."""
from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from services.callcenter.handlers.config import forget_claim_settings, settings_for
from services.callcenter.adapters.models import Attempt, Complaint, StoreCallback, StoreRef, Task
from shared.events import Event
from shared.phones import mask
from tests.callcenter.conftest import (
    GID,
    cc_session,
    csrf,
    delivered,
    feed,
    local,
    new_customer,
    signed_in,
    store,
)

PD, XH, VW = "sh-toyota-pd", "sh-lexus-xh", "hz-vw-xh"
NEXT = "/callcenter/api/v1/tasks/next"
CALLBACKS = "/callcenter/api/v1/store-callbacks"


@pytest.fixture(scope="module", autouse=True)
def pages(platform, api):
    """Tokens and page sessions, signed in before the clock moves (tokens are checked against real time)."""
    for user in ("cc.agent1", "cc.agent2", "cc.sup", "hq.admin", "hq.analyst", f"{PD}.manager", f"{XH}.manager",
                 f"{XH}.sales1", f"{VW}.manager"):
        api.token(user)
    return {u: signed_in(platform, u) for u in ("cc.agent1", "cc.sup", "hq.analyst", f"{XH}.manager", f"{VW}.manager")}


def _claim(api, user, store_code, task_type=None):
    body = {"store_id": store(store_code), **({"task_type": task_type} if task_type else {})}
    r = api.post(NEXT, as_=user, json=body)
    assert r.status_code == 200, r.json
    return r.json["task"]


def _drain(api, store_code):
    while (t := _claim(api, "cc.sup", store_code)) is not None:
        assert api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.sup",
                        json={"outcome": "refused"}).status_code == 201


def _callback(cid):
    return {"customer_id": cid, "kind": "delivery_callback", "reached": True, "satisfaction": 5}


# --- a store reaches only its own customers --------------------------------------------------------

def test_a_store_records_callbacks_only_for_customers_it_has_a_relationship_with(api, platform, frozen, pages):
    frozen.travel_to(local(2026, 9, 10, 10, 0))
    assert api.put("/callcenter/api/v1/settings", as_="cc.sup", json={"spot_check_share": 1.0}).status_code == 200
    theirs, phone = new_customer(platform, PD, name="冯女士")  # known to sh-toyota-pd only

    foreign = api.post(CALLBACKS, as_=f"{XH}.manager", json=_callback(theirs))
    unknown = api.post(CALLBACKS, as_=f"{XH}.manager", json=_callback(str(uuid.uuid4())))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json == unknown.json  # the same answer as a random id
    assert api.post(CALLBACKS, as_=f"{XH}.sales1", json=_callback(theirs)).status_code == 404

    page = pages[f"{XH}.manager"]
    form = page.get("/callcenter/spot-checks").get_data(as_text=True)
    r = page.post("/callcenter/store-callbacks", data={"csrf_token": csrf(form), "customer": phone[3:],
                                                      "kind": "service_callback", "reached": "1"})
    assert r.status_code == 302
    with cc_session(platform) as s:  # nothing was written, no spot check carries the customer to that store
        assert s.scalar(select(func.count(StoreCallback.id)).where(StoreCallback.customer_id == theirs)) == 0
        assert s.scalar(select(func.count(Task.id)).where(Task.customer_id == theirs)) == 0

    own = api.post(CALLBACKS, as_=f"{PD}.manager", json=_callback(theirs))
    assert own.status_code == 201 and own.json["sampled"] and own.json["store_id"] == store(PD)
    spot = f"/callcenter/api/v1/tasks/{own.json['spot_task_id']}"
    assert api.get(spot, as_=f"{PD}.manager").json["customer_name"] == "冯女士"
    other, random_id = api.get(spot, as_=f"{XH}.manager"), api.get(f"/callcenter/api/v1/tasks/{uuid.uuid4()}",
                                                                    as_=f"{XH}.manager")
    assert other.status_code == random_id.status_code == 404 and other.json == random_id.json
    assert api.get(f"{spot}/attempts", as_=f"{XH}.manager").status_code == 404
    assert api.put("/callcenter/api/v1/settings", as_="cc.sup", json={"spot_check_share": 0.1}).status_code == 200


# --- masking by role -----------------------------------------------------------------------------

def test_the_full_number_goes_to_the_holding_agent_and_the_stores_own_manager_only(api, platform, frozen, pages):
    frozen.travel_to(local(2026, 9, 14, 10, 0))
    _drain(api, PD)
    cid, phone = new_customer(platform, PD, name="韩先生")
    delivered(platform, PD, "toyota", date(2026, 9, 11), phone=phone, name="韩先生")
    held = _claim(api, "cc.agent1", PD)
    assert held["customer_id"] == cid and held["phone"] == phone  # the claim hands the holder the number
    one = f"/callcenter/api/v1/tasks/{held['id']}"

    def shown(user):
        return api.get(one, as_=user).json["phone"]

    assert shown("cc.agent1") == phone and shown(f"{PD}.manager") == phone
    for user in ("cc.agent2", "cc.sup", "hq.admin", "hq.analyst"):
        assert shown(user) == mask(phone), user
    listed = {u: api.get(f"/callcenter/api/v1/tasks?customer_id={cid}", as_=u).json for u in ("cc.agent1", "cc.sup")}
    assert [t["phone"] for t in listed["cc.agent1"]] == [phone]
    assert [t["phone"] for t in listed["cc.sup"]] == [mask(phone)]
    contact = f"/callcenter/api/v1/contacts/{cid}"
    assert api.get(contact, as_="cc.agent1").json["phone"] == phone
    assert api.get(contact, as_="cc.agent2").json["phone"] == mask(phone)
    assert api.get(contact, as_="hq.admin").json["phone"] == mask(phone)

    workbench = pages["cc.agent1"].get("/callcenter/workbench").get_data(as_text=True)
    assert f'href="tel:{phone}"' in workbench  # the holder can call

    frozen.advance(timedelta(minutes=21))  # the lease (20 minutes) ran out: the hold is gone
    assert shown("cc.agent1") == mask(phone)
    assert api.get(contact, as_="cc.agent1").json["phone"] == mask(phone)
    workbench = pages["cc.agent1"].get("/callcenter/workbench").get_data(as_text=True)
    assert phone not in workbench and "tel:" not in workbench


def test_a_manager_sees_a_full_number_only_where_the_store_has_its_own_relationship(api, platform, frozen):
    frozen.travel_to(local(2026, 9, 15, 10, 0))
    cid, phone = new_customer(platform, XH, name="许女士")  # a Lexus customer...
    feed(platform, Event(type="customers.schedule.birthday", group_id=GID, store_id=store(VW),
                         data={"customer_id": cid, "schedule_id": f"bday-{uuid.uuid4()}",
                               "due_on": date(2026, 9, 15)}))  # ...with a care task filed under the VW store
    with cc_session(platform) as s:
        tid = s.scalar(select(Task.id).where(Task.customer_id == cid, Task.store_id == store(VW)))
    r = api.get(f"/callcenter/api/v1/tasks/{tid}", as_=f"{VW}.manager")
    assert r.status_code == 200 and r.json["phone"] == mask(phone)


# --- complaints: confirmed with the customer by the call center or HQ ------------------------------

def test_a_store_manager_cannot_confirm_a_complaint_with_the_customer(api, platform, frozen, pages):
    frozen.travel_to(local(2026, 9, 16, 10, 0))
    cid, _phone = new_customer(platform, VW, name="宋先生")
    c = api.post("/callcenter/api/v1/complaints", as_="cc.agent1",
                 json={"store_id": store(VW), "customer_id": cid, "severity": "low", "summary": "保养等待太久"}).json
    tr = f"/callcenter/api/v1/complaints/{c['id']}/transitions"
    assert api.post(tr, as_=f"{VW}.manager", json={"action": "start"}).status_code == 200
    assert api.post(tr, as_=f"{VW}.manager", json={"action": "resolve", "note": "已道歉并赠送保养"}).status_code == 200

    page = pages[f"{VW}.manager"]
    html = page.get(f"/callcenter/complaints/{c['id']}").get_data(as_text=True)
    assert 'value="confirm"' not in html and 'value="reopen"' in html  # not offered the button
    refused = api.post(tr, as_=f"{VW}.manager", json={"action": "confirm"})
    assert refused.status_code == 403
    posted = page.post(f"/callcenter/complaints/{c['id']}", data={"csrf_token": csrf(html), "action": "confirm"})
    assert posted.status_code == 403
    with cc_session(platform) as s:
        assert s.get(Complaint, c["id"]).status == "resolved"
    assert api.post(tr, as_="cc.agent1", json={"action": "confirm"}).json["status"] == "confirmed"


# --- time zones ----------------------------------------------------------------------------------

def test_an_unknown_time_zone_is_refused_and_nothing_is_saved(api, platform):
    before = api.get("/callcenter/api/v1/settings", as_="cc.sup").json
    r = api.put("/callcenter/api/v1/settings", as_="cc.sup", json={"timezone": "Mars/Olympus", "lease_minutes": 45})
    assert r.status_code == 422 and "timezone" in r.json["errors"]
    assert api.get("/callcenter/api/v1/settings", as_="cc.sup").json == before


def test_a_bad_time_zone_already_stored_does_not_take_the_queue_down(api, platform, frozen, caplog):
    frozen.travel_to(local(2026, 9, 17, 10, 0))
    _drain(api, XH)
    delivered(platform, XH, "lexus", date(2026, 9, 14))
    with cc_session(platform) as s:  # written before zones were checked, or by hand
        cfg = settings_for(s, GID)
        cfg.timezone = "Mars/Olympus"
        s.add(cfg)
        s.get(StoreRef, store(XH)).timezone = "Venus/Maxwell"
    forget_claim_settings()
    try:
        with caplog.at_level(logging.WARNING):
            t = _claim(api, "cc.agent1", XH)
        assert t is not None and t["store_id"] == store(XH)
        assert "Mars/Olympus" in caplog.text and "Venus/Maxwell" in caplog.text
        r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1", json={"outcome": "no_answer"})
        assert r.status_code == 201
    finally:
        with cc_session(platform) as s:
            settings_for(s, GID).timezone = "Asia/Shanghai"
            s.get(StoreRef, store(XH)).timezone = "Asia/Shanghai"
        forget_claim_settings()


def test_the_settings_page_refuses_an_unknown_zone_and_only_supervisors_may_save(api, platform, pages):
    sup, analyst = pages["cc.sup"], pages["hq.analyst"]
    form = {"kind": "settings", "timezone": "Mars/Olympus", "window_start": "09:00", "window_end": "20:00",
            "lease_minutes": "25", "callback_release_minutes": "30", "spot_check_share": "10",
            "low_score_threshold": "60", "link_valid_hours": "72", "sla_high": "24", "sla_medium": "72",
            "sla_low": "168"}
    token = csrf(sup.get("/callcenter/rules").get_data(as_text=True))
    assert sup.post("/callcenter/rules", data={**form, "csrf_token": token}).status_code == 302
    assert "timezone" in sup.get("/callcenter/rules").get_data(as_text=True)  # the reason, beside the form
    saved = api.get("/callcenter/api/v1/settings", as_="cc.sup").json
    assert (saved["timezone"], saved["lease_minutes"]) == ("Asia/Shanghai", 20)  # nothing was saved

    seen = analyst.get("/callcenter/rules")
    assert seen.status_code == 200  # HQ reads the rules...
    token = csrf(seen.get_data(as_text=True))
    ok = {**form, "timezone": "Asia/Shanghai", "csrf_token": token}
    assert analyst.post("/callcenter/rules", data=ok).status_code == 403  # ...and may not change them
    assert analyst.post("/callcenter/questionnaires/delivery_callback",
                        data={"csrf_token": token, "name": "x", "text_0": "问题", "type_0": "text"}).status_code == 403
    assert api.get("/callcenter/api/v1/settings", as_="cc.sup").json["lease_minutes"] == 20

    assert sup.post("/callcenter/rules", data={**ok, "csrf_token": csrf(sup.get("/callcenter/rules").get_data(
        as_text=True))}).status_code == 302
    assert api.get("/callcenter/api/v1/settings", as_="cc.sup").json["lease_minutes"] == 25
    assert api.put("/callcenter/api/v1/settings", as_="cc.sup", json={"lease_minutes": 20}).status_code == 200


# --- do-not-call while a task is held --------------------------------------------------------------

def test_do_not_call_arriving_while_an_agent_holds_the_task_stops_the_call(api, platform, frozen, pages):
    frozen.travel_to(local(2026, 9, 18, 10, 0))
    _drain(api, PD)
    cid, phone = new_customer(platform, PD, name="邓先生")
    delivered(platform, PD, "toyota", date(2026, 9, 15), phone=phone, name="邓先生")
    t = _claim(api, "cc.agent1", PD)
    assert t["customer_id"] == cid
    assert f'href="tel:{phone}"' in pages["cc.agent1"].get("/callcenter/workbench").get_data(as_text=True)

    feed(platform, Event(type="customers.consent.changed", group_id=GID, store_id=store(PD),
                         data={"customer_id": cid, "do_not_call": True, "consent": {"phone": False}}))
    html = pages["cc.agent1"].get("/callcenter/workbench").get_data(as_text=True)
    assert "tel:" not in html and "邓先生" in html  # still the agent's task, no longer a number to dial
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1", json={"outcome": "reached"})
    assert r.status_code == 409 and r.json["code"] == "do_not_call"
    assert "not to be called" in r.json["message"] and "nothing was recorded" in r.json["message"]
    with cc_session(platform) as s:
        assert s.scalar(select(func.count(Attempt.id)).where(Attempt.task_id == t["id"])) == 0
    assert api.post(f"/callcenter/api/v1/tasks/{t['id']}/release", as_="cc.agent1").status_code == 200


# --- Idempotency-Key -------------------------------------------------------------------------------

def test_an_idempotency_key_belongs_to_its_caller(api, platform, frozen):
    frozen.travel_to(local(2026, 9, 21, 10, 0))
    _drain(api, PD)
    delivered(platform, PD, "toyota", date(2026, 9, 18))
    delivered(platform, PD, "toyota", date(2026, 9, 18))
    a, b = _claim(api, "cc.agent1", PD), _claim(api, "cc.agent2", PD)
    key = {"Idempotency-Key": f"call-{uuid.uuid4()}"}
    first = api.post(f"/callcenter/api/v1/tasks/{a['id']}/attempts", as_="cc.agent1", json={"outcome": "busy"},
                     headers=key)
    theirs = api.post(f"/callcenter/api/v1/tasks/{b['id']}/attempts", as_="cc.agent2", json={"outcome": "busy"},
                      headers=key)
    assert first.status_code == theirs.status_code == 201
    assert theirs.json["task_id"] == b["id"] and theirs.json["id"] != first.json["id"]
    again = api.post(f"/callcenter/api/v1/tasks/{a['id']}/attempts", as_="cc.agent1", json={"outcome": "busy"},
                     headers=key)
    assert again.status_code == 201 and again.json["id"] == first.json["id"]  # a retry is answered, not repeated
    with cc_session(platform) as s:
        assert s.get(Task, a["id"]).attempts == s.get(Task, b["id"]).attempts == 1
