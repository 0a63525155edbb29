"""Vehicles, service visits and insurance policies (from the DMS feeds and from deliveries)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.bus import emit
from shared.db import utcnow
from shared.events import Event

from ..domain import next_maintenance, owner_kind_for_visit, stronger_owner
from ..adapters.models import Customer, InsurancePolicy, ServiceVisit, Vehicle
from .common import add_activity, settings_of, store_brand
from .matching import policy_by_number, vehicle_by_vin
from .relationships import add_spend, relationship, touch


def register_vehicle(s: Session, c: Customer, vin: str, actor: str | None, *, plate: str | None = None,
                     brand_id: str | None = None, model: str | None = None, purchase_date: date | None = None,
                     selling_store_id: str | None = None, price: Decimal | None = None,
                     mileage: int | None = None, quiet: bool = False,
                     by_store: str | None = None) -> tuple[Vehicle, bool]:
    """Add the customer's vehicle, or complete what is known about it; publishes customers.vehicle.registered.

    `by_store`: the store whose record this is (None: HQ or the showroom's own events). A store changes
    only a car it sold; of a car sold elsewhere it fills in what nobody recorded yet (the seller's plate,
    price and the seller itself stay theirs). The mileage only ever grows, whoever reads the odometer.
    """
    v = vehicle_by_vin(s, vin)
    created = v is None
    if v is None:
        v = Vehicle(group_id=c.group_id, customer_id=c.id, vin=vin, price=Decimal("0"))
        s.add(v)
    elif v.customer_id != c.id:  # the car changed hands (used-car sale): it follows its new owner
        v.customer_id = c.id
        created = True
    ours = created or by_store is None or v.selling_store_id == by_store
    for attr, value in (("plate", plate), ("brand_id", brand_id), ("model", model),
                        ("purchase_date", purchase_date), ("selling_store_id", selling_store_id)):
        if value is not None and (ours or getattr(v, attr) is None):
            setattr(v, attr, value)
    if price and (ours or not v.price):
        v.price = Decimal(str(price))
    if mileage is not None and (v.mileage or 0) < mileage:
        v.mileage = mileage
    _reschedule(s, v)
    s.flush()
    if created:
        emit(s, Event(type="customers.vehicle.registered", group_id=c.group_id, brand_id=v.brand_id,
                      store_id=selling_store_id, actor=actor,
                      data={"customer_id": c.id, "vin": v.vin, "plate": v.plate, "brand_id": v.brand_id,
                            "model": v.model, "purchase_date": v.purchase_date,
                            "selling_store_id": v.selling_store_id}))
        if not quiet:  # a delivery has its own line on the timeline
            add_activity(s, c, "vehicle", {"vin": v.vin, "model": v.model, "plate": v.plate},
                         store_id=selling_store_id, ref_id=v.vin, actor=actor)
    return v, created


def local_noon(day: date) -> datetime:
    """A dated DMS record sits on the timeline at noon of its (Shanghai) day."""
    return datetime.combine(day, time(12), tzinfo=clock.zone()).astimezone(UTC)


def _reschedule(s: Session, v: Vehicle) -> None:
    rule = settings_of(s, v.group_id).rule_for(v.brand_id)
    v.next_maintenance_on = next_maintenance(rule, v.purchase_date, v.last_service_on, v.mileage)


def record_service_visit(s: Session, c: Customer, store_id: str, actor: str | None, *, repair_order: str,
                         visit_date: date, kind: str, vin: str | None = None, mileage: int | None = None,
                         amount: Decimal | None = None, plate: str | None = None, model: str | None = None,
                         brand_id: str | None = None, by_store: str | None = None) -> tuple[ServiceVisit, bool]:
    """A repair order: the store gains an owner (self-sold, other-sold, other-brand); a churned owner is won back.

    `by_store`: the store whose record this is, when it comes from a store user (see `register_vehicle`).
    """
    existing = s.scalar(select(ServiceVisit).where(ServiceVisit.store_id == store_id,
                                                   ServiceVisit.repair_order == repair_order))
    if existing is not None:
        return existing, False
    amount = Decimal(str(amount or 0))
    visit = ServiceVisit(group_id=c.group_id, store_id=store_id, customer_id=c.id, repair_order=repair_order,
                         vin=vin, visit_date=visit_date, mileage=mileage, kind=kind, amount=amount)
    s.add(visit)
    sbrand = store_brand(s, store_id)
    owner = "other_sold"
    if vin:
        v, _ = register_vehicle(s, c, vin, actor, plate=plate, model=model, brand_id=brand_id, mileage=mileage,
                                by_store=by_store)
        if v.last_service_on is None or v.last_service_on <= visit_date:
            v.last_service_on = visit_date
            _reschedule(s, v)
        owner = owner_kind_for_visit(v.selling_store_id, store_id, v.brand_id, sbrand)
    rel = relationship(s, c, store_id)
    won_back = bool(rel is not None and rel.churned)
    last = max(filter(None, [rel.last_visit_on if rel else None, visit_date]))
    touch(s, c, store_id, actor, brand_id=sbrand, owner_kind=stronger_owner(rel.owner_kind if rel else None, owner),
          churned=False, last_visit_on=last)
    add_spend(s, c, amount, actor)
    s.flush()
    emit(s, Event(type="customers.service.recorded", group_id=c.group_id, brand_id=sbrand, store_id=store_id,
                  actor=actor,
                  data={"customer_id": c.id, "visit_id": visit.id, "vin": vin, "store_id": store_id,
                        "visit_date": visit_date, "mileage": mileage, "kind": kind, "amount": amount,
                        "won_back": won_back}))
    add_activity(s, c, "service", {"repair_order": repair_order, "kind": kind, "vin": vin, "mileage": mileage,
                                   "amount": str(amount), "won_back": won_back},
                 store_id=store_id, ref_id=visit.id, actor=actor, at=local_noon(visit_date))
    return visit, True


def record_insurance(s: Session, c: Customer, actor: str | None, *, policy_no: str, insurer: str,
                     starts_on: date, ends_on: date, premium: Decimal | None = None, vin: str | None = None,
                     store_id: str | None = None) -> tuple[InsurancePolicy, bool]:
    """An insurance policy; renewing after a lapse counts as won back (断保回追)."""
    existing = policy_by_number(s, policy_no)
    if existing is not None:
        return existing, False
    if store_id:  # the store knows the customer now (and so sees their earlier policies below)
        touch(s, c, store_id, actor)
    prev_q = select(InsurancePolicy).where(InsurancePolicy.customer_id == c.id)
    prev_q = prev_q.where(InsurancePolicy.vin == vin) if vin else prev_q
    prev = s.scalar(prev_q.order_by(InsurancePolicy.ends_on.desc()).limit(1))
    won_back = bool(prev and prev.ends_on < starts_on and prev.ends_on < utcnow().date())
    premium = Decimal(str(premium or 0))
    p = InsurancePolicy(group_id=c.group_id, customer_id=c.id, policy_no=policy_no, vin=vin, store_id=store_id,
                        insurer=insurer, starts_on=starts_on, ends_on=ends_on, premium=premium)
    s.add(p)
    if vin:
        register_vehicle(s, c, vin, actor)
    add_spend(s, c, premium, actor)
    s.flush()
    emit(s, Event(type="customers.insurance.recorded", group_id=c.group_id, store_id=store_id, actor=actor,
                  data={"customer_id": c.id, "policy_id": p.id, "vin": vin, "insurer": insurer,
                        "starts_on": starts_on, "ends_on": ends_on, "premium": premium, "won_back": won_back}))
    add_activity(s, c, "insurance", {"policy_no": policy_no, "insurer": insurer, "starts_on": str(starts_on),
                                     "ends_on": str(ends_on), "premium": str(premium), "won_back": won_back},
                 store_id=store_id, ref_id=p.id, actor=actor, at=min(local_noon(starts_on), utcnow()))
    return p, True
