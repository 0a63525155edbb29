"""A generated event history of a dealer group, for tests, demos and the benchmark (no I/O).

Messages are in wire form (the JSON the bus carries), deterministic for a seed, and shaped like the
real producers': lead lifecycles with follow-ups, test drives, orders, deliveries and defeats,
visitor-log entries, customer relationships (new, owners, churn, win-back), callbacks with surveys and
complaints, daily activity reports. The values are the project's (`crm.datagen`): the seeded demo's
brands and stores, the catalogues' models and prices, the leads service's sources and channels, Faker
zh_CN names, valid mobile numbers, VINs of the brand, the competitor list.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from crm.datagen import (BRANDS, CADENCE, COLOURS, COMPETITORS, DEFEAT_REASONS, MODELS, PAYMENT_METHODS, STORES,
                         People, channel_of, consultant_name, phone, vin, weighted_source)
from shared import clock

TACT = ("calls", "reached", "dms", "handouts", "customer_visits", "showroom_groups", "test_drive_groups")
#: leads publishes the due dates it gives (its default cadence); the generator publishes them as leads would,
#: so that overdue follow-ups are not 0 in generated data
LEADS_CADENCE = CADENCE
SH = clock.zone()
NAMES_POOL = 400  # Faker names drawn once per history and reused (Faker is slow; a bench makes 10⁵ leads)


def _due(last_contact: datetime, level: str) -> dict:
    """`due_on` and `overdue_at` as leads publishes them: due on the local day of the last contact plus the
    level's cadence, overdue from the next local midnight."""
    due_on = last_contact.astimezone(SH).date() + timedelta(days=LEADS_CADENCE[level])
    overdue = datetime.combine(due_on + timedelta(days=1), datetime.min.time(), SH).astimezone(UTC)
    return {"due_on": due_on.isoformat(), "overdue_at": overdue.isoformat()}


@dataclass
class Org:
    group_id: str
    brands: dict[str, str]  # brand id → code
    stores: dict[str, str]  # store id → brand id
    consultants: dict[str, list[str]]  # store id → consultant ids
    names: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    cities: dict[str, str] = field(default_factory=dict)


def make_org(group_id: str | None = None, brands: int = 3, stores_per_brand: int = 4, consultants: int = 5) -> Org:
    """A group shaped as the seeded demo group (identity's seed): its brands, each brand's stores in the seed's
    order (numbered on past the seed's), `consultants` per store named as the seed names them. Ids are drawn
    from a fixed seed, so two calls give the same group."""
    rnd = random.Random(7)
    gid = group_id or str(uuid.UUID(int=rnd.getrandbits(128)))
    org = Org(gid, {}, {}, {})
    n = 0
    for b in range(brands):
        code, name = BRANDS[b % len(BRANDS)]
        bid = str(uuid.UUID(int=rnd.getrandbits(128)))
        org.brands[bid] = code
        org.names[bid] = name if b < len(BRANDS) else f"{name} {b // len(BRANDS) + 1}"
        seeded = [(scode, sname, city) for scode, bcode, sname, city in STORES if bcode == code]
        for i in range(stores_per_brand):
            scode, sname, city = seeded[i % len(seeded)]
            if i >= len(seeded) or b >= len(BRANDS):
                scode, sname = f"{scode}-{b + 1}-{i + 1}", f"{sname}{b + 1}-{i + 1}"
            sid = str(uuid.UUID(int=rnd.getrandbits(128)))
            org.stores[sid], org.names[sid], org.codes[sid], org.cities[sid] = bid, sname, scode, city
            org.consultants[sid] = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(consultants)]
            for j, cid in enumerate(org.consultants[sid], 1):
                n += 1
                org.names[cid] = consultant_name(n, j)
    return org


def identity_messages(org: Org, at: datetime) -> list[dict]:
    """The org tree as identity publishes it: the group's creation first (consumers apply a group's events
    only once they know the group), then brands, stores and consultants."""
    out = [_msg("identity.group.created", at, org.group_id, None, None,
                {"id": org.group_id, "code": f"g{org.group_id[:8]}", "name": "Generated group",
                 "timezone": clock.zone_name()})]
    for bid, code in org.brands.items():
        out.append(_msg("identity.brand.created", at, org.group_id, None, None,
                        {"id": bid, "code": code, "name": org.names.get(bid, code)}))
    for sid, bid in org.stores.items():
        out.append(_msg("identity.store.created", at, org.group_id, bid, sid,
                        {"id": sid, "code": org.codes.get(sid, sid[:8]), "name": org.names.get(sid, sid[:8]),
                         "brand_id": bid, "city": org.cities.get(sid, ""), "timezone": clock.zone_name(), "active": True}))
        for cid in org.consultants[sid]:
            out.append(_msg("identity.user.created", at, org.group_id, bid, sid,
                            {"id": cid, "username": cid[:8], "name": org.names.get(cid, cid[:8]),
                             "role": "sales_consultant", "store_id": sid, "active": True}))
    return out


def _msg(etype: str, at: datetime, gid: str, bid: str | None, sid: str | None, data: dict,
         actor: str | None = None, rnd: random.Random | None = None) -> dict:
    eid = str(uuid.UUID(int=rnd.getrandbits(128), version=4)) if rnd else str(uuid.uuid4())
    return {"id": eid, "type": etype, "version": 1, "occurred_at": at.astimezone(UTC).isoformat(),
            "group_id": gid, "brand_id": bid, "store_id": sid, "actor": actor, "data": data}


def history(org: Org, start: date, days: int, leads_per_store_day: float = 2.0, seed: int = 1,
            reports: bool = True) -> Iterator[dict]:
    """Events of `days` days from `start` (per day, in roughly time order; later lifecycle steps of a
    lead may fall after the window's end)."""
    rnd = random.Random(seed)
    names = People(seed, pool=NAMES_POOL).names
    for n in range(days):
        day = start + timedelta(days=n)
        for sid, bid in org.stores.items():
            k = int(leads_per_store_day) + (1 if rnd.random() < leads_per_store_day % 1 else 0)
            for _ in range(k):
                yield from _lead(rnd, org, sid, bid, day, names)
            if reports and day.weekday() < 5:
                for cid in org.consultants[sid]:
                    if rnd.random() < 0.9:
                        at = _at(day, 17 if rnd.random() < 0.9 else 19, rnd)
                        yield _msg("leads.report.submitted", at, org.group_id, bid, sid, {
                            "report_id": str(uuid.UUID(int=rnd.getrandbits(128))), "consultant_id": cid,
                            "day": day.isoformat(), "figures": {f: rnd.randint(0, 15) for f in TACT},
                            "late": at.astimezone(UTC).hour >= 10, "amendment": False}, cid, rnd)
            if rnd.random() < 0.5:
                yield from _service_visit(rnd, org, sid, bid, day)
            for kind in ("walk_in",) * rnd.randint(1, 4) + ("phone_in",) * rnd.randint(0, 2):
                cid = rnd.choice(org.consultants[sid])
                yield _msg("leads.visit.logged", _at(day, rnd.randint(9, 17), rnd), org.group_id, bid, sid, {
                    "visit_id": str(uuid.UUID(int=rnd.getrandbits(128))), "lead_id": None, "kind": kind,
                    "party_size": rnd.randint(1, 3), "first_visit": rnd.random() < 0.6, "consultant_id": cid,
                    "model": rnd.choice(MODELS[org.brands[bid]])[0], "source": kind}, cid, rnd)


def _at(day: date, hour: int, rnd: random.Random) -> datetime:
    # local (UTC+8) business hours → UTC
    return datetime(day.year, day.month, day.day, hour, rnd.randint(0, 59), rnd.randint(0, 59), tzinfo=UTC) \
        - timedelta(hours=8)


def _lead(rnd: random.Random, org: Org, sid: str, bid: str, day: date, names: list[str]) -> Iterator[dict]:
    g = org.group_id
    lead_id = str(uuid.UUID(int=rnd.getrandbits(128)))
    customer = str(uuid.UUID(int=rnd.getrandbits(128)))
    cid = rnd.choice(org.consultants[sid])
    source = weighted_source(rnd)
    brand = org.brands[bid]
    model, guide_price = rnd.choice(MODELS[brand])
    name = rnd.choice(names)
    t = _at(day, rnd.randint(9, 17), rnd)
    level = rnd.choice(("N", "C", "B", "A"))
    mobile = "+86" + phone(rnd)
    yield _msg("leads.lead.created", t, g, bid, sid, {
        "lead_id": lead_id, "name": name, "phone": mobile, "source": source, "level": level,
        "consultant_id": cid, "campaign_id": None, "model": model, "channel": channel_of(source),
        **_due(t, level)}, cid, rnd)
    if source == "walk_in":
        yield _msg("leads.visit.logged", t, g, bid, sid, {
            "visit_id": str(uuid.UUID(int=rnd.getrandbits(128))), "lead_id": lead_id, "kind": "walk_in",
            "party_size": rnd.randint(1, 4), "first_visit": True, "consultant_id": cid, "model": model,
            "source": source}, cid, rnd)
    yield _msg("customers.relationship.linked", t + timedelta(seconds=5), g, bid, sid, {
        "customer_id": customer, "store_id": sid, "brand_id": bid, "customer_class": "intent", "lead_id": lead_id,
        "new_customer": rnd.random() < 0.8})
    secs = int(rnd.expovariate(1 / 900))
    t = t + timedelta(seconds=secs)
    yield _msg("leads.followup.logged", t, g, bid, sid, {
        "lead_id": lead_id, "followup_id": str(uuid.UUID(int=rnd.getrandbits(128))), "kind": "call",
        "outcome": "reached", "consultant_id": cid, "first_contact": True, "response_seconds": secs,
        "within_sla": secs <= 900, "source": source}, cid, rnd)
    yield _due_changed(g, bid, sid, lead_id, cid, t, level)
    for _ in range(rnd.randint(0, 3)):
        t += timedelta(hours=rnd.randint(12, 120))
        yield _msg("leads.followup.logged", t, g, bid, sid, {
            "lead_id": lead_id, "followup_id": str(uuid.UUID(int=rnd.getrandbits(128))), "kind": "call",
            "outcome": rnd.choice(("reached", "no_answer")), "consultant_id": cid, "first_contact": False,
            "source": source}, cid, rnd)
        yield _due_changed(g, bid, sid, lead_id, cid, t, level)
    ladder = ("N", "C", "B", "A", "H")
    while level != "H" and rnd.random() < 0.45:
        nxt = ladder[ladder.index(level) + 1]
        t += timedelta(hours=rnd.randint(6, 72))
        yield _msg("leads.lead.level_changed", t, g, bid, sid, {
            "lead_id": lead_id, "from_level": level, "to_level": nxt, "consultant_id": cid, "source": source}, cid, rnd)
        level = nxt
        yield _due_changed(g, bid, sid, lead_id, cid, t, level)
    if rnd.random() < 0.35:
        t += timedelta(hours=rnd.randint(2, 48))
        yield _msg("leads.testdrive.completed", t, g, bid, sid, {
            "lead_id": lead_id, "test_drive_id": str(uuid.UUID(int=rnd.getrandbits(128))), "model": model,
            "consultant_id": cid}, cid, rnd)
    roll = rnd.random()
    if level in ("A", "H") and roll < 0.6 or roll < 0.12:
        t += timedelta(hours=rnd.randint(2, 72))
        order_id = str(uuid.UUID(int=rnd.getrandbits(128)))
        price = guide_price - rnd.choice((0, 3000, 8000))
        kind = "corporate" if rnd.random() < 0.15 else "individual"
        sale_type = "fleet" if kind == "corporate" and rnd.random() < 0.5 else "retail"
        expected = (t + timedelta(days=rnd.randint(3, 25))).date()
        yield _msg("leads.order.placed", t, g, bid, sid, {
            "lead_id": lead_id, "order_id": order_id, "model": model, "colour": rnd.choice(COLOURS), "price": f"{price}.00",
            "deposit": f"{rnd.choice((5000, 10000, 20000))}.00", "payment_method": rnd.choice(PAYMENT_METHODS),
            "trade_in": source == "owner_replacement",
            "expected_delivery": expected.isoformat(),
            "consultant_id": cid, "customer_name": name, "phone": mobile, "customer_kind": kind,
            "sale_type": sale_type, "source": source}, cid, rnd)
        yield _due_changed(g, bid, sid, lead_id, cid, t, "O")
        if rnd.random() < 0.9:
            t = datetime(expected.year, expected.month, expected.day, 3, rnd.randint(0, 59), tzinfo=UTC)
            yield _msg("leads.vehicle.delivered", t, g, bid, sid, {
                "lead_id": lead_id, "order_id": order_id, "vin": vin(rnd, brand),
                "model": model, "delivered_on": expected.isoformat(), "consultant_id": cid, "customer_name": name,
                "phone": mobile, "price": f"{price}.00", "customer_kind": kind, "sale_type": sale_type,
                "source": source}, cid, rnd)
            yield _msg("customers.relationship.changed", t + timedelta(seconds=3), g, bid, sid, {
                "customer_id": customer, "store_id": sid, "brand_id": bid, "from_class": "intent",
                "to_class": "self_sold"})
            yield from _callback(rnd, org, sid, bid, customer, t, "delivery_callback")
            if rnd.random() < 0.1:
                later = t + timedelta(days=rnd.randint(20, 60))
                yield _msg("customers.relationship.changed", later, g, bid, sid, {
                    "customer_id": customer, "store_id": sid, "brand_id": bid, "from_class": "self_sold",
                    "to_class": "churned"})
                if rnd.random() < 0.4:
                    back = later + timedelta(days=rnd.randint(5, 30))
                    yield _msg("customers.service.recorded", back, g, bid, sid, {
                        "customer_id": customer, "visit_id": str(uuid.UUID(int=rnd.getrandbits(128))), "vin": None,
                        "store_id": sid, "visit_date": back.date().isoformat(), "mileage": 20000,
                        "kind": "maintenance", "amount": "680.00", "won_back": True})
        return
    if rnd.random() < 0.25:
        t += timedelta(days=rnd.randint(1, 10))
        reason = rnd.choice(DEFEAT_REASONS)
        rival = rnd.choice(COMPETITORS) if reason == "competitor" else (None, None)
        yield _msg("leads.defeat.proposed", t, g, bid, sid, {"lead_id": lead_id, "reason": reason,
                                                            "consultant_id": cid}, cid, rnd)
        if rnd.random() < 0.7:
            t += timedelta(hours=rnd.randint(2, 48))
            yield _msg("leads.defeat.approved", t, g, bid, sid, {
                "lead_id": lead_id, "reason": reason, "competitor_brand": rival[0],
                "competitor_model": rival[1], "note": None, "consultant_id": cid,
                "customer_name": name, "phone": mobile, "from_level": level}, None, rnd)


def _due_changed(g: str, bid: str, sid: str, lead_id: str, cid: str, t: datetime,
                 level: str) -> dict:
    """The due date leads gives a lead after a contact or a grading (a second later: the latest holds). Its
    id is derived, not drawn, so the rest of a seed's history stays as it was before due dates were added."""
    at = t + timedelta(seconds=1)
    msg = _msg("leads.lead.due_changed", at, g, bid, sid, {
        "lead_id": lead_id, **_due(t, level), "planned": False, "consultant_id": cid}, cid)
    return {**msg, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"due/{lead_id}/{at.isoformat()}"))}


def _callback(rnd, org, sid, bid, customer, t, task_type) -> Iterator[dict]:
    g = org.group_id
    task = str(uuid.UUID(int=rnd.getrandbits(128)))
    due = t + timedelta(days=3)
    base = {"task_id": task, "task_type": task_type, "customer_id": customer, "agent_id": None,
            "due_at": due.isoformat(), "outcome": None}
    yield _msg("callcenter.task.created", t + timedelta(minutes=1), g, bid, sid, base)
    if rnd.random() < 0.85:
        done = due - timedelta(hours=rnd.randint(-30, 40))
        reached = rnd.random() < 0.8
        yield _msg("callcenter.task.completed" if reached else "callcenter.task.failed", done, g, bid, sid,
                   {**base, "outcome": "reached" if reached else "unreachable"})
        if reached and rnd.random() < 0.7:
            score = round(rnd.uniform(40, 100), 1)
            yield _msg("callcenter.survey.submitted", done + timedelta(minutes=5), g, bid, sid, {
                "response_id": str(uuid.UUID(int=rnd.getrandbits(128))), "task_id": task, "task_type": task_type,
                "questionnaire_id": "q1", "questionnaire_version": 1, "customer_id": customer, "score": score,
                "satisfaction": min(5, max(1, int(score // 20) + 1)), "recommend": 8, "repurchase": "high",
                "low_score": score < 60, "channel": "phone", "answers": []})
            if score < 60:
                cid = str(uuid.UUID(int=rnd.getrandbits(128)))
                yield _msg("callcenter.complaint.opened", done + timedelta(minutes=6), g, bid, sid, {
                    "complaint_id": cid, "customer_id": customer, "severity": "medium", "source": "survey",
                    "summary": "低分回访", "due_at": (done + timedelta(days=2)).isoformat()})
                if rnd.random() < 0.8:
                    yield _msg("callcenter.complaint.resolved", done + timedelta(days=rnd.randint(1, 4)), g, bid, sid, {
                        "complaint_id": cid, "customer_id": customer, "severity": "medium",
                        "within_sla": rnd.random() < 0.7, "confirmed": True})


def _service_visit(rnd, org, sid, bid, day) -> Iterator[dict]:
    customer = str(uuid.UUID(int=rnd.getrandbits(128)))
    t = _at(day, rnd.randint(9, 16), rnd)
    yield _msg("customers.service.recorded", t, org.group_id, bid, sid, {
        "customer_id": customer, "visit_id": str(uuid.UUID(int=rnd.getrandbits(128))), "vin": None, "store_id": sid,
        "visit_date": day.isoformat(), "mileage": rnd.randint(5000, 90000), "kind": "maintenance",
        "amount": f"{rnd.randint(300, 3000)}.00", "won_back": False})
    yield from _callback(rnd, org, sid, bid, customer, t, "service_callback")
