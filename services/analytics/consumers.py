"""Analytics consumes every event: log it once, update labels, facts and rollups; forget an erased person."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.daily_counts import REQUESTED
from shared.events import Event

from .erasure import erase_person
from .ingest import envelope, ingest
from .reconcile import drift, record_run

#: events about the figures, not facts of the business: compared, never logged or counted
NOT_FACTS = (REQUESTED, *(f"{source}.stats.counted" for source in ("leads", "callcenter", "customers")))

handlers = EventHandlers("analytics")


@handlers.on("#")
def take_event(s: Session, ev: Event) -> None:
    """Every event from every service (the inbox has already made redelivery harmless)."""
    if ev.type not in NOT_FACTS:
        ingest(s, [envelope(ev)])


@handlers.on("customers.customer.erased")
def forget_person(s: Session, ev: Event) -> None:
    """A person erased on request: their events keep their figures and lose their personal fields."""
    erase_person(s, ev.data["customer_id"], ev.data["lead_ids"], ev.data["erasure_id"])


@handlers.on("*.stats.counted")
def compare_counts(s: Session, ev: Event) -> None:
    """A source's own counts answering the nightly request: compared with analytics' figures of the same
    days, the outcome kept for the page (analytics has by now applied every event the source published
    before its answer)."""
    d = ev.data
    record_run(s, ev.group, d["request_id"], drift(s, d["source"], d["day_from"], d["day_to"], d["counts"], None))
