"""Read use cases the API and the pages share: resolve the node a caller asks for, assemble the
dashboard, turn any of its tables into rows for CSV/XLSX, build the monthly HQ workbook."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shared import clock
from shared.auth import Principal
from shared.errors import Invalid, NotFound
from shared.tenancy import widened

from . import queries as Q
from ..domain import kpis as K
from ..domain.facts import CALLCENTER_CHANNELS, TZ
from ..adapters.models import DimBrand, DimStore, DimUser

CHILD_OF = {"group": "brand", "brand": "store", "store": "consultant", "consultant": "model"}
TREND_KPIS = ("leads", "orders", "deliveries", "sat_overall")


@dataclass
class View:
    month: str
    level: str
    node_id: str
    name: str
    flt: Q.Filters
    crumbs: list[dict] = field(default_factory=list)


def this_month() -> str:
    return K.month_key(clock.now().astimezone(TZ).date())


def resolve(s: Session, p: Principal, args: dict) -> View:
    """The node (group, brand, store or consultant) and filters a request names; 404 outside scope."""
    month = args.get("month") or this_month()
    try:
        K.parse_month(month)
    except ValueError:
        raise Invalid("invalid input: month", errors={"month": ["use YYYY-MM, e.g. 2026-05"]}) from None
    flt = Q.Filters(model=args.get("model") or None, source=args.get("source") or None,
                    channel=args.get("channel") or None)
    store_id, brand_id, consultant_id = args.get("store_id"), args.get("brand_id"), args.get("consultant_id")
    if not p.is_hq:
        if brand_id:
            raise NotFound("brand")  # a brand's figures include other stores'
        store_id = store_id or (None if consultant_id else p.home_store)
    crumbs = [{"level": "group", "id": "", "name": ""}] if p.is_hq else []
    level, node_id, name = "group", "", ""
    user: DimUser | None = None
    st: DimStore | None = None
    if consultant_id:
        user = s.get(DimUser, consultant_id)
        if user is None or not user.store_id:
            raise NotFound("consultant")
        store_id, flt.consultant_id = user.store_id, user.id
    if store_id:
        st = s.get(DimStore, store_id)
        if st is None:
            raise NotFound("store")
        brand_id, flt.store_id = st.brand_id, st.id
    if brand_id:
        b = s.get(DimBrand, brand_id)
        if b is None or (not p.is_hq and not flt.store_id):
            raise NotFound("brand")
        flt.brand_id = brand_id
        if p.is_hq:
            crumbs.append({"level": "brand", "id": b.id, "name": b.name})
        level, node_id, name = "brand", b.id, b.name
    if flt.store_id and st is not None:
        crumbs.append({"level": "store", "id": st.id, "name": st.name})
        level, node_id, name = "store", st.id, st.name
    if flt.consultant_id and user is not None:
        crumbs.append({"level": "consultant", "id": user.id, "name": user.name})
        level, node_id, name = "consultant", user.id, user.name
    return View(month, level, node_id, name, flt, crumbs)


def _merge(figs: list[K.Figures]) -> K.Figures:
    out = K.Figures()
    for f in figs:
        for attr in ("flow", "stock_end", "stock_start"):
            target = getattr(out, attr)
            for k, v in getattr(f, attr).items():
                target[k] = target.get(k, 0) + v
    return out


def dashboard(s: Session, p: Principal, v: View, rank_kpi: str = "orders") -> dict:
    """Everything one dashboard shows, as plain data (the API returns it, the page renders it); a store
    manager's has the group average per store beside their own figures."""
    flt, month = v.flt, v.month
    child = CHILD_OF[v.level]
    node = Q.node_figures(s, month, flt)
    by_channel = Q.figures(s, month, flt, "channel") if not flt.channel else {flt.channel: node}
    showroom = _merge([f for c, f in by_channel.items() if c not in CALLCENTER_CHANNELS])
    callcenter = _merge([f for c, f in by_channel.items() if c in CALLCENTER_CHANNELS])
    by_source = Q.figures(s, month, flt, "source")
    out: dict[str, Any] = {
        "month": month, "level": v.level, "node": {"id": v.node_id, "name": v.name}, "crumbs": v.crumbs,
        "kpis": Q.kpi_rows(s, month, flt, v.level, v.node_id),
        "children": {"by": child, "rows": Q.children(s, month, flt, child)},
        "funnels": {"all": K.funnel(node), "showroom": K.funnel(showroom), "callcenter": K.funnel(callcenter)},
        "sources": sorted(({"source": k or "—", "leads": f.tot("leads"), "orders": f.tot("orders")}
                           for k, f in by_source.items() if f.tot("leads") or f.tot("orders")),
                          key=lambda r: -r["leads"]),
        "channels": sorted(({"channel": k or "—", "leads": f.tot("leads")} for k, f in by_channel.items()
                            if f.tot("leads")), key=lambda r: -r["leads"]),
        "trend": _trend(s, month, flt),
        "daily": Q.daily(s, month, flt, "leads"),
        "defeat_reasons": _keyed(node.by_key("defeats")),
        "competitors": _keyed(node.by_key("defeats_competitor")),
        "sale_types": _keyed(node.by_key("deliveries_sale_type")),
        "customer_kinds": _keyed(node.by_key("deliveries_kind")),
        "tact": _keyed(node.by_key("tact")),
        "rank_kpi": rank_kpi,
        "rankings": {},
    }
    if v.level in ("group", "brand"):
        out["satisfaction"] = [{"id": r["id"], "name": r["name"], "sat_overall": r["kpis"]["sat_overall"],
                                "sat_sales": r["kpis"]["sat_sales"], "sat_after_sales": r["kpis"]["sat_after_sales"]}
                               for r in Q.children(s, month, flt, "store")]
        out["rankings"]["store"] = _slim(Q.ranking(s, month, flt, "store", rank_kpi, shown=()))
    else:
        out["satisfaction"] = []
    if v.level != "consultant":
        out["rankings"]["consultant"] = _slim(Q.ranking(s, month, flt, "consultant", rank_kpi, shown=()))
    out["rankings"]["model"] = _slim(Q.ranking(s, month, flt, "model", rank_kpi, shown=()))
    if v.level == "group":
        out["rankings"]["brand"] = _slim(Q.ranking(s, month, flt, "brand", rank_kpi, shown=()))
    out["group_average"] = group_average_for(s, p, month)
    return out


def group_average_for(s: Session, p: Principal, month: str) -> dict | None:
    """A store manager's comparison line: the group's KPIs per store, read beyond their store through the
    reviewed widening `group_average_per_store`, of which only these averages come back (HQ: None)."""
    if p.is_hq:
        return None
    with widened(s, "group_average_per_store"):
        return Q.group_average(s, month)


def _slim(rows: list[dict]) -> list[dict]:
    return [{"rank": r["rank"], "id": r["id"], "name": r["name"], "value": r["value"]} for r in rows]


def _keyed(d: dict[str, int]) -> list[dict]:
    return [{"key": k or "—", "count": v} for k, v in sorted(d.items(), key=lambda kv: -kv[1])]


def _trend(s: Session, month: str, flt: Q.Filters) -> list[dict]:
    out = []
    for i in range(12, -1, -1):
        m = K.shift_month(month, -i)
        values = Q.node_kpis(s, m, flt)
        out.append({"month": m, **{k: values[k] for k in TREND_KPIS}})
    return out


def now() -> datetime:
    return clock.now()
