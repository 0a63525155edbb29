"""Identity review (likely duplicates, merges and unmerges), care settings and the schedule run."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from sqlalchemy import select

from shared.auth import current_principal, require_roles
from shared.errors import fail, not_found
from shared.tenancy import Scope

from ..domain import CareSettings
from ..handlers import merge as merging
from ..handlers.common import forget_settings, settings_of
from ..handlers.schedules import run_schedules
from ..models import Customer, GroupSettings, MatchCandidate, MergeRecord
from ..schemas import CandidateOut, DecisionIn, ListQuery, MergeIn, MergeOut, RunIn, RunOut, SettingsIn
from .common import REVIEWERS, blp, db, group_work, visible


@blp.route("/matches")
class Matches(MethodView):
    @require_roles(*REVIEWERS)
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, CandidateOut(many=True))
    def get(self, q):
        """Likely duplicates to review (a manager sees pairs where both records are related to the store)."""
        p = current_principal()
        with db().session(p.scope) as s:  # MatchCandidate's scope: both records related to the caller's store
            stmt = select(MatchCandidate).order_by(MatchCandidate.created_at.desc())
            if q["status"] != "all":
                stmt = stmt.where(MatchCandidate.status == q["status"])
            return list(s.scalars(stmt.limit(q["per_page"]).offset((q["page"] - 1) * q["per_page"])))


def _candidate(s, candidate_id: str) -> MatchCandidate:
    cand = s.get(MatchCandidate, candidate_id)
    if cand is None:
        not_found("match")
    visible(s, cand.customer_a)
    visible(s, cand.customer_b)
    if cand.status != "open":
        fail(409, f"this match was already {cand.status}", "already_decided")
    return cand


@blp.route("/matches/<candidate_id>/merge")
class MatchMerge(MethodView):
    @require_roles(*REVIEWERS)
    @blp.arguments(DecisionIn)
    @blp.response(200, MergeOut)
    def post(self, body, candidate_id):
        """They are one person: merge the pair (the older record survives unless `survivor_id` says otherwise)."""
        p = current_principal()
        with db().session(p.scope) as s:
            _candidate(s, candidate_id)
        with db().session(Scope.system(p.group_id)) as s:
            cand = s.get(MatchCandidate, candidate_id)
            x, y = s.get(Customer, cand.customer_a), s.get(Customer, cand.customer_b)
            survivor_id = body.get("survivor_id") or min((x, y), key=lambda c: (c.created_at, c.id)).id
            if survivor_id not in (x.id, y.id):
                fail(422, "survivor must be one of the pair", errors={"survivor_id": ["not in this match"]})
            survivor, absorbed = (x, y) if survivor_id == x.id else (y, x)
            return merging.merge(s, survivor, absorbed, p.user_id, f"match:{cand.reason}", candidate=cand)


@blp.route("/matches/<candidate_id>/reject")
class MatchReject(MethodView):
    @require_roles(*REVIEWERS)
    @blp.response(200, CandidateOut)
    def post(self, candidate_id):
        """They are different people: close the match without merging."""
        from shared.db import utcnow

        p = current_principal()
        with db().session(p.scope) as s:
            cand = _candidate(s, candidate_id)
            cand.status, cand.decided_by, cand.decided_at = "rejected", p.user_id, utcnow()
            return cand


@blp.route("/customers/<customer_id>/merge")
class MergeInto(MethodView):
    @require_roles(*REVIEWERS)
    @blp.arguments(MergeIn)
    @blp.response(200, MergeOut)
    def post(self, body, customer_id):
        """Merge another record of the same person into this one (both must be visible to the caller)."""
        p = current_principal()
        with db().session(p.scope) as s:
            visible(s, body["other_id"])
        with group_work(p, customer_id) as (s, survivor):
            absorbed = s.get(Customer, body["other_id"])
            return merging.merge(s, survivor, absorbed, p.user_id, body.get("reason"))


@blp.route("/merges")
class Merges(MethodView):
    @require_roles(*REVIEWERS)
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, MergeOut(many=True))
    def get(self, q):
        """Merges, newest first; each can be undone."""
        p = current_principal()
        with db().session(p.scope) as s:
            stmt = select(MergeRecord).order_by(MergeRecord.merged_at.desc())
            return list(s.scalars(stmt.limit(q["per_page"]).offset((q["page"] - 1) * q["per_page"])))


@blp.route("/merges/<merge_id>/unmerge")
class Unmerge(MethodView):
    @require_roles(*REVIEWERS)
    @blp.response(200, MergeOut)
    def post(self, merge_id):
        """Undo a merge: both records and all their links come back as they were before it."""
        p = current_principal()
        with db().session(p.scope) as s:
            if s.get(MergeRecord, merge_id) is None:
                not_found("merge")
        with db().session(Scope.system(p.group_id)) as s:
            m = s.get(MergeRecord, merge_id)
            merging.unmerge(s, m, p.user_id)
            return m


@blp.route("/settings")
class Settings(MethodView):
    @require_roles("group_admin", "hq_analyst", "cc_supervisor")
    @blp.response(200, SettingsIn)
    def get(self):
        """The group's care settings: churn period, tier thresholds, maintenance rules per brand, notices."""
        p = current_principal()
        with db().session(p.scope) as s:
            return settings_of(s, p.group_id).to_dict()

    @require_roles("group_admin")
    @blp.arguments(SettingsIn)
    @blp.response(200, SettingsIn)
    def put(self, body):
        """Change some care settings (the others keep their values)."""
        from shared.db import utcnow

        p = current_principal()
        with db().session(p.scope) as s:
            merged = {**settings_of(s, p.group_id).to_dict(), **{k: _plain(v) for k, v in body.items()}}
            row = s.scalar(select(GroupSettings)) or GroupSettings(group_id=p.group_id, values={})
            s.add(row)
            row.values, row.updated_at = CareSettings.from_dict(merged).to_dict(), utcnow()
            forget_settings(s, p.group_id)
            return row.values


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return float(v) if type(v).__name__ == "Decimal" else v


@blp.route("/schedules/run")
class RunSchedules(MethodView):
    @require_roles("group_admin")
    @blp.arguments(RunIn)
    @blp.response(200, RunOut)
    def post(self, body):
        """Publish the care schedules due on a date (default: today); re-running publishes nothing twice."""
        p = current_principal()
        rt = current_app.extensions["crm"]
        day = body.get("date") or rt.local_today()
        return {"date": day, "published": run_schedules(rt.db, day, p.group_id)}
