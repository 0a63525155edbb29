"""Analytics JSON API."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import func, select

from shared.auth import current_principal, require_roles

from .models import LeadDaily

blp = Blueprint("analytics", __name__, url_prefix="/analytics/api/v1", description="Group analytics")


class SummaryQuery(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")


class SummaryOut(Schema):
    leads = fields.Integer()
    by_source = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_store = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_brand = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_day = fields.Dict(keys=fields.String(), values=fields.Integer())


def _db():
    return current_app.extensions["crm"].db


@blp.route("/summary")
class Summary(MethodView):
    @require_roles("group_admin", "hq_analyst", "cc_supervisor", "store_manager")
    @blp.arguments(SummaryQuery, location="query")
    @blp.response(200, SummaryOut)
    def get(self, q):
        """Lead counts: HQ sees the whole group, a store manager their own store only."""
        p = current_principal()
        with _db().session(p.scope) as s:
            filters = []
            if q.get("date_from"):
                filters.append(LeadDaily.day >= q["date_from"])
            if q.get("date_to"):
                filters.append(LeadDaily.day <= q["date_to"])

            def by(col):
                stmt = select(col, func.sum(LeadDaily.leads)).where(*filters).group_by(col)
                return {str(k): int(v) for k, v in s.execute(stmt)}

            by_source = by(LeadDaily.source)
            return {"leads": sum(by_source.values()), "by_source": by_source, "by_store": by(LeadDaily.store_id),
                    "by_brand": by(LeadDaily.brand_id), "by_day": by(LeadDaily.day)}
