"""Customers' own daily counts, for the reconciliation with analytics."""
from __future__ import annotations

from flask.views import MethodView

from shared.auth import current_principal
from shared.daily_counts import CountsQuery, count_out
from shared.permissions import require

from ...handlers import stats
from .common import blp, reading


@blp.route("/stats/daily")
class DailyCounts(MethodView):
    @require("customers.stats")
    @blp.arguments(CountsQuery, location="query")
    @blp.response(200, count_out(stats.METRICS)(many=True))
    def get(self, q):
        """Per store and local day: service visits (on the visit day) and insurance policies recorded, as
        customers counts them (the caller's stores only). Analytics' reconciliation compares its figures
        with these."""
        with reading(current_principal()) as s:
            return stats.daily_counts(s, q["day_from"], q["day_to"])
