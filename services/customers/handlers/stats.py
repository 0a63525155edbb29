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
    c = DailyCounter(day_from, day_to)
    lo, hi = c.window
    sid: str | None  # the loops below read nullable columns
    for sid, day in s.execute(select(ServiceVisit.store_id, ServiceVisit.visit_date).where(
            ServiceVisit.visit_date >= day_from, ServiceVisit.visit_date <= day_to)):
        c.add(sid, day, "service_visits")
    for sid, at in s.execute(select(InsurancePolicy.store_id, InsurancePolicy.created_at).where(
            InsurancePolicy.store_id.is_not(None), InsurancePolicy.created_at >= lo, InsurancePolicy.created_at < hi)):
        c.at(sid, at, "insurance_policies")
    return c.rows()
