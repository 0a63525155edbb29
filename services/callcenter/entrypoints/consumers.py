"""What the call center keeps from other services, and the events that create callback tasks."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.db import utcnow
from shared.bus.copies import keep_copy
from shared.daily_counts import answer_requests
from shared.events import Event

from ..domain.rules import TRIGGERS
from ..handlers.config import group_timezone
from ..handlers import stats
from ..handlers.privacy import forget_customer
from ..handlers.planning import Planning, TaskBatch, TaskRequest, delivery_planning
from ..adapters.models import BrandRef, Contact, StaffRef, StoreRef, Task

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


def _contact(s: Session, ev: Event, customer_id: str) -> Contact:
    c = s.get(Contact, customer_id)
    return c if c is not None else _placeholder(s, ev, customer_id)


def _placeholder(s: Session, ev: Event, customer_id: str) -> Contact:
    """A contact not known yet (a relationship or consent change may overtake the customer event)."""
    c = Contact(id=customer_id, group_id=ev.group_id, name="", store_ids=[], consent={})
    s.add(c)
    return c


def _set_consent(c: Contact, do_not_call: bool, consent: dict) -> None:
    c.do_not_call, c.consent = do_not_call, dict(consent or {})
    c.callable = not do_not_call and c.consent.get("phone", True) is not False
    c.updated_at = utcnow()


#: (customer id, phone, lead id): tasks created before the customer was known, by that phone or lead
Adoption = tuple[str, str | None, str | None]


def _adopt_tasks(s: Session, adoptions: list[Adoption]) -> None:
    """Tasks created before their customer was known (by phone or lead) now point at the customer, in
    the order the customers became known. One look-up finds whether any task waits at all (mostly none)."""
    phones = {phone for _, phone, _ in adoptions if phone}
    leads = {lead for _, _, lead in adoptions if lead}
    if not phones and not leads:
        return
    s.flush()
    waiting = s.execute(select(Task.phone, Task.lead_id).where(
        Task.customer_id.is_(None), or_(Task.phone.in_(sorted(phones)), Task.lead_id.in_(sorted(leads))))).all()
    phones_waiting = {p for p, _ in waiting if p}
    leads_waiting = {lead for _, lead in waiting if lead}
    for customer_id, phone, lead_id in adoptions:
        conds = ([Task.phone == phone] if phone and phone in phones_waiting else []) + \
            ([Task.lead_id == lead_id] if lead_id and lead_id in leads_waiting else [])
        for cond in conds:
            s.execute(update(Task).where(Task.customer_id.is_(None), cond).values(customer_id=customer_id)
                      .execution_options(synchronize_session=False))


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
    _set_consent(_contact(s, ev, d["customer_id"]), d["do_not_call"], d["consent"])


@handlers.on("customers.customer.merged")
def customer_merged(s: Session, ev: Event) -> None:
    """Tasks of the merged record follow the survivor; the survivor's copy is refreshed when the event says how."""
    d = ev.data
    s.execute(update(Task).where(Task.customer_id == d["merged_id"]).values(customer_id=d["survivor_id"])
              .execution_options(synchronize_session=False))
    survivor, merged = _contact(s, ev, d["survivor_id"]), s.get(Contact, d["merged_id"])
    if merged is not None:
        survivor.store_ids = sorted(set(survivor.store_ids or []) | set(merged.store_ids or []))
    if d.get("name") is not None:
        survivor.name, survivor.phone = d["name"], d.get("phone")
        _set_consent(survivor, bool(d.get("do_not_call")), d.get("consent") or {})


@handlers.on("customers.customer.unmerged")
def customer_unmerged(s: Session, ev: Event) -> None:
    d = ev.data
    if d.get("name") is not None:
        c = _contact(s, ev, d["survivor_id"])
        c.name, c.phone = d["name"], d.get("phone")
        _set_consent(c, bool(d.get("do_not_call")), d.get("consent") or {})


# --- events that create tasks -----------------------------------------------------------------------

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


@handlers.on_batch("customers.customer.created")
@handlers.on_batch("customers.customer.updated")
@handlers.on_batch("customers.relationship.linked")
@handlers.on_batch("leads.vehicle.delivered")
@handlers.on_batch("leads.defeat.approved")
@handlers.on_batch("customers.service.recorded")
@handlers.on_batch("customers.schedule.*")
def customers_and_callbacks(s: Session, events: list[Event]) -> None:
    """The customers' copies and the callback tasks events ask for, a delivery's run in one pass and in order:
    the contacts read at once, each task planned with its customer as known at its event, the tasks waiting
    for a customer adopted together and then the new tasks written together (both before any erasure)."""
    planning = delivery_planning(s, events[0].group)
    batch, book = TaskBatch(planning), _contacts_named(s, events)
    adoptions: list[Adoption] = []
    for ev in events:
        if ev.type not in CUSTOMERS:
            req = REQUESTS.get(ev.type, scheduled_care)(s, ev, planning)
            if req is not None:
                batch.plan(s, req, _contact_of(book, req))
            continue
        d = ev.data
        c = book.get(d["customer_id"])
        if c is None:
            c = book[d["customer_id"]] = _placeholder(s, ev, d["customer_id"])
        if ev.type == "customers.relationship.linked":
            if d["store_id"] not in (c.store_ids or []):
                c.store_ids = sorted(set(c.store_ids or []) | {d["store_id"]})
            adoptions.append((c.id, c.phone, d.get("lead_id")))
        elif d.get("erased"):  # erased on request (PIPL): forget them everywhere, call them no more
            _adopt_tasks(s, adoptions)
            adoptions = []
            batch.write(s)
            forget_customer(s, d["customer_id"])
            continue
        else:
            c.name, c.phone = d["name"], d.get("phone")
            _set_consent(c, d.get("do_not_call", False), d.get("consent") or {})
            adoptions.append((c.id, c.phone, None))
        batch.adopt(*adoptions[-1])
    _adopt_tasks(s, adoptions)
    batch.write(s)


def _contacts_named(s: Session, events: list[Event]) -> dict[str, Contact]:
    """The contacts the events name, by id or (a lead's delivery or defeat) by phone, in one statement; one
    not there is new (not looked up again, which would also flush the one made before it)."""
    ids = sorted({ev.data["customer_id"] for ev in events if ev.data.get("customer_id")})
    phones = sorted({ev.data["phone"] for ev in events if ev.type in REQUESTS and ev.data.get("phone")})
    return {c.id: c for c in s.scalars(select(Contact).where(or_(Contact.id.in_(ids), Contact.phone.in_(phones))))}


def _contact_of(book: dict[str, Contact], req: TaskRequest) -> Contact | None:
    """The request's customer: by id, else any contact with its phone (as known now, in this delivery)."""
    if req.customer_id:
        return book.get(req.customer_id)
    return next((c for c in book.values() if c.phone == req.phone), None) if req.phone else None


answer_requests(handlers, "callcenter", stats.count)
