"""What leads counts per store and local day: the figures analytics derives from leads' events, counted
from leads' own tables, for the reconciliation (analytics compares them with its rollups)."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock

from ..domain_time import local_date, local_midnight
from ..models import Defeat, Lead, Order, StoreRef, TestDrive, Visit

#: the metrics, named as analytics' KPIs
METRICS = ("leads", "showroom_visits", "phone_ins", "test_drives", "orders", "orders_cancelled", "deliveries",
           "defeats")


def daily_counts(s: Session, day_from: date, day_to: date) -> list[dict]:
    """Per store, local day and metric, the count of facts in [day_from, day_to] the caller may see."""
    tzs = {st.id: clock.zone_name(st.timezone) for st in s.scalars(select(StoreRef))}
    lo, hi = local_midnight(day_from - timedelta(days=1)), local_midnight(day_to + timedelta(days=2))
    out: Counter = Counter()

    def add(store_id: str, day: date | None, metric: str) -> None:
        if day is not None and day_from <= day <= day_to:
            out[(store_id, day, metric)] += 1

    def on(store_id: str, instant) -> date:
        return local_date(instant, tzs.get(store_id) or clock.zone_name())

    at: datetime | None  # the loops below read nullable columns
    for sid, at in s.execute(select(Lead.store_id, Lead.created_at).where(Lead.created_at >= lo, Lead.created_at < hi)):
        add(sid, on(sid, at), "leads")
    for sid, kind, at in s.execute(select(Visit.store_id, Visit.kind, Visit.time_in)
                                   .where(Visit.time_in >= lo, Visit.time_in < hi)):
        add(sid, on(sid, at), "showroom_visits" if kind == "walk_in" else "phone_ins")
    for sid, at in s.execute(select(TestDrive.store_id, TestDrive.completed_at).where(
            TestDrive.status == "completed", TestDrive.completed_at >= lo, TestDrive.completed_at < hi)):
        add(sid, on(sid, at), "test_drives")
    for sid, status, at in s.execute(select(Order.store_id, Order.status, Order.created_at)
                                     .where(Order.created_at >= lo, Order.created_at < hi)):
        if status != "cancelled":
            add(sid, on(sid, at), "orders")
    for sid, at in s.execute(select(Order.store_id, Order.cancelled_at).where(
            Order.cancelled_at >= lo, Order.cancelled_at < hi)):
        add(sid, on(sid, at), "orders_cancelled")
    for sid, day in s.execute(select(Order.store_id, Order.delivered_on).where(
            Order.status == "delivered", Order.delivered_on >= day_from, Order.delivered_on <= day_to)):
        add(sid, day, "deliveries")
    for sid, at in s.execute(select(Defeat.store_id, Defeat.decided_at).where(
            Defeat.status == "approved", Defeat.decided_at >= lo, Defeat.decided_at < hi)):
        add(sid, on(sid, at), "defeats")
    return [{"store_id": sid, "day": day, "metric": metric, "value": n}
            for (sid, day, metric), n in sorted(out.items())]
