"""Use cases that write: take events into the log, the facts, the labels and the rollups; rebuild.

The same `ingest` serves the consumer (one event per unit of work, the inbox has deduped it), the
bulk path of the benchmark (many events per unit of work) and the rebuild (events read back from the
log). Deltas of a batch are summed first, then written as one upsert per rollup cell.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shared.events import Event, payload_schema

from . import bulk, running
from .domain.facts import Contribution, Envelope, derive, event_contributions, event_store, fact_id, summarize
from .domain.kpis import STOCK_METRICS
from .models import DimBrand, DimStore, DimUser, EventLog, Fact, RollupCube, RollupFine, RollupRunning

CUBE_DIMS = ("consultant", "model", "source", "channel")
Delta = dict[tuple[str, str, str, Contribution], int]


def envelope(ev: Event) -> Envelope:
    """The event with its payload in JSON form (dates and amounts as strings), as the log keeps it."""
    schema = payload_schema(ev.type, ev.version)
    data = schema.dump(ev.data) if schema is not None else dict(ev.data)
    return Envelope(str(ev.id), ev.type, ev.occurred_at, ev.group_id, ev.store_id, ev.brand_id, ev.actor, data)


def ingest(s: Session, events: Iterable[Envelope], log: bool = True) -> int:
    """Apply events (any order, duplicates ignored); returns how many were new."""
    events = [e for e in events if e.group_id]
    if log:
        events = _log_new(s, events)
    deltas: Delta = defaultdict(int)
    by_fact: dict[str, list[Envelope]] = defaultdict(list)
    for ev in events:
        if ev.type.startswith("identity."):
            _apply_label(s, ev)
            continue
        fid = fact_id(ev)
        if fid is not None:
            by_fact[fid].append(ev)
        if fid is None or ev.type == "leads.visit.logged":
            store, brand = event_store(ev)
            for c in event_contributions(ev):
                deltas[(ev.group_id, store, brand, _bare(c))] += c.value
    if by_fact:
        _apply_facts(s, by_fact, deltas)
    apply_deltas(s, deltas)
    return len(events)


def _bare(c: Contribution) -> Contribution:
    return Contribution(c.day, c.metric, c.key, 0, c.consultant, c.model, c.source, c.channel)


def _log_new(s: Session, events: list[Envelope]) -> list[Envelope]:
    seen: set[str] = {i for (i,) in bulk.rows_with_ids(s, EventLog, list({e.id for e in events}), EventLog.id)}
    fresh, rows = [], []
    for e in events:
        if e.id in seen:
            continue
        seen.add(e.id)
        fresh.append(e)
        rows.append({"id": e.id, "group_id": e.group_id, "type": e.type, "version": 1, "occurred_at": e.occurred_at,
                     "brand_id": e.brand_id, "store_id": e.store_id, "actor": e.actor, "data": e.data,
                     "received_at": datetime.now(e.occurred_at.tzinfo)})
    bulk.insert_rows(s, EventLog, rows, json_cols=("data",))
    return fresh


def _apply_facts(s: Session, by_fact: dict[str, list[Envelope]], deltas: Delta) -> None:
    """Add the events to their facts; a fact that changed retracts its old contributions, adds its new ones."""
    existing = dict(bulk.rows_with_ids(s, Fact, list(by_fact), Fact.id, Fact.events))
    new_rows, changed_rows = [], []
    for fid, evs in by_fact.items():
        old_events = existing.get(fid)
        new_events = dict(old_events or {})
        for ev in evs:
            new_events.setdefault(ev.id, summarize(ev))
        if old_events is not None and len(new_events) == len(old_events):
            continue
        gid = evs[0].group_id
        if old_events:
            old = derive(fid, old_events)
            for c in old.contributions:
                deltas[(gid, old.store_id, old.brand_id, _bare(c))] -= c.value
        new = derive(fid, new_events)
        for c in new.contributions:
            deltas[(gid, new.store_id, new.brand_id, _bare(c))] += c.value
        row = {"id": fid, "store_id": new.store_id, "brand_id": new.brand_id, "events": new_events, **new.columns}
        if old_events is None:
            new_rows.append({**row, "group_id": gid, "kind": fid.split(":", 1)[0]})
        else:
            changed_rows.append(row)
    bulk.insert_rows(s, Fact, new_rows, json_cols=("events",))
    bulk.update_rows(s, Fact, changed_rows, json_cols=("events",))


def apply_deltas(s: Session, deltas: Delta) -> None:
    """Add the summed deltas to the fine rollup, to every cube cell they fall in and, for running
    totals, to the month-end snapshots."""
    fine: list[dict] = []
    cube: dict[tuple, int] = defaultdict(int)
    stock: running.Changes = defaultdict(int)
    for (gid, store, brand, c), v in deltas.items():
        if not v:
            continue
        fine.append({"group_id": gid, "store_id": store, "day": c.day, "brand_id": brand,
                     "consultant_id": c.consultant, "model": c.model, "source": c.source, "channel": c.channel,
                     "metric": c.metric, "key": c.key, "value": v})
        month = f"{c.day.year:04d}-{c.day.month:02d}"
        cube[(gid, store, brand, month, "", "", c.metric, c.key)] += v
        cube[(gid, store, brand, c.day.isoformat(), "", "", c.metric, c.key)] += v
        for dim in CUBE_DIMS:
            cube[(gid, store, brand, month, dim, getattr(c, dim), c.metric, c.key)] += v
        if c.metric in STOCK_METRICS:
            stock[(gid, store, brand, month, "", "", c.metric, c.key)] += v
            for dim in CUBE_DIMS:
                stock[(gid, store, brand, month, dim, getattr(c, dim), c.metric, c.key)] += v
    cube_rows = [{"group_id": g, "store_id": st, "brand_id": b, "period": p, "dim": d, "dim_value": dv,
                  "metric": m, "key": k, "value": v} for (g, st, b, p, d, dv, m, k), v in cube.items() if v]
    bulk.add_rows(s, RollupFine, fine, ["group_id", "store_id", "day", "metric", "key", "consultant_id", "model",
                                        "source", "channel", "brand_id"])
    bulk.add_rows(s, RollupCube, cube_rows, ["group_id", "period", "dim", "store_id", "dim_value", "metric", "key",
                                             "brand_id"])
    running.add_changes(s, stock)


def _apply_label(s: Session, ev: Envelope) -> None:
    """Keep the newest label per brand, store and user (an older event arriving late changes nothing)."""
    d = ev.data
    model = {"identity.brand.created": DimBrand, "identity.store.created": DimStore,
             "identity.store.updated": DimStore, "identity.user.created": DimUser,
             "identity.user.updated": DimUser}.get(ev.type)
    if model is None:
        return
    row = s.get(model, d["id"])
    if row is not None and row.as_of > ev.occurred_at:
        return
    if row is None:
        row = model(id=d["id"], group_id=ev.group_id)
        s.add(row)
    row.as_of = ev.occurred_at
    row.name = d["name"]
    if model is DimBrand:
        row.code = d["code"]
    elif model is DimStore:
        row.store_id, row.code, row.brand_id = d["id"], d["code"], d["brand_id"]
        row.city, row.active = d.get("city") or "", d.get("active", True)
    else:
        row.username, row.role, row.store_id = d["username"], d["role"], d.get("store_id")
        row.active = d.get("active", True)


def rebuild(s: Session, batch: int = 5000) -> int:
    """Recompute labels, facts and every rollup from the stored log (in the session's scope)."""
    for model in (RollupFine, RollupCube, RollupRunning, Fact, DimBrand, DimStore, DimUser):
        s.execute(delete(model))
    n, last = 0, ""
    total = s.scalar(select(func.count()).select_from(EventLog)) or 0
    while n < total:
        rows = s.scalars(select(EventLog).where(EventLog.id > last).order_by(EventLog.id).limit(batch)).all()
        if not rows:
            break
        last = rows[-1].id
        ingest(s, [Envelope(r.id, r.type, r.occurred_at, r.group_id, r.store_id, r.brand_id, r.actor, r.data)
                   for r in rows], log=False)
        s.flush()
        s.expunge_all()
        n += len(rows)
    return n
