"""One person across the group: matched exactly by phone, VIN and ID number; never merged on a name alone."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from services.customers.entrypoints.consumers import handlers
from services.customers.adapters.models import (Activity, Customer, CustomerLead, Identifier, MatchCandidate,
                                                StoreRelationship)
from shared.bus.consumer import Applier
from shared.events import Event
from tests.conftest import store_id

from .helpers import GROUP, brand_id, feed, id_number, mobile, outbox_events, runtime, system_session, vin


def _walk_in(platform, name: str, phone: str, store: str = "sh-toyota-pd", brand: str = "toyota",
             level: str = "B") -> str:
    lead_id = str(uuid.uuid4())
    feed(platform, "leads.lead.created", {"lead_id": lead_id, "name": name, "phone": phone,
                                          "source": "walk_in", "level": level}, store=store, brand=brand)
    return lead_id


def test_walk_in_service_visit_and_insurance_become_one_customer_with_two_store_classes(customers_ready, api):
    platform = customers_ready
    digits, car, idno = mobile(), vin(), id_number()
    spaced = f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    _walk_in(platform, "王小明", spaced, level="A")

    r = api.post("/customers/api/v1/service-visits", as_="hq.admin", json={
        "customer_name": "王小明", "phone": digits, "store_id": store_id("sh-lexus-xh"),
        "repair_order": f"RO-{uuid.uuid4().hex[:8]}", "visit_date": "2026-10-02", "kind": "maintenance",
        "vin": car, "model": "ES 300h", "brand_id": None, "mileage": 12000, "amount": "980.00"})
    assert r.status_code == 201, r.json
    customer_id = r.json["customer_id"]
    assert r.json["new_customer"] is False

    r = api.post("/customers/api/v1/insurance-policies", as_="hq.admin", json={
        "customer_name": "王小明", "id_number": idno, "vin": car, "policy_no": f"P-{uuid.uuid4().hex[:8]}",
        "insurer": "平安保险", "starts_on": "2026-01-01", "ends_on": "2026-12-31", "premium": "5200"})
    assert r.status_code == 201, r.json
    assert r.json["customer_id"] == customer_id and r.json["new_customer"] is False

    with system_session(platform) as s:
        assert s.scalar(select(Customer).where(Customer.phone == f"+86{digits}")).id == customer_id
        classes = {r.store_id: (r.customer_class, r.level) for r in
                   s.scalars(select(StoreRelationship).where(StoreRelationship.customer_id == customer_id))}
    assert classes == {store_id("sh-toyota-pd"): ("intent", "A"), store_id("sh-lexus-xh"): ("other_sold", None)}

    # the ID number, given only by the insurer, now finds the same customer by exact match only
    found = api.get(f"/customers/api/v1/customers?id_number={idno}", as_="cc.agent1").json
    assert [c["id"] for c in found] == [customer_id]
    assert api.get(f"/customers/api/v1/customers?id_number={idno[:-3]}", as_="cc.agent1").json == []
    # and a phone in yet another format finds them too
    assert [c["id"] for c in api.get(f"/customers/api/v1/customers?q=0086-{digits}", as_="cc.agent1").json] \
        == [customer_id]

    # each link publishes the class it starts with; no class changed afterwards
    linked = [e["data"] for e in outbox_events(platform, "customers.relationship.linked")
              if e["data"]["customer_id"] == customer_id]
    assert {(c["store_id"], c["customer_class"]) for c in linked} == {
        (store_id("sh-toyota-pd"), "intent"), (store_id("sh-lexus-xh"), "other_sold")}
    assert [e for e in outbox_events(platform, "customers.relationship.changed")
            if e["data"]["customer_id"] == customer_id] == []


def test_lead_created_emits_customer_created_and_relationship_linked_once(customers_ready):
    platform = customers_ready
    phone = mobile()
    _walk_in(platform, "赵一", phone)
    _walk_in(platform, "赵一", f"+86{phone}", store="hz-vw-xh", brand="vw")
    created = [e for e in outbox_events(platform, "customers.customer.created") if e["data"]["phone"] == f"+86{phone}"]
    assert len(created) == 1
    cid = created[0]["data"]["customer_id"]
    linked = [e for e in outbox_events(platform, "customers.relationship.linked") if e["data"]["customer_id"] == cid]
    assert [(e["store_id"], e["data"]["new_customer"]) for e in linked] == [
        (store_id("sh-toyota-pd"), True), (store_id("hz-vw-xh"), False)]


def test_same_name_and_phone_tail_goes_to_review_never_merged(customers_ready):
    platform = customers_ready
    a = mobile()
    b = a[:3] + ("0000" if a[3:7] != "0000" else "1111") + a[7:]  # another number with the same last 4
    _walk_in(platform, "李 雷", a)
    _walk_in(platform, "李雷", b)
    _walk_in(platform, "李雷", mobile())  # same name only: no candidate
    with system_session(platform) as s:
        ids = {c.phone: c.id for c in s.scalars(select(Customer).where(Customer.name_key == "李雷"))}
        assert ids[f"+86{a}"] != ids[f"+86{b}"]
        pairs = {(m.customer_a, m.customer_b, m.reason) for m in s.scalars(select(MatchCandidate).where(
            MatchCandidate.customer_a.in_(ids.values()) | MatchCandidate.customer_b.in_(ids.values())))}
    assert pairs == {(*sorted((ids[f"+86{a}"], ids[f"+86{b}"])), "name_phone_tail")}


def test_delivery_makes_a_self_sold_owner_and_defeat_a_defeated_customer(customers_ready):
    platform = customers_ready
    phone, car = mobile(), vin()
    lead = _walk_in(platform, "钱二", phone, level="H")
    feed(platform, "leads.order.placed", {"lead_id": lead, "order_id": str(uuid.uuid4()), "model": "凯美瑞",
                                          "price": "219800", "payment_method": "cash", "customer_name": "钱二",
                                          "phone": f"+86{phone}"}, store="sh-toyota-pd", brand="toyota")
    feed(platform, "leads.vehicle.delivered", {"lead_id": lead, "order_id": "o1", "vin": car, "model": "凯美瑞",
                                               "delivered_on": "2026-11-01", "customer_name": "钱二",
                                               "phone": f"+86{phone}", "price": "219800"},
         store="sh-toyota-pd", brand="toyota")
    lead2 = _walk_in(platform, "钱二", phone, store="sh-lexus-xh", brand="lexus", level="C")
    feed(platform, "leads.defeat.approved", {"lead_id": lead2, "reason": "competitor", "competitor_brand": "BMW",
                                             "customer_name": "钱二", "phone": f"+86{phone}"},
         store="sh-lexus-xh", brand="lexus")
    with system_session(platform) as s:
        c = s.scalar(select(Customer).where(Customer.phone == f"+86{phone}"))
        classes = {r.store_id: r.customer_class for r in
                   s.scalars(select(StoreRelationship).where(StoreRelationship.customer_id == c.id))}
        assert c.value_tier == "B" and c.spend_total == 219800
    assert classes == {store_id("sh-toyota-pd"): "self_sold", store_id("sh-lexus-xh"): "defeated"}
    registered = [e["data"] for e in outbox_events(platform, "customers.vehicle.registered") if e["data"]["vin"] == car]
    assert registered[0]["selling_store_id"] == store_id("sh-toyota-pd")


def _lead_event(name: str, phone: str, store: str, brand: str) -> Event:
    ev = Event(type="leads.lead.created", group_id=GROUP, store_id=store_id(store), brand_id=brand_id(brand),
               data={"lead_id": str(uuid.uuid4()), "name": name, "phone": phone, "source": "walk_in", "level": "H",
                     "model": "凯美瑞", "consultant_id": CONSULTANT})
    return Event.from_message(ev.to_message())


CONSULTANT = str(uuid.UUID(int=42))


def _same_tail(phone: str) -> str:
    return phone[:3] + ("0000" if phone[3:7] != "0000" else "1111") + phone[7:]


def _delivery_outcome(platform, together: bool) -> dict:
    """Seven lead events (one delivered twice) about five people; what the customers service makes of them."""
    tag = uuid.uuid4().hex[:6]
    known, p1, p5 = mobile(), mobile(), mobile()
    _walk_in(platform, f"甲{tag}", known)  # a customer the group already has
    people = {"known": known, "p1": p1, "p4": _same_tail(known), "p5": p5, "p6": _same_tail(p5)}
    events = [
        _lead_event(f"乙{tag}", p1, "sh-toyota-pd", "toyota"),
        _lead_event(f"乙{tag}", f"+86 {p1[:3]} {p1[3:7]} {p1[7:]}", "hz-vw-xh", "vw"),  # same person, other store
        _lead_event(f"甲{tag}", known, "sh-toyota-pd", "toyota"),  # the known customer, known store
        _lead_event(f"甲{tag}", people["p4"], "sh-toyota-pd", "toyota"),  # same name and tail: review only
        _lead_event(f"丙{tag}", p5, "sh-toyota-pd", "toyota"),
        _lead_event(f"丙{tag}", people["p6"], "hz-vw-xh", "vw"),  # a likely duplicate within the delivery
    ]
    events.insert(1, events[0])  # delivered twice
    lead_no = {ev.data["lead_id"]: n for n, ev in reversed(list(enumerate(events)))}  # a lead: its first event
    applier = Applier(runtime(platform).db, runtime(platform).inbox, handlers)
    if together:
        assert applier.apply_batch(events) == 6
    else:
        assert [applier.apply(ev) for ev in events] == [True, False, True, True, True, True, True]

    label = {}
    with system_session(platform) as s:
        for who, phone in people.items():
            label[s.scalar(select(Customer.id).where(Customer.phone == f"+86{phone}"))] = who
        rels = {(label[r.customer_id], r.store_id, r.customer_class, r.level) for r in s.scalars(
            select(StoreRelationship).where(StoreRelationship.customer_id.in_(label)))}
        candidates = {(frozenset((label.get(m.customer_a), label.get(m.customer_b))), m.reason) for m in s.scalars(
            select(MatchCandidate).where(MatchCandidate.customer_a.in_(label) | MatchCandidate.customer_b.in_(label)))}
        # the rows each lead leaves (the lead's, its timeline line) and the numbers the customers are found by
        leads = sorted((lead_no[r.lead_id], label[r.customer_id], r.store_id, r.brand_id, r.source, r.level, r.model,
                        r.consultant_id, r.outcome, r.created_at == events[lead_no[r.lead_id]].occurred_at)
                       for r in s.scalars(select(CustomerLead).where(CustomerLead.lead_id.in_(lead_no))))
        timeline = sorted((lead_no[a.ref_id], label[a.customer_id], a.store_id, a.kind, repr(a.detail), a.actor,
                           a.occurred_at == events[lead_no[a.ref_id]].occurred_at)
                          for a in s.scalars(select(Activity).where(Activity.ref_id.in_(lead_no))))
        numbers = {who: phone for who, phone in people.items()}
        identifiers = sorted((label[i.customer_id], i.kind, i.label, next(w for w, p in numbers.items()
                                                                             if i.value == f"+86{p}"))
                             for i in s.scalars(select(Identifier).where(Identifier.customer_id.in_(label))))
    created = [label[e["data"]["customer_id"]] for e in outbox_events(platform, "customers.customer.created")
               if e["data"]["customer_id"] in label]
    linked = sorted((label[e["data"]["customer_id"]], e["store_id"], e["data"]["new_customer"])
                    for e in outbox_events(platform, "customers.relationship.linked") if e["data"]["customer_id"] in label)
    return {"customers": sorted(label.values()), "relationships": rels, "candidates": candidates,
            "created": sorted(created), "linked": linked, "leads": leads, "timeline": timeline,
            "identifiers": identifiers}


def test_leads_delivered_together_match_exactly_as_one_by_one(customers_ready):
    """The consumer applies a delivered batch of lead.created set-based; the result must not depend on it."""
    one_by_one = _delivery_outcome(customers_ready, together=False)
    together = _delivery_outcome(customers_ready, together=True)
    assert together == one_by_one
    toyota, vw = store_id("sh-toyota-pd"), store_id("hz-vw-xh")
    assert together["customers"] == ["known", "p1", "p4", "p5", "p6"]  # the two formats of p1 are one customer
    assert together["relationships"] == {
        ("known", toyota, "intent", "H"), ("p1", toyota, "intent", "H"), ("p1", vw, "intent", "H"),
        ("p4", toyota, "intent", "H"), ("p5", toyota, "intent", "H"), ("p6", vw, "intent", "H")}
    assert together["candidates"] == {(frozenset({"known", "p4"}), "name_phone_tail"),
                                      (frozenset({"p5", "p6"}), "name_phone_tail")}
    assert together["created"] == ["known", "p1", "p4", "p5", "p6"]
    assert together["linked"] == sorted([("known", toyota, True), ("p1", toyota, True), ("p1", vw, False),
                                         ("p4", toyota, True), ("p5", toyota, True), ("p6", vw, True)])
    # one lead row and one timeline line per lead (the one delivered twice: once), as the events say
    assert [row[0] for row in together["leads"]] == [0, 2, 3, 4, 5, 6]
    assert {row[4:] for row in together["leads"]} == {("walk_in", "H", "凯美瑞", CONSULTANT, None, True)}
    assert [line[0] for line in together["timeline"]] == [0, 2, 3, 4, 5, 6]
    assert together["identifiers"] == [(who, "phone", "mobile", who) for who in ["known", "p1", "p4", "p5", "p6"]]


def test_a_delivery_of_new_and_known_phones_repeats_and_two_stores(customers_ready):
    """One delivery: a known phone at its store and at a second one, a new phone twice (two formats, two
    stores), a lead delivered twice. Every customer, relationship, lead, timeline line and event is right
    (the rows' one INSERT on PostgreSQL: tests/unit/test_bulk_inserts.py)."""
    from services.customers.adapters.models import Activity, CustomerLead

    platform = customers_ready
    tag = uuid.uuid4().hex[:6]
    known, fresh = mobile(), mobile()
    _walk_in(platform, f"甲{tag}", known)
    events = [_lead_event(f"甲{tag}", known, "sh-toyota-pd", "toyota"),
              _lead_event(f"乙{tag}", fresh, "hz-vw-xh", "vw"),
              _lead_event(f"甲{tag}", f"+86 {known}", "hz-vw-xh", "vw"),
              _lead_event(f"乙{tag}", f"{fresh[:3]}-{fresh[3:7]}-{fresh[7:]}", "sh-toyota-pd", "toyota")]
    events.insert(2, events[1])  # delivered twice
    rt = runtime(platform)
    assert Applier(rt.db, rt.inbox, handlers).apply_batch(events) == 4
    toyota, vw = store_id("sh-toyota-pd"), store_id("hz-vw-xh")
    with system_session(platform) as s:
        ids = {who: s.scalar(select(Customer.id).where(Customer.phone == f"+86{p}"))
               for who, p in (("known", known), ("fresh", fresh))}
        label = {v: k for k, v in ids.items()}
        rels = {(label[r.customer_id], r.store_id, r.customer_class, r.level) for r in s.scalars(
            select(StoreRelationship).where(StoreRelationship.customer_id.in_(label)))}
        leads = {(r.lead_id, label[r.customer_id], r.store_id) for r in s.scalars(
            select(CustomerLead).where(CustomerLead.customer_id.in_(label)))}
        timeline = sorted((label[a.customer_id], a.kind, a.ref_id) for a in s.scalars(
            select(Activity).where(Activity.customer_id.in_(label))))
        known_at = {label[c.id]: sorted(c.known_at) for c in s.scalars(select(Customer).where(Customer.id.in_(label)))}
    assert rels == {("known", toyota, "intent", "H"), ("known", vw, "intent", "H"),
                    ("fresh", vw, "intent", "H"), ("fresh", toyota, "intent", "H")}
    assert known_at == {"known": sorted([toyota, vw]), "fresh": sorted([toyota, vw])}
    mine = {(ev.data["lead_id"], who, ev.store_id) for ev, who in zip(
        [events[0], events[1], events[3], events[4]], ["known", "fresh", "known", "fresh"], strict=True)}
    assert mine <= leads and len(leads) == 5  # and the walk-in's lead
    assert sorted(t for t in timeline if t[2] in {ev.data["lead_id"] for ev in events}) == sorted(
        [("known", "lead", events[0].data["lead_id"]), ("fresh", "lead", events[1].data["lead_id"]),
         ("known", "lead", events[3].data["lead_id"]), ("fresh", "lead", events[4].data["lead_id"])])
    created = [e["data"]["customer_id"] for e in outbox_events(platform, "customers.customer.created")]
    assert created.count(ids["known"]) == 1 and created.count(ids["fresh"]) == 1
    linked = sorted((label[e["data"]["customer_id"]], e["store_id"], e["data"]["new_customer"])
                    for e in outbox_events(platform, "customers.relationship.linked") if e["data"]["customer_id"] in label)
    assert linked == sorted([("known", toyota, True), ("known", vw, False), ("fresh", vw, True),
                             ("fresh", toyota, False)])

