"""What the call center keeps from other services: who the customers are and whether we may call them."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.db import utcnow
from shared.events import Event

from .models import Contact

handlers = EventHandlers("callcenter")


@handlers.on("customers.customer.*")
def customer_changed(s: Session, ev: Event) -> None:
    d = ev.data
    c = s.get(Contact, d["customer_id"]) or Contact(id=d["customer_id"], group_id=ev.group_id, store_ids=[])
    c.name, c.phone, c.do_not_call, c.consent, c.updated_at = (
        d["name"], d["phone"], d["do_not_call"], d.get("consent") or {}, utcnow())
    s.add(c)


@handlers.on("customers.relationship.linked")
def relationship_linked(s: Session, ev: Event) -> None:
    d = ev.data
    c = s.get(Contact, d["customer_id"])
    if c is None:  # the relationship overtook the customer event: keep a placeholder
        c = Contact(id=d["customer_id"], group_id=ev.group_id, name="", store_ids=[])
        s.add(c)
    if d["store_id"] not in (c.store_ids or []):
        c.store_ids = sorted(set(c.store_ids or []) | {d["store_id"]})
