"""What leads counts per store and local day: the figures analytics derives from leads' events, counted
from leads' own tables, for the reconciliation (analytics compares them with its rollups)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.daily_counts import DailyCounter

from ..adapters.models import Defeat, Lead, Order, StoreRef, TestDrive, Visit

#: the metrics, named as analytics' KPIs
METRICS = ("leads", "showroom_visits", "phone_ins", "test_drives", "orders", "orders_cancelled", "deliveries",
           "defeats")


def daily_counts(s: Session, day_from: date, day_to: date) -> list[dict]:
    """Per store, local day and metric, the count of facts in [day_from, day_to] the caller may see."""
    c = DailyCounter(day_from, day_to, {st.id: st.timezone for st in s.scalars(select(StoreRef))})
    lo, hi = c.window
    at: datetime | None  # the loops below read nullable columns
    for sid, at in s.execute(select(Lead.store_id, Lead.created_at).where(Lead.created_at >= lo, Lead.created_at < hi)):
        c.at(sid, at, "leads")
    for sid, kind, at in s.execute(select(Visit.store_id, Visit.kind, Visit.time_in)
                                   .where(Visit.time_in >= lo, Visit.time_in < hi)):
        c.at(sid, at, "showroom_visits" if kind == "walk_in" else "phone_ins")
    for sid, at in s.execute(select(TestDrive.store_id, TestDrive.completed_at).where(
            TestDrive.status == "completed", TestDrive.completed_at >= lo, TestDrive.completed_at < hi)):
        c.at(sid, at, "test_drives")
    for sid, status, at in s.execute(select(Order.store_id, Order.status, Order.created_at)
                                     .where(Order.created_at >= lo, Order.created_at < hi)):
        if status != "cancelled":
            c.at(sid, at, "orders")
    for sid, at in s.execute(select(Order.store_id, Order.cancelled_at).where(
            Order.cancelled_at >= lo, Order.cancelled_at < hi)):
        c.at(sid, at, "orders_cancelled")
    for sid, day in s.execute(select(Order.store_id, Order.delivered_on).where(
            Order.status == "delivered", Order.delivered_on >= day_from, Order.delivered_on <= day_to)):
        c.add(sid, day, "deliveries")
    for sid, at in s.execute(select(Defeat.store_id, Defeat.decided_at).where(
            Defeat.status == "approved", Defeat.decided_at >= lo, Defeat.decided_at < hi)):
        c.at(sid, at, "defeats")
    return c.rows()
