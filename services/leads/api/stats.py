"""Leads' own daily counts, for the reconciliation with analytics."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from shared.auth import current_principal
from shared.fields import DayRange
from shared.permissions import require

from ..handlers import stats
from . import blp, db

class CountOut(Schema):
    store_id = fields.String()
    day = fields.Date()
    metric = fields.String(metadata={"description": ", ".join(stats.METRICS)})
    value = fields.Integer()


@blp.route("/stats/daily")
class DailyCounts(MethodView):
    @require("leads.oversee")
    @blp.arguments(DayRange, location="query")
    @blp.response(200, CountOut(many=True))
    def get(self, q):
        """Per store and local day: new leads, walk-in groups, phone-ins, test drives, orders (not cancelled,
        on the signing day), cancellations, deliveries and approved defeats, as leads counts them (the
        caller's stores only). Analytics' reconciliation compares its figures with these."""
        p = current_principal()
        with db().session(p.scope) as s:
            return stats.daily_counts(s, q["day_from"], q["day_to"])
