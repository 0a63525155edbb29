"""Settings, task rules, the supervisor board and HQ spot checks."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from shared.auth import current_principal
from shared.fields import Integer
from shared.permissions import require

from ... import views
from ...handlers import board as board_h
from ...handlers import config as h
from ...handlers import spotchecks
from ...schemas import (RuleIn, RuleOut, RuleQuery, SettingsSchema, SpotCheckQuery, SpotCheckSummaryOut, StoreCallbackIn,
                       StoreCallbackOut)
from . import blp, paged, reading, work


def _rule_out(rule, origin):
    return {**rule.as_dict(), "origin": origin}


@blp.route("/rules")
class Rules(MethodView):
    @require("callcenter.read")
    @blp.arguments(RuleQuery, location="query")
    @blp.response(200, RuleOut(many=True))
    def get(self, q):
        """The effective task rule of every task type (for the group, or one brand)."""
        with reading() as s:
            return [_rule_out(r, o) for r, o in h.effective_rules(s, q.get("brand_id"))]


@blp.route("/rules/<task_type>")
class RuleOne(MethodView):
    @require("callcenter.configure")
    @blp.arguments(RuleIn)
    @blp.response(200, RuleOut)
    def put(self, body, task_type):
        """Change a task type's rule for the group, or for one brand (`brand_id`)."""
        brand_id = body.pop("brand_id", None)
        with work() as uow:
            rule = h.set_rule(uow, current_principal(), task_type, brand_id, body)
            uow.commit()
        return _rule_out(rule, "brand" if brand_id else "group")


@blp.route("/settings")
class Settings(MethodView):
    @require("callcenter.read")
    @blp.response(200, SettingsSchema)
    def get(self):
        """Calling window, time zone, lease, call-back release, spot-check share, low-score threshold, SLAs."""
        with reading() as s:
            cfg = h.settings_for(s, current_principal().group_id)
            return {**{f: getattr(cfg, f) for f in h.SETTING_FIELDS}, "sla_hours": h.sla_hours(cfg)}

    @require("callcenter.configure")
    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    def put(self, body):
        """Change the group's call-center settings (an unknown time zone is a 422 and nothing is saved)."""
        with work() as uow:
            cfg = h.update_settings(uow, current_principal(), body)
            uow.commit()
            return cfg


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
    @require("callcenter.board")
    @blp.arguments(BoardQuery, location="query")
    @blp.response(200, BoardOut)
    def get(self, q):
        """Queue depth and age by type and store, SLA breaches, reach rate, agent pace, survey results."""
        with reading() as s:
            return board_h.board(s, max(1, min(q["days"], 90)))


@blp.route("/store-callbacks")
class StoreCallbacks(MethodView):
    @require("callcenter.store_callbacks")
    @blp.arguments(StoreCallbackIn)
    @blp.response(201, StoreCallbackOut)
    def post(self, body):
        """A store records a callback it made itself, for a customer of its own (another store's customer
        answers 404 like an unknown id); a share is sampled for an HQ spot check."""
        with work() as uow:
            cb = spotchecks.record_store_callback(uow, current_principal(), body)
            uow.commit()
            return cb


@blp.route("/spot-checks")
class SpotChecks(MethodView):
    @require("callcenter.spot_checks")
    @blp.arguments(SpotCheckQuery, location="query")
    @blp.response(200, StoreCallbackOut(many=True))
    def get(self, q):
        """Store callbacks that HQ re-called, newest first; `disagreement=true` lists the contradictions."""
        with reading() as s:
            return paged(views.find_spot_checks(s, q))


@blp.route("/spot-checks/summary")
class SpotCheckSummary(MethodView):
    @require("callcenter.spot_checks")
    @blp.response(200, SpotCheckSummaryOut)
    def get(self):
        """Per store: callbacks logged, sampled, checked and disagreements."""
        with reading() as s:
            return {"stores": spotchecks.spot_check_summary(s)}
