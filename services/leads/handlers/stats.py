"""What leads counts per store and local day: the figures analytics derives from leads' events, counted
from leads' own tables, for the reconciliation (analytics compares them with its rollups)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.daily_counts import DailyCounter

from ..adapters.models import Defeat, Lead, Order, StoreRef, TestDrive, Visit

#: the metrics, named as analytics' KPIs
#: (`orders_signed`: every order signed that day, cancelled later or not: the orders of definitions v1)
METRICS = ("leads", "showroom_visits", "phone_ins", "test_drives", "orders", "orders_signed", "orders_cancelled",
           "deliveries", "defeats")


def daily_counts(s: Session, day_from: date, day_to: date) -> list[dict]:
    """Per store, local day and metric, the count of facts in [day_from, day_to] the caller may see."""
    return count(s, day_from, day_to).rows()


def count(s: Session, day_from: date, day_to: date) -> DailyCounter:
    """The one rule of which record makes which figure on which local day: counted for the reconciliation,
    and the records whose events a replay publishes again (`shared.daily_counts.replay`)."""
    c = DailyCounter(day_from, day_to, {st.id: st.timezone for st in s.scalars(select(StoreRef))})
    lo, hi = c.window
    at: datetime | None  # the loops below read nullable columns
    for rid, sid, at in s.execute(select(Lead.id, Lead.store_id, Lead.created_at)
                                  .where(Lead.created_at >= lo, Lead.created_at < hi)):
        c.at(sid, at, "leads", rid)
    for rid, sid, kind, at in s.execute(select(Visit.id, Visit.store_id, Visit.kind, Visit.time_in)
                                        .where(Visit.time_in >= lo, Visit.time_in < hi)):
        c.at(sid, at, "showroom_visits" if kind == "walk_in" else "phone_ins", rid)
    for rid, sid, at in s.execute(select(TestDrive.id, TestDrive.store_id, TestDrive.completed_at).where(
            TestDrive.status == "completed", TestDrive.completed_at >= lo, TestDrive.completed_at < hi)):
        c.at(sid, at, "test_drives", rid)
    for rid, sid, status, at in s.execute(select(Order.id, Order.store_id, Order.status, Order.created_at)
                                          .where(Order.created_at >= lo, Order.created_at < hi)):
        c.at(sid, at, "orders_signed", rid)  # every order signed that day (definitions v1 count them all)
        if status != "cancelled":
            c.at(sid, at, "orders", rid)
    for rid, sid, at in s.execute(select(Order.id, Order.store_id, Order.cancelled_at).where(
            Order.cancelled_at >= lo, Order.cancelled_at < hi)):
        c.at(sid, at, "orders_cancelled", rid)
    for rid, sid, day in s.execute(select(Order.id, Order.store_id, Order.delivered_on).where(
            Order.status == "delivered", Order.delivered_on >= day_from, Order.delivered_on <= day_to)):
        c.add(sid, day, "deliveries", rid)
    for lead_id, sid, at in s.execute(select(Defeat.lead_id, Defeat.store_id, Defeat.decided_at).where(
            Defeat.status == "approved", Defeat.decided_at >= lo, Defeat.decided_at < hi)):
        c.at(sid, at, "defeats", lead_id)  # its event names the lead
    return c
