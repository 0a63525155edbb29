"""Reads: search in the caller's scope, and the 360 view an agent reads during a call."""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.phones import try_normalize

from .domain import OWNER_CLASSES, RuleError, churn_risk, name_key, normalize_id_number, normalize_plate, \
    normalize_vin, recommend_class
from .adapters.models import (Activity, Customer, CustomerLead, Identifier, InsurancePolicy, ServiceVisit, StoreRef,
                      StoreRelationship, Vehicle)
from .pii import pii_of
from .handlers.access import log_access
from .handlers.common import active, consent_of, settings_of, visible
from .handlers.privacy import phone_for

_ID_LIKE = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
_PLATE_LIKE = re.compile(r"^[\u4e00-\u9fff][A-Za-z][A-Za-z0-9·\s-]{4,7}$")


def classify_query(text: str) -> tuple[str, str]:
    """What a single search box was given: a phone, a VIN, an ID number, a plate or a name."""
    text = text.strip()
    compact = re.sub(r"[\s-]+", "", text)
    if try_normalize(text):
        return "phone", text
    if _ID_LIKE.match(compact):
        return "id_number", compact
    if len(compact) == 17:
        try:
            return "vin", normalize_vin(compact)
        except RuleError:
            pass
    if _PLATE_LIKE.match(text):
        return "plate", normalize_plate(text)
    return "name", text


def search(s: Session, group_id: str, q: dict) -> tuple[list[Customer], int]:
    """Customers matching every given criterion, in the session's scope; (page, total)."""
    conds = [Customer.status == "active"]
    if q.get("q"):
        kind, value = classify_query(q["q"])
        q = {**q, kind: value}
    if q.get("phone"):
        e164 = try_normalize(q["phone"])
        if e164 is None:
            return [], 0
        conds.append(Customer.id.in_(select(Identifier.customer_id).where(
            Identifier.kind == "phone", Identifier.value == e164)))
    if q.get("id_number"):
        try:
            key = pii_of(s).lookup_key(group_id, normalize_id_number(q["id_number"]))
        except RuleError:
            return [], 0
        conds.append(Customer.id.in_(select(Identifier.customer_id).where(
            Identifier.kind == "id_number", Identifier.value == key)))
    if q.get("vin"):
        conds.append(Customer.id.in_(select(Vehicle.customer_id).where(Vehicle.vin == q["vin"].upper())))
    if q.get("plate"):
        conds.append(Customer.id.in_(select(Vehicle.customer_id).where(Vehicle.plate == normalize_plate(q["plate"]))))
    if q.get("name"):
        conds.append(Customer.name_key.contains(name_key(q["name"]), autoescape=True))
    if q.get("customer_class"):
        conds.append(Customer.id.in_(select(StoreRelationship.customer_id).where(
            StoreRelationship.customer_class == q["customer_class"])))
    if q.get("value_tier"):
        conds.append(Customer.value_tier == q["value_tier"])
    page, per_page = q.get("page", 1), q.get("per_page", 20)
    rows = list(s.scalars(select(Customer).where(*conds).order_by(Customer.created_at.desc(), Customer.id)
                          .limit(per_page + 1).offset((page - 1) * per_page)))
    if page == 1 and len(rows) <= per_page:
        return rows, len(rows)
    return rows[:per_page], s.scalar(select(func.count(Customer.id)).where(*conds)) or 0


def search_rows(s: Session, p: Principal, q: dict) -> tuple[list[dict], int]:
    """A page of search results as the caller may see them, and the number of matches in their scope."""
    found, total = search(s, p.group_id, q)
    rels = relationships_of(s, [c.id for c in found])
    stores = store_names(s)
    return [present_row(p, c, rels[c.id], stores) for c in found], total


def one(s: Session, p: Principal, customer_id: str) -> dict:
    """One customer with their store relationships, as the caller may see them (NotFound outside the scope)."""
    c = visible(s, customer_id)
    return present_row(p, c, relationships_of(s, [c.id])[c.id], store_names(s))


def people(s: Session, p: Principal, customers: dict[str, Customer]) -> dict[str, dict]:
    """Several customers by id, as the caller may see them (the review page)."""
    rels = relationships_of(s, list(customers))
    stores = store_names(s)
    return {i: present_row(p, c, rels[i], stores) for i, c in customers.items()}


def relationships_of(s: Session, ids: list[str]) -> dict[str, list[StoreRelationship]]:
    out: dict[str, list[StoreRelationship]] = {i: [] for i in ids}
    if ids:
        for r in s.scalars(select(StoreRelationship).where(StoreRelationship.customer_id.in_(ids))):
            out[r.customer_id].append(r)
    return out


def store_names(s: Session) -> dict[str, StoreRef]:
    return {r.id: r for r in s.scalars(select(StoreRef))}


def present_row(p: Principal, c: Customer, rels: list[StoreRelationship], stores: dict) -> dict:
    """A search result (`rels`: the relationships the caller's scope sees); the phone masked by role
    (`shared.privacy`: whole only for the customer's consultant and the manager of a store of theirs)."""
    own = {r.store_id for r in rels}
    return {"id": c.id, "kind": c.kind, "name": c.name, "phone": phone_for(p, c, rels),
            "do_not_call": c.do_not_call, "value_tier": c.value_tier,
            "relationships": [_rel(r, stores) for r in rels],
            "other_stores": [_store(sid, stores) for sid in (c.known_at or []) if sid not in own]}


def _store(store_id: str, stores: dict) -> dict:
    ref = stores.get(store_id)
    return {"store_id": store_id, "store_name": ref.name if ref else store_id,
            "brand_id": ref.brand_id if ref else None}


def _rel(r: StoreRelationship, stores: dict) -> dict:
    return {**_store(r.store_id, stores), "brand_id": r.brand_id, "customer_class": r.customer_class,
            "level": r.level, "owner_kind": r.owner_kind, "consultant_id": r.consultant_id,
            "last_visit_on": r.last_visit_on, "first_seen_at": r.first_seen_at}


def customer_360(s: Session, p: Principal, customer_id: str) -> dict | None:
    """Everything in one read, for the agent on the call; the read itself is logged."""
    c = s.get(Customer, customer_id)
    if c is None or c.status == "merged":
        c = active(s, customer_id)
    if c is None:
        return None
    log_access(s, p, c, "view_360")
    stores = store_names(s)
    rels = list(s.scalars(select(StoreRelationship).where(StoreRelationship.customer_id == c.id)
                          .order_by(StoreRelationship.first_seen_at)))
    mine = p.store_ids  # None: HQ and the call center see the deals of every store
    vehicles = list(s.scalars(select(Vehicle).where(Vehicle.customer_id == c.id).order_by(Vehicle.purchase_date)))
    visits = list(s.scalars(select(ServiceVisit).where(ServiceVisit.customer_id == c.id)
                            .order_by(ServiceVisit.visit_date.desc()).limit(50)))
    policies_q = select(InsurancePolicy).where(InsurancePolicy.customer_id == c.id)
    if mine is not None:  # another store's policy is that store's business; the group's own ones are shown
        policies_q = policies_q.where(InsurancePolicy.store_id.is_(None) | InsurancePolicy.store_id.in_(sorted(mine)))
    policies = list(s.scalars(policies_q.order_by(InsurancePolicy.ends_on.desc()).limit(20)))
    leads = list(s.scalars(select(CustomerLead).where(CustomerLead.customer_id == c.id)
                           .order_by(CustomerLead.created_at.desc()).limit(20)))
    timeline = list(s.scalars(select(Activity).where(Activity.customer_id == c.id)
                              .order_by(Activity.occurred_at.desc()).limit(100)))
    cfg = settings_of(s, c.group_id)
    owner_rels = [r for r in rels if r.customer_class in OWNER_CLASSES + ("churned",)]
    last_visit = max((r.last_visit_on for r in owner_rels if r.last_visit_on), default=None)
    row = present_row(p, c, rels, stores)
    return {
        "profile": {**row, "phones": s.scalar(select(func.count(Identifier.id)).where(
                        Identifier.customer_id == c.id, Identifier.kind == "phone")) or 0,
                    "id_number": c.id_number_masked, "wechat": c.wechat, "email": c.email, "address": c.address,
                    "birthday": c.birthday, "tags": c.tags or [], "status": c.status,
                    "preferred_store": _store(c.preferred_store_id, stores) if c.preferred_store_id else None,
                    "preferred_consultant_id": c.preferred_consultant_id,
                    "spend_total": c.spend_total if mine is None else None, "created_at": c.created_at},
        "consent": {"do_not_call": c.do_not_call, **consent_of(c)},
        "loyalty": {"satisfaction": c.satisfaction, "recommend": recommend_class(c.recommend),
                    "repurchase": c.repurchase, "open_complaints": c.open_complaints,
                    "churn_risk": churn_risk(last_visit, utcnow().date(), cfg.churn_months, c.satisfaction,
                                             c.open_complaints or 0, bool(owner_rels))},
        "vehicles": [{"vin": v.vin, "plate": v.plate, "brand_id": v.brand_id, "model": v.model,
                      "purchase_date": v.purchase_date, "mileage": v.mileage, "last_service_on": v.last_service_on,
                      "next_maintenance_on": v.next_maintenance_on,
                      "selling_store": _store(v.selling_store_id, stores) if v.selling_store_id else None,
                      "price": v.price if mine is None or v.selling_store_id in mine else None} for v in vehicles],
        "service_visits": [{"id": v.id, "store": _store(v.store_id, stores), "repair_order": v.repair_order,
                            "vin": v.vin, "visit_date": v.visit_date, "mileage": v.mileage, "kind": v.kind,
                            "amount": v.amount} for v in visits],
        "insurance_policies": [{"policy_no": i.policy_no, "vin": i.vin, "insurer": i.insurer,
                                "starts_on": i.starts_on, "ends_on": i.ends_on,
                                "premium": i.premium if mine is None or i.store_id in mine else None}
                               for i in policies],
        "leads": [{"lead_id": ld.lead_id, "store": _store(ld.store_id, stores), "source": ld.source,
                   "level": ld.level, "model": ld.model, "outcome": ld.outcome, "order_id": ld.order_id,
                   "order_price": ld.order_price, "created_at": ld.created_at,
                   "consultant_id": ld.consultant_id} for ld in leads],
        "timeline": [{"kind": a.kind, "at": a.occurred_at, "store": _store(a.store_id, stores) if a.store_id else None,
                      "detail": a.detail or {}, "actor": a.actor} for a in timeline],
    }
