"""What customers counts per store and local day: the figures analytics derives from its events, counted
from its own tables, for the reconciliation (analytics compares them with its rollups)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.daily_counts import DailyCounter

from ..adapters.models import InsurancePolicy, ServiceVisit

#: the metrics, named as analytics' rollups: service visits (DMS repair orders, on the visit day) and
#: insurance policies recorded for a store
METRICS = ("service_visits", "insurance_policies")


def daily_counts(s: Session, day_from: date, day_to: date) -> list[dict]:
    """Per store, local day and metric, the count of facts in [day_from, day_to] the caller may see."""
    return count(s, day_from, day_to).rows()


def count(s: Session, day_from: date, day_to: date) -> DailyCounter:
    """The one rule of which record makes which figure on which local day: counted for the reconciliation,
    and the records whose events a replay publishes again (`shared.daily_counts.replay`)."""
    c = DailyCounter(day_from, day_to)
    lo, hi = c.window
    sid: str | None  # the loops below read nullable columns
    rid: str
    for rid, sid, day in s.execute(select(ServiceVisit.id, ServiceVisit.store_id, ServiceVisit.visit_date).where(
            ServiceVisit.visit_date >= day_from, ServiceVisit.visit_date <= day_to)):
        c.add(sid, day, "service_visits", rid)
    for rid, sid, at in s.execute(select(InsurancePolicy.id, InsurancePolicy.store_id, InsurancePolicy.created_at).where(
            InsurancePolicy.store_id.is_not(None), InsurancePolicy.created_at >= lo, InsurancePolicy.created_at < hi)):
        c.at(sid, at, "insurance_policies", rid)
    return c
