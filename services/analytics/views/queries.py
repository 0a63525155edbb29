"""Read side: sums from the rollups per scope node and month, labels, targets, compliance, forecast.

Every query runs in the caller's scoped session, so a store manager's sums only ever contain their
own store; `group_average` is the one deliberate exception (read in a reviewed widening,
`reports.group_average_for`, and it returns no store's data).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import Session

from shared.tenancy import Scope

from ..domain import kpis as K
from ..domain.facts import TZ
from ..domain.planning import FORECAST_WINDOWS, GroupSettings, expected_deliveries
from ..adapters.models import DimBrand, DimStore, DimUser, Fact, ForecastSnapshot, GroupSetting, RollupCube, RollupFine, \
    RollupRunning, Target

LEVELS = ("group", "brand", "store", "consultant")
FILTER_DIMS = ("consultant", "model", "source", "channel")


@dataclass
class Filters:
    brand_id: str | None = None
    store_id: str | None = None
    consultant_id: str | None = None
    model: str | None = None
    source: str | None = None
    channel: str | None = None

    def dims(self) -> set[str]:
        return {d for d in FILTER_DIMS if getattr(self, "consultant_id" if d == "consultant" else d)}


@dataclass
class Node:
    level: str
    id: str = ""
    name: str = ""
    parent: Node | None = None
    filters: Filters = field(default_factory=Filters)


# ---- sums ----------------------------------------------------------------------------------------

def _cell_filters(T, flt: Filters, dim: str) -> list:
    """Criteria on a one-dimension rollup (the cube or the running totals) for these filters."""
    where = [T.dim == dim]
    if flt.brand_id:
        where.append(T.brand_id == flt.brand_id)
    if flt.store_id:
        where.append(T.store_id == flt.store_id)
    if dim:
        value = flt.consultant_id if dim == "consultant" else getattr(flt, dim)
        if value:
            where.append(T.dim_value == value)
    return where


def _cell_group_col(T, by: str | None, dim: str):
    return {None: None, "brand": T.brand_id, "store": T.store_id}.get(by, T.dim_value if by == dim else None)


def figures(s: Session, month: str, flt: Filters, by: str | None = None,
            reads: K.Reads | None = None, running: bool = True) -> dict[str, K.Figures]:
    """Figures for one month, optionally split `by` brand/store/consultant/model/source/channel/day,
    with every flow row or only those `reads` names (`K.KPI_READS` when only KPIs are shown), and
    the running totals unless `running` is False (KPIs that read none: `K.reads_of`).

    The cube and the running totals answer whenever at most one of consultant/model/source/channel
    is involved; otherwise the fine table does (same numbers, more rows to add up). Cells that add up
    to zero are left out: whether a retracted change left a zero row behind depends on how the events
    were batched (a rebuild leaves none), and a node with nothing but zeros is not a node to list.
    """
    dims = flt.dims() | ({by} if by in FILTER_DIMS else set())
    if len(dims) <= 1:
        return _from_cube(s, month, flt, by, next(iter(dims), ""), reads, running)
    return _from_fine(s, month, flt, by)


def _from_cube(s: Session, month: str, flt: Filters, by: str | None, dim: str,
               reads: K.Reads | None, running: bool = True) -> dict[str, K.Figures]:
    C = RollupCube
    group_col = C.period if by == "day" else _cell_group_col(C, by, dim)
    start, end = K.month_days(month)
    if by == "day":
        period_filter = [C.period >= start.isoformat(), C.period <= end.isoformat()]
    else:
        period_filter = [C.period == month]
    # a period's rows are distinct cells, read in index order and added up here (no sort in the database)
    stmt = select(C.metric, C.key, group_col if group_col is not None else literal(""), C.value) \
        .where(*_cell_filters(C, flt, dim), *period_filter)
    if reads is not None:
        stmt = stmt.where(_read_only(C, reads))
    flows: dict[str, K.Sums] = {}
    for metric, key, node, value in s.execute(stmt):
        if not value:  # a cell whose changes cancelled out: no figure, and no node of its own
            continue
        flow = flows.get(node)
        if flow is None:
            flow = flows[node] = {}
        cell = (metric, key)
        flow[cell] = flow.get(cell, 0) + value
    out: dict[str, K.Figures] = defaultdict(K.Figures, {node: K.Figures(flow) for node, flow in flows.items()})
    if by != "day" and running:
        _add_running(s, out, month, flt, by, dim)
    return dict(out)


@lru_cache(maxsize=64)
def _read_only(T, reads: K.Reads):
    """Criteria for the flow rows `reads` names (built once: a dashboard needs the same every time)."""
    keyed = {m: keys for m, keys in reads if keys is not None}
    # the metrics as one list (the index finds them), then the keys of those that need only some
    return and_(T.metric.in_([m for m, _ in reads]),
                or_(T.metric.not_in(list(keyed)), *(and_(T.metric == m, T.key.in_(sorted(k))) for m, k in keyed.items())))


def _add_running(s: Session, out: dict[str, K.Figures], month: str, flt: Filters, by: str | None,
                 dim: str) -> None:
    """Running totals at the end of the month and of the month before: one snapshot row per cell."""
    R = RollupRunning
    snapshots = _snapshot_months(s, month)
    if not snapshots:
        return
    group_col = _cell_group_col(R, by, dim)
    at = or_(*(and_(R.group_id == g, R.month.in_({end_at, start_at})) for g, (end_at, start_at) in snapshots.items()))
    stmt = select(R.group_id, R.month, R.metric, R.key, group_col if group_col is not None else literal(""), R.value) \
        .where(*_cell_filters(R, flt, dim), at)
    for gid, at_month, metric, key, node, value in s.execute(stmt):
        if not value:
            continue
        fig = out[str(node)]
        end_at, start_at = snapshots[gid]
        if at_month == end_at:
            fig.stock_end[(metric, key)] = fig.stock_end.get((metric, key), 0) + value
        if at_month == start_at:
            fig.stock_start[(metric, key)] = fig.stock_start.get((metric, key), 0) + value


def _snapshot_months(s: Session, month: str) -> dict[str, tuple[str, str]]:
    """Per group the session sees: which snapshot rows hold the totals at the end of `month` and of
    the month before (every cell has a row for each month up to the group's horizon; after the
    horizon nothing changed, so a later month reads the horizon's rows)."""
    R = RollupRunning
    scope: Scope | None = s.info.get("scope")
    groups = [scope.group_id] if scope is not None and scope.group_id else list(s.scalars(select(R.group_id).distinct()))
    out = {}
    for gid in groups:
        end_at = s.scalar(select(func.max(R.month)).where(R.group_id == gid, R.month <= month))
        if end_at is not None:
            out[gid] = (end_at, K.shift_month(month, -1) if end_at == month else end_at)
    return out


def _from_fine(s: Session, month: str, flt: Filters, by: str | None) -> dict[str, K.Figures]:
    F = RollupFine
    where = []
    for attr, col in (("brand_id", F.brand_id), ("store_id", F.store_id), ("consultant_id", F.consultant_id),
                      ("model", F.model), ("source", F.source), ("channel", F.channel)):
        if getattr(flt, attr):
            where.append(col == getattr(flt, attr))
    group_col = {None: None, "brand": F.brand_id, "store": F.store_id, "consultant": F.consultant_id,
                 "model": F.model, "source": F.source, "channel": F.channel, "day": F.day}[by]
    cols: list[Any] = [F.metric, F.key] + ([group_col] if group_col is not None else [])
    start, end = K.month_days(month)
    out: dict[str, K.Figures] = defaultdict(K.Figures)
    for row in s.execute(select(*cols, func.sum(F.value)).where(*where, F.day >= start, F.day <= end).group_by(*cols)):
        if not row[-1]:
            continue
        key = "" if group_col is None else (row[2].isoformat() if by == "day" else str(row[2]))
        out[key].flow[(row[0], row[1])] = int(row[-1])
    if by != "day":
        # two dimensions have no snapshots: add up every day, both month ends in one pass
        before = func.sum(F.value).filter(F.day < start)
        stmt = select(*cols, func.sum(F.value), before).where(*where, F.metric.in_(K.STOCK_METRICS), F.day <= end) \
            .group_by(*cols)
        for row in s.execute(stmt):
            if not row[-2] and not row[-1]:
                continue
            fig = out["" if group_col is None else str(row[2])]
            fig.stock_end[(row[0], row[1])] = int(row[-2])
            if row[-1] is not None:
                fig.stock_start[(row[0], row[1])] = int(row[-1])
    return dict(out)


def node_figures(s: Session, month: str, flt: Filters, reads: K.Reads | None = None) -> K.Figures:
    return figures(s, month, flt, reads=reads).get("", K.Figures())


def node_kpis(s: Session, month: str, flt: Filters) -> dict[str, float | None]:
    """Every KPI of one node and month (reading only the rollup rows the KPIs need)."""
    return K.compute(node_figures(s, month, flt, K.KPI_READS))


# ---- labels --------------------------------------------------------------------------------------

LABELLED: dict[str, type[DimBrand] | type[DimStore] | type[DimUser]] = {"brand": DimBrand, "store": DimStore,
                                                                       "consultant": DimUser}


def labels(s: Session) -> dict[str, dict[str, str]]:
    """Names of the brands, stores and users this caller may see."""
    return {kind: names_of(s, kind) for kind in LABELLED}


def names_of(s: Session, kind: str) -> dict[str, str]:
    """Names of one kind of node (brand, store, consultant) this caller may see; other kinds have none."""
    model = LABELLED.get(kind)
    return {} if model is None else {i: n for i, n in s.execute(select(model.id, model.name))}


def stores(s: Session, brand_id: str | None = None) -> list[DimStore]:
    stmt = select(DimStore).order_by(DimStore.code)
    if brand_id:
        stmt = stmt.where(DimStore.brand_id == brand_id)
    return list(s.scalars(stmt))


def consultants(s: Session, store_id: str) -> list[DimUser]:
    return list(s.scalars(select(DimUser).where(DimUser.store_id == store_id, DimUser.role == "sales_consultant")
                          .order_by(DimUser.username)))


# ---- targets and settings ------------------------------------------------------------------------

def targets(s: Session, month: str, level: str | None = None, node_id: str | None = None) -> dict[str, float]:
    stmt = select(Target).where(Target.month == month)
    if level:
        stmt = stmt.where(Target.level == level, Target.node_id == (node_id or ""))
    return {t.kpi: t.value for t in s.scalars(stmt)}


def target_list(s: Session, month: str | None = None) -> list[Target]:
    """The targets this caller may see (of one month, or all), by level, node and KPI."""
    stmt = select(Target).order_by(Target.level, Target.node_id, Target.kpi)
    return list(s.scalars(stmt.where(Target.month == month) if month else stmt))


def lead_summary(s: Session, date_from: date | None = None, date_to: date | None = None) -> dict:
    """Lead counts in the caller's scope between two local days, in total and by source, store, brand,
    day and channel."""
    F = RollupFine
    where = [F.metric == "leads"] + ([F.day >= date_from] if date_from else []) + ([F.day <= date_to] if date_to else [])

    def by(col) -> dict[str, int]:
        return {str(k): int(v) for k, v in s.execute(select(col, func.sum(F.value)).where(*where).group_by(col)) if v}

    by_source = by(F.source)
    return {"leads": sum(by_source.values()), "by_source": by_source, "by_store": by(F.store_id),
            "by_brand": by(F.brand_id), "by_day": by(F.day), "by_channel": by(F.channel)}


def settings(s: Session, group_id: str) -> GroupSettings:
    row = s.get(GroupSetting, group_id)
    return GroupSettings.from_dict(row.data if row else None)


# ---- KPI tables ----------------------------------------------------------------------------------

def kpi_rows(s: Session, month: str, flt: Filters, level: str, node_id: str) -> list[dict]:
    """Every KPI of one node: month actual, target, achievement, month-on-month and year-on-year."""
    now = node_kpis(s, month, flt)
    mom = node_kpis(s, K.shift_month(month, -1), flt)
    yoy = node_kpis(s, K.shift_month(month, -12), flt)
    tg = targets(s, month, level, node_id)
    rows = []
    for k in K.KPIS:
        rows.append({"key": k.key, "family": k.family, "unit": k.unit, "actual": now[k.key],
                     "target": tg.get(k.key), "achievement": K.achievement(k, now[k.key], tg.get(k.key)),
                     "mom": K.change(now[k.key], mom[k.key]), "yoy": K.change(now[k.key], yoy[k.key]),
                     "higher_is_better": k.higher_is_better})
    return rows


def children(s: Session, month: str, flt: Filters, by: str, kpis: tuple[str, ...] | None = None) -> list[dict]:
    """The next level down (brands, stores, consultants, models, sources) with every KPI, or only
    those in `kpis` (reading only their rows)."""
    names = names_of(s, by)
    reads, stock = K.reads_of(kpis)
    figs = figures(s, month, flt, by, reads, running=stock)
    if by == "brand":
        ids = {st.brand_id for st in stores(s)} | set(figs)
    elif by == "store":
        ids = {st.id for st in stores(s, flt.brand_id) if not flt.store_id or st.id == flt.store_id} | set(figs)
    elif by == "consultant" and flt.store_id:
        ids = {u.id for u in consultants(s, flt.store_id)} | set(figs)
    else:
        ids = set(figs)
    out = []
    for cid in ids:
        values = K.compute(figs.get(cid, K.Figures()), kpis)
        out.append({"id": cid, "name": names.get(cid) or cid or "—", "kpis": values})
    return sorted(out, key=lambda r: (-(r["kpis"].get("leads") or 0), r["name"]))


def ranking(s: Session, month: str, flt: Filters, by: str, kpi: str,
            shown: tuple[str, ...] | None = None) -> list[dict]:
    """Stores, brands, models or consultants ranked by one KPI (best first), each row with every KPI
    or, when `shown` names them, only the ranked one and those (a dashboard's ranking table)."""
    k = K.KPI_BY_KEY[kpi]
    rows = children(s, month, flt, by, None if shown is None else tuple(dict.fromkeys((kpi, *shown))))
    rows.sort(key=lambda r: (r["kpis"][kpi] is None, -(r["kpis"][kpi] or 0) if k.higher_is_better
                             else (r["kpis"][kpi] or 0), r["name"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
        r["value"] = r["kpis"][kpi]
    return rows


def group_average(wide: Session, month: str) -> dict[str, float | None]:
    """The group's KPIs per store (counts divided by the number of stores, rates as the group's
    rate), for a session that sees the whole group: no store's own figures leave this function."""
    n = wide.scalar(select(func.count()).select_from(DimStore).where(DimStore.active.is_(True))) or 1
    group = node_kpis(wide, month, Filters())
    return {k.key: (v / n if (v is not None and k.additive) else v) for k, v in
            ((K.KPI_BY_KEY[key], val) for key, val in group.items())}


def trend(s: Session, month: str, flt: Filters, kpi: str, months: int = 13) -> list[dict]:
    out = []
    for i in range(months - 1, -1, -1):
        m = K.shift_month(month, -i)
        out.append({"month": m, "value": node_kpis(s, m, flt)[kpi]})
    return out


def daily(s: Session, month: str, flt: Filters, metric: str) -> list[dict]:
    figs = figures(s, month, flt, "day")
    start, end = K.month_days(month)
    out, d = [], start
    while d <= end:
        out.append({"day": d.isoformat(), "value": figs.get(d.isoformat(), K.Figures()).tot(metric)})
        d += timedelta(days=1)
    return out


# ---- compliance ----------------------------------------------------------------------------------

def compliance(s: Session, group_id: str, now: datetime, month: str | None = None) -> list[dict]:
    """Per store: overdue follow-ups, defeats awaiting approval, daily reports missing and late,
    callbacks past due; ranked worst first."""
    rows: dict[str, dict] = {st.id: {"store_id": st.id, "name": st.name, "overdue_followups": 0,
                                     "defeats_pending": 0, "reports_missing": 0, "reports_late": 0,
                                     "callbacks_past_due": 0} for st in stores(s)}

    def bump(store_id, field_, n):
        if store_id in rows:
            rows[store_id][field_] += int(n)

    # overdue as leads decides it: each open lead's `overdue_at` as leads last published it (no cadence here)
    for sid, n in s.execute(select(Fact.store_id, func.count()).where(
            Fact.kind == "lead", Fact.is_open.is_(True), Fact.due_at <= now).group_by(Fact.store_id)):
        bump(sid, "overdue_followups", n)
    for sid, n in s.execute(select(Fact.store_id, func.count()).where(Fact.kind == "lead", Fact.pending.is_(True))
                            .group_by(Fact.store_id)):
        bump(sid, "defeats_pending", n)
    for sid, n in s.execute(select(Fact.store_id, func.count()).where(
            Fact.kind == "task", Fact.is_open.is_(True), Fact.due_at < now).group_by(Fact.store_id)):
        bump(sid, "callbacks_past_due", n)
    # daily reports: missed and late as leads published them (its deadline rule; nothing re-derived here)
    C = RollupCube
    for sid, metric, n in s.execute(select(C.store_id, C.metric, func.sum(C.value)).where(
            C.dim == "", C.metric.in_(("reports_missed", "reports_late")),
            C.period == (month or K.month_key(now.astimezone(TZ).date()))).group_by(C.store_id, C.metric)):
        bump(sid, "reports_missing" if metric == "reports_missed" else "reports_late", n)
    out = list(rows.values())
    for r in out:
        r["total"] = sum(r[k] for k in ("overdue_followups", "defeats_pending", "reports_missing", "reports_late",
                                        "callbacks_past_due"))
    out.sort(key=lambda r: (-r["total"], r["name"]))
    for i, r in enumerate(out, 1):
        r["rank"] = i
    return out


# ---- forecast ------------------------------------------------------------------------------------

def forecast(s: Session, group_id: str, today: date, save: bool = True) -> dict:
    """Expected deliveries in the next 7/30/90 days per store, and past forecasts beside actuals."""
    cfg = settings(s, group_id)
    pipeline: dict[str, list] = defaultdict(list)
    for sid, level, expected, n in s.execute(
            select(Fact.store_id, Fact.level, Fact.expected_delivery, func.count())
            .where(Fact.kind == "lead", Fact.is_open.is_(True))
            .group_by(Fact.store_id, Fact.level, Fact.expected_delivery)):
        pipeline[sid].append((level, expected, int(n)))
    names = {st.id: st.name for st in stores(s)}
    per_store = []
    for sid in sorted(names, key=lambda i: names[i]):
        exp = {w: round(expected_deliveries(pipeline.get(sid, []), today, w, cfg), 2) for w in FORECAST_WINDOWS}
        open_leads = sum(n for _, _, n in pipeline.get(sid, []))
        per_store.append({"store_id": sid, "name": names[sid], "open_leads": open_leads, "expected": exp})
        if save:
            for w, v in exp.items():
                snap = s.scalar(select(ForecastSnapshot).where(ForecastSnapshot.store_id == sid,
                                                               ForecastSnapshot.made_on == today,
                                                               ForecastSnapshot.window == w))
                if snap is None:
                    s.add(ForecastSnapshot(group_id=group_id, store_id=sid, made_on=today, window=w, expected=v))
                else:
                    snap.expected = v
    total = {w: round(sum(r["expected"][w] for r in per_store), 2) for w in FORECAST_WINDOWS}
    return {"today": today.isoformat(), "probability": cfg.probability, "stores": per_store, "total": total,
            "history": forecast_history(s, today)}


def forecast_history(s: Session, today: date, days_back: int = 120) -> list[dict]:
    """Earlier forecasts (summed over the visible stores) beside the deliveries that followed."""
    snaps = s.execute(select(ForecastSnapshot.made_on, ForecastSnapshot.window, func.sum(ForecastSnapshot.expected))
                      .where(ForecastSnapshot.made_on >= today - timedelta(days=days_back),
                             ForecastSnapshot.made_on < today)
                      .group_by(ForecastSnapshot.made_on, ForecastSnapshot.window)
                      .order_by(ForecastSnapshot.made_on.desc(), ForecastSnapshot.window)).all()
    if not snaps:
        return []
    C = RollupCube
    first = min(m for m, _, _ in snaps)
    per_day = {p: int(v) for p, v in s.execute(select(C.period, func.sum(C.value)).where(
        C.dim == "", C.metric == "deliveries", C.period > first.isoformat(),
        C.period <= (today + timedelta(days=1)).isoformat()).group_by(C.period)) if len(p) == 10}
    out = []
    for made_on, window, expected in snaps:
        end = made_on + timedelta(days=window)
        actual = sum(v for p, v in per_day.items() if made_on.isoformat() < p <= end.isoformat())
        out.append({"made_on": made_on.isoformat(), "window": window, "expected": round(float(expected), 2),
                    "actual": actual, "complete": end < today})
    return out

