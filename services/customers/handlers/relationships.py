"""Store relationships: the facts a store knows about a customer, and the class derived from them."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.bus import emit
from shared.db import add, utcnow
from shared.events import Event
from shared.tenancy import WRITE_SCOPE, Scope

from ..domain import RelationshipFacts, derive_class, value_tier
from ..adapters.models import Customer, StoreRelationship
from .common import settings_of, store_brand

FACTS = ("owner_kind", "level", "defeated", "churned", "last_visit_on", "consultant_id")


def facts_of(rel: StoreRelationship, c: Customer) -> RelationshipFacts:
    return RelationshipFacts(owner_kind=rel.owner_kind, level=rel.level, defeated=bool(rel.defeated),
                             churned=bool(rel.churned), vip=c.value_tier == "VIP")


def relationship(s: Session, c: Customer, store_id: str) -> StoreRelationship | None:
    return s.scalar(select(StoreRelationship).where(StoreRelationship.customer_id == c.id,
                                                    StoreRelationship.store_id == store_id))


def relationships_of(s: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], StoreRelationship]:
    """The existing relationships among (customer id, store id) pairs, in one look-up (for `touch(rels=…)`)."""
    if not pairs:
        return {}
    q = select(StoreRelationship).where(StoreRelationship.customer_id.in_({c for c, _ in pairs}),
                                        StoreRelationship.store_id.in_({st for _, st in pairs}))
    return {(r.customer_id, r.store_id): r for r in s.scalars(q) if (r.customer_id, r.store_id) in pairs}


def touch(s: Session, c: Customer, store_id: str, actor: str | None, *, brand_id: str | None = None,
          lead_id: str | None = None, new_customer: bool = False,
          rels: dict[tuple[str, str], StoreRelationship] | None = None, **facts) -> StoreRelationship:
    """Record facts about the customer at one store; link the store on first contact; publish class changes.

    `rels`: the relationships a batch looked up beforehand (`relationships_of`), kept up to date here;
    without it the relationship is looked up.
    """
    unknown = set(facts) - set(FACTS)
    if unknown:
        raise TypeError(f"unknown relationship facts: {unknown}")
    found = rels.get((c.id, store_id)) if rels is not None else relationship(s, c, store_id)
    created = found is None
    if found is not None:
        rel = found
    else:
        rel = StoreRelationship(group_id=c.group_id, customer_id=c.id, store_id=store_id,
                                brand_id=brand_id or store_brand(s, store_id) or "", customer_class="potential",
                                defeated=False, churned=False)
        add(s, rel)
        if rels is not None:
            rels[(c.id, store_id)] = rel
        c.known_at = sorted(set(c.known_at or []) | {store_id})
    for k, v in facts.items():
        setattr(rel, k, v)
    rel.last_seen_at = utcnow()
    new_class = derive_class(facts_of(rel, c))
    old_class = None if created else rel.customer_class
    rel.customer_class = new_class
    if created:  # the link carries the first class; `changed` is for later changes
        emit_linked(s, c.id, rel, actor, lead_id=lead_id, new_customer=new_customer)
    elif old_class != new_class:
        _emit_changed(s, c, rel, old_class, actor)
    return rel


def emit_linked(s: Session, customer_id: str, rel: StoreRelationship, actor: str | None, *,
                lead_id: str | None = None, new_customer: bool = False) -> None:
    """customers.relationship.linked: the store knows the customer now (first contact, merge, unmerge)."""
    emit(s, Event(type="customers.relationship.linked", group_id=rel.group_id, brand_id=rel.brand_id,
                  store_id=rel.store_id, actor=actor,
                  data={"customer_id": customer_id, "store_id": rel.store_id, "brand_id": rel.brand_id,
                        "customer_class": rel.customer_class, "lead_id": lead_id, "new_customer": new_customer}))


def refresh_classes(s: Session, c: Customer, actor: str | None) -> None:
    """Re-derive the class of every relationship the unit of work may change (after a tier change, a merge
    or an unmerge): all of them in HQ's and the worker's, the caller's stores' in a store user's."""
    writer: Scope = s.info.get(WRITE_SCOPE) or s.info["scope"]
    for rel in s.scalars(select(StoreRelationship).where(StoreRelationship.customer_id == c.id)):
        if not writer.sees_store(rel.store_id):
            continue
        new_class = derive_class(facts_of(rel, c))
        if new_class != rel.customer_class:
            old, rel.customer_class = rel.customer_class, new_class
            _emit_changed(s, c, rel, old, actor)


def _emit_changed(s: Session, c: Customer, rel: StoreRelationship, old: str | None, actor: str | None) -> None:
    emit(s, Event(type="customers.relationship.changed", group_id=c.group_id, brand_id=rel.brand_id,
                  store_id=rel.store_id, actor=actor,
                  data={"customer_id": c.id, "store_id": rel.store_id, "brand_id": rel.brand_id,
                        "from_class": old, "to_class": rel.customer_class}))


def add_spend(s: Session, c: Customer, amount: Decimal | float | int | None, actor: str | None) -> None:
    """Lifetime spend moves the value tier (VIP/A/B/C/D); a VIP tier makes owners VIP at their stores."""
    if not amount:
        return
    c.spend_total = Decimal(str(c.spend_total or 0)) + Decimal(str(amount))
    retier(s, c, actor)


def retier(s: Session, c: Customer, actor: str | None) -> None:
    """The value tier follows lifetime spend; a move in or out of VIP re-derives the class at every store.

    A store user's unit of work re-derives its own stores' relationships (it may not write another
    store's); the others are re-derived by the customers worker on customers.customer.retiered.
    """
    tier = value_tier(c.spend_total or 0, settings_of(s, c.group_id).tiers)
    if tier != c.value_tier:
        vip_moved = "VIP" in (tier, c.value_tier)
        c.value_tier = tier
        refresh_classes(s, c, actor)
        writer: Scope = s.info.get(WRITE_SCOPE) or s.info["scope"]
        if vip_moved and any(not writer.sees_store(st) for st in c.known_at or []):
            emit(s, Event(type="customers.customer.retiered", group_id=c.group_id, actor=actor,
                          data={"customer_id": c.id, "value_tier": tier}))
