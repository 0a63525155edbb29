"""What leads learns from other services: brands, stores and staff from identity; from customers, who a lead's
customer is (the 360 view the lead page links to) and erasures."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.bus.copies import keep_copy
from shared.daily_counts import answer_requests
from shared.events import Event

from ..handlers.leads import link_customers, relink_customer
from ..handlers import stats
from ..handlers.privacy import forget_customer
from ..adapters.models import BrandRef, StaffRef, StoreRef

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


@handlers.on_batch("customers.relationship.linked")
def customers_linked(s: Session, events: list[Event]) -> None:
    """Customers matched leads to people: one UPDATE for a delivery's links (a lead linked twice in it keeps
    the last, as applying them one by one would)."""
    link_customers(s, {ev.data["lead_id"]: ev.data["customer_id"] for ev in events if ev.data.get("lead_id")})


@handlers.on("customers.customer.merged")
def customer_merged(s: Session, ev: Event) -> None:
    """Two records became one: leads of the merged record link to the one that stayed."""
    relink_customer(s, ev.data["merged_id"], ev.data["survivor_id"])


answer_requests(handlers, "leads", stats.count)
