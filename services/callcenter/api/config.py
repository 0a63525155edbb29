"""Settings, task rules, the supervisor board and HQ spot checks."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import select

from shared.auth import current_principal, require_roles
from shared.fields import Integer

from ..handlers import board as board_h
from ..handlers import config as h
from ..handlers import spotchecks
from ..models import StoreCallback
from ..schemas import (RuleIn, RuleOut, RuleQuery, SettingsSchema, SpotCheckQuery, SpotCheckSummaryOut, StoreCallbackIn,
                       StoreCallbackOut)
from . import HQ_READ, SUPERVISORS, blp, db, paginate


def _rule_out(rule, origin):
    return {**rule.as_dict(), "origin": origin}


@blp.route("/rules")
class Rules(MethodView):
    @require_roles(*HQ_READ)
    @blp.arguments(RuleQuery, location="query")
    @blp.response(200, RuleOut(many=True))
    def get(self, q):
        """The effective task rule of every task type (for the group, or one brand)."""
        p = current_principal()
        with db().session(p.scope) as s:
            return [_rule_out(r, o) for r, o in h.effective_rules(s, q.get("brand_id"))]


@blp.route("/rules/<task_type>")
class RuleOne(MethodView):
    @require_roles(*SUPERVISORS)
    @blp.arguments(RuleIn)
    @blp.response(200, RuleOut)
    def put(self, body, task_type):
        """Change a task type's rule for the group, or for one brand (`brand_id`)."""
        p = current_principal()
        brand_id = body.pop("brand_id", None)
        with db().session(p.scope) as s:
            rule = h.set_rule(s, p, task_type, brand_id, body)
        return _rule_out(rule, "brand" if brand_id else "group")


@blp.route("/settings")
class Settings(MethodView):
    @require_roles(*HQ_READ)
    @blp.response(200, SettingsSchema)
    def get(self):
        """Calling window, lease, call-back release, spot-check share, low-score threshold, SLAs."""
        p = current_principal()
        with db().session(p.scope) as s:
            cfg = h.settings_for(s, p.group_id)
            cfg.sla_hours = h.sla_hours(cfg)
            return cfg

    @require_roles(*SUPERVISORS)
    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    def put(self, body):
        """Change the group's call-center settings."""
        p = current_principal()
        with db().session(p.scope) as s:
            return h.update_settings(s, p, body)


class BoardOut(Schema):
    now = fields.AwareDateTime()
    days = fields.Integer()
    queues = fields.List(fields.Dict())
    sla = fields.Dict()
    reach = fields.Dict()
    agents = fields.List(fields.Dict())
    surveys = fields.Dict()
    stores = fields.Dict()


class BoardQuery(Schema):
    days = Integer(load_default=7, minimum=1, maximum=90)


@blp.route("/board")
class Board(MethodView):
    @require_roles("cc_supervisor", "group_admin", "hq_analyst")
    @blp.arguments(BoardQuery, location="query")
    @blp.response(200, BoardOut)
    def get(self, q):
        """Queue depth and age by type and store, SLA breaches, reach rate, agent pace, survey results."""
        p = current_principal()
        with db().session(p.scope) as s:
            return board_h.board(s, max(1, min(q["days"], 90)))


@blp.route("/store-callbacks")
class StoreCallbacks(MethodView):
    @require_roles("store_manager", "sales_consultant", "group_admin")
    @blp.arguments(StoreCallbackIn)
    @blp.response(201, StoreCallbackOut)
    def post(self, body):
        """A store records a callback it made itself; a share is sampled for an HQ spot check."""
        p = current_principal()
        with db().session(p.scope) as s:
            return spotchecks.record_store_callback(s, p, body)


@blp.route("/spot-checks")
class SpotChecks(MethodView):
    @require_roles("cc_supervisor", "group_admin", "hq_analyst", "store_manager")
    @blp.arguments(SpotCheckQuery, location="query")
    @blp.response(200, StoreCallbackOut(many=True))
    def get(self, q):
        """Store callbacks that HQ re-called, newest first; `disagreement=true` lists the contradictions."""
        p = current_principal()
        with db().session(p.scope) as s:
            stmt = select(StoreCallback).where(StoreCallback.sampled.is_(True))
            if q.get("store_id"):
                stmt = stmt.where(StoreCallback.store_id == q["store_id"])
            if "disagreement" in q:
                stmt = stmt.where(StoreCallback.disagreement.is_(q["disagreement"]))
            return paginate(s, stmt.order_by(StoreCallback.created_at.desc()), q)


@blp.route("/spot-checks/summary")
class SpotCheckSummary(MethodView):
    @require_roles("cc_supervisor", "group_admin", "hq_analyst", "store_manager")
    @blp.response(200, SpotCheckSummaryOut)
    def get(self):
        """Per store: callbacks logged, sampled, checked and disagreements."""
        p = current_principal()
        with db().session(p.scope) as s:
            return {"stores": spotchecks.spot_check_summary(s)}
