"""The callback tasks other services' events ask for (delivery, defeat verification, after-service, care and
win-back), planned with the customers as known at each event: a delivery's events in one pass, in order."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from shared.events import Event

from ..domain.rules import TRIGGERS
from ..adapters.models import Contact
from . import contacts
from .config import group_timezone
from .planning import Planning, TaskBatch, TaskRequest, delivery_planning
from .privacy import forget_customer


def _store_brand(s: Session, ev: Event, store_id: str | None, planning: Planning) -> tuple[str | None, str | None]:
    store_id = store_id or ev.store_id
    brand_id = ev.brand_id if store_id == ev.store_id else None
    if store_id and not brand_id:
        st = planning.store(s, store_id)
        brand_id = st.brand_id if st else None
    return store_id, brand_id


def delivery_callback(s: Session, ev: Event, planning: Planning) -> TaskRequest | None:
    """Delivery callback (交车回访) on day 3; one per order however often the event comes."""
    d = ev.data
    store_id, brand_id = _store_brand(s, ev, None, planning)
    if not store_id:
        return None
    return TaskRequest(ev.group, store_id, brand_id, "delivery_callback", d["delivered_on"], d["order_id"],
                       lead_id=d["lead_id"], name=d["customer_name"], phone=d["phone"],
                       detail={"vin": d["vin"], "model": d["model"], "order_id": d["order_id"],
                               "consultant_id": d.get("consultant_id")},
                       source_event_id=str(ev.id), actor=ev.actor)


def defeat_verification(s: Session, ev: Event, planning: Planning) -> TaskRequest | None:
    """Defeat verification (战败核实) within 2 days of the manager's approval (the group's local day of it)."""
    d = ev.data
    store_id, brand_id = _store_brand(s, ev, None, planning)
    if not store_id:
        return None
    day = ev.occurred_at.astimezone(ZoneInfo(group_timezone(planning.cfg))).date()
    return TaskRequest(ev.group, store_id, brand_id, "defeat_verification", day, d["lead_id"], lead_id=d["lead_id"],
                       name=d["customer_name"], phone=d["phone"],
                       detail={k: d.get(k) for k in ("reason", "competitor_brand", "competitor_model", "consultant_id")},
                       source_event_id=str(ev.id), actor=ev.actor)


def service_callback(s: Session, ev: Event, planning: Planning) -> TaskRequest | None:
    """Post-service callback (维修保养回访) two days after the visit."""
    d = ev.data
    store_id, brand_id = _store_brand(s, ev, d["store_id"], planning)
    if not store_id:
        return None
    return TaskRequest(ev.group, store_id, brand_id, "service_callback", d["visit_date"], d["visit_id"],
                       customer_id=d["customer_id"], detail={"vin": d.get("vin"), "kind": d["kind"],
                                                             "visit_id": d["visit_id"]},
                       source_event_id=str(ev.id), actor=ev.actor)


def scheduled_care(s: Session, ev: Event, planning: Planning) -> TaskRequest | None:
    """Care and win-back triggers; the stable schedule id keeps repeated triggers to one task."""
    task_type = TRIGGERS.get(ev.type)
    d = ev.data
    store_id = ev.store_id or (d.get("detail") or {}).get("store_id")
    if not store_id:  # no store named: the customer's first store relationship
        c = s.get(Contact, d["customer_id"])
        store_id = (c.store_ids or [None])[0] if c else None
    store_id, brand_id = _store_brand(s, ev, store_id, planning)
    if task_type is None or not store_id:
        return None
    return TaskRequest(ev.group, store_id, brand_id, task_type, d["due_on"], d["schedule_id"],
                       customer_id=d["customer_id"],
                       detail={"vin": d.get("vin"), **{k: v for k, v in (d.get("detail") or {}).items()
                                                       if isinstance(v, str | int | float | bool)}},
                       source_event_id=str(ev.id), actor=ev.actor)


#: event type → the task it asks for (`customers.schedule.*`: by the schedule's kind)
REQUESTS = {"leads.vehicle.delivered": delivery_callback, "leads.defeat.approved": defeat_verification,
            "customers.service.recorded": service_callback}


CUSTOMERS = ("customers.customer.created", "customers.customer.updated", "customers.relationship.linked")


def customers_and_callbacks(s: Session, events: list[Event]) -> None:
    """The customers' copies and the callback tasks events ask for, a delivery's run in one pass and in order:
    the contacts read at once, each task planned with its customer as known at its event, the tasks waiting
    for a customer adopted together and then the new tasks written together (both before any erasure)."""
    planning = delivery_planning(s, events[0].group)
    batch, book = TaskBatch(planning), contacts.named(s, events, REQUESTS)
    adoptions: list[contacts.Adoption] = []
    for ev in events:
        if ev.type not in CUSTOMERS:
            req = REQUESTS.get(ev.type, scheduled_care)(s, ev, planning)
            if req is not None:
                batch.plan(s, req, contacts.of_request(book, req))
            continue
        d = ev.data
        c = book.get(d["customer_id"])
        if c is None:
            c = book[d["customer_id"]] = contacts.placeholder(s, ev, d["customer_id"])
        if ev.type == "customers.relationship.linked":
            if d["store_id"] not in (c.store_ids or []):
                c.store_ids = sorted(set(c.store_ids or []) | {d["store_id"]})
            adoptions.append((c.id, c.phone, d.get("lead_id")))
        elif d.get("erased"):  # erased on request (PIPL): forget them everywhere, call them no more
            contacts.adopt_tasks(s, adoptions)
            adoptions = []
            batch.write(s)
            forget_customer(s, d["customer_id"])
            continue
        else:
            c.name, c.phone = d["name"], d.get("phone")
            contacts.set_consent(c, d.get("do_not_call", False), d.get("consent") or {})
            adoptions.append((c.id, c.phone, None))
        batch.adopt(*adoptions[-1])
    contacts.adopt_tasks(s, adoptions)
    batch.write(s)

