"""Identity review (likely duplicates, merges and unmerges), care settings and the schedule run."""
from __future__ import annotations

from flask.views import MethodView

from shared.auth import current_principal
from shared.permissions import require

from ...handlers import review
from ...handlers.care_settings import change_settings, current_settings
from ...handlers.schedules import run_schedules
from ...schemas import CandidateOut, DecisionIn, ListQuery, MergeIn, MergeOut, RunIn, RunOut, SettingsIn
from .common import blp, reading, runtime


@blp.route("/matches")
class Matches(MethodView):
    @require("customers.review")
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, CandidateOut(many=True))
    def get(self, q):
        """Likely duplicates to review (a manager sees pairs where both records are related to the store)."""
        p = current_principal()
        with reading(p) as s:
            return review.queue(s, q["status"], q["page"], q["per_page"])


@blp.route("/matches/<candidate_id>/merge")
class MatchMerge(MethodView):
    @require("customers.review")
    @blp.arguments(DecisionIn)
    @blp.response(200, MergeOut)
    def post(self, body, candidate_id):
        """They are one person: merge the pair (the older record survives unless `survivor_id` says otherwise).
        Records known at another store too are merged by HQ."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            m = review.merge_pair(uow, p, candidate_id, body.get("survivor_id"))
            uow.commit()
        return m


@blp.route("/matches/<candidate_id>/reject")
class MatchReject(MethodView):
    @require("customers.review")
    @blp.response(200, CandidateOut)
    def post(self, candidate_id):
        """They are different people: close the match without merging."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            cand = review.reject_pair(uow, p, candidate_id)
            uow.commit()
        return cand


@blp.route("/customers/<customer_id>/merge")
class MergeInto(MethodView):
    @require("customers.review")
    @blp.arguments(MergeIn)
    @blp.response(200, MergeOut)
    def post(self, body, customer_id):
        """Merge another record of the same person into this one (both must be visible to the caller)."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            m = review.merge_into(uow, p, customer_id, body["other_id"], body.get("reason"))
            uow.commit()
        return m


@blp.route("/merges")
class Merges(MethodView):
    @require("customers.review")
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, MergeOut(many=True))
    def get(self, q):
        """Merges, newest first; each can be undone."""
        p = current_principal()
        with reading(p) as s:
            return review.merges(s, q["page"], q["per_page"])


@blp.route("/merges/<merge_id>/unmerge")
class Unmerge(MethodView):
    @require("customers.review")
    @blp.response(200, MergeOut)
    def post(self, merge_id):
        """Undo a merge: both records and all their links come back as they were before it."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            m = review.undo_merge(uow, p, merge_id)
            uow.commit()
        return m


@blp.route("/settings")
class Settings(MethodView):
    @require("customers.settings.read")
    @blp.response(200, SettingsIn)
    def get(self):
        """The group's care settings: churn period, tier thresholds, maintenance rules per brand, notices."""
        p = current_principal()
        with reading(p) as s:
            return current_settings(s, p.group_id)

    @require("customers.settings")
    @blp.arguments(SettingsIn)
    @blp.response(200, SettingsIn)
    def put(self, body):
        """Change some care settings (the others keep their values)."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            values = change_settings(uow.session, p.group_id, body)
            uow.commit()
        return values


@blp.route("/schedules/run")
class RunSchedules(MethodView):
    @require("customers.settings")
    @blp.arguments(RunIn)
    @blp.response(200, RunOut)
    def post(self, body):
        """Publish the care schedules due on a date (default: today); re-running publishes nothing twice."""
        p = current_principal()
        rt = runtime()
        day = body.get("date") or rt.local_today()
        return {"date": day, "published": run_schedules(rt.db, day, [p.scope])}
