"""The daily care run: publish due schedules (maintenance, insurance, birthday, churn, lapse) exactly once.

Every trigger has a stable id (domain.schedule_id); the schedule log remembers which ids were
published, so running the same day twice, or every hour, publishes nothing new.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.bus.outbox import emit_many
from shared.db import Database
from shared.events import Event
from shared.tenancy import Scope

from ..domain import (OWNER_CLASSES, add_months, churn_stage, insurance_notice, month_days_ahead,
                      schedule_id)
from ..adapters.models import Customer, InsurancePolicy, ScheduleLog, StoreRelationship, Vehicle
from .common import settings_of
from .relationships import touch

log = logging.getLogger(__name__)
CHUNK = 500


@dataclass
class Due:
    kind: str
    schedule_id: str
    customer_id: str
    due_on: date
    vin: str | None = None
    store_id: str | None = None
    brand_id: str | None = None
    detail: dict = field(default_factory=dict)


def groups_with_customers(s: Session) -> list[str]:
    return list(s.scalars(select(Customer.group_id).distinct()))


def run_schedules(db: Database, today: date, scopes: Iterable[Scope]) -> dict[str, int]:
    """Publish what is due on `today` (local date) in the group of each of `scopes`, one transaction per
    group; returns counts per kind. The caller gives the scopes: the daily job and `crm` one per group
    (`bootstrap.group_scopes`), the admin endpoint its caller's own."""
    totals: dict[str, int] = {}
    for scope in scopes:
        gid = scope.group_id
        assert gid, "schedules are published one group at a time"
        for attempt in (1, 2):
            try:
                with db.session(scope) as s:
                    counts = publish_due(s, gid, today)
                break
            except IntegrityError:  # another run published the same ids at the same moment: look again
                if attempt == 2:
                    raise
        for k, n in counts.items():
            totals[k] = totals.get(k, 0) + n
    log.info("customers schedules for %s: %s", today, totals)
    return totals


def publish_due(s: Session, group_id: str, today: date) -> dict[str, int]:
    cfg = settings_of(s, group_id)
    due = [*_maintenance(s, group_id, today, cfg), *_insurance(s, group_id, today, cfg),
           *_birthdays(s, group_id, today, cfg), *_churn(s, group_id, today, cfg)]
    live = _active_ids(s, {d.customer_id for d in due})
    due = [d for d in due if d.customer_id in live]
    seen: set[str] = set()
    ids = [d.schedule_id for d in due]
    for i in range(0, len(ids), CHUNK):
        seen |= set(s.scalars(select(ScheduleLog.schedule_id).where(ScheduleLog.schedule_id.in_(ids[i:i + CHUNK]))))
    new = [d for d in due if d.schedule_id not in seen]
    counts: dict[str, int] = {}
    events = []
    for d in new:
        if d.kind == "churned" and d.detail.get("relationship_id"):
            rel = s.get(StoreRelationship, d.detail.pop("relationship_id"))
            c = s.get(Customer, d.customer_id)
            if rel is not None and c is not None and not rel.churned:
                touch(s, c, rel.store_id, None, churned=True)
        s.add(ScheduleLog(group_id=group_id, schedule_id=d.schedule_id, kind=d.kind, customer_id=d.customer_id,
                          due_on=d.due_on))
        events.append(Event(type=f"customers.schedule.{d.kind}", group_id=group_id, store_id=d.store_id,
                            brand_id=d.brand_id,
                            data={"customer_id": d.customer_id, "schedule_id": d.schedule_id, "due_on": d.due_on,
                                  "vin": d.vin, "detail": d.detail}))
        counts[d.kind] = counts.get(d.kind, 0) + 1
    s.flush()
    emit_many(s, events)
    return counts


def _active_ids(s: Session, ids: set[str]) -> set[str]:
    out: set[str] = set()
    ordered = sorted(ids)
    for i in range(0, len(ordered), CHUNK):
        out |= set(s.scalars(select(Customer.id).where(Customer.id.in_(ordered[i:i + CHUNK]),
                                                       Customer.status == "active")))
    return out


def _maintenance(s: Session, gid: str, today: date, cfg) -> list[Due]:
    """Maintenance due (保养提醒) within the notice days; long-overdue cars are churn, not reminders."""
    rows = s.execute(select(Vehicle.customer_id, Vehicle.vin, Vehicle.next_maintenance_on, Vehicle.selling_store_id,
                            Vehicle.brand_id, Vehicle.mileage)
                     .where(Vehicle.next_maintenance_on <= today + timedelta(days=cfg.maintenance_notice_days),
                            Vehicle.next_maintenance_on >= today - timedelta(days=60)))
    return [Due("maintenance_due", schedule_id("maintenance_due", gid, r.vin, r.next_maintenance_on), r.customer_id,
                r.next_maintenance_on, vin=r.vin, store_id=r.selling_store_id, brand_id=r.brand_id,
                detail={"mileage": r.mileage}) for r in rows]


def _insurance(s: Session, gid: str, today: date, cfg) -> list[Due]:
    """Renewal notices at 60 and 30 days (续保提醒), and lapsed policies (断保) not renewed."""
    horizon = today + timedelta(days=max(cfg.insurance_notice_days or (0,)))
    policies = list(s.scalars(select(InsurancePolicy).where(
        InsurancePolicy.ends_on <= horizon, InsurancePolicy.ends_on >= today - timedelta(days=cfg.lapsed_window_days))))
    customers = sorted({p.customer_id for p in policies})
    latest: dict[tuple, date] = {}
    for i in range(0, len(customers), CHUNK):
        for p in s.scalars(select(InsurancePolicy).where(InsurancePolicy.customer_id.in_(customers[i:i + CHUNK]))):
            key = (p.customer_id, p.vin)
            latest[key] = max(latest.get(key, p.ends_on), p.ends_on)
    out = []
    for p in policies:
        if latest[(p.customer_id, p.vin)] > p.ends_on:
            continue  # renewed
        detail = {"policy_no": p.policy_no, "insurer": p.insurer, "ends_on": p.ends_on.isoformat()}
        if today > p.ends_on:
            out.append(Due("insurance_lapsed", schedule_id("insurance_lapsed", gid, p.id), p.customer_id,
                           p.ends_on + timedelta(days=1), vin=p.vin, store_id=p.store_id, detail=detail))
            continue
        notice = insurance_notice(p.ends_on, today, cfg.insurance_notice_days)
        if notice:
            out.append(Due("insurance_expiring", schedule_id("insurance_expiring", gid, p.id, notice), p.customer_id,
                           p.ends_on - timedelta(days=notice), vin=p.vin, store_id=p.store_id,
                           detail={**detail, "days": notice}))
    return out


def _birthdays(s: Session, gid: str, today: date, cfg) -> list[Due]:
    days = month_days_ahead(today, cfg.birthday_notice_days)
    when = {md: d for md, d in days}
    rows = s.execute(select(Customer.id, Customer.birthday_md, Customer.preferred_store_id)
                     .where(Customer.birthday_md.in_(list(when)), Customer.status == "active"))
    return [Due("birthday", schedule_id("birthday", gid, r.id, when[r.birthday_md].year), r.id, when[r.birthday_md],
                store_id=r.preferred_store_id) for r in rows]


def _churn(s: Session, gid: str, today: date, cfg) -> list[Due]:
    """Owners with no visit for the churn period (流失, default 12 months); 'lost' after 24."""
    cutoff = add_months(today, -cfg.churn_months)
    rows = s.scalars(select(StoreRelationship).where(
        StoreRelationship.customer_class.in_(OWNER_CLASSES + ("churned",)), StoreRelationship.last_visit_on <= cutoff))
    out = []
    for r in rows:
        stage = churn_stage(r.last_visit_on, today, cfg)
        if stage is None or r.last_visit_on is None:
            continue
        out.append(Due("churned", schedule_id("churned", gid, r.id, r.last_visit_on, stage), r.customer_id,
                       today, store_id=r.store_id, brand_id=r.brand_id,
                       detail={"stage": stage, "last_visit_on": r.last_visit_on.isoformat(),
                               "relationship_id": r.id}))
    return out
