"""Personal data (PIPL): profile edits, consent, logged reads and reveals, export and erasure."""
from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.bus import emit
from shared.bus.outbox import scrub
from shared.db import new_id, utcnow
from shared.errors import Conflict
from shared.events import Event
from shared.permissions import MANAGER, can
from shared.phones import mask, try_normalize
from shared.privacy import Holder, shown_phone

from ..domain import CHANNELS, name_key
from ..adapters.models import (AccessLog, Activity, Customer, CustomerLead, Identifier, InsurancePolicy, ServiceVisit,
                      StoreRelationship, Vehicle)
from ..pii import pii_of
from .access import log_access
from .common import add_activity, consent_of, emit_consent, emit_customer
from .identity import add_identifiers, attach_phone, propose, propose_likely
from .matching import owner_of_id_number, owner_of_phone, sees
from .merge import scrub_snapshots

ERASED_NAME = ""


def holder(rels: list[StoreRelationship], viewer: Principal | None) -> Holder:
    """The customer as the masking rule needs them: the stores with their own relationship, and the
    customer's consultant at the viewer's store (`rels`: the relationships the viewer's scope sees)."""
    mine = [r for r in rels if viewer is not None and (viewer.store_ids is None or r.store_id in viewer.store_ids)]
    owner = next((r.consultant_id for r in mine if r.consultant_id), None)
    return Holder.of(owner, [r.store_id for r in rels])


def phone_for(p: Principal | None, c: Customer, rels: list[StoreRelationship]) -> str | None:
    """The customer's phone as this viewer may see it (`shared.privacy`: whole, or masked)."""
    return shown_phone(p, c.phone, holder(rels, p))


def may_reveal(p: Principal, rels: list[StoreRelationship]) -> bool:
    """`customers.reveal` roles; a store manager only for a customer their store has its own relationship with."""
    if not can(p.role, "customers.reveal"):
        return False
    return p.role != MANAGER or bool(p.store_ids and {r.store_id for r in rels} & p.store_ids)


def reveal(s: Session, p: Principal, c: Customer, field: str, reason: str) -> dict:
    """Show the full phone numbers or ID number once, and write that down."""
    log_access(s, p, c, f"reveal_{field}", reason)
    if field == "phone":
        phones = s.scalars(select(Identifier.value).where(Identifier.customer_id == c.id,
                                                          Identifier.kind == "phone")).all()
        return {"field": "phone", "value": c.phone, "all": list(phones)}
    if c.id_number_sealed is None:
        return {"field": "id_number", "value": None, "all": []}
    value = pii_of(s).unseal(c.group_id, c.id_number_sealed)
    return {"field": "id_number", "value": value, "all": [value]}


def update_profile(s: Session, p: Principal, c: Customer, changes: dict) -> Customer:
    """Edit the record; name, kind and the primary phone are published (customers.customer.updated)."""
    published = False
    if "name" in changes and changes["name"] != c.name:
        c.name, c.name_key, published = changes["name"], name_key(changes["name"]), True
    if "kind" in changes and changes["kind"] != c.kind:
        c.kind, published = changes["kind"], True
    for attr in ("wechat", "email", "address", "preferred_store_id", "preferred_consultant_id", "tags"):
        if attr in changes:
            setattr(c, attr, changes[attr])
    if "birthday" in changes:
        b: date | None = changes["birthday"]
        c.birthday, c.birthday_md = b, b.strftime("%m-%d") if b else None
    for phone in filter(None, map(try_normalize, changes.get("phones") or [])):
        other = owner_of_phone(s, phone)
        if other is not None and other.id != c.id:
            if sees(s, p, other.id):
                raise Conflict("this phone belongs to another customer; merge them instead", "phone_taken",
                               {"phones": [f"{mask(phone)} is another customer's"]})
            # another store's customer: this record takes the number too, and the pair waits for review
            # (refusing would tell the caller that someone in the group has the number)
            propose(s, c, other, "shared_identifier")
        old_primary = c.phone
        if other is None or other.id != c.id:
            attach_phone(s, c, phone, label="other")
        published = published or c.phone != old_primary
    if changes.get("id_number"):
        other = owner_of_id_number(s, c.group_id, changes["id_number"])
        if other is not None and other.id != c.id and sees(s, p, other.id):
            raise Conflict("this ID number belongs to another customer; merge them instead", "id_taken",
                           {"id_number": ["belongs to another customer"]})
        if other is None or other.id != c.id:
            s.execute(delete(Identifier).where(Identifier.customer_id == c.id, Identifier.kind == "id_number"))
            c.id_number_sealed = None
            add_identifiers(s, c, None, changes["id_number"], new=True)
            if other is not None:
                propose(s, c, other, "shared_identifier")
    add_activity(s, c, "profile", {"fields": sorted(k for k in changes if k != "id_number")
                                   + (["id_number"] if changes.get("id_number") else [])}, actor=p.user_id)
    if published:
        emit_customer(s, c, "updated", p.user_id)
        propose_likely(s, c)
    c.updated_at = utcnow()
    return c


def change_consent(s: Session, actor: str | None, c: Customer, do_not_call: bool | None,
                   consent: dict | None) -> Customer:
    """Consent per channel and do-not-call; published so every queue and campaign honours it at once."""
    before = (c.do_not_call, consent_of(c))
    merged = consent_of(c)
    for ch, allowed in (consent or {}).items():
        if ch in CHANNELS:
            merged[ch] = bool(allowed)
    c.consent = merged
    if do_not_call is not None:
        c.do_not_call = do_not_call
    if (c.do_not_call, consent_of(c)) == before:
        return c
    add_activity(s, c, "consent", {"do_not_call": c.do_not_call, "consent": consent_of(c)}, actor=actor)
    emit_consent(s, c, actor)
    emit_customer(s, c, "updated", actor)
    return c


def export(s: Session, p: Principal, c: Customer) -> dict:
    """Everything the group holds about the person (PIPL access request), as JSON."""
    log_access(s, p, c, "export")
    pii = pii_of(s)

    def rows(model, *where):
        cols = [col.key for col in model.__table__.columns if col.key != "group_id"]
        return [{k: _plain(getattr(r, k)) for k in cols} for r in s.scalars(select(model).where(*where))]

    profile = {col.key: _plain(getattr(c, col.key)) for col in Customer.__table__.columns
               if col.key not in ("id_number_sealed", "name_key", "phone_last4", "birthday_md", "group_id")}
    profile["id_number"] = pii.unseal(c.group_id, c.id_number_sealed) if c.id_number_sealed else None
    profile["phones"] = list(s.scalars(select(Identifier.value).where(Identifier.customer_id == c.id,
                                                                      Identifier.kind == "phone")))
    return {"exported_at": utcnow().isoformat(), "profile": profile,
            "relationships": rows(StoreRelationship, StoreRelationship.customer_id == c.id),
            "leads": rows(CustomerLead, CustomerLead.customer_id == c.id),
            "vehicles": rows(Vehicle, Vehicle.customer_id == c.id),
            "service_visits": rows(ServiceVisit, ServiceVisit.customer_id == c.id),
            "insurance_policies": rows(InsurancePolicy, InsurancePolicy.customer_id == c.id),
            "timeline": rows(Activity, Activity.customer_id == c.id),
            "access_log": rows(AccessLog, AccessLog.customer_id == c.id)}


def _plain(v):
    if isinstance(v, (date,)):
        return v.isoformat()
    if v is not None and type(v).__name__ == "Decimal":
        return str(v)
    return v


def erase(s: Session, p: Principal, c: Customer, ground: str = "subject_request") -> str:
    """Remove the person, keep the aggregates: counts, classes, visits and amounts stay without who it was.

    Every record of the person goes: this one and the records merged into it. Other services learn it
    from customers.customer.erased (ids only: the customer, the leads matched to them, the erasure), and
    the events this service already sent about them lose their personal fields. The erasure's own
    traces (the access-log line, the timeline line) hold its ground and id only. Returns the erasure id.
    """
    erasure_id = new_id()
    people = [c, *_merged_into(s, c)]
    ids = [x.id for x in people]
    lead_ids = sorted(s.scalars(select(CustomerLead.lead_id).where(CustomerLead.customer_id.in_(ids))))
    log_access(s, p, c, "erase", ground)
    s.execute(delete(Identifier).where(Identifier.customer_id.in_(ids)))
    for x in people:
        _forget(x)
        scrub_snapshots(s, x.id)
    for v in s.scalars(select(Vehicle).where(Vehicle.customer_id.in_(ids))):
        v.plate = None
    for a in s.scalars(select(Activity).where(Activity.customer_id.in_(ids))):
        a.detail = {k: val for k, val in (a.detail or {}).items() if k in _AGGREGATE_KEYS}
    add_activity(s, c, "erased", {}, actor=p.user_id, ref_id=erasure_id)
    emit_consent(s, c, p.user_id)
    emit_customer(s, c, "updated", p.user_id)
    emit(s, Event(type="customers.customer.erased", group_id=c.group_id, actor=p.user_id,
                  data={"customer_id": c.id, "lead_ids": lead_ids, "erasure_id": erasure_id}))
    scrub(s, [*ids, *lead_ids], c.id)
    return erasure_id


def _merged_into(s: Session, c: Customer) -> list[Customer]:
    """The records merged into this one, and into those (a merge keeps the absorbed record's fields)."""
    out, frontier = [], [c.id]
    while frontier:
        found = list(s.scalars(select(Customer).where(Customer.merged_into.in_(frontier),
                                                      Customer.status == "merged")))
        out += found
        frontier = [x.id for x in found]
    return out


def _forget(c: Customer) -> None:
    c.name, c.name_key, c.phone, c.phone_last4 = ERASED_NAME, "", None, None
    c.id_number_masked = c.id_number_sealed = c.wechat = c.email = c.address = None
    c.birthday = c.birthday_md = c.preferred_consultant_id = None
    c.tags, c.do_not_call, c.consent = [], True, {ch: False for ch in CHANNELS}
    c.status = "erased"


_AGGREGATE_KEYS = {"kind", "amount", "price", "premium", "score", "satisfaction", "recommend", "repurchase",
                   "level", "from", "to", "source", "severity", "task_type", "outcome", "model", "won_back"}
