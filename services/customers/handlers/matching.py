"""Who a store's record is about, found across the group, and what the store may do with what it found.

A DMS row or a registration names a person by VIN, ID number and phone. The person is looked up in the
whole group (the reviewed widening `match_customer`: the only place the customers service reads beyond
the caller's stores), but what the caller may do with the customer found is decided by the caller's
own scope:

- a customer the caller already sees (HQ, or a store with its own relationship) takes the record, and
  gains an ID number it lacks;
- a customer known only at other stores takes the record only through a business event the store
  records (a service visit, a policy, the sale of a car no other store sold): the store relates to the
  customer through it, and the other stores' records stay as they are (see `records.register_vehicle`);
- a bare registration of someone known only elsewhere, or the sale of a car another store sold, stays
  the store's own claim: a record of the person as the store entered them, paired with the customer
  found in the review queue ("Possible duplicates"), which only HQ sees;
- an identifier that conflicts with the customer found (a new phone on a record found by VIN or ID
  number, another ID number, any ID number from a store that did not know them) is not attached: it
  goes with the person's name on a record of the store's own, paired with the customer for review.

Every match of a customer the caller did not see, or of a store that did not know the customer yet, is
written to the access log.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.phones import try_normalize
from shared.tenancy import widened

from ..domain import name_key
from ..adapters.models import Customer, InsurancePolicy, MatchCandidate, Vehicle
from .access import log_cross_store_match
from .common import emit_customer
from .identity import (Person, _new_customer, add_identifiers, attach_id_number, attach_phone, find_by_id_number,
                       find_by_phone, find_by_vin, has_identifier, propose, propose_likely)
from .relationships import touch

STORE_CLAIM, CONFLICT = "store_claim", "conflicting_identifier"


@dataclass
class Resolution:
    """Where a store's record goes: `customer` takes it, unless `claim` (then nothing is recorded on the
    customer found: `customer` is the store's own record of the person, waiting for review)."""

    customer: Customer
    new: bool = False  # `customer` was created for this record
    claim: bool = False  # the record is the store's claim on a customer or a car another store has
    held: bool = False  # something the caller gave waits for review instead of being attached


def resolve(s: Session, p: Principal, person: Person, *, store_id: str | None, event: str | None) -> Resolution:
    """The customer a record is about (`event`: the business event recorded, None for a bare registration);
    creates the customer when nobody matches. The caller records the event on `customer` unless `claim`."""
    e164 = try_normalize(person.phone) if person.phone else None
    with widened(s, "match_customer"):
        found = _found(s, p.group_id, person, e164)
        if not found:
            return Resolution(_create(s, p, person, e164), new=True)
        c, by = found[0]
        sold_elsewhere = event == "vehicles" and _sold_by_another_store(s, p, person.vin)
    seen = sees(s, p, c.id)
    if not seen or (store_id and c.known_at and store_id not in c.known_at):
        log_cross_store_match(s, c, f"{event or 'registration'} by {by}", p=p)
    with widened(s, "match_customer"):
        if sold_elsewhere or (event is None and not seen):
            mine, created = _claimant(s, p, c, person, e164, person.id_number, STORE_CLAIM, store_id)
            return Resolution(mine, new=created, claim=True, held=True)
        for other, _ in found[1:]:  # the person's identifiers are on two records: a person decides
            propose(s, c, other, "shared_identifier")
        phone, id_number = _conflicting(s, c, by, e164, person.id_number, may_fill=seen)
        if phone or id_number:
            _claimant(s, p, c, person, phone, id_number, CONFLICT, store_id)
    return Resolution(c, held=bool(phone or id_number or found[1:]))


def _found(s: Session, group_id: str, person: Person, e164: str | None) -> list[tuple[Customer, str]]:
    """Distinct customers found by each identifier, strongest first (VIN, ID number, mobile), with the key."""
    found: list[tuple[Customer, str]] = []
    for by, hit in (("vin", find_by_vin(s, person.vin) if person.vin else None),
                    ("id_number", find_by_id_number(s, group_id, person.id_number) if person.id_number else None),
                    ("phone", find_by_phone(s, e164) if e164 else None)):
        if hit is not None and all(hit.id != c.id for c, _ in found):
            found.append((hit, by))
    return found


def sees(s: Session, p: Principal, customer_id: str) -> bool:
    """Whether the caller's own scope sees the customer (asked of the database, not the identity map)."""
    return p.store_ids is None or s.scalar(select(Customer.id).where(Customer.id == customer_id)) is not None


def _sold_by_another_store(s: Session, p: Principal, vin: str | None) -> bool:
    v = s.scalar(select(Vehicle).where(Vehicle.vin == vin)) if vin else None
    return bool(v is not None and v.selling_store_id and p.store_ids is not None
                and v.selling_store_id not in p.store_ids)


def _conflicting(s: Session, c: Customer, by: str, e164: str | None, id_number: str | None,
                 may_fill: bool) -> tuple[str | None, str | None]:
    """The identifiers to hold for review (a new phone on a record found another way; an ID number the
    record does not have); an ID number fills the blank of a record the caller already sees."""
    phone = None
    if e164 and by != "phone" and not has_identifier(s, c, "phone", e164) and find_by_phone(s, e164) is None:
        phone = e164
    held_id = None
    if id_number and by != "id_number" and find_by_id_number(s, c.group_id, id_number) is None:
        if may_fill and c.id_number_sealed is None:
            add_identifiers(s, c, None, id_number)
        else:
            held_id = id_number
    return phone, held_id


def _create(s: Session, p: Principal, person: Person, e164: str | None) -> Customer:
    c = _new_customer(s, p.group_id, person)
    s.flush()
    add_identifiers(s, c, e164, person.id_number, new=True)
    emit_customer(s, c, "created", p.user_id)
    propose_likely(s, c)
    return c


def _claimant(s: Session, p: Principal, c: Customer, person: Person, e164: str | None, id_number: str | None,
              reason: str, store_id: str | None) -> tuple[Customer, bool]:
    """The store's own record of the person (name and the identifiers given), paired with `c` for review;
    the same record again when the store sends the same thing twice. Returns (record, created)."""
    for other in _paired(s, c, reason):
        if other.name_key == name_key(person.name) and (store_id is None or store_id in (other.known_at or [])) \
                and (e164 is None or has_identifier(s, other, "phone", e164)):
            return other, False
    mine = _new_customer(s, p.group_id, person)
    s.flush()
    if e164:
        attach_phone(s, mine, e164)
    if id_number:
        attach_id_number(s, mine, id_number)
    emit_customer(s, mine, "created", p.user_id)
    propose(s, c, mine, reason)
    if store_id:
        touch(s, mine, store_id, p.user_id, new_customer=True)
    return mine, True


def _paired(s: Session, c: Customer, reason: str) -> list[Customer]:
    rows = s.execute(select(MatchCandidate.customer_a, MatchCandidate.customer_b).where(
        MatchCandidate.status == "open", MatchCandidate.reason == reason,
        (MatchCandidate.customer_a == c.id) | (MatchCandidate.customer_b == c.id))).all()
    ids = {b if a == c.id else a for a, b in rows}
    return list(s.scalars(select(Customer).where(Customer.id.in_(ids), Customer.status == "active"))) if ids else []


# ---- other look-ups that must see the whole group --------------------------------------------------------

def vehicle_by_vin(s: Session, vin: str) -> Vehicle | None:
    """The car with this VIN in the group (a VIN is unique in a group, whoever's customer owns it)."""
    with widened(s, "match_customer"):
        return s.scalar(select(Vehicle).where(Vehicle.vin == vin))


def policy_by_number(s: Session, policy_no: str) -> InsurancePolicy | None:
    """The policy with this number in the group (unique in a group)."""
    with widened(s, "match_customer"):
        return s.scalar(select(InsurancePolicy).where(InsurancePolicy.policy_no == policy_no))


def owner_of_phone(s: Session, e164: str) -> Customer | None:
    """Who else in the group is found by this phone (a profile edit must not take another's number)."""
    with widened(s, "match_customer"):
        return find_by_phone(s, e164)


def owner_of_id_number(s: Session, group_id: str, id_number: str) -> Customer | None:
    with widened(s, "match_customer"):
        return find_by_id_number(s, group_id, id_number)

