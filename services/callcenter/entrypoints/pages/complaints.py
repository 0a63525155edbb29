"""Complaint pages: a store's manager sees the store's own, HQ and the call center see all.

The page offers only the steps the signed-in role may take: a store resolves its complaints, the call
center or HQ confirms the resolution with the customer (`callcenter.complaints.confirm`).
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shared.db import utcnow
from shared.errors import Forbidden, NotFound, UserError
from shared.permissions import page

from ... import views
from ...domain.complaints import TRANSITIONS, breached
from ...handlers import complaints as h
from . import bp, may, reading, reason, work

PER_PAGE = 50


@bp.get("/complaints")
@page("callcenter.complaints.read")
def complaints():
    """Filterable complaint list, most urgent first."""
    f = {k: request.args.get(k) or "" for k in ("status", "severity", "store_id", "late")}
    number = max(1, request.args.get("page", 1, type=int))
    now = utcnow()
    with reading() as s:
        found = views.complaints_page(s, f, number, PER_PAGE, now)
    return render_template("callcenter/complaints.html", **found, f=f, page=number,
                           pages=max(1, -(-found["total"] // PER_PAGE)), now=now, breached=breached)


def actions_for(status: str) -> list[str]:
    """The next steps from `status` that the signed-in role may take."""
    if not may("callcenter.complaints.handle"):
        return []
    return [a for a, (sources, _t) in TRANSITIONS.items()
            if status in sources and (a != "confirm" or may("callcenter.complaints.confirm"))]


@bp.get("/complaints/<complaint_id>")
@page("callcenter.complaints.read")
def complaint(complaint_id: str):
    """One complaint: its story and the next steps."""
    with reading() as s:
        found = views.complaint_page(s, complaint_id)
    if found is None:
        abort(404)
    c = found["c"]
    return render_template("callcenter/complaint.html", **found, actions=actions_for(c.status),
                           late=breached(c.status, c.due_at, c.resolved_at, utcnow()))


@bp.post("/complaints/<complaint_id>")
@page("callcenter.complaints.handle")
def complaint_step(complaint_id: str):
    """Take the next step on a complaint (a refused step is shown beside the complaint; a forbidden one is a 403)."""
    try:
        with work() as uow:
            h.transition_complaint(uow, g.principal, complaint_id, request.form.get("action", ""),
                                   request.form.get("note", ""))
            uow.commit()
        flash(_("Saved."), "ok")
    except (Forbidden, NotFound):
        raise
    except UserError as exc:
        flash(reason(exc), "error")
    return redirect(url_for("callcenter_pages.complaint", complaint_id=complaint_id))
