"""Personal data (PIPL): profile edits, consent, logged reads and reveals, export and erasure."""
from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import fail
from shared.phones import mask

from ..domain import CHANNELS, name_key
from ..models import (AccessLog, Activity, Customer, CustomerLead, Identifier, InsurancePolicy, ServiceVisit,
                      StoreRelationship, Vehicle)
from ..pii import pii_of
from .common import add_activity, consent_of, emit_consent, emit_customer
from .identity import add_identifiers, find_by_id_number, find_by_phone, propose_likely

FULL_PHONE_ROLES = frozenset({"group_admin", "cc_agent", "cc_supervisor", "store_manager"})
ERASED_NAME = ""


def log_access(s: Session, p: Principal, c: Customer, action: str, reason: str | None = None) -> None:
    s.add(AccessLog(group_id=c.group_id, customer_id=c.id, user_id=p.user_id, username=p.username, role=p.role,
                    store_id=p.home_store, action=action, reason=reason))


def sees_full_phone(p: Principal, rels: list[StoreRelationship]) -> bool:
    """Agents and managers need the number; a consultant only for their own customers (no poaching)."""
    if p.role in FULL_PHONE_ROLES:
        return True
    if p.role == "sales_consultant":
        return any(r.consultant_id == p.user_id for r in rels)
    return False


def shown_phone(p: Principal, c: Customer, rels: list[StoreRelationship]) -> str | None:
    return c.phone if sees_full_phone(p, rels) else (mask(c.phone) or None)


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
    for phone in changes.get("phones") or []:
        other = find_by_phone(s, phone)
        if other is not None and other.id != c.id:
            fail(409, "this phone belongs to another customer; merge them instead", "phone_taken",
                 {"phones": [f"{mask(phone)} is another customer's"]})
        old_primary = c.phone
        add_identifiers(s, c, phone, None, label="other")
        published = published or c.phone != old_primary
    if changes.get("id_number"):
        other = find_by_id_number(s, c.group_id, changes["id_number"])
        if other is not None and other.id != c.id:
            fail(409, "this ID number belongs to another customer; merge them instead", "id_taken",
                 {"id_number": ["belongs to another customer"]})
        if other is None:
            s.execute(delete(Identifier).where(Identifier.customer_id == c.id, Identifier.kind == "id_number"))
            c.id_number_sealed = None
            add_identifiers(s, c, None, changes["id_number"])
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


def erase(s: Session, p: Principal, c: Customer, reason: str) -> Customer:
    """Remove the person, keep the aggregates: counts, classes, visits and amounts stay without who it was."""
    log_access(s, p, c, "erase", reason)
    s.execute(delete(Identifier).where(Identifier.customer_id == c.id))
    c.name, c.name_key, c.phone, c.phone_last4 = ERASED_NAME, "", None, None
    c.id_number_masked = c.id_number_sealed = c.wechat = c.email = c.address = None
    c.birthday = c.birthday_md = c.preferred_consultant_id = None
    c.tags, c.do_not_call, c.consent = [], True, {ch: False for ch in CHANNELS}
    c.status = "erased"
    for v in s.scalars(select(Vehicle).where(Vehicle.customer_id == c.id)):
        v.plate = None
    for a in s.scalars(select(Activity).where(Activity.customer_id == c.id)):
        a.detail = {k: val for k, val in (a.detail or {}).items() if k in _AGGREGATE_KEYS}
    add_activity(s, c, "erased", {}, actor=p.user_id)
    emit_consent(s, c, p.user_id)
    emit_customer(s, c, "updated", p.user_id)
    return c


_AGGREGATE_KEYS = {"kind", "amount", "price", "premium", "score", "satisfaction", "recommend", "repurchase",
                   "level", "from", "to", "source", "severity", "task_type", "outcome", "model", "won_back"}
