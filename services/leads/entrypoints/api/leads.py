"""Leads, the visitor log, grading, follow-ups, assignment and the card audit."""
from __future__ import annotations

from flask import g, request
from flask.views import MethodView
from marshmallow import fields

from shared.auth import current_principal
from shared.db import utcnow
from shared.errors import fail
from shared.idempotency import HEADER, idempotent_create
from shared.permissions import require

from ... import handlers
from ... import views as queries
from ...handlers.common import get_lead
from ...schemas import (
    AssignIn,
    AssignmentOut,
    AuditIn,
    AuditOut,
    FollowUpIn,
    FollowUpOut,
    GradeIn,
    LeadIn,
    LeadOut,
    LeadQuery,
    LevelChangeOut,
    MovedOut,
    ReassignIn,
    VisitIn,
    VisitOut,
)
from . import blp, db, in_scope


#: the lead's columns the list reads: those `LeadOut` shows (its method fields read none)
LISTED = tuple(f.attribute or name for name, f in LeadOut().dump_fields.items() if not isinstance(f, fields.Method))


def list_query(q: dict) -> dict:
    """Query-string filters plus the group's stale period for `stale=true`."""
    if q.get("stale"):
        p = current_principal()
        with db().session(p.scope) as s:
            q = {**q, "stale_days": handlers.rules_of(s, p.group_id).stale_days}
    return q


@blp.route("/leads")
class Leads(MethodView):
    @require("leads.read")
    @blp.arguments(LeadQuery, location="query")
    @blp.response(200, LeadOut(many=True))
    def get(self, q):
        """Leads the caller may see (own / store / group), overdue first, filterable and paginated."""
        p = current_principal()
        q = list_query(q)
        with db().session(p.scope) as s:
            stmt = queries.lead_query(q, viewer=p, base=queries.listed(LISTED))
            rows, g.total_count = queries.listed_page(s, stmt, q["page"], q["per_page"])
        return rows

    @require("leads.create")
    @blp.arguments(LeadIn)
    @blp.response(201, LeadOut)
    def post(self, body):
        """Register a lead; the store comes from the caller's token, or `store_id` for HQ roles."""
        # the lead keeps its Idempotency-Key itself (not `@idempotent`'s stored answer): a retry after the lead
        # moved out of the caller's sight gets 409, not the lead; the key's form was checked at the edge
        lead, _created = in_scope(handlers.create_lead, body, request.headers.get(HEADER) or None)
        return lead


@blp.route("/leads/<lead_id>")
class LeadOne(MethodView):
    @require("leads.read")
    @blp.response(200, LeadOut)
    def get(self, lead_id):
        """One lead; 404 when it is outside the caller's scope."""
        p = current_principal()
        with db().session(p.scope) as s:
            return get_lead(s, lead_id)


@blp.route("/leads/<lead_id>/grade")
class Grade(MethodView):
    @require("leads.work")
    @blp.arguments(GradeIn)
    @blp.response(200, LeadOut)
    def post(self, body, lead_id):
        """Judge the intent level (C/B/A/H or invalid) with the checklist signals and a reason."""
        return in_scope(handlers.grade, lead_id, body["level"], body["signals"], body["reason"])


@blp.route("/leads/<lead_id>/levels")
class Levels(MethodView):
    @require("leads.read")
    @blp.response(200, LevelChangeOut(many=True))
    def get(self, lead_id):
        """The level history: who changed it, when, why and with which signals."""
        p = current_principal()
        with db().session(p.scope) as s:
            get_lead(s, lead_id)
            return queries.history(s, lead_id, "levels")


@blp.route("/leads/<lead_id>/follow-ups")
class FollowUps(MethodView):
    @require("leads.read")
    @blp.response(200, FollowUpOut(many=True))
    def get(self, lead_id):
        """The lead's follow-ups, oldest first."""
        p = current_principal()
        with db().session(p.scope) as s:
            get_lead(s, lead_id)
            return queries.history(s, lead_id, "follow_ups")

    @idempotent_create(blp, "leads.work", FollowUpOut, FollowUpIn)
    def post(self, body, lead_id):
        """Log a call, visit, SMS/WeChat, DM or handout with its outcome and the next planned contact."""
        return in_scope(handlers.log_follow_up, lead_id, body)


@blp.route("/leads/<lead_id>/consultant")
class Assign(MethodView):
    @require("leads.manage")
    @blp.arguments(AssignIn)
    @blp.response(200, LeadOut)
    def put(self, body, lead_id):
        """Give the lead to a consultant of its store."""
        return in_scope(handlers.assign, lead_id, body["consultant_id"])


@blp.route("/leads/<lead_id>/assignments")
class Assignments(MethodView):
    @require("leads.read")
    @blp.response(200, AssignmentOut(many=True))
    def get(self, lead_id):
        """Who owned the lead, and why it moved."""
        p = current_principal()
        with db().session(p.scope) as s:
            get_lead(s, lead_id)
            return queries.history(s, lead_id, "assignments")


@blp.route("/stores/<store_id>/reassign")
class Reassign(MethodView):
    @require("leads.manage")
    @blp.arguments(ReassignIn)
    @blp.response(200, MovedOut)
    def post(self, body, store_id):
        """A consultant leaves: move all their open leads to a colleague (or round-robin) in one action."""
        p = current_principal()
        with db().session(p.scope) as s:
            n = handlers.reassign_all(s, p, store_id, body["from_consultant_id"], body["to_consultant_id"])
        return {"moved": n}


@blp.route("/visits")
class Visits(MethodView):
    @idempotent_create(blp, "leads.create", VisitOut, VisitIn)
    def post(self, body):
        """Log a walk-in group or a phone-in (来店/来电登记); with a phone it becomes or joins a lead."""
        p = current_principal()
        with db().session(p.scope) as s:
            visit, _lead, foreign = handlers.log_visit(s, p, body)
            visit.joined_colleagues_lead = foreign
            return visit


@blp.route("/audit")
class Audit(MethodView):
    @require("leads.work")
    @blp.arguments(AuditIn)
    @blp.response(200, AuditOut)
    def post(self, body):
        """Card audit in bulk: confirm, re-grade or close the listed leads."""
        p = current_principal()
        if body["action"] == "grade" and not body.get("level"):
            fail(422, "a level is needed to re-grade", errors={"level": ["required for action=grade"]})
        with db().session(p.scope) as s:
            n = handlers.audit(s, p, body["lead_ids"], body["action"], body.get("level"), body.get("reason"))
        return {"done": n, "at": utcnow()}
