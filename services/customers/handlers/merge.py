"""Merging two records of one person, and undoing it exactly.

A merge moves the absorbed record's rows to the survivor and remembers which rows moved and both
records' fields; an unmerge moves those rows back and restores both records. Consent is the
strictest of the two while merged; an opt-out given while merged survives the unmerge on both.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Numeric, func, select, update
from sqlalchemy.orm import Session

from shared.bus import emit
from shared.db import utcnow
from shared.errors import Conflict, Invalid, NotFound
from shared.events import Event

from ..domain import strictest_consent, stronger_owner
from ..adapters.models import (Activity, Customer, CustomerLead, Identifier, InsurancePolicy, MatchCandidate, MergeRecord,
                      ServiceVisit, StoreRelationship, Vehicle)
from .common import add_activity, consent_of, emit_consent, emit_customer, profile_payload
from .relationships import emit_linked, refresh_classes, retier

MOVABLE = {"identifiers": Identifier, "vehicles": Vehicle, "service_visits": ServiceVisit,
           "insurance_policies": InsurancePolicy, "customer_leads": CustomerLead, "activities": Activity}
FIELDS = [c for c in Customer.__table__.columns if c.key not in ("id", "group_id", "created_at", "updated_at")]
REL_FACTS = ("customer_class", "level", "owner_kind", "defeated", "churned", "consultant_id", "last_visit_on")
FILL_BLANKS = ("phone", "phone_last4", "id_number_masked", "id_number_sealed", "wechat", "email", "address",
               "birthday", "birthday_md", "preferred_store_id", "preferred_consultant_id", "satisfaction",
               "recommend", "repurchase")


def _dump(v):
    return v.isoformat() if isinstance(v, (date, datetime)) else str(v) if isinstance(v, Decimal) else v


def _load(col, v):
    if v is None:
        return None
    if isinstance(col.type, Date):
        return date.fromisoformat(v)
    if isinstance(col.type, Numeric):
        return Decimal(v)
    return v


def fields_of(c: Customer) -> dict:
    return {col.key: _dump(getattr(c, col.key)) for col in FIELDS}


def restore_fields(c: Customer, saved: dict) -> None:
    for col in FIELDS:
        if col.key in saved:
            setattr(c, col.key, _load(col, saved[col.key]))


def _pk(model):
    return model.__mapper__.primary_key[0]


def merge(s: Session, survivor: Customer, absorbed: Customer, actor: str | None, reason: str | None = None,
          candidate: MatchCandidate | None = None) -> MergeRecord:
    """Absorb one record into the other (HQ or a manager decided they are one person)."""
    if survivor.id == absorbed.id:
        raise Invalid("a customer cannot be merged with itself", errors={"other_id": ["same customer"]})
    if "active" != survivor.status or "active" != absorbed.status:
        raise Conflict("only active records can be merged", "not_active")
    consent_before = [survivor.do_not_call, consent_of(survivor)]
    snap: dict = {"survivor": fields_of(survivor), "merged": fields_of(absorbed), "moved": {},
                  "survivor_relationships": {}, "kept_relationships": []}
    for key, model in MOVABLE.items():
        ids = list(s.scalars(select(_pk(model)).where(model.__table__.c.customer_id == absorbed.id)))
        snap["moved"][key] = ids
        if ids:
            s.execute(update(model).where(_pk(model).in_(ids)).values(customer_id=survivor.id),
                      execution_options={"synchronize_session": False})
    mine = {r.store_id: r for r in s.scalars(select(StoreRelationship)
                                             .where(StoreRelationship.customer_id == survivor.id))}
    moved_rels, gained = [], []
    for r in s.scalars(select(StoreRelationship).where(StoreRelationship.customer_id == absorbed.id)):
        keep = mine.get(r.store_id)
        if keep is None:
            moved_rels.append(r.id)
            gained.append(r)
            continue
        snap["survivor_relationships"][keep.id] = {k: _dump(getattr(keep, k)) for k in REL_FACTS}
        snap["kept_relationships"].append(r.id)
        keep.owner_kind = stronger_owner(keep.owner_kind, r.owner_kind)
        keep.level = keep.level or r.level
        keep.defeated = keep.defeated and r.defeated
        keep.churned = keep.churned and r.churned
        keep.consultant_id = keep.consultant_id or r.consultant_id
        keep.last_visit_on = max(filter(None, [keep.last_visit_on, r.last_visit_on]), default=None)
    snap["moved"]["relationships"] = moved_rels
    for r in gained:
        r.customer_id = survivor.id
    s.flush()
    s.expire_all()  # the bulk updates above bypassed the identity map
    for attr in FILL_BLANKS:
        if getattr(survivor, attr) is None:
            setattr(survivor, attr, getattr(absorbed, attr))
    survivor.tags = sorted(set(survivor.tags or []) | set(absorbed.tags or []))
    survivor.known_at = sorted(set(survivor.known_at or []) | set(absorbed.known_at or []))
    survivor.consent = strictest_consent(consent_of(survivor), consent_of(absorbed))
    survivor.do_not_call = survivor.do_not_call or absorbed.do_not_call
    survivor.open_complaints = (survivor.open_complaints or 0) + (absorbed.open_complaints or 0)
    snap["merged_consent"] = [survivor.do_not_call, survivor.consent]
    absorbed.status, absorbed.merged_into = "merged", survivor.id
    recompute_spend(s, survivor)
    retier(s, survivor, actor)
    refresh_classes(s, survivor, actor)
    m = MergeRecord(group_id=survivor.group_id, survivor_id=survivor.id, merged_id=absorbed.id, snapshot=snap,
                    reason=reason, merged_by=actor)
    s.add(m)
    if candidate is not None:
        candidate.status, candidate.decided_by, candidate.decided_at = "merged", actor, utcnow()
    s.flush()
    for r in gained:  # the contact list elsewhere learns the survivor's new stores
        emit_linked(s, survivor.id, r, actor)
    emit(s, Event(type="customers.customer.merged", group_id=survivor.group_id, actor=actor,
                  data={"survivor_id": survivor.id, "merged_id": absorbed.id, "merge_id": m.id,
                        **profile_payload(survivor)}))
    emit_customer(s, survivor, "updated", actor)
    if [survivor.do_not_call, consent_of(survivor)] != consent_before:
        emit_consent(s, survivor, actor)
    add_activity(s, survivor, "merged", {"merged_id": absorbed.id, "merge_id": m.id}, actor=actor)
    return m


def unmerge(s: Session, m: MergeRecord, actor: str | None) -> tuple[Customer, Customer]:
    """Undo a merge: both records, their rows and their store relationships come back as they were."""
    if m.unmerged_at is not None:
        raise Conflict("this merge was already undone", "already_unmerged")
    survivor, restored = s.get(Customer, m.survivor_id), s.get(Customer, m.merged_id)
    if survivor is None or restored is None:
        raise NotFound("customer")
    if survivor.status != "active":
        raise Conflict("the survivor was merged or erased since; undo that first", "survivor_not_active")
    snap = m.snapshot
    later_consent = [survivor.do_not_call, consent_of(survivor)] != snap["merged_consent"]
    now_consent = (survivor.do_not_call, consent_of(survivor))
    for key, model in MOVABLE.items():
        ids = snap["moved"].get(key) or []
        if ids:
            s.execute(update(model).where(_pk(model).in_(ids)).values(customer_id=restored.id),
                      execution_options={"synchronize_session": False})
    if snap["moved"].get("relationships"):
        s.execute(update(StoreRelationship).where(StoreRelationship.id.in_(snap["moved"]["relationships"]))
                  .values(customer_id=restored.id), execution_options={"synchronize_session": False})
    s.expire_all()
    for rel_id, facts in snap["survivor_relationships"].items():
        rel = s.get(StoreRelationship, rel_id)
        if rel is not None:
            for k in REL_FACTS:
                col = StoreRelationship.__table__.columns[k]
                setattr(rel, k, _load(col, facts[k]))
    restore_fields(survivor, snap["survivor"])
    restore_fields(restored, snap["merged"])
    for c in (survivor, restored):
        if later_consent:  # an opt-out given while merged was the person's wish: both keep it
            c.consent = strictest_consent(consent_of(c), now_consent[1])
            c.do_not_call = c.do_not_call or now_consent[0]
        recompute_spend(s, c)
        retier(s, c, actor)
        refresh_classes(s, c, actor)
    m.unmerged_at, m.unmerged_by = utcnow(), actor
    lo, hi = sorted((m.survivor_id, m.merged_id))
    cand = s.scalar(select(MatchCandidate).where(MatchCandidate.customer_a == lo, MatchCandidate.customer_b == hi))
    if cand is not None:
        cand.status, cand.decided_by, cand.decided_at = "rejected", actor, utcnow()
    s.flush()
    emit(s, Event(type="customers.customer.unmerged", group_id=survivor.group_id, actor=actor,
                  data={"survivor_id": survivor.id, "restored_id": restored.id, "merge_id": m.id,
                        **profile_payload(survivor)}))
    for c in (survivor, restored):
        emit_customer(s, c, "updated", actor)
        emit_consent(s, c, actor)
        add_activity(s, c, "unmerged", {"merge_id": m.id}, actor=actor)
    for r in s.scalars(select(StoreRelationship).where(StoreRelationship.customer_id == restored.id)):
        emit_linked(s, restored.id, r, actor)
    return survivor, restored


def recompute_spend(s: Session, c: Customer) -> None:
    """Lifetime spend from the records themselves: vehicle prices, repair orders, premiums."""
    total = Decimal("0")
    for model, col in ((Vehicle, Vehicle.price), (ServiceVisit, ServiceVisit.amount),
                       (InsurancePolicy, InsurancePolicy.premium)):
        total += Decimal(str(s.scalar(select(func.coalesce(func.sum(col), 0)).where(model.customer_id == c.id))))
    c.spend_total = total


def scrub_snapshots(s: Session, customer_id: str) -> None:
    """Erasure: merge snapshots must not keep the person's fields either."""
    for m in s.scalars(select(MergeRecord).where((MergeRecord.survivor_id == customer_id)
                                                 | (MergeRecord.merged_id == customer_id))):
        snap = dict(m.snapshot)
        for side in ("survivor", "merged"):
            snap[side] = {k: v for k, v in (snap.get(side) or {}).items() if k in ("kind", "status", "value_tier")}
        m.snapshot = snap
