"""The unified customer across stores: a store relates to a customer known elsewhere only through a business
event it records, never changes another store's records, never learns another store's deals, phone or ID,
and every such match is written to the access log; conflicting identifiers wait for review."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from services.customers.adapters.models import AccessLog, Customer, Identifier, MatchCandidate, StoreRelationship, Vehicle
from tests.conftest import store_id

from .helpers import feed, id_number, mobile, system_session, vin

TOYOTA, LEXUS = "sh-toyota-pd", "sh-lexus-xh"


def _toyota_owner(platform, api) -> dict:
    """A Toyota customer: a lead, an order and a delivery at sh-toyota-pd, the plate from its DMS, a policy."""
    phone, car, lead = mobile(), vin(), str(uuid.uuid4())
    feed(platform, "leads.lead.created", {"lead_id": lead, "name": "陶大伟", "phone": phone, "source": "walk_in",
                                          "level": "H"}, store=TOYOTA, brand="toyota")
    feed(platform, "leads.order.placed", {"lead_id": lead, "order_id": str(uuid.uuid4()), "model": "凯美瑞",
                                          "price": "229800", "payment_method": "cash", "customer_name": "陶大伟",
                                          "phone": phone}, store=TOYOTA, brand="toyota")
    feed(platform, "leads.vehicle.delivered", {"lead_id": lead, "order_id": "o", "vin": car, "model": "凯美瑞",
                                               "delivered_on": "2026-03-18", "customer_name": "陶大伟", "phone": phone,
                                               "price": "229800"}, store=TOYOTA, brand="toyota")
    r = api.post("/customers/api/v1/vehicles", as_=f"{TOYOTA}.manager", json={
        "customer_name": "陶大伟", "phone": phone, "vin": car, "plate": "沪A12345", "model": "凯美瑞"})
    assert r.status_code == 200, r.json
    policy = f"P-{uuid.uuid4().hex[:10]}"
    r = api.post("/customers/api/v1/insurance-policies", as_=f"{TOYOTA}.manager", json={
        "customer_name": "陶大伟", "vin": car, "policy_no": policy, "insurer": "平安保险",
        "starts_on": "2026-03-18", "ends_on": "2027-03-17", "premium": "5200"})
    assert r.status_code == 201, r.json
    return {"id": r.json["customer_id"], "phone": phone, "vin": car, "policy": policy}


def _vehicle_as_seen_by(api, user: str, cid: str, car: str) -> dict:
    view = api.get(f"/customers/api/v1/customers/{cid}/360", as_=user).json
    return next(v for v in view["vehicles"] if v["vin"] == car)


def _phones(platform, cid: str) -> set[str]:
    with system_session(platform) as s:
        return set(s.scalars(select(Identifier.value).where(Identifier.customer_id == cid,
                                                            Identifier.kind == "phone")))


def test_a_vehicle_posted_by_another_store_with_a_sold_cars_vin_changes_nothing_and_reveals_nothing(
        customers_ready, api):
    platform = customers_ready
    victim = _toyota_owner(platform, api)
    before = _vehicle_as_seen_by(api, f"{TOYOTA}.manager", victim["id"], victim["vin"])
    assert (before["selling_store"]["store_id"], before["plate"], before["price"]) == (
        store_id(TOYOTA), "沪A12345", "229800.00")

    attacker_phone = mobile()
    r = api.post("/customers/api/v1/vehicles", as_=f"{LEXUS}.manager", json={
        "customer_name": "陶先生", "phone": attacker_phone, "vin": victim["vin"], "plate": "沪Z99999",
        "model": "ES 300h", "price": "1"})
    assert r.status_code in (200, 201), r.json

    # the Toyota store's records are as they were
    after = _vehicle_as_seen_by(api, f"{TOYOTA}.manager", victim["id"], victim["vin"])
    assert after == before
    assert _phones(platform, victim["id"]) == {f"+86{victim['phone']}"}
    with system_session(platform) as s:
        assert s.scalar(select(Vehicle.customer_id).where(Vehicle.vin == victim["vin"])) == victim["id"]
        assert not s.scalar(select(StoreRelationship.id).where(StoreRelationship.customer_id == victim["id"],
                                                               StoreRelationship.store_id == store_id(LEXUS)))

    # and the Lexus manager learns nothing of the Toyota customer: not the deal, the phone or the policy
    assert r.json["customer_id"] != victim["id"]
    assert api.get(f"/customers/api/v1/customers/{victim['id']}/360", as_=f"{LEXUS}.manager").status_code == 404
    mine = api.get(f"/customers/api/v1/customers/{r.json['customer_id']}/360", as_=f"{LEXUS}.manager")
    assert mine.status_code == 200
    text = mine.get_data(as_text=True)
    for secret in (victim["phone"], victim["phone"][-4:], "229800", victim["policy"], "平安保险", "沪A12345"):
        assert secret not in text
    assert mine.json["profile"]["other_stores"] == []
    assert api.get(f"/customers/api/v1/customers?vin={victim['vin']}", as_=f"{LEXUS}.manager").json == [
        ] or all(c["id"] != victim["id"] for c in api.get(f"/customers/api/v1/customers?vin={victim['vin']}",
                                                             as_=f"{LEXUS}.manager").json)

    # the claim waits for HQ in the review queue, and the match is in the access log
    queue = api.get("/customers/api/v1/matches", as_="hq.admin").json
    assert any({m["customer_a"], m["customer_b"]} == {victim["id"], r.json["customer_id"]} for m in queue)
    with system_session(platform) as s:
        logged = s.scalars(select(AccessLog).where(AccessLog.customer_id == victim["id"],
                                                   AccessLog.action == "cross_store_match")).all()
    assert [(a.username, a.store_id) for a in logged] == [(f"{LEXUS}.manager", store_id(LEXUS))]


def test_registering_with_a_victims_id_number_and_a_new_phone_neither_returns_nor_changes_the_victims_record(
        customers_ready, api):
    platform = customers_ready
    victim = _toyota_owner(platform, api)
    idno = id_number()
    assert api.patch(f"/customers/api/v1/customers/{victim['id']}", as_=f"{TOYOTA}.manager",
                     json={"id_number": idno}).status_code == 200

    new_phone = mobile()
    r = api.post("/customers/api/v1/customers", as_=f"{LEXUS}.sales1",
                 json={"name": "陶大伟", "phone": new_phone, "id_number": idno})
    assert r.status_code in (200, 201), r.json
    assert r.json["id"] != victim["id"]
    assert victim["phone"][-4:] not in r.get_data(as_text=True) and r.json["other_stores"] == []
    assert _phones(platform, victim["id"]) == {f"+86{victim['phone']}"}

    queue = api.get("/customers/api/v1/matches", as_="hq.admin").json
    assert any({m["customer_a"], m["customer_b"]} == {victim["id"], r.json["id"]} for m in queue)
    with system_session(platform) as s:
        assert s.scalar(select(AccessLog.username).where(AccessLog.customer_id == victim["id"],
                                                         AccessLog.action == "cross_store_match")) \
            == f"{LEXUS}.sales1"
    # registering the same person again gives the same record, not another one
    again = api.post("/customers/api/v1/customers", as_=f"{LEXUS}.sales1",
                     json={"name": "陶大伟", "phone": new_phone, "id_number": idno})
    assert again.status_code == 200 and again.json["id"] == r.json["id"]


def test_a_service_visit_at_another_store_relates_it_but_changes_none_of_the_sellers_records(customers_ready, api):
    """The owner brings the Toyota car to the Lexus workshop: a real visit, so Lexus knows the customer now
    (他厂牌客户: an owner of another brand), but the car's seller, plate and price stay Toyota's, and Toyota sees
    who matched its customer."""
    platform = customers_ready
    owner = _toyota_owner(platform, api)
    before = _vehicle_as_seen_by(api, f"{TOYOTA}.manager", owner["id"], owner["vin"])
    r = api.post("/customers/api/v1/service-visits", as_=f"{LEXUS}.manager", json={
        "customer_name": "陶大伟", "vin": owner["vin"], "plate": "沪Z00001", "repair_order": uuid.uuid4().hex[:10],
        "visit_date": "2026-09-01", "kind": "repair", "mileage": 9000, "amount": "1200"})
    assert r.status_code == 201, r.json
    assert r.json["customer_id"] == owner["id"]

    after = _vehicle_as_seen_by(api, f"{TOYOTA}.manager", owner["id"], owner["vin"])
    assert (after["selling_store"], after["plate"], after["price"]) == (
        before["selling_store"], before["plate"], before["price"])
    assert after["mileage"] == 9000  # what the visit itself recorded
    lexus = api.get(f"/customers/api/v1/customers/{owner['id']}/360", as_=f"{LEXUS}.manager").json
    assert [x["customer_class"] for x in lexus["profile"]["relationships"]] == ["other_brand"]
    assert next(v for v in lexus["vehicles"] if v["vin"] == owner["vin"])["price"] is None
    assert lexus["insurance_policies"] == []  # Toyota's policy is Toyota's business
    assert [ld["store"]["store_id"] for ld in lexus["leads"]] == []

    log = api.get(f"/customers/api/v1/access-log?customer_id={owner['id']}&action=cross_store_match",
                  as_=f"{TOYOTA}.manager").json
    assert [(a["username"], a["action"]) for a in log] == [(f"{LEXUS}.manager", "cross_store_match")]


def test_a_new_phone_on_a_record_found_by_vin_waits_for_review_instead_of_being_attached(customers_ready, api):
    platform = customers_ready
    owner = _toyota_owner(platform, api)
    other = mobile()
    r = api.post("/customers/api/v1/service-visits", as_=f"{TOYOTA}.manager", json={
        "customer_name": "陶大伟", "phone": other, "vin": owner["vin"], "repair_order": uuid.uuid4().hex[:10],
        "visit_date": "2026-09-02", "kind": "maintenance"})
    assert r.status_code == 201 and r.json["customer_id"] == owner["id"] and r.json["held_for_review"] is True
    assert _phones(platform, owner["id"]) == {f"+86{owner['phone']}"}
    with system_session(platform) as s:
        held = s.scalar(select(Customer).where(Customer.phone == f"+86{other}"))
        pair = s.scalar(select(MatchCandidate).where(
            MatchCandidate.customer_a.in_([owner["id"], held.id]), MatchCandidate.customer_b.in_([owner["id"], held.id])))
    assert pair is not None and pair.reason == "conflicting_identifier" and pair.status == "open"
    # the store's own review queue shows it: both records are the store's
    assert any(m["id"] == pair.id for m in api.get("/customers/api/v1/matches", as_=f"{TOYOTA}.manager").json)


def test_a_store_record_that_makes_the_customer_vip_reaches_the_other_stores_class_through_the_worker(
        customers_ready, api):
    """The tier is the group's; a store may not write another store's relationship, so the worker does."""
    from tests.conftest import wait_until

    platform = customers_ready
    owner = _toyota_owner(platform, api)
    r = api.post("/customers/api/v1/service-visits", as_=f"{LEXUS}.manager", json={
        "customer_name": "陶大伟", "vin": owner["vin"], "repair_order": uuid.uuid4().hex[:10],
        "visit_date": "2026-09-03", "kind": "accident", "amount": "900000"})
    assert r.status_code == 201, r.json

    def classes() -> dict:
        with system_session(platform) as s:
            return {r.store_id: r.customer_class for r in s.scalars(
                select(StoreRelationship).where(StoreRelationship.customer_id == owner["id"]))}

    assert classes()[store_id(LEXUS)] == "vip"
    assert wait_until(lambda: classes()[store_id(TOYOTA)] == "vip", timeout=20)


def test_registering_a_customer_the_caller_already_knows_returns_them(customers_ready, api):
    platform = customers_ready
    owner = _toyota_owner(platform, api)
    for user in (f"{TOYOTA}.sales2", "hq.admin"):
        r = api.post("/customers/api/v1/customers", as_=user, json={"name": "陶大伟", "phone": owner["phone"]})
        assert (r.status_code, r.json["id"]) == (200, owner["id"]), user
