"""Complaints: store managers see their store's, HQ sees all."""
from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from shared.auth import current_principal, require_roles
from shared.db import utcnow
from shared.errors import not_found

from ..domain.complaints import ACTIVE, breached
from ..handlers import complaints as h
from ..models import Complaint
from ..schemas import ComplaintIn, ComplaintOut, ComplaintQuery, TransitionIn
from . import blp, db, paginate

READERS = ("cc_agent", "cc_supervisor", "group_admin", "hq_analyst", "store_manager")


def _out(c: Complaint) -> dict:
    d = {k: getattr(c, k) for k in ComplaintOut._declared_fields if hasattr(c, k)}
    d["breached"] = breached(c.status, c.due_at, c.resolved_at, utcnow())
    return d


@blp.route("/complaints")
class Complaints(MethodView):
    @require_roles(*READERS)
    @blp.arguments(ComplaintQuery, location="query")
    @blp.response(200, ComplaintOut(many=True))
    def get(self, q):
        """Complaints in the caller's scope (a store sees its own), most urgent first; paginated."""
        p = current_principal()
        with db().session(p.scope) as s:
            stmt = select(Complaint)
            for key in ("status", "severity", "store_id"):
                if q.get(key):
                    stmt = stmt.where(getattr(Complaint, key) == q[key])
            if q.get("breached"):
                stmt = stmt.where(Complaint.status.in_(ACTIVE), Complaint.due_at < utcnow())
            return [_out(c) for c in paginate(s, stmt.order_by(Complaint.due_at), q)]

    @require_roles("cc_agent", "cc_supervisor", "group_admin")
    @blp.arguments(ComplaintIn)
    @blp.response(201, ComplaintOut)
    def post(self, body):
        """Open a complaint from a task (or for a customer and store); it goes to the store's manager."""
        p = current_principal()
        with db().session(p.scope) as s:
            return _out(h.open_from_agent(s, p, body))


@blp.route("/complaints/<complaint_id>")
class ComplaintOne(MethodView):
    @require_roles(*READERS)
    @blp.response(200, ComplaintOut)
    def get(self, complaint_id):
        """One complaint; 404 outside the caller's scope."""
        p = current_principal()
        with db().session(p.scope) as s:
            c = s.get(Complaint, complaint_id)
            if c is None:
                not_found("complaint")
            return _out(c)


@blp.route("/complaints/<complaint_id>/transitions")
class ComplaintTransition(MethodView):
    @require_roles("cc_agent", "cc_supervisor", "group_admin", "store_manager")
    @blp.arguments(TransitionIn)
    @blp.response(200, ComplaintOut)
    def post(self, body, complaint_id):
        """start | resolve (with a note) | confirm (the customer agrees) | reopen."""
        p = current_principal()
        with db().session(p.scope) as s:
            return _out(h.transition_complaint(s, p, complaint_id, body["action"], body["note"]))
