"""Identity resolution: one customer per person, matched exactly by VIN, ID number or mobile.

Exact matches link automatically; likely matches (same name and phone tail, same company name) only
go to the review queue. A name alone never merges anything.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.phones import try_normalize

from ..domain import default_consent, mask_id_number, name_key
from ..models import Customer, Identifier, MatchCandidate, Vehicle
from ..pii import pii_of
from .common import active, emit_customer


@dataclass
class Person:
    """Who an event or an import row says the customer is."""

    name: str
    phone: str | None = None  # any format
    id_number: str | None = None  # normalised (domain.normalize_id_number)
    vin: str | None = None  # normalised
    kind: str = "individual"


def find_by_phone(s: Session, e164: str) -> Customer | None:
    cid = s.scalar(select(Identifier.customer_id).where(Identifier.kind == "phone", Identifier.value == e164)
                   .order_by(Identifier.created_at).limit(1))
    return active(s, cid)


def find_by_id_number(s: Session, group_id: str, id_number: str) -> Customer | None:
    key = pii_of(s).lookup_key(group_id, id_number)
    cid = s.scalar(select(Identifier.customer_id).where(Identifier.kind == "id_number", Identifier.value == key)
                   .order_by(Identifier.created_at).limit(1))
    return active(s, cid)


def find_by_vin(s: Session, vin: str) -> Customer | None:
    return active(s, s.scalar(select(Vehicle.customer_id).where(Vehicle.vin == vin)))


def exact_matches(s: Session, group_id: str, p: Person) -> list[Customer]:
    """Distinct customers found by each identifier, strongest first (VIN, ID number, mobile)."""
    found: list[Customer] = []
    e164 = try_normalize(p.phone) if p.phone else None
    for hit in (find_by_vin(s, p.vin) if p.vin else None,
                find_by_id_number(s, group_id, p.id_number) if p.id_number else None,
                find_by_phone(s, e164) if e164 else None):
        if hit is not None and all(hit.id != f.id for f in found):
            found.append(hit)
    return found


def match_or_create(s: Session, group_id: str, p: Person, actor: str | None) -> tuple[Customer, bool]:
    """The customer this person is, creating them when nothing matches exactly; returns (customer, new)."""
    found = exact_matches(s, group_id, p)
    if found:
        c = found[0]
        for other in found[1:]:  # two records share this person's identifiers: a human decides
            propose(s, c, other, "shared_identifier")
        add_identifiers(s, c, p.phone, p.id_number)
        return c, False
    e164 = try_normalize(p.phone) if p.phone else None
    c = Customer(group_id=group_id, name=p.name.strip(), name_key=name_key(p.name), kind=p.kind,
                 consent=default_consent(), tags=[], known_at=[])
    s.add(c)
    s.flush()
    add_identifiers(s, c, e164, p.id_number, new=True)
    emit_customer(s, c, "created", actor)
    propose_likely(s, c)
    return c, True


def add_identifiers(s: Session, c: Customer, phone: str | None, id_number: str | None,
                    label: str = "mobile", new: bool = False) -> None:
    """Attach a phone and an ID number the customer does not have yet (the first phone becomes primary).

    `new`: the caller just looked both up and found nobody, so they are free.
    """
    e164 = try_normalize(phone) if phone else None
    if e164 and (new or find_by_phone(s, e164) is None):
        s.add(Identifier(group_id=c.group_id, customer_id=c.id, kind="phone", value=e164, label=label))
        if c.phone is None:
            c.phone, c.phone_last4 = e164, e164[-4:]
    if id_number and c.id_number_sealed is None and (new or find_by_id_number(s, c.group_id, id_number) is None):
        pii = pii_of(s)
        s.add(Identifier(group_id=c.group_id, customer_id=c.id, kind="id_number",
                         value=pii.lookup_key(c.group_id, id_number)))
        c.id_number_sealed = pii.seal(c.group_id, id_number)
        c.id_number_masked = mask_id_number(id_number)
    s.flush()


def propose_likely(s: Session, c: Customer) -> None:
    """Queue likely duplicates for review: same name and last 4 phone digits; same company name."""
    if not c.name_key:
        return
    q = select(Customer.id).where(Customer.name_key == c.name_key, Customer.id != c.id,
                                  Customer.status == "active").limit(20)
    if c.kind == "individual":
        if not c.phone_last4:
            return
        q, reason = q.where(Customer.phone_last4 == c.phone_last4), "name_phone_tail"
    else:
        q, reason = q.where(Customer.kind != "individual"), "company_name"
    for other in s.scalars(q):
        propose(s, c, s.get(Customer, other), reason)


def propose(s: Session, a: Customer, b: Customer, reason: str) -> None:
    lo, hi = sorted((a.id, b.id))
    if s.scalar(select(MatchCandidate.id).where(MatchCandidate.customer_a == lo, MatchCandidate.customer_b == hi)):
        return
    s.add(MatchCandidate(group_id=a.group_id, customer_a=lo, customer_b=hi, reason=reason))
