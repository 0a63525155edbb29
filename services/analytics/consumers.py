"""Analytics consumes every event: log it once, update labels, facts and rollups; forget an erased person.

What one delivery brings is taken in one pass (`on_batch`): `ingest` sums a batch's deltas and writes
one statement per table, whether it holds one event or a hundred. Identity's events go one at a
time (few, and the session-version copy every service keeps handles some of them too).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.events import Event

from .erasure import erase_person
from .ingest import envelope, ingest

handlers = EventHandlers("analytics")
ERASED = "customers.customer.erased"


@handlers.on_batch("leads.#")
@handlers.on_batch("customers.#")
@handlers.on_batch("callcenter.#")
def take_events(s: Session, events: list[Event]) -> None:
    """Events from the services, in delivery order (the inbox has already made redelivery harmless). An
    erased person is forgotten right after the erasure is logged, before the events that follow it."""
    run: list[Event] = []
    for ev in events:
        run.append(ev)
        if ev.type == ERASED:
            ingest(s, [envelope(e) for e in run])
            run = []
            erase_person(s, ev.data["customer_id"], ev.data["lead_ids"], ev.data["erasure_id"])
    if run:
        ingest(s, [envelope(e) for e in run])


@handlers.on("identity.#")
def take_identity_event(s: Session, ev: Event) -> None:
    """The org tree's and the staff's labels."""
    ingest(s, [envelope(ev)])
