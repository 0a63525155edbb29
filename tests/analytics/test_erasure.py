"""Erasure reaches analytics (issue 11, point 3): after a person is erased, analytics' event log holds
neither their name nor their phone, and every figure is what it was — also after `crm rebuild-analytics`.

On the embedded platform: a month of generated activity for the demo group, and the person's own lead,
order, delivery, survey (low score, with a comment) and complaint through the services' APIs.
The erasure goes through `POST /customers/api/v1/customers/{id}/erase`; if the customers service on
this branch does not publish `customers.customer.erased` yet, the test writes that event into the
customers outbox itself, as customers will (ids only), and the relay and the bus carry it as usual.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.analytics.adapters.models import EventLog, Fact
from services.customers.adapters.models import CustomerLead
from shared import clock, config
from shared.bus import emit
from shared.events import Event
from shared.privacy import pseudonym
from shared.tenancy import Scope
from tests.conftest import embedded_env, store_id, wait_until

from .conftest import feed
from .demo_data import load_demo_history

SH = ZoneInfo("Asia/Shanghai")
STORE, SALES, AGENT, ADMIN = "hz-toyota-xs", "hz-toyota-xs.sales1", "cc.agent1", "hq.admin"
NAME = "冯建国"


@pytest.fixture(scope="module")
def person(api, platform):
    """A month of the group's activity, and one person's whole story in it (tomorrow, 10:00)."""
    for user in (AGENT, ADMIN, SALES, f"{STORE}.manager"):
        api.token(user)  # sign in before moving the clock: tokens are checked against real time
    today = clock.now().astimezone(SH).date() + timedelta(days=1)
    clock.freeze(datetime.combine(today, time(10, 0), SH))  # stopped: figures read twice must not drift with "now"
    load_demo_history(platform, start=today - timedelta(days=30), days=30)
    phone = f"+86136{uuid.uuid4().int % 10**8:08d}"
    delivered_on = today - timedelta(days=3)  # the delivery callback is due on day 3: today
    clock.freeze(datetime.combine(delivered_on, time(10, 0), SH))  # signed and handed over that day, typed in now
    lead = api.post("/leads/api/v1/leads", as_=SALES, json={"name": NAME, "phone": phone, "source": "walk_in",
                                                            "model": "凯美瑞"})
    assert lead.status_code == 201, lead.json
    order = api.post(f"/leads/api/v1/leads/{lead.json['id']}/orders", as_=SALES, json={
        "model": "凯美瑞", "colour": "白", "price": "219800.00", "deposit": "5000", "payment_method": "cash"})
    assert order.status_code == 201, order.json
    clock.freeze(datetime.combine(today, time(10, 0), SH))
    r = api.post(f"/leads/api/v1/orders/{order.json['id']}/delivery", as_=SALES,
                 json={"vin": "LVGBE40K8PG000777", "delivered_on": delivered_on.isoformat()})
    assert r.status_code == 200, r.json
    customer = wait_until(lambda: api.get(f"/customers/api/v1/customers?phone={phone}", as_=ADMIN).json, 90, interval=0.2)[0]
    task = wait_until(lambda: api.post("/callcenter/api/v1/tasks/next", as_=AGENT,
                                       json={"store_id": store_id(STORE)}).json["task"], 90, interval=0.5)
    r = api.post(f"/callcenter/api/v1/tasks/{task['id']}/attempts", as_=AGENT, json={
        "outcome": "reached", "answers": {"overall": "1", "explained": "no", "on_time": "no", "recommend": "2",
                                          "repurchase": "low", "comments": f"{NAME}说交车时车漆有划痕，回电 {phone}"}})
    assert r.status_code == 201 and r.json["low_score"], r.json
    gid = lead.json["group_id"]
    months = sorted({delivered_on.strftime("%Y-%m"), today.strftime("%Y-%m"),
                     (today - timedelta(days=30)).strftime("%Y-%m")})
    yield {"gid": gid, "phone": phone, "customer_id": customer["id"], "lead_id": lead.json["id"], "months": months}
    clock.reset()


def figures(api, months: list[str]) -> dict:
    """Every figure HQ and the store read: the dashboards of the group and the store, every KPI of every
    store, consultant, model and source, for each month of the story."""
    out = {}
    for m in months:
        out[f"group {m}"] = api.get(f"/analytics/api/v1/dashboard?month={m}", as_=ADMIN).json
        out[f"store {m}"] = api.get(f"/analytics/api/v1/dashboard?month={m}&store_id={store_id(STORE)}",
                                    as_=ADMIN).json
        out[f"manager {m}"] = api.get(f"/analytics/api/v1/dashboard?month={m}", as_=f"{STORE}.manager").json
        for by in ("store", "consultant", "model", "source", "brand"):
            out[f"{by} {m}"] = api.get(f"/analytics/api/v1/rankings?month={m}&by={by}&kpi=orders", as_=ADMIN).json
    return out


def logged_text(platform, gid: str) -> str:
    """Everything analytics keeps of the events: the log and the facts' event summaries, as text."""
    with platform.runtimes["analytics"].db.session(Scope.system(gid)) as s:
        rows = [json.dumps(d, ensure_ascii=False) for d in s.scalars(select(EventLog.data))]
        rows += [json.dumps(e, ensure_ascii=False) for e in s.scalars(select(Fact.events))]
    return "\n".join(rows)


def erase(api, platform, person) -> None:
    """Erase through the customers API; publish `customers.customer.erased` if customers did not."""
    cid, gid = person["customer_id"], person["gid"]
    r = api.post(f"/customers/api/v1/customers/{cid}/erase", as_=ADMIN, json={"reason": "客户要求删除个人信息"})
    assert r.status_code == 200, r.json
    customers = platform.runtimes["customers"]
    outbox = customers.outbox
    with customers.db.engine.connect() as c:
        published = [json.loads(b) for b in c.execute(select(outbox.c.body).where(
            outbox.c.routing_key == "customers.customer.erased")).scalars()]
    if any(m["data"]["customer_id"] == cid for m in published):
        return
    with customers.db.session(Scope.system(gid)) as s:
        lead_ids = sorted(s.scalars(select(CustomerLead.lead_id).where(CustomerLead.customer_id == cid)))
        assert person["lead_id"] in lead_ids
        emit(s, Event(type="customers.customer.erased", group_id=gid,
                      data={"customer_id": cid, "lead_ids": lead_ids, "erasure_id": str(uuid.uuid4())}))


@pytest.fixture(scope="module")
def erased(api, platform, person):
    """Every figure once the story is counted; then the person erased, and analytics caught up."""
    digits = person["phone"][3:]

    def story_counted():
        text = logged_text(platform, person["gid"])
        kpis = {k["key"]: k["actual"] for k in api.get(f"/analytics/api/v1/kpis?month={person['months'][-1]}",
                                                        as_=ADMIN).json["kpis"]}
        return text if NAME in text and digits in text and kpis["complaints"] and kpis["sat_overall"] else None

    wait_until(story_counted, 90, interval=0.5)
    platform.wait_until_consumed(120)
    before = figures(api, person["months"])
    assert before[f"group {person['months'][-1]}"]["kpis"]
    erase(api, platform, person)
    wait_until(lambda: NAME not in (t := logged_text(platform, person["gid"])) and digits not in t, 90, interval=0.5)
    platform.wait_until_consumed(120)
    return before


def test_erasure_forgets_the_person_in_analytics_and_keeps_every_figure(api, platform, person, erased, monkeypatch):
    text = logged_text(platform, person["gid"])
    assert NAME not in text and person["phone"][3:] not in text
    assert pseudonym(person["customer_id"]) in text  # the names were replaced, not the events dropped
    assert figures(api, person["months"]) == erased

    rt = platform.runtimes["analytics"]
    monkeypatch.delenv("ANALYTICS_DATABASE_URL", raising=False)
    for k, v in embedded_env(rt.settings.jwt_public_key_file.parent.parent).items():  # the platform's var/
        monkeypatch.setenv(k, v)
    assert config.load("analytics").database_url == rt.settings.database_url
    from crm import cli

    cli.main(["rebuild-analytics"])
    assert figures(api, person["months"]) == erased
    assert NAME not in logged_text(platform, person["gid"])


def test_an_event_about_the_person_that_arrives_after_the_erasure_is_forgotten_on_arrival(platform, person, erased):
    """Another service's event about the erased lead, late (or replayed from a dead-letter queue)."""
    rt = platform.runtimes["analytics"]
    with rt.db.session(Scope.system(person["gid"])) as s:
        ev = s.scalars(select(EventLog).where(EventLog.type == "leads.lead.created",
                                              EventLog.data["lead_id"].as_string() == person["lead_id"])).one()
        store, brand = ev.store_id, ev.brand_id
    late = Event(type="leads.lead.level_changed", group_id=person["gid"], store_id=store, brand_id=brand,
                 data={"lead_id": person["lead_id"], "from_level": "delivered", "to_level": "delivered",
                       "reason": "复核", "phone": person["phone"]})
    assert feed(rt, [late.to_message()]) == 1
    with rt.db.session(Scope.system(person["gid"])) as s:
        assert s.get(EventLog, str(late.id)).data["phone"] == ""
