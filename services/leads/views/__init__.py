"""Read models: the lead list with its filters, the store board, the funnel, the card audit."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.permissions import CONSULTANT, MANAGER
from shared.phones import try_normalize

from ..domain import CLOSED, LEVELS
from ..domain.funnel import close_ratio, funnel, refill_needed
from ..domain.timing import local_midnight
from ..adapters.models import (
    Assignment,
    Campaign,
    DailyReport,
    Defeat,
    FollowUp,
    ImportJob,
    ImportRowError,
    Lead,
    LevelChange,
    Order,
    StaffRef,
    StoreRef,
    TestDrive,
    Visit,
)
from ..handlers.common import now, rules_of


def searches_digits(viewer: Principal | None) -> bool:
    """Whether a search may match part of a phone number: only for those who see every number in their
    scope whole (a consultant their own leads, a manager their store's). For the others the list shows
    numbers masked, and a search on the hidden digits would give them back one probe at a time: they
    find a lead by its whole number (or its name)."""
    return viewer is not None and viewer.role in (CONSULTANT, MANAGER)


def lead_query(q: dict, at: datetime | None = None, viewer: Principal | None = None, base: Select | None = None) -> Select:
    """The lead list: filters from the query string, overdue first (most overdue on top), then newest.
    `base`: what it selects of the lead (`listed`), else the entity."""
    at = at or now()
    stmt = select(Lead) if base is None else base
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
    """One page of a lead query and the number of leads it finds: the number rides on every row of the
    page (`count(*) OVER ()`, counted before LIMIT), one statement instead of two; a page past the
    end, which has no row to carry it, counts on its own."""
    found, total = _page(s, stmt, page, per_page)
    return [row[0] for row in found], total


@lru_cache(maxsize=8)
def listed(names: tuple[str, ...]) -> Select:
    """What the API's list selects: the lead's columns `names` and the two the masking rule needs (a
    statement built once: its 26 columns are not coerced again for every request)."""
    return select(*(getattr(Lead, name) for name in dict.fromkeys((*names, "consultant_id", "store_id"))))


def listed_page(s: Session, stmt: Select, page: int, per_page: int) -> tuple[list[Row], int]:
    """`page_of` for a lead query on `listed` columns: the same filters, order, tenant scoping and total,
    each lead the row of its columns as the query returned it (no object built per row: `LeadOut` dumps
    rows by position, and reads a row's owner and store for the masking rule as it reads a lead's)."""
    return _page(s, stmt, page, per_page)


def _page(s: Session, stmt: Select, page: int, per_page: int) -> tuple[list, int]:
    """The rows of one page, each with the total as its last column, and the total."""
    found = s.execute(stmt.add_columns(func.count().over().label("total_found"))
                      .limit(per_page).offset((page - 1) * per_page)).all()
    if found:
        return list(found), found[0][-1]
    total = 0 if page == 1 else s.scalar(stmt.with_only_columns(func.count(Lead.id)).order_by(None)) or 0
    return [], total


def staff_names(s: Session, store_id: str | None = None) -> dict[str, str]:
    stmt = select(StaffRef.id, StaffRef.name)
    if store_id:
        stmt = stmt.where(StaffRef.store_id == store_id)
    return dict(s.execute(stmt).all())


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
    counts = dict(s.execute(stmt).all())
    return {lv: counts.get(lv, 0) for lv in LEVELS + CLOSED}


def board(s: Session, store: StoreRef) -> dict:
    """The store board: open leads by level, overdue per consultant, SLA breaches, pending defeats, unassigned."""
    at = now()
    overdue = dict(s.execute(select(Lead.consultant_id, func.count(Lead.id))
                             .where(Lead.store_id == store.id, Lead.overdue_at <= at)
                             .group_by(Lead.consultant_id)).all())
    per_consultant = dict(s.execute(select(Lead.consultant_id, func.count(Lead.id))
                                    .where(Lead.store_id == store.id, Lead.level.in_(LEVELS))
                                    .group_by(Lead.consultant_id)).all())
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

def overdue_count(s: Session) -> int:
    """Open leads past their next-contact due time, in the caller's scope."""
    return s.scalar(select(func.count(Lead.id)).where(Lead.overdue_at <= now())) or 0


#: what a lead's history holds, by kind: the table and the order it is read in
HISTORY: dict[str, tuple[Any, Any]] = {
    "visits": (Visit, Visit.time_in), "levels": (LevelChange, LevelChange.at), "follow_ups": (FollowUp, FollowUp.at),
    "test_drives": (TestDrive, TestDrive.booked_for), "orders": (Order, Order.created_at),
    "defeats": (Defeat, Defeat.proposed_at), "assignments": (Assignment, Assignment.at),
}


def history(s: Session, lead_id: str, kind: str) -> list:
    """One kind of a lead's history (visits, levels, follow-ups, ...), oldest first."""
    model, order = HISTORY[kind]
    return list(s.scalars(select(model).where(model.lead_id == lead_id).order_by(order)))


def open_steps(s: Session, lead_id: str) -> dict:
    """What is under way on a lead: its booked test drives, its placed order, its proposed defeat."""
    return {"drives": list(s.scalars(select(TestDrive).where(TestDrive.lead_id == lead_id, TestDrive.status == "booked"))),
            "order": s.scalar(select(Order).where(Order.lead_id == lead_id, Order.status == "placed")),
            "defeat": s.scalar(select(Defeat).where(Defeat.lead_id == lead_id, Defeat.status == "proposed"))}


def visits_since(s: Session, start: datetime, limit: int = 30) -> list[Visit]:
    """The visitor log from `start`, newest first."""
    return list(s.scalars(select(Visit).where(Visit.time_in >= start).order_by(Visit.time_in.desc()).limit(limit)))


def pending_defeats(s: Session) -> list[Defeat]:
    """Defeats waiting for the manager's decision, oldest first."""
    return list(s.scalars(select(Defeat).where(Defeat.status == "proposed").order_by(Defeat.proposed_at)))


def leads_by_id(s: Session, ids: list[str]) -> dict[str, Lead]:
    return {x.id: x for x in s.scalars(select(Lead).where(Lead.id.in_(ids)))}


def orders(s: Session, q: dict) -> tuple[list[Order], int]:
    """Orders by status, store, lead and signing day (the group's local days), newest first; one page and the total."""
    stmt = select(Order)
    for key in ("status", "store_id", "lead_id"):
        if q.get(key):
            stmt = stmt.where(getattr(Order, key) == q[key])
    if q.get("signed_from"):
        stmt = stmt.where(Order.created_at >= local_midnight(q["signed_from"]))
    if q.get("signed_to"):
        stmt = stmt.where(Order.created_at < local_midnight(q["signed_to"] + timedelta(days=1)))
    total = s.scalar(stmt.with_only_columns(func.count(Order.id))) or 0
    rows = list(s.scalars(stmt.order_by(Order.created_at.desc(), Order.id)
                          .limit(q["per_page"]).offset((q["page"] - 1) * q["per_page"])))
    return rows, total


def daily_reports(s: Session, q: dict, limit: int = 500) -> list[DailyReport]:
    """Submitted reports by day, store and owner, newest day first."""
    stmt = select(DailyReport).order_by(DailyReport.day.desc(), DailyReport.owner).limit(limit)
    for key in ("day", "store_id", "owner"):
        if q.get(key):
            stmt = stmt.where(getattr(DailyReport, key) == q[key])
    return list(s.scalars(stmt))


def reports_of_day(s: Session, store_id: str, day: date) -> dict[str, DailyReport]:
    """A store's reports of one day, by owner."""
    return {r.owner: r for r in s.scalars(select(DailyReport).where(DailyReport.store_id == store_id,
                                                                     DailyReport.day == day))}


def campaigns(s: Session, page: int, per_page: int) -> list[Campaign]:
    """Campaigns of the caller's stores, newest first, one page."""
    return list(s.scalars(select(Campaign).order_by(Campaign.starts_on.desc())
                          .limit(per_page).offset((page - 1) * per_page)))


def recent_imports(s: Session, limit: int = 10) -> list[ImportJob]:
    return list(s.scalars(select(ImportJob).order_by(ImportJob.created_at.desc()).limit(limit)))


def import_errors(s: Session, job_id: str, limit: int = 1000) -> list[dict]:
    """An import's rejected rows, by row number."""
    rows = s.execute(select(ImportRowError.row, ImportRowError.reason, ImportRowError.duplicate)
                     .where(ImportRowError.job_id == job_id).order_by(ImportRowError.row).limit(limit)).all()
    return [{"row": r, "reason": why, "duplicate": d} for r, why, d in rows]


def visible_stores(s: Session, p: Principal) -> list[StoreRef]:
    """The stores the caller may work with, by code."""
    return [st for st in s.scalars(select(StoreRef).order_by(StoreRef.code)) if p.scope.sees_store(st.id)]
