"""Read models: the lead list with its filters, the store board, the funnel, the card audit."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.permissions import CONSULTANT, MANAGER
from shared.phones import try_normalize

from ..domain import CLOSED, LEVELS
from ..domain_funnel import close_ratio, funnel, refill_needed
from ..models import Defeat, Lead, Order, StaffRef, StoreRef, TestDrive
from .common import now, rules_of


def searches_digits(viewer: Principal | None) -> bool:
    """Whether a search may match part of a phone number: only for those who see every number in their
    scope whole (a consultant their own leads, a manager their store's). For the others the list shows
    numbers masked, and a search on the hidden digits would give them back one probe at a time: they
    find a lead by its whole number (or its name)."""
    return viewer is not None and viewer.role in (CONSULTANT, MANAGER)


def lead_query(q: dict, at: datetime | None = None, viewer: Principal | None = None) -> Select:
    """The lead list: filters from the query string, overdue first (most overdue on top), then newest."""
    at = at or now()
    stmt = select(Lead)
    if q.get("store_id"):
        stmt = stmt.where(Lead.store_id == q["store_id"])
    if q.get("level"):
        stmt = stmt.where(Lead.level == q["level"])
    elif q.get("open"):
        stmt = stmt.where(Lead.level.in_(LEVELS))
    if q.get("consultant_id"):
        stmt = stmt.where(Lead.consultant_id == q["consultant_id"])
    if q.get("unassigned"):
        stmt = stmt.where(Lead.consultant_id.is_(None), Lead.level.in_(LEVELS))
    if q.get("source"):
        stmt = stmt.where(Lead.source == q["source"])
    if q.get("overdue") is True:
        stmt = stmt.where(Lead.overdue_at <= at)
    elif q.get("overdue") is False:
        stmt = stmt.where(or_(Lead.overdue_at.is_(None), Lead.overdue_at > at))
    if q.get("stale"):
        stmt = stmt.where(Lead.level.in_(LEVELS), func.coalesce(Lead.last_contact_at, Lead.created_at)
                           < at - timedelta(days=q["stale_days"]))
    if q.get("q"):
        text = q["q"].strip()
        phone = try_normalize(text)
        if phone:
            stmt = stmt.where(Lead.phone == phone)
        elif searches_digits(viewer):
            stmt = stmt.where(or_(Lead.name.contains(text, autoescape=True),
                                  Lead.phone.contains(text, autoescape=True)))
        else:
            stmt = stmt.where(Lead.name.contains(text, autoescape=True))
    return stmt.order_by(Lead.overdue_at.asc().nulls_last(), Lead.created_at.desc())


def page_of(s: Session, stmt: Select, page: int, per_page: int) -> tuple[list, int]:
    total = s.scalar(stmt.with_only_columns(func.count(Lead.id)).order_by(None)) or 0
    rows = list(s.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return rows, total


def staff_names(s: Session, store_id: str | None = None) -> dict[str, str]:
    stmt = select(StaffRef.id, StaffRef.name)
    if store_id:
        stmt = stmt.where(StaffRef.store_id == store_id)
    return dict(s.execute(stmt).tuples().all())


def consultants(s: Session, store_id: str, active_only: bool = True) -> list[StaffRef]:
    stmt = select(StaffRef).where(StaffRef.store_id == store_id, StaffRef.role == CONSULTANT)
    if active_only:
        stmt = stmt.where(StaffRef.active.is_(True))
    return list(s.scalars(stmt.order_by(StaffRef.username)))


def level_counts(s: Session, store_id: str | None, consultant_id: str | None = None) -> dict[str, int]:
    stmt = select(Lead.level, func.count(Lead.id)).group_by(Lead.level)
    if store_id:
        stmt = stmt.where(Lead.store_id == store_id)
    if consultant_id:
        stmt = stmt.where(Lead.consultant_id == consultant_id)
    counts = dict(s.execute(stmt).tuples().all())
    return {lv: counts.get(lv, 0) for lv in LEVELS + CLOSED}


def board(s: Session, store: StoreRef) -> dict:
    """The store board: open leads by level, overdue per consultant, SLA breaches, pending defeats, unassigned."""
    at = now()
    overdue = dict(s.execute(select(Lead.consultant_id, func.count(Lead.id))
                             .where(Lead.store_id == store.id, Lead.overdue_at <= at)
                             .group_by(Lead.consultant_id)).tuples().all())
    per_consultant = dict(s.execute(select(Lead.consultant_id, func.count(Lead.id))
                                    .where(Lead.store_id == store.id, Lead.level.in_(LEVELS))
                                    .group_by(Lead.consultant_id)).tuples().all())
    breaches = list(s.scalars(select(Lead).where(
        Lead.store_id == store.id, Lead.first_contact_at.is_(None), Lead.response_due_at <= at,
        Lead.level.in_(LEVELS)).order_by(Lead.response_due_at).limit(50)))
    pending = list(s.scalars(select(Defeat).where(Defeat.store_id == store.id, Defeat.status == "proposed")
                             .order_by(Defeat.proposed_at)))
    unassigned = list(s.scalars(select(Lead).where(Lead.store_id == store.id, Lead.consultant_id.is_(None),
                                                   Lead.level.in_(LEVELS)).order_by(Lead.created_at).limit(50)))
    return {"levels": level_counts(s, store.id), "overdue": overdue, "per_consultant": per_consultant,
            "overdue_total": sum(overdue.values()), "breaches": breaches, "pending_defeats": pending,
            "unassigned": unassigned}


def store_funnel(s: Session, store: StoreRef, days: int = 30, consultant_id: str | None = None) -> dict:
    """New leads → test drives → orders → deliveries over the last `days`, and the refill rule."""
    since = now() - timedelta(days=days)

    def who(col):
        return [col == consultant_id] if consultant_id else []

    new = s.scalar(select(func.count(Lead.id)).where(Lead.store_id == store.id, Lead.created_at >= since,
                                                     *who(Lead.consultant_id))) or 0
    drives = s.scalar(select(func.count(func.distinct(TestDrive.lead_id))).where(
        TestDrive.store_id == store.id, TestDrive.completed_at >= since, *who(TestDrive.consultant_id))) or 0
    orders = s.scalar(select(func.count(Order.id)).where(Order.store_id == store.id, Order.created_at >= since,
                                                         *who(Order.consultant_id))) or 0
    delivered = s.scalar(select(func.count(Order.id)).where(
        Order.store_id == store.id, Order.status == "delivered", Order.created_at >= since,
        *who(Order.consultant_id))) or 0
    ratio = close_ratio(orders, new)
    return {"steps": funnel([("new_leads", new), ("test_drives", drives), ("orders", orders),
                             ("deliveries", delivered)]),
            "levels": level_counts(s, store.id, consultant_id), "close_ratio": ratio, "days": days,
            "weekly_sales_target": store.weekly_sales_target,
            "refill_per_week": refill_needed(store.weekly_sales_target, ratio) if store.weekly_sales_target else None}


def audit_list(s: Session, store: StoreRef, consultant_id: str | None = None, limit: int = 200) -> list[Lead]:
    """Stale open leads (no contact for the group's stale period) not yet confirmed this month."""
    rules = rules_of(s, store.group_id)
    at = now()
    month_start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    stmt = select(Lead).where(Lead.store_id == store.id, Lead.level.in_(LEVELS),
                              func.coalesce(Lead.last_contact_at, Lead.created_at) < at - timedelta(
                                  days=rules.stale_days),
                              or_(Lead.audited_at.is_(None), Lead.audited_at < month_start))
    if consultant_id:
        stmt = stmt.where(Lead.consultant_id == consultant_id)
    return list(s.scalars(stmt.order_by(Lead.consultant_id, Lead.last_contact_at).limit(limit)))


def orders_of(s: Session, lead_id: str) -> list[Order]:
    """A lead's orders, newest first (placed, delivered or cancelled)."""
    return list(s.scalars(select(Order).where(Order.lead_id == lead_id).order_by(Order.created_at.desc())))
