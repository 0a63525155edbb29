"""Analytics pages: HQ and store dashboards (drillable charts), compliance, forecast, targets, exports."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale, gettext as _

from shared import clock
from shared.auth import current_principal
from shared.errors import UserError
from shared.permissions import can, page

from ..views import exports as X
from ..handlers import targets as handlers
from ..views import queries as Q
from ..views import reports as R
from ..domain import kpis as K
from ..domain.definitions import CHANGES, VERSIONS, hover
from ..domain.facts import OPEN_LEVELS, TZ
from ..labels import COMPLIANCE_LABELS, FAMILY_LABELS, FUNNEL_LABELS, KEY_LABELS, KPI_LABELS, LEVEL_LABELS, \
    RECONCILE_KPI_LABELS, RECONCILE_SOURCE_LABELS, SOURCE_LABELS, fmt, label
from ..handlers.ingest import definitions_in_force
from ..handlers.reconcile import SOURCES, last_runs

bp = Blueprint("analytics_pages", __name__, url_prefix="/analytics")
HEADLINE = ("leads", "orders", "deliveries", "close_rate", "test_drive_rate", "frt_median", "sat_overall",
            "churn_rate")
NODE_ARGS = ("month", "brand_id", "store_id", "consultant_id", "model", "source", "channel")


def _db():
    return current_app.extensions["crm"].db


def _args() -> dict:
    return {k: request.args.get(k) for k in NODE_ARGS if request.args.get(k)}


def _dashboard_data(p, args: dict, rank_kpi: str):
    with _db().session(p.scope) as s:
        v = R.resolve(s, p, args)
        return v, R.dashboard(s, p, v, rank_kpi)


def _node_url(level: str, node_id: str, month: str) -> str:
    key = {"brand": "brand_id", "store": "store_id", "consultant": "consultant_id"}.get(level)
    params: dict[str, Any] = {"month": month}
    if key:
        params[key] = node_id
    elif level == "model":
        params["model"] = node_id
    return url_for("analytics_pages.dashboard", **params)


def funnel_bars(rows: list[dict]) -> list[dict]:
    """A funnel's bars: each level's count and, beside it, its share of the first level's (the text the chart
    writes on the bar). No share when the first level counts nobody: early in a month, leads of the months
    before reach the later levels, and a share of nothing read "Infinity%" on the chart."""
    first = rows[0]["count"] if rows else 0
    return [{"level": label(FUNNEL_LABELS, r["level"]), "count": r["count"],
             "text": f"{r['count']} · {r['count'] / first:.0%}" if first else str(r["count"])} for r in rows]


def _charts(d: dict) -> dict:
    """What the charts draw, with a drill-down address for every clickable point."""
    month, by = d["month"], d["children"]["by"]
    children = [r for r in d["children"]["rows"] if r["id"]]
    drill = by in ("brand", "store", "consultant")
    return {
        "labels": {"leads": _("Leads"), "orders": _("Orders"), "deliveries": _("Deliveries"),
                   "sat_overall": _("Overall satisfaction"), "showroom": _("Showroom leads"),
                   "callcenter": _("Call-center leads"), "sat_sales": _("Sales satisfaction"),
                   "sat_after_sales": _("After-sales satisfaction")},
        "trend": d["trend"],
        "funnels": {k: funnel_bars(rows) for k, rows in d["funnels"].items()},
        "sources": [{"label": label(SOURCE_LABELS, r["source"]), "value": r["leads"]} for r in d["sources"]],
        "children": [{"label": r["name"], "leads": r["kpis"]["leads"], "orders": r["kpis"]["orders"],
                      "deliveries": r["kpis"]["deliveries"],
                      "url": _node_url(by, r["id"], month) if drill else None} for r in children],
        "satisfaction": [{"label": r["name"], "sat_overall": r["sat_overall"], "sat_sales": r["sat_sales"],
                          "sat_after_sales": r["sat_after_sales"], "url": _node_url("store", r["id"], month)}
                         for r in d["satisfaction"]],
    }


@bp.get("/")
@page("analytics.read")
def dashboard():
    """HQ dashboard (the whole group, drillable to brand, store and consultant); a store manager's
    dashboard is their own store beside the group average."""
    p = current_principal()
    rank_kpi = request.args.get("rank_kpi") or "orders"
    if rank_kpi not in K.KPI_BY_KEY:
        rank_kpi = "orders"
    args = _args()
    if args.get("month"):
        try:
            K.parse_month(args["month"])
        except ValueError:
            flash(_("Month must look like 2026-05; showing this month."), "error")
            args.pop("month")
    v, d = _dashboard_data(p, args, rank_kpi)
    with _db().session(p.scope) as s:
        version = definitions_in_force(s, p.group_id)
    units = {k.key: k.unit for k in K.KPIS}
    kpis = {r["key"]: r for r in d["kpis"]}
    query = {k: val for k, val in args.items()}
    query.setdefault("month", d["month"])
    return render_template(
        "analytics/dashboard.html", d=d, v=v, kpis=kpis, headline=HEADLINE, units=units, fmt=fmt,
        families=K.FAMILIES, family_labels=FAMILY_LABELS, kpi_labels=KPI_LABELS, level_labels=LEVEL_LABELS,
        key_labels=KEY_LABELS, source_labels=SOURCE_LABELS, funnel_labels=FUNNEL_LABELS, label=label,
        charts=_charts(d), query=query, rank_kpi=rank_kpi, all_kpis=K.KPIS, child_kpis=X.CHILD_KPIS,
        node_url=_node_url, prev_month=K.shift_month(d["month"], -1), next_month=K.shift_month(d["month"], 1),
        kpi_hover=lambda key: _hover(key, version))


def _hover(key: str, version: int) -> str:
    """A KPI's definition for its title attribute, in the page's language, under the group's definitions
    version (domain/definitions.py)."""
    return hover(key, str(get_locale() or "en"), version)


@bp.get("/reconciliation")
@page("analytics.reconcile")
def reconciliation():
    """Figures reconciled (指标核对): analytics beside each source service's own counts per KPI, store and day.

    The last nightly comparison is shown as analytics kept it; "reconcile" asks leads, the call center and
    customers for their counts and analytics for the comparison on the signed-in user's behalf
    (reconciliation.js); the group admin can rebuild the rollups from the event log in one click."""
    p = current_principal()
    today = clock.now().astimezone(TZ).date()
    stores = None if p.scope.store_ids is None else set(p.scope.store_ids)
    with _db().session(p.scope) as s:
        names = {st.id: st.name for st in Q.stores(s)}
        runs = last_runs(s, stores)
        version = definitions_in_force(s, p.group_id)
    return render_template("analytics/reconciliation.html", day_from=today.replace(day=1), day_to=today,
                           definitions=version, versions=VERSIONS, changes=CHANGES,
                           names=names, kpi_labels=RECONCILE_KPI_LABELS, source_labels=RECONCILE_SOURCE_LABELS,
                           sources=SOURCES, runs=runs, tz=TZ, can_rebuild=can(p.role, "analytics.admin"))


@bp.get("/compliance")
@page("analytics.read")
def compliance():
    """Store compliance for HQ (a store manager sees their own store's line)."""
    p = current_principal()
    with _db().session(p.scope) as s:
        rows = Q.compliance(s, p.group_id, clock.now())
    return render_template("analytics/compliance.html", rows=rows, labels=COMPLIANCE_LABELS)


@bp.get("/forecast")
@page("analytics.read")
def forecast():
    """Expected deliveries in the next 7, 30 and 90 days, and earlier forecasts beside actual deliveries."""
    p = current_principal()
    with _db().session(p.scope) as s:
        f = Q.forecast(s, p.group_id, clock.now().astimezone(TZ).date())
    return render_template("analytics/forecast.html", f=f, levels=OPEN_LEVELS)


@bp.get("/targets")
@page("analytics.read")
def targets():
    """Monthly targets per group, brand, store and consultant (HQ admin edits, others read)."""
    p = current_principal()
    month = request.values.get("month") or R.this_month()
    with _db().session(p.scope) as s:
        names = Q.labels(s)
        rows = [{"id": t.id, "month": t.month, "level": t.level, "kpi": t.kpi, "value": t.value,
                 "name": names.get(t.level, {}).get(t.node_id) or str(LEVEL_LABELS["group"])}
                for t in Q.target_list(s, month)]
        stores = Q.stores(s)
        brands = sorted(names["brand"].items(), key=lambda kv: kv[1])
        people = [(sid, Q.consultants(s, sid)) for sid in [st.id for st in stores]]
    return render_template("analytics/targets.html", rows=rows, month=month, stores=stores, brands=brands,
                           people=people, kpis=K.KPIS, kpi_labels=KPI_LABELS, level_labels=LEVEL_LABELS,
                           label=label, can_edit=can(p.role, "analytics.admin"))


@bp.post("/targets")
@page("analytics.admin")
def save_target():
    """Set one monthly target from the targets page's form."""
    p = current_principal()
    month = request.values.get("month") or R.this_month()
    form = {k: request.form.get(k, "") for k in ("month", "kpi", "value")}
    form["level"], _sep, form["node_id"] = request.form.get("node", "").partition(":")
    try:
        form["value"] = float(form["value"])
        if form["value"] < 0:
            raise ValueError
    except ValueError:
        flash(_("The target must be a number of at least 0."), "error")
        return redirect(url_for("analytics_pages.targets", month=form["month"] or month))
    try:
        with _db().session(p.scope) as s:
            handlers.set_target(s, p, form)
        flash(_("Target saved."))
    except UserError as exc:
        flash(_("Not saved: %(reason)s", reason="; ".join(f"{k}: {', '.join(v)}" for k, v in
                                                          (exc.data.get("errors") or {}).items())
                or exc.data["message"]), "error")
    return redirect(url_for("analytics_pages.targets", month=form["month"] or month))


@bp.post("/targets/<target_id>/delete")
@page("analytics.admin")
def delete_target(target_id):
    """Remove a target."""
    p = current_principal()
    month = request.form.get("month") or R.this_month()
    with _db().session(p.scope) as s:
        handlers.delete_target(s, target_id)
    flash(_("Target removed."))
    return redirect(url_for("analytics_pages.targets", month=month))


@bp.get("/settings")
@page("analytics.read")
def settings():
    """Forecast probability and horizon per intent level (HQ admin edits; the cadence is leads')."""
    p = current_principal()
    with _db().session(p.scope) as s:
        cfg = Q.settings(s, p.group_id)
    return render_template("analytics/settings.html", cfg=cfg, levels=OPEN_LEVELS,
                           can_edit=can(p.role, "analytics.admin"))


@bp.post("/settings")
@page("analytics.admin")
def save_settings():
    """Save the settings page's form (every level's probability in %, horizon in days)."""
    p = current_principal()
    data: dict = {"probability": {}, "horizon_days": {}}
    bad = []
    for lv in OPEN_LEVELS:
        for key, cast, lo, hi in (("probability", float, 0, 1), ("horizon_days", int, 1, 365)):
            raw = request.form.get(f"{key}_{lv}", "").strip()
            try:
                val = cast(float(raw) / 100) if key == "probability" else cast(raw)
                if not lo <= val <= hi:
                    raise ValueError
                data[key][lv] = val
            except ValueError:
                bad.append(f"{lv}")
    if bad:
        flash(_("Not saved: check the values for levels %(levels)s.", levels=", ".join(sorted(set(bad)))), "error")
    else:
        with _db().session(p.scope) as s:
            handlers.save_settings(s, p, data)
        flash(_("Settings saved."))
    return redirect(url_for("analytics_pages.settings"))


@bp.get("/export/<name>.<fmt_>")
@page("analytics.read")
def export(name: str, fmt_: str):
    """Any table of the dashboards as CSV or XLSX (same filters as the page it came from)."""
    if fmt_ not in ("csv", "xlsx"):
        abort(404)
    p = current_principal()
    if name == "compliance":
        with _db().session(p.scope) as s:
            table = X.compliance_table(Q.compliance(s, p.group_id, clock.now()))
    elif name == "forecast":
        with _db().session(p.scope) as s:
            table = X.forecast_table(Q.forecast(s, p.group_id, clock.now().astimezone(TZ).date(), save=False))
    else:
        _, d = _dashboard_data(p, _args(), request.args.get("rank_kpi") or "orders")
        tables = X.dashboard_tables(d)
        if name not in tables:
            abort(404)
        table = tables[name]
    body = X.to_csv(table) if fmt_ == "csv" else X.to_xlsx(table)
    mime = "text/csv; charset=utf-8" if fmt_ == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt_}"'})


@bp.get("/report.xlsx")
@page("analytics.read")
def monthly_report():
    """The monthly HQ report: one sheet per KPI family for the group, every brand and store
    (a store manager: their store and the group average), then compliance, rankings, forecast."""
    p = current_principal()
    month = request.args.get("month") or R.this_month()
    try:
        K.parse_month(month)
    except ValueError:
        abort(404)
    with _db().session(p.scope) as s:
        avg = R.group_average_for(s, p, month)
        scopes = []
        if p.is_hq:
            scopes.append(("group", str(LEVEL_LABELS["group"]), Q.kpi_rows(s, month, Q.Filters(), "group", "")))
            for bid, bname in sorted(Q.labels(s)["brand"].items(), key=lambda kv: kv[1]):
                scopes.append(("brand", bname, Q.kpi_rows(s, month, Q.Filters(brand_id=bid), "brand", bid)))
        for st in Q.stores(s):
            scopes.append(("store", st.name, Q.kpi_rows(s, month, Q.Filters(store_id=st.id), "store", st.id)))
        if not p.is_hq:
            scopes.append(("group", _("Group average per store"),
                           [{"key": k.key, "family": k.family, "unit": k.unit, "actual": avg[k.key], "target": None,
                             "achievement": None, "mom": None, "yoy": None} for k in K.KPIS]))
        extra = [X.compliance_table(Q.compliance(s, p.group_id, clock.now(), month))]
        flt = Q.Filters()
        for by in (("store", "brand", "model", "consultant") if p.is_hq else ("consultant", "model")):
            rows = Q.ranking(s, month, flt, by, "orders", shown=("deliveries",))
            extra.append(X.Table(f"{_('Ranking')} {label(LEVEL_LABELS, by)}",
                                 [_("Rank"), _("Name"), label(KPI_LABELS, "orders"), label(KPI_LABELS, "deliveries")],
                                 [[r["rank"], r["name"], r["kpis"]["orders"], r["kpis"]["deliveries"]] for r in rows]))
        extra.append(X.forecast_table(Q.forecast(s, p.group_id, clock.now().astimezone(TZ).date(), save=False)))
    body = X.monthly_report(month, scopes, extra)
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="hq-report-{month}.xlsx"'})


VENDOR = Path(__file__).resolve().parents[1] / "static" / "vendor"


@bp.get("/vendor/plotly.min.js")
def plotly_js():
    """The charting library: plotly.js's partial finance bundle, put there by `make deps` from npm (no CDN)."""
    path = VENDOR / "plotly-finance.min.js"
    if not path.exists():
        abort(404, "the chart library is missing: run `make deps`")
    return send_file(str(path), mimetype="application/javascript", max_age=7 * 86400)
