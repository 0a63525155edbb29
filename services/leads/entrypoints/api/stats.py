"""Leads' own daily counts, for the reconciliation with analytics."""
from __future__ import annotations

from flask.views import MethodView

from shared.auth import current_principal
from shared.daily_counts import CountsQuery, count_out
from shared.permissions import require

from ...handlers import stats
from . import blp, db


@blp.route("/stats/daily")
class DailyCounts(MethodView):
    @require("leads.oversee")
    @blp.arguments(CountsQuery, location="query")
    @blp.response(200, count_out(stats.METRICS)(many=True))
    def get(self, q):
        """Per store and local day: new leads, walk-in groups, phone-ins, test drives, orders (not cancelled,
        on the signing day), cancellations, deliveries and approved defeats, as leads counts them (the
        caller's stores only). Analytics' reconciliation compares its figures with these."""
        p = current_principal()
        with db().session(p.scope) as s:
            return stats.daily_counts(s, q["day_from"], q["day_to"])
