"""The call center's own daily counts, for the reconciliation with analytics."""
from __future__ import annotations

from flask.views import MethodView

from shared.daily_counts import CountsQuery, count_out
from shared.permissions import require

from ...handlers import stats
from . import blp, reading


@blp.route("/stats/daily")
class DailyCounts(MethodView):
    @require("callcenter.stats")
    @blp.arguments(CountsQuery, location="query")
    @blp.response(200, count_out(stats.METRICS)(many=True))
    def get(self, q):
        """Per store and local day: callback tasks created, closed and reached, calls made, questionnaires
        answered and complaints opened, as the call center counts them (the caller's stores only).
        Analytics' reconciliation compares its figures with these."""
        with reading() as s:
            return stats.daily_counts(s, q["day_from"], q["day_to"])
