"""Analytics JSON API: every figure the dashboards show, for BI tools and the manufacturer's reporting."""
from __future__ import annotations

from flask import current_app, make_response
from flask.views import MethodView

from shared.web import ApiBlueprint
from shared import clock
from shared.auth import current_principal
from shared.permissions import require

from ...handlers import targets as handlers
from ...views import queries as Q
from ...views import reports as R
from ...domain.facts import TZ
from ...schemas import (
    ComplianceOut,
    DashboardOut,
    DashboardQuery,
    ForecastOut,
    KpisOut,
    MonthQuery,
    NodeQuery,
    RankingQuery,
    RankingsOut,
    SettingsIn,
    SettingsOut,
    SummaryOut,
    SummaryQuery,
    TargetIn,
    TargetList,
    TargetOut,
    TrendOut,
    TrendQuery,
)

blp = ApiBlueprint("analytics", __name__, url_prefix="/analytics/api/v1", description="Group analytics")


def _db():
    return current_app.extensions["crm"].db


@blp.route("/summary")
class Summary(MethodView):
    @require("analytics.read")
    @blp.arguments(SummaryQuery, location="query")
    @blp.response(200, SummaryOut)
    def get(self, q):
        """Lead counts: HQ sees the whole group, a store manager their own store only."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return Q.lead_summary(s, q.get("date_from"), q.get("date_to"))


@blp.route("/dashboard")
class Dashboard(MethodView):
    @require("analytics.read")
    @blp.arguments(DashboardQuery, location="query")
    @blp.response(200, DashboardOut)
    def get(self, q):
        """Everything a dashboard shows for one node (group, brand, store or consultant) and month:
        KPIs with target, achievement, MoM and YoY; the next level down; funnels (all, showroom,
        call center); source and channel mix; 13-month trend; satisfaction by store; rankings; for
        a store manager, the group average per store."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return R.dashboard(s, p, R.resolve(s, p, q), q["rank_kpi"])


@blp.route("/kpis")
class Kpis(MethodView):
    @require("analytics.read")
    @blp.arguments(NodeQuery, location="query")
    @blp.response(200, KpisOut)
    def get(self, q):
        """KPIs of one node and month: actual, target, achievement rate, month-on-month, year-on-year."""
        p = current_principal()
        with _db().session(p.scope) as s:
            v = R.resolve(s, p, q)
            return {"month": v.month, "level": v.level, "node": {"id": v.node_id, "name": v.name},
                    "kpis": Q.kpi_rows(s, v.month, v.flt, v.level, v.node_id)}


@blp.route("/rankings")
class Rankings(MethodView):
    @require("analytics.read")
    @blp.arguments(RankingQuery, location="query")
    @blp.response(200, RankingsOut)
    def get(self, q):
        """Stores, brands, models, sources or consultants ranked by any KPI (within the caller's scope)."""
        p = current_principal()
        with _db().session(p.scope) as s:
            v = R.resolve(s, p, q)
            if q["by"] == "brand" and not p.is_hq:
                return {"month": v.month, "by": "brand", "kpi": q["kpi"], "items": []}
            rows = Q.ranking(s, v.month, v.flt, q["by"], q["kpi"])
            return {"month": v.month, "by": q["by"], "kpi": q["kpi"],
                    "items": [{"rank": r["rank"], "id": r["id"], "name": r["name"], "value": r["value"],
                               "kpis": r["kpis"]} for r in rows]}


@blp.route("/trend")
class Trend(MethodView):
    @require("analytics.read")
    @blp.arguments(TrendQuery, location="query")
    @blp.response(200, TrendOut)
    def get(self, q):
        """One KPI month by month up to `month` (default 13 months: the same month last year is the first)."""
        p = current_principal()
        with _db().session(p.scope) as s:
            v = R.resolve(s, p, q)
            return {"kpi": q["kpi"], "items": Q.trend(s, v.month, v.flt, q["kpi"], q["months"])}


@blp.route("/compliance")
class Compliance(MethodView):
    @require("analytics.read")
    @blp.arguments(MonthQuery, location="query")
    @blp.response(200, ComplianceOut)
    def get(self, q):
        """Per store, worst first: overdue follow-ups, defeats awaiting approval, daily reports missing
        or late (this month so far), callbacks past due."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return {"items": Q.compliance(s, p.group_id, clock.now(), q.get("month"))}


@blp.route("/forecast")
class Forecast(MethodView):
    @require("analytics.read")
    @blp.response(200, ForecastOut)
    def get(self):
        """Expected deliveries in the next 7, 30 and 90 days per store, and earlier forecasts beside
        what was delivered."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return Q.forecast(s, p.group_id, clock.now().astimezone(TZ).date())


@blp.route("/settings")
class Settings(MethodView):
    @require("analytics.read")
    @blp.response(200, SettingsOut)
    def get(self):
        """The group's forecast probabilities and horizons (the follow-up cadence is set in leads)."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return Q.settings(s, p.group_id).to_dict()

    @require("analytics.admin")
    @blp.arguments(SettingsIn)
    @blp.response(200, SettingsOut)
    def put(self, data):
        """Change the group's settings (only the levels given change)."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return handlers.save_settings(s, p, data).to_dict()


@blp.route("/targets")
class Targets(MethodView):
    @require("analytics.read")
    @blp.arguments(MonthQuery, location="query")
    @blp.response(200, TargetList)
    def get(self, q):
        """Targets of a month (a store manager sees their store's and consultants' only)."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return {"items": Q.target_list(s, q.get("month"))}

    @require("analytics.admin")
    @blp.arguments(TargetIn)
    @blp.response(200, TargetOut)
    def put(self, data):
        """Set (create or replace) one monthly target for the group, a brand, a store or a consultant."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return handlers.set_target(s, p, data)


@blp.route("/targets/<target_id>")
class TargetItem(MethodView):
    @require("analytics.admin")
    @blp.response(204)
    def delete(self, target_id):
        """Remove a target."""
        p = current_principal()
        with _db().session(p.scope) as s:
            handlers.delete_target(s, target_id)
        return make_response("", 204)
