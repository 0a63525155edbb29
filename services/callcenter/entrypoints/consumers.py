"""What the call center keeps from other services, and the events that create callback tasks: each event
type to its handler (`handlers.contacts`, `handlers.callbacks`)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.bus.copies import keep_copy
from shared.daily_counts import answer_requests
from shared.events import Event

from ..handlers import callbacks, contacts, stats
from ..handlers.privacy import forget_customer
from ..adapters.models import BrandRef, StaffRef, StoreRef

#: a delivery waits up to 500 ms for more events: what comes here (customers' copies, callback tasks due in
#: days) waits on nobody, a customer's two events, published together, otherwise split into two
#: transactions whenever the machine is busy between their frames, and at 10 leads/s a delivery then holds
#: the customers of about five leads instead of one
handlers = EventHandlers("callcenter", gather=0.5)


# --- copies -----------------------------------------------------------------------------------------

@handlers.on("identity.store.*")
def store_changed(s: Session, ev: Event) -> None:
    keep_copy(s, StoreRef, ev)


@handlers.on("identity.brand.created")
def brand_created(s: Session, ev: Event) -> None:
    keep_copy(s, BrandRef, ev)


@handlers.on("identity.user.*")
def user_changed(s: Session, ev: Event) -> None:
    keep_copy(s, StaffRef, ev)


@handlers.on("customers.customer.erased")
def customer_erased(s: Session, ev: Event) -> None:
    """The person is erased (PIPL): contacts, tasks, attempts, complaints, answers and the sent outbox forget
    them; the leads customers had matched to them take their lead-only tasks along."""
    forget_customer(s, ev.data["customer_id"], ev.data.get("lead_ids") or ())


@handlers.on("customers.consent.changed")
def consent_changed(s: Session, ev: Event) -> None:
    """Do-not-call and consent are read again at claim time, and before a held task's call is recorded
    (the workbench stops offering the number at once): open tasks are not touched here."""
    d = ev.data
    contacts.set_consent(contacts.contact(s, ev, d["customer_id"]), d["do_not_call"], d["consent"])


@handlers.on("customers.customer.merged")
def customer_merged(s: Session, ev: Event) -> None:
    contacts.merged(s, ev)


@handlers.on("customers.customer.unmerged")
def customer_unmerged(s: Session, ev: Event) -> None:
    contacts.unmerged(s, ev)


# --- the customers' copies and the events that create tasks, a delivery's run in one pass -------------

@handlers.on_batch("customers.customer.created")
@handlers.on_batch("customers.customer.updated")
@handlers.on_batch("customers.relationship.linked")
@handlers.on_batch("leads.vehicle.delivered")
@handlers.on_batch("leads.defeat.approved")
@handlers.on_batch("customers.service.recorded")
@handlers.on_batch("customers.schedule.*")
def customers_and_callbacks(s: Session, events: list[Event]) -> None:
    callbacks.customers_and_callbacks(s, events)


answer_requests(handlers, "callcenter", stats.count)
