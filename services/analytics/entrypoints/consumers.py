"""Analytics consumes every event: log it once, update labels, facts and rollups; forget an erased person.

What one delivery brings is taken in one pass (`on_batch`): `ingest` sums a batch's deltas and writes
one statement per table, whether it holds one event or a hundred. Identity's events go one at a
time (few, and the session-version copy every service keeps handles some of them too).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.daily_counts import REPLAY, REQUESTED, RESTATED
from shared.events import Event

from ..handlers.erasure import erase_person
from ..handlers.ingest import envelope, ingest
from ..handlers.reconcile import SOURCES, drift, record_run, take_restated

#: events about the figures, not facts of the business: compared or unpacked, never logged or counted
NOT_FACTS = (REQUESTED, REPLAY, *(f"{source}.{kind}" for source in SOURCES for kind in ("stats.counted", RESTATED)))

#: a delivery waits up to one second for more events: the figures are not work anyone waits on to the
#: second, a lead's three events (its creation from leads, its customer and relationship from customers a
#: few milliseconds later) are applied in one transaction instead of two or three, and at 10 leads/s the
#: events of about ten leads share one (about ten statements whatever a delivery holds)
#: deliveries of up to 200 events: in-process (`bench/analytics_consumer.py --batch`) about a fifth less CPU
#: per event than deliveries of 100, little less beyond
handlers = EventHandlers("analytics", gather=1.0, batch=200)
ERASED = "customers.customer.erased"


@handlers.on_batch("leads.#")
@handlers.on_batch("customers.#")
@handlers.on_batch("callcenter.#")
def take_events(s: Session, events: list[Event]) -> None:
    """Events from the services, in delivery order (the inbox has already made redelivery harmless). An
    erased person is forgotten right after the erasure is logged, before the events that follow it; a
    source's own counts (`<source>.stats.counted`) are compared once the events before them are in; facts a
    source publishes again (`<source>.facts.restated`) are unpacked and taken like the others."""
    run: list[Event] = []
    for ev in events:
        if ev.type in NOT_FACTS:
            if run:
                ingest(s, [envelope(e) for e in run])
                run = []
            if ev.type.endswith(".stats.counted"):
                compare_counts(s, ev)
            elif ev.type.endswith(f".{RESTATED}"):
                take_restated(s, ev)
            continue
        run.append(ev)
        if ev.type == ERASED:
            ingest(s, [envelope(e) for e in run])
            run = []
            erase_person(s, ev.data["customer_id"], ev.data["lead_ids"], ev.data["erasure_id"])
    if run:
        ingest(s, [envelope(e) for e in run])


def compare_counts(s: Session, ev: Event) -> None:
    """A source's own counts answering the nightly request: compared with analytics' figures of the same
    days, the outcome kept for the page (analytics has by now applied every event the source published
    before its answer)."""
    d = ev.data
    record_run(s, ev.group, d["request_id"],
               drift(s, ev.group, d["source"], d["day_from"], d["day_to"], d["counts"], None))


@handlers.on("identity.#")
def take_identity_event(s: Session, ev: Event) -> None:
    """The org tree's and the staff's labels."""
    ingest(s, [envelope(ev)])
