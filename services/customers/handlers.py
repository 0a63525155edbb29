"""Customers use cases: match incoming people to one customer, link stores."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.bus import emit
from shared.db import utcnow
from shared.events import Event
from shared.phones import try_normalize

from .models import Customer, StoreRelationship


def match_or_create(s: Session, group_id: str, name: str, phone: str | None, actor: str | None) -> tuple[Customer, bool]:
    """Exact match on the normalised mobile within the group; never on a name alone."""
    e164 = try_normalize(phone) if phone else None
    if e164:
        found = s.scalar(select(Customer).where(Customer.phone == e164).order_by(Customer.created_at).limit(1))
        if found is not None:
            return found, False
    c = Customer(group_id=group_id, name=name, phone=e164)
    s.add(c)
    s.flush()
    emit(s, Event(type="customers.customer.created", group_id=group_id, actor=actor,
                  data={"customer_id": c.id, "name": c.name, "phone": c.phone, "kind": c.kind,
                        "do_not_call": c.do_not_call, "consent": {}}))
    return c, True


def link_store(s: Session, c: Customer, store_id: str, brand_id: str, customer_class: str,
               level: str | None, lead_id: str | None, new_customer: bool, actor: str | None) -> StoreRelationship:
    rel = s.scalar(select(StoreRelationship).where(StoreRelationship.customer_id == c.id,
                                                   StoreRelationship.store_id == store_id))
    if rel is None:
        rel = StoreRelationship(group_id=c.group_id, customer_id=c.id, store_id=store_id, brand_id=brand_id,
                                customer_class=customer_class, level=level)
        s.add(rel)
        s.flush()
        emit(s, Event(type="customers.relationship.linked", group_id=c.group_id, brand_id=brand_id,
                      store_id=store_id, actor=actor,
                      data={"customer_id": c.id, "store_id": store_id, "brand_id": brand_id,
                            "customer_class": customer_class, "lead_id": lead_id, "new_customer": new_customer}))
    else:
        rel.last_seen_at = utcnow()
        if level:
            rel.level = level
    return rel
