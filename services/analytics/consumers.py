"""Analytics consumes every event: log it once, update labels, facts and rollups; forget an erased person."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.events import Event

from .erasure import erase_person
from .ingest import envelope, ingest

handlers = EventHandlers("analytics")


@handlers.on("#")
def take_event(s: Session, ev: Event) -> None:
    """Every event from every service (the inbox has already made redelivery harmless)."""
    ingest(s, [envelope(ev)])


@handlers.on("customers.customer.erased")
def forget_person(s: Session, ev: Event) -> None:
    """A person erased on request: their events keep their figures and lose their personal fields."""
    erase_person(s, ev.data["customer_id"], ev.data["lead_ids"], ev.data["erasure_id"])
