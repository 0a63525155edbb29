"""Erasure (PIPL) reaches the call center: after `POST /customers/{id}/erase` the person is forgotten in
contacts, tasks, attempts, complaints, survey answers and the sent outbox; the figures stay."""
from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from services.callcenter.adapters.models import Attempt, Contact, SurveyResponse, Task
from shared.events import Event
from shared.privacy import pseudonym
from tests.callcenter.conftest import GID, cc_session, delivered, feed, local, new_customer, store
from tests.conftest import wait_until

PD = "sh-toyota-pd"
ADMIN, AGENT, MANAGER = "hq.admin", "cc.agent1", f"{PD}.manager"


@pytest.fixture(scope="module", autouse=True)
def tokens(api):
    for user in (ADMIN, AGENT, MANAGER, "cc.sup"):
        api.token(user)


def _outbox(platform) -> list[tuple[str, str, object]]:
    rt = platform.runtimes["callcenter"]
    with rt.db.engine.connect() as conn:
        return [(r.routing_key, r.body, r.sent_at) for r in conn.execute(
            select(rt.outbox.c.routing_key, rt.outbox.c.body, rt.outbox.c.sent_at))]


def _mine(api, path: str, cid: str) -> list[dict]:
    return [x for x in api.get(f"/callcenter/api/v1/{path}", as_=ADMIN).json if x["customer_id"] == cid]


def test_erasing_a_customer_makes_the_call_center_forget_them_and_keep_the_figures(api, platform, frozen):
    frozen.travel_to(local(2026, 10, 20, 10, 0))
    phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    r = api.post("/customers/api/v1/customers", as_=MANAGER, json={"name": "卫先生", "phone": phone})
    assert r.status_code == 201, r.json
    cid = r.json["id"]
    with_stores = wait_until(lambda: _contact(platform, cid) if _contact(platform, cid)
                             and store(PD) in (_contact(platform, cid).store_ids or []) else None, 60)
    assert with_stores.name == "卫先生"

    delivered(platform, PD, "toyota", date(2026, 10, 17), phone=phone, name="卫先生")
    t = api.post("/callcenter/api/v1/tasks/next", as_=AGENT, json={"store_id": store(PD)}).json["task"]
    assert t["customer_id"] == cid
    answered = api.post(f"/callcenter/api/v1/tasks/{t['id']}/attempts", as_=AGENT, json={
        "outcome": "reached", "note": "卫先生说下午再聊",
        "answers": {"overall": "1", "explained": "no", "on_time": "no", "recommend": "2", "repurchase": "low",
                    "comments": f"卫先生留了新号码 {phone}"}})
    assert answered.status_code == 201 and answered.json["complaint_id"]
    opened = api.post("/callcenter/api/v1/complaints", as_=AGENT, json={
        "store_id": store(PD), "customer_id": cid, "severity": "high", "summary": "卫先生投诉销售顾问态度差"})
    assert opened.status_code == 201
    survey = wait_until(lambda: _mine(api, f"surveys?customer_id={cid}", cid), 60)[0]
    wait_until(lambda: all(sent for key, body, sent in _outbox(platform) if cid in body), 60)  # relayed

    r = api.post(f"/customers/api/v1/customers/{cid}/erase", as_=ADMIN, json={"reason": "客户要求删除个人信息"})
    assert r.status_code == 200, r.json

    def forgotten():
        tasks = _mine(api, f"tasks?customer_id={cid}", cid)
        return tasks if tasks and all(x["phone"] is None for x in tasks) else None

    tasks = wait_until(forgotten, 60)
    assert {x["customer_name"] for x in tasks} == {pseudonym(cid)}
    complaints = _mine(api, "complaints?per_page=200", cid)
    assert len(complaints) == 2 and {c["customer_name"] for c in complaints} == {pseudonym(cid)}
    assert all(c["summary"] == "" for c in complaints)
    assert all("卫先生" not in json.dumps(c, ensure_ascii=False) for c in complaints)
    [after] = _mine(api, f"surveys?customer_id={cid}", cid)
    assert (after["score"], after["satisfaction"], after["low_score"]) == (
        survey["score"], survey["satisfaction"], survey["low_score"])  # the figures stay
    comments = {a["key"]: a for a in after["answers"]}["comments"]
    assert comments["value"] == comments["label"] == ""
    contact = _contact(platform, cid)
    assert contact.name == pseudonym(cid) and contact.phone is None and not contact.callable
    with cc_session(platform) as s:
        assert s.scalar(select(Attempt.note).where(Attempt.task_id == t["id"])) == ""
    for key, body, _sent in _outbox(platform):  # what was already sent keeps no trace of the person
        assert phone not in body and "卫先生" not in body, key


def test_the_erased_event_also_forgets_lead_tasks_never_matched_to_the_customer(platform, frozen):
    frozen.travel_to(local(2026, 10, 22, 10, 0))
    cid, phone = new_customer(platform, PD, name="蒋女士")
    lead_only = delivered(platform, PD, "toyota", date(2026, 10, 19), name="蒋女士")  # another number, a lead
    with cc_session(platform) as s:
        lead_task = s.scalar(select(Task).where(Task.lead_id == lead_only.data["lead_id"]))
        assert lead_task.customer_id is None and lead_task.customer_name == "蒋女士"
    feed(platform, Event(type="customers.customer.erased", group_id=GID,
                         data={"customer_id": cid, "lead_ids": [lead_only.data["lead_id"]],
                               "erasure_id": str(uuid.uuid4())}))
    with cc_session(platform) as s:
        t = s.get(Task, lead_task.id)
        assert t.customer_name == pseudonym(cid) and t.phone is None and t.status == "cancelled"
        assert s.scalar(select(SurveyResponse).where(SurveyResponse.customer_id == cid)) is None
    contact = _contact(platform, cid)
    assert contact.name == pseudonym(cid) and contact.phone is None and contact.callable is False
    assert phone


def _contact(platform, cid: str) -> Contact | None:
    with cc_session(platform) as s:
        return s.get(Contact, cid)
