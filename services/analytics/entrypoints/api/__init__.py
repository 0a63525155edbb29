"""Analytics JSON API: every figure the dashboards show, for BI tools and the manufacturer's reporting."""
from __future__ import annotations

from flask import current_app, make_response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared import clock
from shared.auth import current_principal
from shared.fields import Date, Id, Integer, Month
from shared.permissions import require

from ...handlers import targets as handlers
from ...views import queries as Q
from ...views import reports as R
from ...domain import kpis as K
from ...domain.facts import OPEN_LEVELS, TZ

blp = Blueprint("analytics", __name__, url_prefix="/analytics/api/v1", description="Group analytics")
RANK_BY = ("store", "brand", "model", "consultant", "source")


def _db():
    return current_app.extensions["crm"].db


class SummaryQuery(Schema):
    date_from = Date(data_key="from")
    date_to = Date(data_key="to")


class SummaryOut(Schema):
    leads = fields.Integer()
    by_source = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_store = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_brand = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_day = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_channel = fields.Dict(keys=fields.String(), values=fields.Integer())


class NodeQuery(Schema):
    month = Month()
    brand_id = Id()
    store_id = Id()
    consultant_id = Id()
    model = fields.String(validate=validate.Length(max=80))
    source = fields.String(validate=validate.Length(max=40))
    channel = fields.String(validate=validate.Length(max=20))


class DashboardQuery(NodeQuery):
    rank_kpi = fields.String(load_default="orders", validate=validate.OneOf([k.key for k in K.KPIS]))


class RankingQuery(NodeQuery):
    by = fields.String(load_default="store", validate=validate.OneOf(RANK_BY))
    kpi = fields.String(load_default="orders", validate=validate.OneOf([k.key for k in K.KPIS]))


class TrendQuery(NodeQuery):
    kpi = fields.String(load_default="leads", validate=validate.OneOf([k.key for k in K.KPIS]))
    months = Integer(load_default=13, minimum=1, maximum=36)


class MonthQuery(Schema):
    month = Month()


class TargetIn(Schema):
    month = Month(required=True)
    level = fields.String(required=True, validate=validate.OneOf(handlers.LEVELS))
    node_id = fields.String(load_default="", validate=validate.Length(max=36))
    kpi = fields.String(required=True, validate=validate.OneOf([k.key for k in K.KPIS]))
    value = fields.Float(required=True, validate=validate.Range(min=0, max=1e12))


class TargetOut(Schema):
    id = fields.String()
    month = fields.String()
    level = fields.String()
    node_id = fields.String()
    store_id = fields.String(allow_none=True)
    kpi = fields.String()
    value = fields.Float()


class TargetList(Schema):
    items = fields.List(fields.Nested(TargetOut))


_PROB = fields.Dict(keys=fields.String(validate=validate.OneOf(OPEN_LEVELS)),
                    values=fields.Float(validate=validate.Range(min=0, max=1)))
_DAYS = fields.Dict(keys=fields.String(validate=validate.OneOf(OPEN_LEVELS)),
                    values=fields.Integer(validate=validate.Range(min=1, max=365)))


class SettingsIn(Schema):
    probability = _PROB
    horizon_days = _DAYS

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("give probability or horizon_days (the follow-up cadence is set in leads)",
                                  "_schema")


class SettingsOut(Schema):
    probability = fields.Dict()
    horizon_days = fields.Dict()


# --- what the dashboards read: the shapes are documented, the figures inside stay open-ended ------
_FIGURE = fields.Float(allow_none=True)


class NodeOut(Schema):
    id = fields.String()
    name = fields.String()


class KpiRow(Schema):
    key = fields.String()
    family = fields.String()
    unit = fields.String()
    actual = _FIGURE
    target = _FIGURE
    achievement = _FIGURE
    mom = _FIGURE
    yoy = _FIGURE
    higher_is_better = fields.Boolean()


class KpisOut(Schema):
    month = fields.String()
    level = fields.String()
    node = fields.Nested(NodeOut)
    kpis = fields.List(fields.Nested(KpiRow))


class RankingRow(Schema):
    rank = fields.Integer()
    id = fields.String(allow_none=True)
    name = fields.String()
    value = _FIGURE
    kpis = fields.Dict(keys=fields.String(), values=_FIGURE)


class RankingsOut(Schema):
    month = fields.String()
    by = fields.String()
    kpi = fields.String()
    items = fields.List(fields.Nested(RankingRow))


class TrendPoint(Schema):
    month = fields.String()
    value = _FIGURE


class TrendOut(Schema):
    kpi = fields.String()
    items = fields.List(fields.Nested(TrendPoint))


class ComplianceRow(Schema):
    rank = fields.Integer()
    total = fields.Integer()
    store_id = fields.String()
    name = fields.String()
    overdue_followups = fields.Integer()
    defeats_pending = fields.Integer()
    reports_missing = fields.Integer()
    reports_late = fields.Integer()
    callbacks_past_due = fields.Integer()


class ComplianceOut(Schema):
    items = fields.List(fields.Nested(ComplianceRow))


class ForecastStore(Schema):
    store_id = fields.String()
    name = fields.String()
    open_leads = fields.Integer()
    expected = fields.Dict(keys=fields.String(), values=fields.Float(), metadata={"description": "per window (days)"})


class ForecastPast(Schema):
    made_on = fields.String()
    window = fields.Integer()
    expected = fields.Float()
    actual = fields.Integer()
    complete = fields.Boolean()


class ForecastOut(Schema):
    today = fields.String()
    probability = fields.Dict(keys=fields.String(), values=fields.Float())
    stores = fields.List(fields.Nested(ForecastStore))
    total = fields.Dict(keys=fields.String(), values=fields.Float())
    history = fields.List(fields.Nested(ForecastPast))


class DashboardOut(KpisOut):
    crumbs = fields.List(fields.Dict())
    children = fields.Dict()
    funnels = fields.Dict()
    sources = fields.List(fields.Dict())
    channels = fields.List(fields.Dict())
    trend = fields.List(fields.Dict())
    daily = fields.List(fields.Dict())
    defeat_reasons = fields.List(fields.Dict())
    competitors = fields.List(fields.Dict())
    sale_types = fields.List(fields.Dict())
    customer_kinds = fields.List(fields.Dict())
    tact = fields.List(fields.Dict())
    rank_kpi = fields.String()
    rankings = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()))
    satisfaction = fields.List(fields.Dict())
    group_average = fields.Dict(allow_none=True)



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
