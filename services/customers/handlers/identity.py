"""Identity resolution: one customer per person, matched exactly by VIN, ID number or mobile.

Exact matches link automatically; likely matches (same name and phone tail, same company name) only
go to the review queue. A name alone never merges anything.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from shared.db import add, add_row, new_id
from shared.phones import try_normalize

from ..domain import default_consent, mask_id_number, name_key
from ..adapters.models import Customer, Identifier, MatchCandidate, Vehicle
from ..pii import pii_of
from .common import active, active_many, emit_customer


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


def find_by_phones(s: Session, e164s: set[str]) -> dict[str, Customer]:
    """Batch form of `find_by_phone`: the live customer behind each known number, in one look-up."""
    if not e164s:
        return {}
    first: dict[str, str] = {}
    rows = s.execute(select(Identifier.value, Identifier.customer_id)
                     .where(Identifier.kind == "phone", Identifier.value.in_(sorted(e164s)))
                     .order_by(Identifier.created_at))
    for value, cid in rows:
        first.setdefault(value, cid)
    live = active_many(s, first.values())
    return {value: live[cid] for value, cid in first.items() if cid in live}


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
    c = _new_customer(s, group_id, p)
    s.flush()
    add_identifiers(s, c, e164, p.id_number, new=True)
    emit_customer(s, c, "created", actor)
    propose_likely(s, c)
    return c, True


def match_or_create_by_phone(s: Session, group_id: str, people: list[tuple[Person, str | None]]
                             ) -> list[tuple[Customer, bool]]:
    """Batch form of `match_or_create` for people known by name and phone only (lead events), each with
    the actor to credit: one look-up for every phone, the new customers inserted together, and the same
    result as matching them one after the other (two people with one new number become one customer).
    Runs inside `shared.db.bulk_inserts`, which writes the new rows in foreign-key order.
    """
    if any(p.vin or p.id_number for p, _ in people):
        raise ValueError("match_or_create_by_phone matches by phone only")
    numbers = [try_normalize(p.phone) if p.phone else None for p, _ in people]
    by_phone = find_by_phones(s, {e for e in numbers if e})
    out: list[tuple[Customer, bool]] = []
    created: list[tuple[Customer, str | None]] = []
    for (p, actor), e164 in zip(people, numbers, strict=True):
        c = by_phone.get(e164) if e164 else None
        if c is not None:
            out.append((c, False))
            continue
        c = _new_customer(s, group_id, p)
        if e164:
            _attach_phone(s, c, e164)
            by_phone[e164] = c
        created.append((c, actor))
        out.append((c, True))
    for c, actor in created:
        emit_customer(s, c, "created", actor)
    propose_likely_many(s, [c for c, _ in created])
    return out


def _new_customer(s: Session, group_id: str, p: Person) -> Customer:
    """A new record for this person (id and defaults set now, so it can be referred to before a flush)."""
    c = Customer(id=new_id(), group_id=group_id, name=p.name.strip(), name_key=name_key(p.name), kind=p.kind,
                 consent=default_consent(), tags=[], known_at=[], do_not_call=False, status="active")
    add(s, c)
    return c


def _attach_phone(s: Session, c: Customer, e164: str, label: str = "mobile") -> None:
    """Record a number the customer can be found by; the first one becomes their primary phone."""
    add_row(s, Identifier, group_id=c.group_id, customer_id=c.id, kind="phone", value=e164, label=label)
    if c.phone is None:
        c.phone, c.phone_last4 = e164, e164[-4:]


def add_identifiers(s: Session, c: Customer, phone: str | None, id_number: str | None,
                    label: str = "mobile", new: bool = False) -> None:
    """Attach a phone and an ID number the customer does not have yet (the first phone becomes primary).

    `new`: the caller just looked both up and found nobody, so they are free.
    """
    e164 = try_normalize(phone) if phone else None
    if e164 and (new or find_by_phone(s, e164) is None):
        _attach_phone(s, c, e164, label)
    if id_number and c.id_number_sealed is None and (new or find_by_id_number(s, c.group_id, id_number) is None):
        attach_id_number(s, c, id_number)
    s.flush()


def attach_id_number(s: Session, c: Customer, id_number: str) -> None:
    """Record the customer's ID number: its keyed hash to find it by, a sealed copy, the masked form."""
    pii = pii_of(s)
    s.add(Identifier(group_id=c.group_id, customer_id=c.id, kind="id_number",
                     value=pii.lookup_key(c.group_id, id_number)))
    c.id_number_sealed = pii.seal(c.group_id, id_number)
    c.id_number_masked = mask_id_number(id_number)


def attach_phone(s: Session, c: Customer, e164: str, label: str = "mobile") -> None:
    """Record a number the customer can be found by (the first one becomes their primary phone)."""
    _attach_phone(s, c, e164, label)


def has_identifier(s: Session, c: Customer, kind: str, value: str) -> bool:
    """Whether this record holds the phone (E.164) or ID number (its keyed hash)."""
    return s.scalar(select(Identifier.id).where(Identifier.customer_id == c.id, Identifier.kind == kind,
                                                Identifier.value == value).limit(1)) is not None


def propose_likely(s: Session, c: Customer) -> None:
    """Queue likely duplicates for review: same name and last 4 phone digits; same company name."""
    propose_likely_many(s, [c])


def propose_likely_many(s: Session, customers: list[Customer]) -> None:
    """Likely duplicates of customers just created (flushed or not), queued for review: one look-up for all
    names, and the new customers compared with each other too."""
    wanted = [c for c in customers if c.name_key and (c.kind != "individual" or c.phone_last4)]
    if not wanted:
        return
    people = {(c.name_key, c.phone_last4) for c in wanted if c.kind == "individual"}
    companies = {c.name_key for c in wanted if c.kind != "individual"}
    cols = select(Customer.id, Customer.name_key, Customer.kind, Customer.phone_last4).where(Customer.status == "active")
    rows = [*(s.execute(cols.where(tuple_(Customer.name_key, Customer.phone_last4).in_(people))) if people else ()),
            *(s.execute(cols.where(Customer.name_key.in_(companies), Customer.kind != "individual"))
              if companies else ())]
    same_tail: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    same_company: dict[str, list[str]] = defaultdict(list)
    for r in {r.id: r for r in [*rows, *wanted]}.values():
        same_tail[(r.name_key, r.phone_last4)].append(r.id)
        if r.kind != "individual":
            same_company[r.name_key].append(r.id)
    pairs: dict[tuple[str, str], str] = {}
    for c in wanted:
        if c.kind == "individual":
            others, reason = same_tail[(c.name_key, c.phone_last4)], "name_phone_tail"
        else:
            others, reason = same_company[c.name_key], "company_name"
        for other in [o for o in others if o != c.id][:20]:
            first, second = sorted((c.id, other))
            pairs.setdefault((first, second), reason)
    if not pairs:
        return
    known = {(a, b) for a, b in s.execute(select(MatchCandidate.customer_a, MatchCandidate.customer_b)
                                          .where(MatchCandidate.customer_a.in_({a for a, _ in pairs})))}
    for (a, b), reason in pairs.items():
        if (a, b) not in known:
            add_row(s, MatchCandidate, group_id=wanted[0].group_id, customer_a=a, customer_b=b, reason=reason)


def propose(s: Session, a: Customer, b: Customer, reason: str) -> None:
    lo, hi = sorted((a.id, b.id))
    if s.scalar(select(MatchCandidate.id).where(MatchCandidate.customer_a == lo, MatchCandidate.customer_b == hi)):
        return
    s.add(MatchCandidate(group_id=a.group_id, customer_a=lo, customer_b=hi, reason=reason))
