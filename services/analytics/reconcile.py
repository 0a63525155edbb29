"""Reconciliation: analytics' daily figures beside the source service's own counts, per KPI, store and day.

The source counts come from the owner's API (`GET /leads/api/v1/stats/daily`, asked on the HQ user's
behalf); any difference is drift: an event analytics never got, or rollups that went wrong. Rebuilding the
group's rollups from the event log fixes the latter; the former shows until the source publishes again.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import RollupFine

#: KPI (as leads names it) → analytics' rollup metric and keys (None: every key)
LEADS_KPIS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "leads": ("leads", None),
    "showroom_visits": ("visits", ("walk_in",)),
    "phone_ins": ("visits", ("phone_in",)),
    "test_drives": ("test_drives", None),
    "orders": ("orders", None),
    "orders_cancelled": ("orders_cancelled", None),
    "deliveries": ("deliveries", None),
    "defeats": ("defeats", None),
}


def analytics_counts(s: Session, day_from: date, day_to: date) -> dict[tuple[str, date, str], int]:
    """(store, day, KPI) → analytics' figure, over the caller's stores."""
    F = RollupFine
    metrics = sorted({m for m, _ in LEADS_KPIS.values()})
    sums: dict[tuple[str, date, str, str], int] = {}
    for sid, day, metric, key, n in s.execute(
            select(F.store_id, F.day, F.metric, F.key, func.sum(F.value))
            .where(F.metric.in_(metrics), F.day >= day_from, F.day <= day_to)
            .group_by(F.store_id, F.day, F.metric, F.key)):
        sums[(sid, day, metric, key)] = int(n)
    out: dict[tuple[str, date, str], int] = defaultdict(int)
    for kpi, (metric, keys) in LEADS_KPIS.items():
        for (sid, day, m, key), n in sums.items():
            if m == metric and (keys is None or key in keys):
                out[(sid, day, kpi)] += n
    return {k: v for k, v in out.items() if v}


def drift(s: Session, day_from: date, day_to: date, source: list[dict], stores: set[str] | None) -> dict:
    """Every (KPI, store, day) where analytics differs from the source's count; `stores`: the ones the caller
    may see (None: all), source rows of other stores are ignored."""
    theirs = {(r["store_id"], r["day"], r["metric"]): int(r["value"]) for r in source
              if r["metric"] in LEADS_KPIS and day_from <= r["day"] <= day_to
              and (stores is None or r["store_id"] in stores)}
    ours = analytics_counts(s, day_from, day_to)
    rows = []
    for key in sorted(set(theirs) | set(ours)):
        a, b = ours.get(key, 0), theirs.get(key, 0)
        if a != b:
            sid, day, kpi = key
            rows.append({"kpi": kpi, "store_id": sid, "day": day, "source": b, "analytics": a, "diff": a - b})
    return {"from": day_from, "to": day_to, "checked": len(set(theirs) | set(ours)), "drift": rows}
