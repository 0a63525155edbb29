"""Request and response schemas of the analytics API."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.fields import Date, Id, Integer, Month

from .domain import kpis as K
from .domain.facts import OPEN_LEVELS
from .handlers.targets import LEVELS as TARGET_LEVELS

RANK_BY = ("store", "brand", "model", "consultant", "source")


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
    level = fields.String(required=True, validate=validate.OneOf(TARGET_LEVELS))
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
