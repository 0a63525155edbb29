"""The call center's copy of the customers (contacts) kept from customers' events: created, changed,
merged, consent; tasks made before their customer was known adopted once it is."""
from __future__ import annotations

from collections.abc import Container

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.events import Event

from ..adapters.models import Contact, Task
from .planning import TaskRequest


def contact(s: Session, ev: Event, customer_id: str) -> Contact:
    c = s.get(Contact, customer_id)
    return c if c is not None else placeholder(s, ev, customer_id)


def placeholder(s: Session, ev: Event, customer_id: str) -> Contact:
    """A contact not known yet (a relationship or consent change may overtake the customer event)."""
    c = Contact(id=customer_id, group_id=ev.group_id, name="", store_ids=[], consent={})
    s.add(c)
    return c


def set_consent(c: Contact, do_not_call: bool, consent: dict) -> None:
    c.do_not_call, c.consent = do_not_call, dict(consent or {})
    c.callable = not do_not_call and c.consent.get("phone", True) is not False
    c.updated_at = utcnow()


#: (customer id, phone, lead id): tasks created before the customer was known, by that phone or lead
Adoption = tuple[str, str | None, str | None]


def adopt_tasks(s: Session, adoptions: list[Adoption]) -> None:
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


def merged(s: Session, ev: Event) -> None:
    """Tasks of the merged record follow the survivor; the survivor's copy is refreshed when the event says how."""
    d = ev.data
    s.execute(update(Task).where(Task.customer_id == d["merged_id"]).values(customer_id=d["survivor_id"])
              .execution_options(synchronize_session=False))
    survivor, merged = contact(s, ev, d["survivor_id"]), s.get(Contact, d["merged_id"])
    if merged is not None:
        survivor.store_ids = sorted(set(survivor.store_ids or []) | set(merged.store_ids or []))
    if d.get("name") is not None:
        survivor.name, survivor.phone = d["name"], d.get("phone")
        set_consent(survivor, bool(d.get("do_not_call")), d.get("consent") or {})



def unmerged(s: Session, ev: Event) -> None:
    """The survivor's copy as the unmerge left it."""
    d = ev.data
    if d.get("name") is not None:
        c = contact(s, ev, d["survivor_id"])
        c.name, c.phone = d["name"], d.get("phone")
        set_consent(c, bool(d.get("do_not_call")), d.get("consent") or {})


def named(s: Session, events: list[Event], by_phone: Container[str]) -> dict[str, Contact]:
    """The contacts the events name, by id or (the event types in `by_phone`: a lead's delivery or defeat) by
    phone, in one statement; one
    not there is new (not looked up again, which would also flush the one made before it)."""
    ids = sorted({ev.data["customer_id"] for ev in events if ev.data.get("customer_id")})
    phones = sorted({ev.data["phone"] for ev in events if ev.type in by_phone and ev.data.get("phone")})
    return {c.id: c for c in s.scalars(select(Contact).where(or_(Contact.id.in_(ids), Contact.phone.in_(phones))))}


def of_request(book: dict[str, Contact], req: TaskRequest) -> Contact | None:
    """The request's customer: by id, else any contact with its phone (as known now, in this delivery)."""
    if req.customer_id:
        return book.get(req.customer_id)
    return next((c for c in book.values() if c.phone == req.phone), None) if req.phone else None


