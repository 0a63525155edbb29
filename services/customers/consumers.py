"""What customers learns from other services."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.events import Event

from . import handlers as uc
from .models import StoreRef

handlers = EventHandlers("customers")


@handlers.on("identity.store.*")
def store_changed(s: Session, ev: Event) -> None:
    d = ev.data
    ref = s.get(StoreRef, d["id"]) or StoreRef(id=d["id"], group_id=ev.group_id)
    ref.brand_id, ref.code, ref.name = d["brand_id"], d["code"], d["name"]
    s.add(ref)


@handlers.on("leads.lead.created")
def lead_created(s: Session, ev: Event) -> None:
    """A new lead: find or create the customer, and relate them to the store as an intent customer."""
    d = ev.data
    customer, new = uc.match_or_create(s, ev.group_id, d["name"], d["phone"], ev.actor)
    uc.link_store(s, customer, ev.store_id, ev.brand_id, "intent", d.get("level"), d["lead_id"], new, ev.actor)
