"""Leads JSON API."""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from shared.auth import current_principal, require_roles
from shared.errors import not_found

from . import handlers
from .models import Lead
from .schemas import LeadIn, LeadOut, LeadQuery

blp = Blueprint("leads", __name__, url_prefix="/leads/api/v1", description="Leads and the visitor log")
WRITERS = ("sales_consultant", "store_manager", "group_admin", "cc_agent", "cc_supervisor")


def _db():
    return current_app.extensions["crm"].db


@blp.route("/leads")
class Leads(MethodView):
    @require_roles()
    @blp.arguments(LeadQuery, location="query")
    @blp.response(200, LeadOut(many=True))
    def get(self, q):
        """Leads the caller may see (own / store / group), newest first, paginated."""
        p = current_principal()
        with _db().session(p.scope) as s:
            stmt = select(Lead)
            if q.get("level"):
                stmt = stmt.where(Lead.level == q["level"])
            if q.get("store_id"):
                stmt = stmt.where(Lead.store_id == q["store_id"])
            total = s.scalar(select(func.count()).select_from(stmt.subquery()))
            rows = s.scalars(stmt.order_by(Lead.created_at.desc()).limit(q["per_page"])
                             .offset((q["page"] - 1) * q["per_page"])).all()
        from flask import g

        g.total_count = total
        return rows

    @require_roles(*WRITERS)
    @blp.arguments(LeadIn)
    @blp.response(201, LeadOut)
    def post(self, body):
        """Register a lead; the store comes from the caller's token, or `store_id` for HQ roles."""
        p = current_principal()
        key = request.headers.get("Idempotency-Key")
        with _db().session(p.scope) as s:
            lead, _created = handlers.create_lead(s, p, body, key[:80] if key else None)
        return lead


@blp.route("/leads/<lead_id>")
class LeadOne(MethodView):
    @require_roles()
    @blp.response(200, LeadOut)
    def get(self, lead_id):
        """One lead; 404 when it is outside the caller's scope."""
        p = current_principal()
        with _db().session(p.scope) as s:
            lead = s.get(Lead, lead_id)
            if lead is None:
                not_found("lead")
            return lead
