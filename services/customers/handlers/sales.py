"""What the showroom tells us (leads events): intent levels, orders, deliveries and defeats per store."""
from __future__ import annotations

from typing import cast

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import add, add_row, bulk_inserts, utcnow
from shared.events import Event

from ..domain import ACTIVE_LEVELS
from ..adapters.models import Customer, CustomerLead
from .access import log_cross_store_match
from .common import active, active_many, add_activity
from .identity import Person, match_or_create, match_or_create_by_phone
from .records import register_vehicle
from .relationships import add_spend, relationships_of, touch


def _customer_for(s: Session, ev: Event, name: str | None = None, phone: str | None = None,
                  kind: str = "individual") -> tuple[Customer | None, bool, CustomerLead | None]:
    """The customer of a lead event: by the lead we already know, else by the phone in the event."""
    d = ev.data
    lead = s.get(CustomerLead, d["lead_id"])
    c = active(s, lead.customer_id) if lead else None
    if c is not None or not phone:
        return c, False, lead
    c, new = match_or_create(s, ev.group, Person(name=name or d.get("name") or "", phone=phone, kind=kind),
                             ev.actor)
    if not new and _known_elsewhere(c, ev.store_id):
        log_cross_store_match(s, c, f"{ev.type} by phone", actor=ev.actor, store_id=ev.store_id)
    if lead is not None:
        lead.customer_id = c.id
    return c, new, lead


def _known_elsewhere(c: Customer, store_id: str | None) -> bool:
    """The customer is known at other stores and not yet at this one: relating them is a cross-store match."""
    known = set(c.known_at or [])
    return bool(store_id and store_id not in known and known)


def _lead_row(s: Session, ev: Event, c: Customer, lead: CustomerLead | None) -> CustomerLead:
    if lead is None:
        lead = CustomerLead(lead_id=ev.data["lead_id"], group_id=ev.group_id, store_id=ev.store_id,
                            brand_id=ev.brand_id, customer_id=c.id, created_at=ev.occurred_at)
        add(s, lead)
    lead.updated_at = utcnow()
    return lead


def leads_created(s: Session, events: list[Event]) -> list[Customer]:
    """New leads (as many as one delivery brings): find or create each customer by phone and relate them
    to the store as an intent customer.

    The same result as taking them one after the other, in a handful of statements for the whole run:
    one look-up each for the leads, the phones and the relationships, and the new rows written together
    (one INSERT per table, outside the unit of work).
    """
    with bulk_inserts(s):
        ids = [ev.data["lead_id"] for ev in events]
        leads = {lead.lead_id: lead for lead in s.scalars(select(CustomerLead).where(CustomerLead.lead_id.in_(ids)))}
        live = active_many(s, (lead.customer_id for lead in leads.values()))
        customers: list[Customer | None] = [live.get(leads[i].customer_id) if i in leads else None for i in ids]
        unknown = [n for n, c in enumerate(customers) if c is None]
        matched = match_or_create_by_phone(s, events[0].group, [
            (Person(name=events[n].data["name"], phone=events[n].data["phone"]), events[n].actor) for n in unknown])
        new = set()
        for n, (c, created) in zip(unknown, matched, strict=True):
            customers[n] = c
            if created:
                new.add(n)
            if ids[n] in leads:  # a lead we knew, whose customer was erased: it follows the phone now
                leads[ids[n]].customer_id = c.id
        found = cast(list[Customer], customers)  # every gap was filled by the phone match above
        rels = relationships_of(s, {(c.id, ev.store) for c, ev in zip(found, events, strict=True)})
        fresh: dict[str, dict] = {}  # the new leads' rows, by lead id (a lead twice in a delivery: one row)
        for n, (ev, c) in enumerate(zip(events, found, strict=True)):
            d = ev.data
            if n not in new and (c.id, ev.store_id) not in rels and _known_elsewhere(c, ev.store_id):
                log_cross_store_match(s, c, "leads.lead.created by phone", actor=ev.actor, store_id=ev.store_id)
            _lead_values(ev, c, leads.get(d["lead_id"]), fresh)
            touch(s, c, ev.store, ev.actor, brand_id=ev.brand_id, lead_id=d["lead_id"], new_customer=n in new,
                  level=d.get("level") or "N", consultant_id=d.get("consultant_id"), rels=rels)
            add_activity(s, c, "lead", {"source": d["source"], "level": d.get("level"), "model": d.get("model")},
                         store_id=ev.store_id, ref_id=d["lead_id"], actor=ev.actor, at=ev.occurred_at)
        for row in fresh.values():
            add_row(s, CustomerLead, **row)
    return found


def _lead_values(ev: Event, c: Customer, lead: CustomerLead | None, fresh: dict[str, dict]) -> None:
    """What a lead's creation records of it: on the row we had, else on a new row's values in `fresh`
    (the same values `_lead_row` and the attributes would give, without an ORM object)."""
    d = ev.data
    values = {"updated_at": utcnow(), "source": d["source"], "level": d.get("level"), "model": d.get("model"),
              "consultant_id": d.get("consultant_id")}
    if lead is not None:
        for name, value in values.items():
            setattr(lead, name, value)
    elif d["lead_id"] in fresh:
        fresh[d["lead_id"]].update(values)
    else:
        fresh[d["lead_id"]] = {"lead_id": d["lead_id"], "group_id": ev.group_id, "store_id": ev.store_id,
                               "brand_id": ev.brand_id, "customer_id": c.id, "created_at": ev.occurred_at, **values}


def level_changed(s: Session, ev: Event) -> None:
    """The intent level moved (O/H/A/B/C); delivered and defeated outcomes come with their own events."""
    d = ev.data
    c, _, lead = _customer_for(s, ev, None, d.get("phone"))
    if c is None:  # a lead we never saw created and no phone to match: nothing to attach it to
        return
    lead = _lead_row(s, ev, c, lead)
    to = d["to_level"]
    if to in ACTIVE_LEVELS:
        lead.level = to
        touch(s, c, ev.store, ev.actor, brand_id=ev.brand_id, level=to)
    elif to == "invalid":
        lead.level, lead.outcome = None, "invalid"
        touch(s, c, ev.store, ev.actor, brand_id=ev.brand_id, level=None)
    add_activity(s, c, "level", {"from": d["from_level"], "to": to, "reason": d.get("reason")},
                 store_id=ev.store_id, ref_id=d["lead_id"], actor=ev.actor, at=ev.occurred_at)


def order_placed(s: Session, ev: Event) -> None:
    d = ev.data
    c, _, lead = _customer_for(s, ev, d["customer_name"], d["phone"], d.get("customer_kind") or "individual")
    if c is None:  # a lead we never saw created and no phone to match: nothing to attach it to
        return
    lead = _lead_row(s, ev, c, lead)
    lead.level, lead.order_id, lead.order_price, lead.model = "O", d["order_id"], Decimal(str(d["price"])), d["model"]
    if d.get("customer_kind") and d["customer_kind"] != "individual" and c.kind == "individual":
        c.kind = d["customer_kind"]
    touch(s, c, ev.store, ev.actor, brand_id=ev.brand_id, level="O", consultant_id=d.get("consultant_id"))
    add_activity(s, c, "order", {"model": d["model"], "price": str(d["price"]), "payment": d["payment_method"],
                                 "sale_type": d.get("sale_type")},
                 store_id=ev.store_id, ref_id=d["order_id"], actor=ev.actor, at=ev.occurred_at)


def vehicle_delivered(s: Session, ev: Event) -> None:
    """A delivery makes a self-sold owner (自销保有客户) and registers the car."""
    d = ev.data
    c, _, lead = _customer_for(s, ev, d["customer_name"], d["phone"], d.get("customer_kind") or "individual")
    if c is None:  # a lead we never saw created and no phone to match: nothing to attach it to
        return
    lead = _lead_row(s, ev, c, lead)
    lead.level, lead.outcome = None, "delivered"
    price = Decimal(str(d.get("price") or 0)) or (lead.order_price or Decimal("0"))
    register_vehicle(s, c, d["vin"], ev.actor, brand_id=ev.brand_id, model=d["model"],
                     purchase_date=d["delivered_on"], selling_store_id=ev.store_id, price=price, quiet=True)
    touch(s, c, ev.store, ev.actor, brand_id=ev.brand_id, owner_kind="self_sold", level=None, churned=False,
          defeated=False, last_visit_on=d["delivered_on"], consultant_id=d.get("consultant_id"))
    add_spend(s, c, price, ev.actor)
    add_activity(s, c, "delivery", {"vin": d["vin"], "model": d["model"], "price": str(price)},
                 store_id=ev.store_id, ref_id=d["order_id"], actor=ev.actor, at=ev.occurred_at)


def defeat_approved(s: Session, ev: Event) -> None:
    """An approved defeat (战败): the store's intent customer becomes defeated (an owner stays an owner)."""
    d = ev.data
    c, _, lead = _customer_for(s, ev, d["customer_name"], d["phone"])
    if c is None:  # a lead we never saw created and no phone to match: nothing to attach it to
        return
    lead = _lead_row(s, ev, c, lead)
    lead.level, lead.outcome = None, "defeated"
    touch(s, c, ev.store, ev.actor, brand_id=ev.brand_id, level=None, defeated=True)
    add_activity(s, c, "defeat", {"reason": d["reason"], "competitor_brand": d.get("competitor_brand"),
                                  "competitor_model": d.get("competitor_model")},
                 store_id=ev.store_id, ref_id=d["lead_id"], actor=ev.actor, at=ev.occurred_at)
