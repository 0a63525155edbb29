"""Analytics consumes every event: log it once, update labels, facts and rollups."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.events import Event

from .ingest import envelope, ingest

handlers = EventHandlers("analytics")


@handlers.on("#")
def take_event(s: Session, ev: Event) -> None:
    """Every event from every service (the inbox has already made redelivery harmless)."""
    ingest(s, [envelope(ev)])
