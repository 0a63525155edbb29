"""What customers learns from other services: the org tree, the showroom (leads) and the call center."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.bus.copies import keep_copy
from shared.daily_counts import answer_requests
from shared.events import Event

from ..handlers import care, sales, stats
from ..handlers.common import active
from ..handlers.relationships import refresh_classes
from ..adapters.models import StoreRef

#: a delivery waits up to 200 ms for more events: the customer a lead is matched to a fifth of a second
#: later is not noticed (the lead's link, the call center's copy follow it), and at 10 leads/s the match,
#: its statements and its outbox rows are written once for every two or three leads instead of per lead
handlers = EventHandlers("customers", gather=0.2)


@handlers.on("identity.store.*")
def store_changed(s: Session, ev: Event) -> None:
    keep_copy(s, StoreRef, ev)


@handlers.on_batch("leads.lead.created")
def leads_created(s: Session, events: list[Event]) -> None:
    """New leads: match or create each customer by phone and relate them to the store (intent)."""
    sales.leads_created(s, events)


@handlers.on("customers.customer.retiered")
def customer_retiered(s: Session, ev: Event) -> None:
    """A store's record moved the customer in or out of VIP: the class follows at every store."""
    c = active(s, ev.data["customer_id"])
    if c is not None:
        refresh_classes(s, c, ev.actor)


@handlers.on("leads.lead.level_changed")
def lead_level_changed(s: Session, ev: Event) -> None:
    sales.level_changed(s, ev)


@handlers.on("leads.order.placed")
def order_placed(s: Session, ev: Event) -> None:
    sales.order_placed(s, ev)


@handlers.on("leads.vehicle.delivered")
def vehicle_delivered(s: Session, ev: Event) -> None:
    """A delivery makes a self-sold owner and registers the vehicle."""
    sales.vehicle_delivered(s, ev)


@handlers.on("leads.defeat.approved")
def defeat_approved(s: Session, ev: Event) -> None:
    sales.defeat_approved(s, ev)


@handlers.on("callcenter.survey.submitted")
def survey_submitted(s: Session, ev: Event) -> None:
    care.survey_submitted(s, ev)


@handlers.on("callcenter.complaint.opened")
def complaint_opened(s: Session, ev: Event) -> None:
    care.complaint_opened(s, ev)


@handlers.on("callcenter.complaint.resolved")
def complaint_resolved(s: Session, ev: Event) -> None:
    care.complaint_resolved(s, ev)


@handlers.on("callcenter.complaint.reopened")
def complaint_reopened(s: Session, ev: Event) -> None:
    care.complaint_reopened(s, ev)


@handlers.on("callcenter.attempt.logged")
def attempt_logged(s: Session, ev: Event) -> None:
    care.attempt_logged(s, ev)


answer_requests(handlers, "customers", stats.count)
