"""What leads learns from other services: stores and staff from identity, erasures from customers."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.bus.copies import keep_copy
from shared.daily_counts import answer_requests
from shared.events import Event

from .handlers import stats
from .handlers.privacy import forget_customer
from .models import StaffRef, StoreRef

handlers = EventHandlers("leads")


@handlers.on("identity.store.*")
def store_changed(s: Session, ev: Event) -> None:
    keep_copy(s, StoreRef, ev)


@handlers.on("identity.user.*")
def user_changed(s: Session, ev: Event) -> None:
    keep_copy(s, StaffRef, ev)


@handlers.on("customers.customer.erased")
def customer_erased(s: Session, ev: Event) -> None:
    """A person erased on request: the leads customers matched to them forget who it was."""
    forget_customer(s, ev.data["customer_id"], ev.data.get("lead_ids") or [])


answer_requests(handlers, "leads", stats.daily_counts)
