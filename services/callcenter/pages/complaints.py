"""Complaint pages: a store's manager sees the store's own, HQ and the call center see all."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from shared.db import utcnow
from shared.errors import ApiError
from shared.web import page_roles

from ..domain.complaints import ACTIVE, TRANSITIONS, breached
from ..handlers import complaints as h
from ..models import Complaint, StaffRef, StoreRef
from . import COMPLAINTS, bp, rt

PER_PAGE = 50
CHANGERS = ("cc_agent", "cc_supervisor", "group_admin", "store_manager")


@bp.get("/complaints")
@page_roles(*COMPLAINTS)
def complaints():
    """Filterable complaint list, most urgent first."""
    p = g.principal
    f = {k: request.args.get(k) or "" for k in ("status", "severity", "store_id", "late")}
    page = max(1, request.args.get("page", 1, type=int))
    now = utcnow()
    with rt().db.session(p.scope) as s:
        q = select(Complaint)
        if f["status"] == "active":
            q = q.where(Complaint.status.in_(ACTIVE))
        elif f["status"]:
            q = q.where(Complaint.status == f["status"])
        if f["severity"]:
            q = q.where(Complaint.severity == f["severity"])
        if f["store_id"]:
            q = q.where(Complaint.store_id == f["store_id"])
        if f["late"]:
            q = q.where(Complaint.status.in_(ACTIVE), Complaint.due_at < now)
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = s.scalars(q.order_by(Complaint.status.in_(ACTIVE).desc(), Complaint.due_at)
                         .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        stores = {st.id: st for st in s.scalars(select(StoreRef).order_by(StoreRef.code))}
        owners = {c.assignee_id for c in rows if c.assignee_id}
        staff = {u.id: u for u in s.scalars(select(StaffRef).where(StaffRef.id.in_(owners)))}
    return render_template("callcenter/complaints.html", rows=rows, stores=stores, staff=staff, f=f, page=page,
                           pages=max(1, -(-total // PER_PAGE)), total=total, now=now, breached=breached)


@bp.route("/complaints/<complaint_id>", methods=["GET", "POST"])
@page_roles(*COMPLAINTS)
def complaint(complaint_id: str):
    """One complaint: its story and the next steps."""
    p = g.principal
    if request.method == "POST":
        if p.role not in CHANGERS:
            abort(403)
        try:
            with rt().db.session(p.scope) as s:
                h.transition_complaint(s, p, complaint_id, request.form.get("action", ""), request.form.get("note", ""))
            flash(_("Saved."), "ok")
        except ApiError as exc:
            flash(exc.data["message"], "error")
        return redirect(url_for("callcenter_pages.complaint", complaint_id=complaint_id))
    with rt().db.session(p.scope) as s:
        c = s.get(Complaint, complaint_id)
        if c is None:
            abort(404)
        store = s.get(StoreRef, c.store_id)
        shown = {c.assignee_id, *(h.get("by") for h in c.history)} - {None}
        staff = {u.id: u for u in s.scalars(select(StaffRef).where(StaffRef.id.in_(shown)))}
    actions = [a for a, (sources, _t) in TRANSITIONS.items() if c.status in sources] if p.role in CHANGERS else []
    return render_template("callcenter/complaint.html", c=c, store=store, staff=staff, actions=actions,
                           late=breached(c.status, c.due_at, c.resolved_at, utcnow()))
