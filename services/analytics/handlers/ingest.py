"""Use cases that write: take events into the log, the facts, the labels and the rollups; rebuild.

The same `ingest` serves the consumer (one event per unit of work, the inbox has deduped it), the
bulk path of the benchmark (many events per unit of work) and the rebuild (events read back from the
log). Deltas of a batch are summed first, then written as one upsert per rollup cell.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, insert, select
from sqlalchemy.orm import Session

from shared.events import Event, payload_schema
from shared.events.fastload import dumper

from ..adapters import bulk
from . import running
from .erasure import forget_erased
from ..domain.facts import Contribution, Envelope, derive, event_contributions, event_store, fact_id, summarize
from ..domain.kpis import STOCK_METRICS
from ..domain.definitions import VERSION
from ..adapters.models import DimBrand, DimStore, DimUser, EventLog, Fact, GroupSetting, RollupCube, RollupFine, RollupRunning

CUBE_DIMS = ("consultant", "model", "source", "channel")
#: a fine cell: group, store, brand, day, metric, key, consultant, model, source, channel (a plain tuple:
#: hashed in C, which matters with ~100k of them per bulk batch)
Cell = tuple[str | None, str, str, date, str, str, str, str, str, str]  # group_id: every admitted event has one
Delta = dict[Cell, int]
FINE_COLS = ("group_id", "store_id", "brand_id", "day", "metric", "key", "consultant_id", "model", "source", "channel",
             "value")
CUBE_COLS = ("group_id", "store_id", "brand_id", "period", "dim", "dim_value", "metric", "key", "value")
CUBE_KEYS = ["group_id", "period", "dim", "store_id", "dim_value", "metric", "key", "brand_id"]


def envelope(ev: Event) -> Envelope:
    """The event with its payload in JSON form (dates and amounts as strings), as the log keeps it."""
    schema = payload_schema(ev.type, ev.version)
    data = dumper(schema)(ev.data) if schema is not None else dict(ev.data)  # marshmallow's dump, compiled
    return Envelope(str(ev.id), ev.type, ev.occurred_at, ev.group_id, ev.store_id, ev.brand_id, ev.actor, data)


def ingest(s: Session, events: Iterable[Envelope], log: bool = True) -> int:
    """Apply events (any order, duplicates ignored); returns how many were new. Events about a person erased
    already are kept without their personal fields (`erasure.forget_erased`)."""
    events = forget_erased(s, [e for e in events if e.group_id])
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
                deltas[_cell(ev.group_id, store, brand, c)] += c.value
    if by_fact:
        _apply_facts(s, by_fact, deltas)
    apply_deltas(s, deltas)
    return len(events)


def _cell(group_id: str | None, store: str, brand: str, c: Contribution) -> Cell:
    return (group_id, store, brand, c.day, c.metric, c.key, c.consultant, c.model, c.source, c.channel)


def _log_new(s: Session, events: list[Envelope]) -> list[Envelope]:
    """Log the events not logged yet (the first of any repeated in the batch); returns them."""
    first: dict[str, Envelope] = {}
    for e in events:
        first.setdefault(e.id, e)
    rows = [{"id": e.id, "group_id": e.group_id, "type": e.type, "version": 1, "occurred_at": e.occurred_at,
             "brand_id": e.brand_id, "store_id": e.store_id, "actor": e.actor, "data": e.data,
             "received_at": datetime.now(e.occurred_at.tzinfo)} for e in first.values()]
    logged = bulk.insert_new(s, EventLog, rows, json_cols=("data",))
    return [e for e in first.values() if e.id in logged]


def _apply_facts(s: Session, by_fact: dict[str, list[Envelope]], deltas: Delta) -> None:
    """Add the events to their facts; a fact that changed retracts its old contributions, adds its new ones."""
    existing = dict(bulk.rows_with_ids(s, Fact, list(by_fact), Fact.id, Fact.events))
    new_rows, changed_rows = [], []
    versions: dict[str | None, int] = {}
    for fid, evs in by_fact.items():
        old_events = existing.get(fid)
        new_events = dict(old_events or {})
        for ev in evs:
            new_events.setdefault(ev.id, summarize(ev))
        if old_events is not None and len(new_events) == len(old_events):
            continue
        gid = evs[0].group_id
        if gid not in versions:
            versions[gid] = definitions_in_force(s, gid)
        if old_events:
            old = derive(fid, old_events, versions[gid])
            for c in old.contributions:
                deltas[_cell(gid, old.store_id, old.brand_id, c)] -= c.value
        new = derive(fid, new_events, versions[gid])
        for c in new.contributions:
            deltas[_cell(gid, new.store_id, new.brand_id, c)] += c.value
        row = {"id": fid, "store_id": new.store_id, "brand_id": new.brand_id, "events": new_events, **new.columns}
        if old_events is None:
            new_rows.append({**row, "group_id": gid, "kind": fid.split(":", 1)[0]})
        else:
            changed_rows.append(row)
    bulk.insert_rows(s, Fact, new_rows, json_cols=("events",))
    bulk.update_rows(s, Fact, changed_rows, json_cols=("events",))


def apply_deltas(s: Session, deltas: Delta) -> None:
    """Append the summed deltas to the fine rollup, add them to every cube cell they fall in and, for
    running totals, to the month-end snapshots."""
    fine: list[tuple] = []
    cube: dict[tuple, int] = defaultdict(int)
    periods: dict[date, tuple[str, str]] = {}
    for cell, v in deltas.items():
        if not v:
            continue
        fine.append((*cell, v))
        gid, store, brand, day, metric, key, *by_dim = cell
        if day not in periods:
            periods[day] = (day.isoformat()[:7], day.isoformat())
        month, iso_day = periods[day]
        cube[(gid, store, brand, month, "", "", metric, key)] += v
        cube[(gid, store, brand, iso_day, "", "", metric, key)] += v
        for dim, value in zip(CUBE_DIMS, by_dim, strict=True):
            cube[(gid, store, brand, month, dim, value, metric, key)] += v
    bulk.append_rows(s, RollupFine, FINE_COLS, fine)
    bulk.add_rows(s, RollupCube, CUBE_COLS, [(*c, v) for c, v in cube.items() if v], CUBE_KEYS)
    # running totals change by the month cells (period 'YYYY-MM', not a day) of their metrics
    running.add_changes(s, {c: v for c, v in cube.items() if c[6] in STOCK_METRICS and len(c[3]) == 7})


def compact_fine(s: Session, until: date, since: date | None = None) -> tuple[int, int]:
    """Fold the fine ledger's rows of the days before `until` (and from `since`, if given) into one row
    per cell, dropping cells that add up to zero (in the session's group, or every group); returns the
    rows before and after.

    Ingestion only appends, so the figures do not move. On PostgreSQL the rows are deleted and added
    back by one statement: a batch appended meanwhile is not in its snapshot and stays as it is. On
    SQLite the transaction holds the write lock from its start.
    """
    F = RollupFine
    days = [F.day < until] + ([] if since is None else [F.day >= since])
    if bulk.is_pg(s):
        # one Core statement (the ORM does not scope a data-modifying CTE): the model's own scope criteria
        t, cell = cast(Table, F.__table__), FINE_COLS[:-1]  # a mapped class's table (typed as any FromClause)
        gone = delete(t).where(*days, F.scope_criteria(s.info["scope"])) \
            .returning(*(t.c[c] for c in cell), t.c.value).cte("gone")
        summed = select(*(gone.c[c] for c in cell), func.sum(gone.c.value)).group_by(*(gone.c[c] for c in cell)) \
            .having(func.sum(gone.c.value) != 0)
        kept = insert(t).from_select([*cell, "value"], summed).returning(t.c.id).cte("kept")
        before, after = s.connection().execute(select(*(select(func.count()).select_from(c).scalar_subquery()
                                                          for c in (gone, kept)))).one()
        return before, after
    by = [getattr(F, c) for c in FINE_COLS[:-1]]
    cells = s.execute(select(*by, func.sum(F.value)).where(*days).group_by(*by)
                      .having(func.sum(F.value) != 0)).all()
    before = cast("CursorResult[Any]", s.execute(delete(F).where(*days))).rowcount  # a DELETE gives a CursorResult
    bulk.append_rows(s, F, FINE_COLS, [tuple(r) for r in cells])
    return before, len(cells)


_LABELS: dict[str, type[DimBrand] | type[DimStore] | type[DimUser]] = {
    "identity.brand.created": DimBrand, "identity.store.created": DimStore, "identity.store.updated": DimStore,
    "identity.user.created": DimUser, "identity.user.updated": DimUser}


def _apply_label(s: Session, ev: Envelope) -> None:
    """Keep the newest label per brand, store and user (an older event arriving late changes nothing)."""
    d = ev.data
    model = _LABELS.get(ev.type)
    if model is None:
        return
    row = cast("DimBrand | DimStore | DimUser | None", s.get(model, d["id"]))  # get() of a union types as Base
    if row is not None and row.as_of > ev.occurred_at:
        return
    if row is None:
        row = model(id=d["id"], group_id=ev.group_id)
        s.add(row)
    row.as_of = ev.occurred_at
    row.name = d["name"]
    if isinstance(row, DimBrand):
        row.code = d["code"]
    elif isinstance(row, DimStore):
        row.store_id, row.code, row.brand_id = d["id"], d["code"], d["brand_id"]
        row.city, row.active = d.get("city") or "", d.get("active", True)
    else:
        row.username, row.role, row.store_id = d["username"], d["role"], d.get("store_id")
        row.active = d.get("active", True)


def definitions_in_force(s: Session, group_id: str | None) -> int:
    """The version of the KPI definitions a group's figures follow (the latest unless a rebuild chose one)."""
    row = s.get(GroupSetting, group_id) if group_id else None
    return int((row.data or {}).get("definitions") or VERSION) if row is not None else VERSION


def set_definitions(s: Session, group_ids: Iterable[str], version: int) -> None:
    """Put a version of the KPI definitions in force for these groups (their other settings unchanged)."""
    for gid in group_ids:
        row = s.get(GroupSetting, gid)
        if row is None:
            row = GroupSetting(id=gid, group_id=gid, data={})
            s.add(row)
        row.data = {**(row.data or {}), "definitions": version}
    s.flush()


def rebuild(s: Session, batch: int = 5000, definitions: int | None = None) -> int:
    """Recompute labels, facts and every rollup from the stored log (in the session's scope), under the
    definitions version given (kept in force for the groups rebuilt) or the one in force."""
    if definitions is not None:
        set_definitions(s, list(s.scalars(select(EventLog.group_id).distinct())), definitions)
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
