"""Reconciliation: analytics' daily figures beside each source service's own counts, per KPI, store and day.

The sources are the services whose events analytics counts: leads, the call center and customers. Each
answers its own counts (`GET /<source>/api/v1/stats/daily`, asked on the HQ user's behalf, or the
`<source>.stats.counted` event answering analytics' nightly `analytics.reconciliation.requested`); any
difference is drift: an event analytics never got, or rollups that went wrong. Rebuilding the group's
rollups from the event log fixes the latter; the former shows until the source publishes again.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..adapters.models import ReconcileRun, RollupFine

#: per source, its KPI (as the source names it) → analytics' rollup metric and keys (None: every key)
SOURCE_KPIS: dict[str, dict[str, tuple[str, tuple[str, ...] | None]]] = {
    "leads": {
        "leads": ("leads", None),
        "showroom_visits": ("visits", ("walk_in",)),
        "phone_ins": ("visits", ("phone_in",)),
        "test_drives": ("test_drives", None),
        "orders": ("orders", None),
        "orders_cancelled": ("orders_cancelled", None),
        "deliveries": ("deliveries", None),
        "defeats": ("defeats", None),
    },
    "callcenter": {
        "callbacks_created": ("callbacks_created", None),
        "callbacks_closed": ("callbacks_closed", None),
        "callbacks_reached": ("callbacks_reached", None),
        "call_attempts": ("call_attempts", None),
        "surveys": ("survey_n", None),
        "complaints": ("complaints", None),
    },
    "customers": {
        "service_visits": ("service_visits", None),
        "insurance_policies": ("insurance_policies", None),
    },
}
SOURCES = tuple(SOURCE_KPIS)
ALL_KPIS = tuple(k for kpis in SOURCE_KPIS.values() for k in kpis)


def analytics_counts(s: Session, source: str, day_from: date, day_to: date) -> dict[tuple[str, date, str], int]:
    """(store, day, KPI) → analytics' figure for one source's KPIs, over the caller's stores."""
    kpis = SOURCE_KPIS[source]
    F = RollupFine
    metrics = sorted({m for m, _ in kpis.values()})
    sums: dict[tuple[str, date, str, str], int] = {}
    for sid, day, metric, key, n in s.execute(
            select(F.store_id, F.day, F.metric, F.key, func.sum(F.value))
            .where(F.metric.in_(metrics), F.day >= day_from, F.day <= day_to, F.store_id != "")
            .group_by(F.store_id, F.day, F.metric, F.key)):
        sums[(sid, day, metric, key)] = int(n)
    out: dict[tuple[str, date, str], int] = defaultdict(int)
    for kpi, (metric, keys) in kpis.items():
        for (sid, day, m, key), n in sums.items():
            if m == metric and (keys is None or key in keys):
                out[(sid, day, kpi)] += n
    return {k: v for k, v in out.items() if v}


def drift(s: Session, source: str, day_from: date, day_to: date, counts: list[dict],
          stores: set[str] | None) -> dict:
    """Every (KPI, store, day) where analytics differs from the source's count; `stores`: the ones the caller
    may see (None: all), source rows of other stores are ignored."""
    kpis = SOURCE_KPIS[source]
    theirs = {(r["store_id"], r["day"], r["metric"]): int(r["value"]) for r in counts
              if r["metric"] in kpis and day_from <= r["day"] <= day_to
              and (stores is None or r["store_id"] in stores)}
    ours = {k: v for k, v in analytics_counts(s, source, day_from, day_to).items()
            if stores is None or k[0] in stores}
    rows = []
    for key in sorted(set(theirs) | set(ours)):
        a, b = ours.get(key, 0), theirs.get(key, 0)
        if a != b:
            sid, day, kpi = key
            rows.append({"source": source, "kpi": kpi, "store_id": sid, "day": day, "counted": b, "analytics": a,
                         "diff": a - b})
    return {"source": source, "from": day_from, "to": day_to, "checked": len(set(theirs) | set(ours)),
            "drift": rows}


def record_run(s: Session, group_id: str, request_id: str, result: dict) -> ReconcileRun:
    """Keep the outcome of a nightly comparison (one row per request and source; a redelivery replaces it)."""
    run = s.scalar(select(ReconcileRun).where(ReconcileRun.request_id == request_id,
                                              ReconcileRun.source == result["source"]))
    if run is None:
        run = ReconcileRun(group_id=group_id, request_id=request_id, source=result["source"])
        s.add(run)
    run.day_from, run.day_to, run.checked = result["from"], result["to"], result["checked"]
    run.drift = [{**r, "day": r["day"].isoformat()} for r in result["drift"]]
    s.flush()
    return run


def last_runs(s: Session, stores: set[str] | None) -> list[dict]:
    """The latest nightly comparison of each source, with its drift within the caller's stores."""
    out = []
    for source in SOURCES:
        run = s.scalar(select(ReconcileRun).where(ReconcileRun.source == source)
                       .order_by(ReconcileRun.ran_at.desc(), ReconcileRun.id.desc()).limit(1))
        if run is None:
            continue
        rows = [{**r, "day": date.fromisoformat(r["day"])} for r in run.drift
                if stores is None or r["store_id"] in stores]
        out.append({"source": source, "ran_at": run.ran_at, "from": run.day_from, "to": run.day_to,
                    "checked": run.checked, "drift": rows})
    return out
