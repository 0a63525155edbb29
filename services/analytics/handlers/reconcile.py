"""Reconciliation: analytics' daily figures beside each source service's own counts, per KPI, store and day.

The sources are the services whose events analytics counts: leads, the call center and customers. Each
answers its own counts (`GET /<source>/api/v1/stats/daily`, asked on the HQ user's behalf, or the
`<source>.stats.counted` event answering analytics' nightly `analytics.reconciliation.requested`); any
difference is drift: an event analytics never got, or rollups that went wrong. Rebuilding the group's
rollups from the event log fixes the latter; the former is repaired from the source: analytics asks it to
publish the facts of the drifting days again (`analytics.replay.requested`, `request_replay`), it answers
with the events as it published them (`<source>.facts.restated`, `take_restated`) and its counts.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from uuid6 import uuid7

from shared.bus import emit
from shared.daily_counts import REPLAY
from shared.events import Event
from shared.errors import Invalid

from ..adapters.models import DimStore, ReconcileRun, RollupFine
from .ingest import definitions_in_force, envelope, ingest, rebuild

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
#: what a source counts that is no KPI of the latest definitions, per source (compared under older ones)
EXTRA_METRICS: dict[str, tuple[str, ...]] = {"leads": ("orders_signed",)}
ALL_KPIS = tuple(k for kpis in SOURCE_KPIS.values() for k in kpis) + tuple(
    m for extra in EXTRA_METRICS.values() for m in extra)
#: under an older version of the KPI definitions, the source's metric a KPI is compared with (None: that
#: version has no such figure): v1 counts every order signed, cancelled later or not, and no cancellations
UNDER_VERSION: dict[int, dict[str, dict[str, str | None]]] = {
    1: {"leads": {"orders": "orders_signed", "orders_cancelled": None}}}


def source_metrics(source: str) -> set[str]:
    """Every metric a source's counts may name."""
    return set(SOURCE_KPIS[source]) | set(EXTRA_METRICS.get(source, ()))


def compared(source: str, version: int) -> dict[str, str]:
    """KPI → the source's metric it is compared with, under a version of the definitions."""
    alias = UNDER_VERSION.get(version, {}).get(source, {})
    out = {kpi: alias.get(kpi, kpi) for kpi in SOURCE_KPIS[source]}
    return {kpi: metric for kpi, metric in out.items() if metric is not None}


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


def drift(s: Session, group_id: str, source: str, day_from: date, day_to: date, counts: list[dict],
          stores: set[str] | None) -> dict:
    """Every (KPI, store, day) where analytics differs from the source's count, under the KPI definitions
    in force for the group; `stores`: the ones the caller may see (None: all), source rows of other stores
    are ignored."""
    version = definitions_in_force(s, group_id)
    kpis = compared(source, version)
    kpi_of = {metric: kpi for kpi, metric in kpis.items()}
    theirs = {(r["store_id"], r["day"], kpi_of[r["metric"]]): int(r["value"]) for r in counts
              if r["metric"] in kpi_of and day_from <= r["day"] <= day_to
              and (stores is None or r["store_id"] in stores)}
    ours = {k: v for k, v in analytics_counts(s, source, day_from, day_to).items()
            if k[2] in kpis and (stores is None or k[0] in stores)}
    rows = []
    for key in sorted(set(theirs) | set(ours)):
        a, b = ours.get(key, 0), theirs.get(key, 0)
        if a != b:
            sid, day, kpi = key
            rows.append({"source": source, "kpi": kpi, "store_id": sid, "day": day, "counted": b, "analytics": a,
                         "diff": a - b})
    return {"source": source, "from": day_from, "to": day_to, "checked": len(set(theirs) | set(ours)),
            "definitions": version, "drift": rows}


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


def last_runs(s: Session, stores: set[str] | None, request_id: str | None = None) -> list[dict]:
    """The latest comparison of each source (of one request, if given: a replay's), with its drift within
    the caller's stores."""
    out = []
    for source in SOURCES:
        which = [ReconcileRun.source == source] + ([] if request_id is None else [ReconcileRun.request_id == request_id])
        run = s.scalar(select(ReconcileRun).where(*which)
                       .order_by(ReconcileRun.ran_at.desc(), ReconcileRun.id.desc()).limit(1))
        if run is None:
            continue
        rows = [{**r, "day": date.fromisoformat(r["day"])} for r in run.drift
                if stores is None or r["store_id"] in stores]
        out.append({"source": source, "request_id": run.request_id, "ran_at": run.ran_at, "from": run.day_from, "to": run.day_to,
                    "checked": run.checked, "drift": rows})
    return out


def request_replay(s: Session, group_id: str, source: str, day_from: date, day_to: date,
                   store_ids: list[str] | None) -> str:
    """Ask `source` to publish the facts of these days again (in these stores, None: every store the
    group has); returns the request id its answer and the comparison that follows carry."""
    if source not in SOURCES:
        raise Invalid(f"unknown source: {source}")
    unknown = sorted(set(store_ids or ()) - set(s.scalars(select(DimStore.id))))
    if unknown:
        raise Invalid(f"no such store: {', '.join(unknown)}")
    request_id = str(uuid7())
    emit(s, Event(type=REPLAY, group_id=group_id, data={
        "request_id": request_id, "source": source, "day_from": day_from, "day_to": day_to,
        "store_ids": sorted(store_ids or [])}))
    return request_id


def take_restated(s: Session, ev: Event) -> int:
    """One part of a source's answer to a replay: the events it published before, taken like any other
    (logged once by their original id: the ones analytics has change nothing, the missing ones are
    added); after the last part the group's figures are rebuilt from the log, so figures that lost
    rows are whole again before the source's counts (which follow) are compared. Events of another
    group or source are refused. Returns how many events were new."""
    source = ev.type.split(".", 1)[0]
    events = [Event.from_message(m) for m in ev.data["events"]]
    alien = [e.id for e in events if e.group_id != ev.group_id or not e.type.startswith(f"{source}.")]
    if alien:
        raise ValueError(f"{ev.type} carries events of another group or source: {', '.join(alien[:5])}")
    new = ingest(s, [envelope(e) for e in events])
    if ev.data["part"] == ev.data["parts"]:
        rebuild(s)
    return new
