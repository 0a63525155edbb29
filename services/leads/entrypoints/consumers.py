"""What leads learns from other services: brands, stores and staff from identity; from customers, who a lead's
customer is (the 360 view the lead page links to) and erasures."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.bus.copies import keep_copy
from shared.daily_counts import answer_requests
from shared.events import Event

from ..handlers.leads import relink_customer
from ..handlers import stats
from ..handlers.privacy import forget_customer
from ..adapters.models import BrandRef, Lead, StaffRef, StoreRef

#: a delivery waits up to 200 ms for more events (a lead's link to its customer, the copies of the org tree):
#: nobody waits on them to the fifth of a second, and customers' matches then come in fewer transactions
handlers = EventHandlers("leads", gather=0.2)


@handlers.on("identity.brand.created")
def brand_changed(s: Session, ev: Event) -> None:
    keep_copy(s, BrandRef, ev)


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


@handlers.on("customers.relationship.linked")
def customer_linked(s: Session, ev: Event) -> None:
    """Customers matched a lead to a person: the lead page links to that person's 360 view. One UPDATE (a
    lead not found is left alone): loading the lead, a wide row, first cost more than the rest of the
    delivery."""
    if ev.data.get("lead_id"):
        s.execute(update(Lead).where(Lead.id == ev.data["lead_id"]).values(customer_id=ev.data["customer_id"]))


@handlers.on("customers.customer.merged")
def customer_merged(s: Session, ev: Event) -> None:
    """Two records became one: leads of the merged record link to the one that stayed."""
    relink_customer(s, ev.data["merged_id"], ev.data["survivor_id"])


answer_requests(handlers, "leads", stats.count)
