"""Events in (deliveries, schedules), surveys and what a low score sets off, questionnaire versions."""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from services.callcenter.adapters.models import Complaint, StaffRef, SurveyResponse, Task
from shared import clock
from shared.bus import emit
from shared.events import Event
from shared.tenancy import Scope
from tests.callcenter.conftest import GID, SH, brand, cc_session, delivered, feed, local, new_customer, store
from tests.conftest import wait_until

PD, XH = "sh-toyota-pd", "sh-lexus-xh"


@pytest.fixture(scope="module", autouse=True)
def tokens(api):
    for user in ("cc.agent1", "cc.agent2", "cc.sup", "hq.admin", f"{PD}.manager", f"{XH}.manager"):
        api.token(user)


def _tasks_for_order(platform, order_id):
    with cc_session(platform) as s:
        return s.scalars(select(Task).where(Task.dedupe_key == f"delivery_callback:{order_id}")).all()


def _applied(platform, event_id) -> bool:
    rt = platform.runtimes["callcenter"]
    with rt.db.engine.connect() as conn:
        return conn.execute(select(rt.inbox.c.event_id).where(rt.inbox.c.event_id == str(event_id))).first() is not None


def test_a_delivery_in_leads_makes_exactly_one_callback_due_on_day_3_however_often_it_arrives(platform):
    today = clock.now().astimezone(SH).date()
    ev = delivered(None, PD, "toyota", today)
    leads = platform.runtimes["leads"]
    with leads.db.session(Scope.system(GID)) as s:
        emit(s, ev)
    [task] = wait_until(lambda: _tasks_for_order(platform, ev.data["order_id"]), timeout=60)

    with leads.db.engine.begin() as conn:  # the relay sends it again (as after a crash): the inbox drops it
        conn.execute(update(leads.outbox).where(leads.outbox.c.event_id == str(ev.id)).values(sent_at=None))
    again = Event(type=ev.type, group_id=GID, store_id=ev.store_id, brand_id=ev.brand_id, data=dict(ev.data))
    with leads.db.session(Scope.system(GID)) as s:  # the same delivery announced again under a new event id
        emit(s, again)
    # the relay publishes in outbox order and the queue is consumed in order: once `again` is applied,
    # the redelivered copy has been seen too
    wait_until(lambda: _applied(platform, again.id), timeout=60)

    [only] = _tasks_for_order(platform, ev.data["order_id"])
    assert only.id == task.id
    assert only.store_id == store(PD) and only.brand_id == brand("toyota")
    assert only.due_at.astimezone(SH).date() == today + timedelta(days=3)
    assert only.due_at.astimezone(SH).hour == 9
    assert only.customer_name == ev.data["customer_name"] and only.phone == ev.data["phone"]


def test_schedules_make_one_task_per_trigger_and_insurance_two_reminders(platform, frozen):
    frozen.travel_to(local(2026, 7, 1, 10, 0))
    cid, _phone = new_customer(platform, XH)
    sched = {"customer_id": cid, "schedule_id": f"policy-{uuid.uuid4()}", "due_on": date(2026, 9, 15),
             "vin": "LFV123", "detail": {"insurer": "平安"}}
    for _ in range(3):  # repeated triggers, new event ids every time
        feed(platform, Event(type="customers.schedule.insurance_expiring", group_id=GID, store_id=store(XH),
                             brand_id=brand("lexus"), data=dict(sched)))
    with cc_session(platform) as s:
        tasks = s.scalars(select(Task).where(Task.customer_id == cid).order_by(Task.due_at)).all()
    assert [t.due_at.astimezone(SH).date() for t in tasks] == [date(2026, 7, 17), date(2026, 8, 16)]
    assert {t.task_type for t in tasks} == {"insurance_renewal"} and tasks[0].detail["insurer"] == "平安"

    kinds = (("birthday", "birthday_care"), ("churned", "churn_winback"),
             ("insurance_lapsed", "lapsed_insurance_winback"), ("maintenance_due", "maintenance_reminder"))
    for kind, task_type in kinds:
        data = {"customer_id": cid, "schedule_id": f"{kind}-{cid}", "due_on": date(2026, 7, 8)}
        feed(platform, Event(type=f"customers.schedule.{kind}", group_id=GID, data=data))  # no store: the customer's
        feed(platform, Event(type=f"customers.schedule.{kind}", group_id=GID, data=data))
        with cc_session(platform) as s:
            made = s.scalars(select(Task).where(Task.customer_id == cid, Task.task_type == task_type)).all()
        assert len(made) == 1 and made[0].store_id == store(XH), kind


def test_service_visits_and_defeats_make_their_callbacks(platform, frozen):
    frozen.travel_to(local(2026, 7, 2, 10, 0))
    cid, phone = new_customer(platform, PD)
    visit = {"customer_id": cid, "visit_id": str(uuid.uuid4()), "store_id": store(PD), "visit_date": date(2026, 7, 2),
             "kind": "maintenance"}
    feed(platform, Event(type="customers.service.recorded", group_id=GID, store_id=store(PD), data=visit))
    lead = str(uuid.uuid4())
    feed(platform, Event(type="leads.defeat.approved", group_id=GID, store_id=store(PD), brand_id=brand("toyota"),
                         data={"lead_id": lead, "reason": "price", "customer_name": "赵女士", "phone": phone},
                         occurred_at=frozen.now()))
    with cc_session(platform) as s:
        svc = s.scalar(select(Task).where(Task.dedupe_key == f"service_callback:{visit['visit_id']}"))
        defeat = s.scalar(select(Task).where(Task.dedupe_key == f"defeat_verification:{lead}"))
    assert svc.due_at.astimezone(SH).date() == date(2026, 7, 4) and svc.brand_id == brand("toyota")
    assert defeat.due_at.astimezone(SH).date() == date(2026, 7, 2)
    assert defeat.expires_at.astimezone(SH).date() == date(2026, 7, 4) and defeat.customer_id == cid


def _work_one(api, user, store_code, task_type=None):
    body = {"store_id": store(store_code)}
    if task_type:
        body["task_type"] = task_type
    return api.post("/callcenter/api/v1/tasks/next", as_=user, json=body).json["task"]


def _drain(api, store_code):
    while (t := _work_one(api, "cc.sup", store_code)) is not None:
        api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.sup", json={"outcome": "refused"})


def _outbox_events(platform, type_):
    rt = platform.runtimes["callcenter"]
    with rt.db.engine.connect() as conn:
        rows = conn.execute(select(rt.outbox.c.body).where(rt.outbox.c.routing_key == type_)).all()
    return [json.loads(r.body) for r in rows]


def test_a_low_survey_score_opens_a_complaint_for_the_right_store_and_announces_the_answer(api, platform, frozen):
    frozen.travel_to(local(2026, 8, 5, 10, 0))
    _drain(api, XH)
    cid, phone = new_customer(platform, XH, name="钱女士")
    delivered(platform, XH, "lexus", date(2026, 8, 2), phone=phone, name="钱女士")
    t = _work_one(api, "cc.agent1", XH)
    assert t["customer_id"] == cid
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1", json={
        "outcome": "reached", "answers": {"overall": "1", "explained": "no", "on_time": "no", "recommend": "2",
                                          "repurchase": "low", "comments": "交车拖了一周"}})
    assert r.status_code == 201, r.json
    assert r.json["low_score"] is True and r.json["score"] < 30 and r.json["complaint_id"]

    with cc_session(platform) as s:
        c = s.get(Complaint, r.json["complaint_id"])
        manager = s.scalar(select(StaffRef).where(StaffRef.username == f"{XH}.manager"))
        assert c.store_id == store(XH) and c.brand_id == brand("lexus") and c.source == "survey"
        assert c.assignee_id == manager.id and c.severity == "high" and c.customer_id == cid
        assert (c.due_at - c.created_at) == timedelta(hours=24)
    assert api.get(f"/callcenter/api/v1/complaints/{c.id}", as_=f"{XH}.manager").status_code == 200
    assert api.get(f"/callcenter/api/v1/complaints/{c.id}", as_=f"{PD}.manager").status_code == 404
    assert api.get(f"/callcenter/api/v1/complaints/{c.id}", as_="hq.admin").status_code == 200

    [ev] = [e for e in _outbox_events(platform, "callcenter.survey.submitted") if e["data"]["task_id"] == t["id"]]
    assert ev["store_id"] == store(XH) and ev["brand_id"] == brand("lexus") and ev["group_id"] == GID
    d = ev["data"]
    assert d["customer_id"] == cid and d["low_score"] and d["score"] == r.json["score"]
    assert (d["satisfaction"], d["recommend"], d["repurchase"]) == (1, 2, "low")
    assert d["task_type"] == "delivery_callback" and d["questionnaire_version"] == 1 and d["channel"] == "phone"
    assert d["complaint_id"] == c.id and {a["key"] for a in d["answers"]} >= {"overall", "comments"}
    [opened] = [e for e in _outbox_events(platform, "callcenter.complaint.opened")
                if e["data"]["complaint_id"] == c.id]
    assert opened["store_id"] == store(XH) and opened["data"]["assignee_id"] == manager.id


def test_bad_answers_are_a_422_and_nothing_is_written(api, platform, frozen):
    frozen.travel_to(local(2026, 8, 6, 10, 0))
    _drain(api, PD)
    delivered(platform, PD, "toyota", date(2026, 8, 3))
    t = _work_one(api, "cc.agent1", PD)
    r = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1",
                 json={"outcome": "reached", "answers": {"overall": "7"}})
    assert r.status_code == 422 and "answers.overall" in r.json["errors"]
    with cc_session(platform) as s:
        assert s.get(Task, t["id"]).attempts == 0
        assert s.scalar(select(SurveyResponse).where(SurveyResponse.task_id == t["id"])) is None
    assert api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent1",
                    json={"outcome": "reached", "answers": {"overall": "5"}}).json["low_score"] is False


def test_a_new_questionnaire_version_applies_to_new_answers_and_old_answers_keep_theirs(api, platform, frozen):
    frozen.travel_to(local(2026, 8, 7, 10, 0))
    _drain(api, PD)
    qs = api.get("/callcenter/api/v1/questionnaires", as_="cc.sup").json
    [dq] = [q for q in qs if q["task_type"] == "delivery_callback"]
    body = {"task_type": "delivery_callback", "name": "交车回访问卷 v2", "script": "您好！", "low_score_threshold": 70,
            "questions": [{"key": "overall", "type": "satisfaction5", "text": "整体满意度", "weight": 2,
                           "required": True},
                          {"key": "gift", "type": "single", "text": "交车礼品", "weight": 1, "alert_on": ["none"],
                           "options": [{"value": "got", "label": "收到", "score": 100},
                                       {"value": "none", "label": "没有", "score": 0}]}]}
    bad = api.post("/callcenter/api/v1/questionnaires", as_="cc.sup", json={**body, "questions": [
        {"key": "x", "type": "single", "text": "只有一个选项", "options": [{"value": "a", "label": "A"}]}]})
    assert bad.status_code == 422 and "questions.0" in bad.json["errors"]
    assert api.post("/callcenter/api/v1/questionnaires", as_="cc.agent1", json=body).status_code == 403
    r = api.post("/callcenter/api/v1/questionnaires", as_="cc.sup", json=body)
    assert r.status_code == 201 and r.json["version"] == dq["version"] + 1 and r.json["id"] == dq["id"]

    delivered(platform, PD, "toyota", date(2026, 8, 4))
    t = _work_one(api, "cc.agent2", PD)
    ans = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_="cc.agent2",
                   json={"outcome": "reached", "answers": {"overall": "5", "gift": "none"}})
    assert ans.status_code == 201 and ans.json["low_score"] is True  # the chosen answer raises the alert
    surveys = api.get("/callcenter/api/v1/surveys?per_page=200", as_="cc.sup").json
    versions = {s["task_id"]: s["version"] for s in surveys if s["task_type"] == "delivery_callback"}
    assert versions[t["id"]] == r.json["version"] and 1 in versions.values()
    v1 = api.get(f"/callcenter/api/v1/questionnaires/{dq['id']}/versions/1", as_="cc.sup")
    assert v1.status_code == 200 and "explained" in {q["key"] for q in v1.json["questions"]}


def test_tasks_made_before_their_customer_was_known_are_adopted_when_a_delivery_brings_the_customer(platform):
    """A delivery callback is made from the lead (no customer yet); when customers announces the person, by the
    same phone or as the relationship of that lead, the task points at them: in one delivered batch as well."""
    from shared.bus.consumer import Applier

    today = clock.now().astimezone(SH).date()
    by_phone, by_lead = delivered(platform, PD, "toyota", today), delivered(platform, PD, "toyota", today)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    batch = [
        Event(type="customers.customer.created", group_id=GID, store_id=store(PD),
              data={"customer_id": first, "name": "王先生", "phone": by_phone.data["phone"], "do_not_call": False,
                    "consent": {"phone": True}}),
        Event(type="customers.relationship.linked", group_id=GID, store_id=store(PD),
              data={"customer_id": first, "store_id": store(PD), "brand_id": brand("toyota"),
                    "customer_class": "intent"}),
        Event(type="customers.relationship.linked", group_id=GID, store_id=store(PD),
              data={"customer_id": second, "store_id": store(PD), "brand_id": brand("toyota"),
                    "customer_class": "intent", "lead_id": by_lead.data["lead_id"]}),
    ]
    rt = platform.runtimes["callcenter"]
    assert Applier(rt.db, rt.inbox, rt.handlers).apply_batch(batch) == 3
    [phone_task] = _tasks_for_order(platform, by_phone.data["order_id"])
    [lead_task] = _tasks_for_order(platform, by_lead.data["order_id"])
    assert phone_task.customer_id == first and lead_task.customer_id == second


def test_a_delivery_of_new_customers_makes_each_contact_once_with_its_stores_and_consent(platform):
    """Several customers new to the call center in one delivered batch, their events interleaved and a
    relationship overtaking its customer: each contact is made once (no look-up per event) and ends with
    every store and its consent, as the events one by one would leave it."""
    from services.callcenter.adapters.models import Contact
    from shared.bus.consumer import Applier

    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    pd, xh = store(PD), store(XH)

    def created(cid, name, phone, **extra):
        return Event(type="customers.customer.created", group_id=GID, store_id=pd,
                     data={"customer_id": cid, "name": name, "phone": phone, "do_not_call": False,
                           "consent": {"phone": True}, **extra})

    def linked(cid, sid, brand_code):
        return Event(type="customers.relationship.linked", group_id=GID, store_id=sid,
                     data={"customer_id": cid, "store_id": sid, "brand_id": brand(brand_code),
                           "customer_class": "intent"})

    batch = [created(a, "甲", "+8613900000001"), linked(a, pd, "toyota"), linked(b, xh, "lexus"),
             created(b, "乙", "+8613900000002", do_not_call=True), linked(a, xh, "lexus"),
             created(c, "丙", "+8613900000003", consent={"phone": False})]
    rt = platform.runtimes["callcenter"]
    assert Applier(rt.db, rt.inbox, rt.handlers).apply_batch(batch) == 6
    with cc_session(platform) as s:
        got = {x.id: (x.name, x.phone, x.store_ids, x.do_not_call, x.callable)
               for x in s.scalars(select(Contact).where(Contact.id.in_([a, b, c])))}
    assert got == {a: ("甲", "+8613900000001", sorted([pd, xh]), False, True),
                   b: ("乙", "+8613900000002", [xh], True, False),
                   c: ("丙", "+8613900000003", [], False, False)}


def test_deliveries_and_their_customers_in_one_delivered_batch_point_at_the_customer_whatever_comes_first(platform):
    """A delivery before its customer (taken by phone, or as the relationship of its lead) and a delivery after
    it, all in one delivered batch: every delivery callback points at its customer, made once per order."""
    from shared.bus.consumer import Applier

    today = clock.now().astimezone(SH).date()
    early_phone, early_lead, late = (delivered(None, PD, "toyota", today) for _ in range(3))
    a, b, c = (str(uuid.uuid4()) for _ in range(3))

    def customer(cid: str, phone: str | None, lead_id: str | None = None) -> list[Event]:
        return [Event(type="customers.customer.created", group_id=GID, store_id=store(PD),
                      data={"customer_id": cid, "name": "赵女士", "phone": phone, "consent": {"phone": True}}),
                Event(type="customers.relationship.linked", group_id=GID, store_id=store(PD),
                      data={"customer_id": cid, "store_id": store(PD), "brand_id": brand("toyota"),
                            "customer_class": "intent", "lead_id": lead_id})]

    batch = [early_phone, early_lead, *customer(a, early_phone.data["phone"]),
             *customer(b, None, early_lead.data["lead_id"]), *customer(c, late.data["phone"]), late, late]
    rt = platform.runtimes["callcenter"]
    assert Applier(rt.db, rt.inbox, rt.handlers).apply_batch(batch) == len(batch) - 1  # `late` twice counts once
    [t_a] = _tasks_for_order(platform, early_phone.data["order_id"])
    [t_b] = _tasks_for_order(platform, early_lead.data["order_id"])
    [t_c] = _tasks_for_order(platform, late.data["order_id"])
    assert (t_a.customer_id, t_b.customer_id, t_c.customer_id) == (a, b, c)
