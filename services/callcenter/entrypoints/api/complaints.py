"""Complaints: store managers see their store's, HQ sees all; only the call center or HQ confirms."""
from __future__ import annotations

from flask.views import MethodView

from shared.auth import current_principal
from shared.db import utcnow
from shared.errors import NotFound
from shared.permissions import require

from ... import views
from ...domain.complaints import breached
from ...handlers import complaints as h
from ...adapters.models import Complaint
from ...schemas import ComplaintIn, ComplaintOut, ComplaintQuery, TransitionIn
from . import blp, paged, reading, work


def _out(c: Complaint) -> dict:
    d = {k: getattr(c, k) for k in ComplaintOut._declared_fields if hasattr(c, k)}
    d["breached"] = breached(c.status, c.due_at, c.resolved_at, utcnow())
    return d


@blp.route("/complaints")
class Complaints(MethodView):
    @require("callcenter.complaints.read")
    @blp.arguments(ComplaintQuery, location="query")
    @blp.response(200, ComplaintOut(many=True))
    def get(self, q):
        """Complaints in the caller's scope (a store sees its own), most urgent first; paginated."""
        with reading() as s:
            return [_out(c) for c in paged(views.find_complaints(s, q, utcnow()))]

    @require("callcenter.complaints.open")
    @blp.arguments(ComplaintIn)
    @blp.response(201, ComplaintOut)
    def post(self, body):
        """Open a complaint from a task (or for a customer and store); it goes to the store's manager."""
        with work() as uow:
            c = h.open_from_agent(uow, current_principal(), body)
            uow.commit()
            return _out(c)


@blp.route("/complaints/<complaint_id>")
class ComplaintOne(MethodView):
    @require("callcenter.complaints.read")
    @blp.response(200, ComplaintOut)
    def get(self, complaint_id):
        """One complaint; 404 outside the caller's scope."""
        with reading() as s:
            found = views.complaint_page(s, complaint_id)
            if found is None:
                raise NotFound("complaint")
            return _out(found["c"])


@blp.route("/complaints/<complaint_id>/transitions")
class ComplaintTransition(MethodView):
    @require("callcenter.complaints.handle")
    @blp.arguments(TransitionIn)
    @blp.response(200, ComplaintOut)
    def post(self, body, complaint_id):
        """start | resolve (with a note) | confirm (the customer agrees: the call center or HQ only) | reopen."""
        with work() as uow:
            c = h.transition_complaint(uow, current_principal(), complaint_id, body["action"], body["note"])
            uow.commit()
            return _out(c)
