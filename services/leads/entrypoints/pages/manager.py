"""Store manager pages: board, assignment, defeat approvals, card audit, funnel, import."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request
from flask_babel import gettext as _

from shared.errors import UserError
from shared.permissions import CONSULTANT, page

from ... import handlers
from ... import views as queries
from . import bp, db, form_errors, home_store, store_page


@bp.get("/board")
@page("leads.manage")
@store_page
def board():
    """The store board: levels, overdue per consultant, SLA breaches, unassigned leads, options."""
    p = g.principal
    with db().session(p.scope) as s:
        store = home_store(s, p)
        b = queries.board(s, store)
        team = queries.consultants(s, store.id)
        names = queries.staff_names(s, store.id)
        rules = handlers.rules_of(s, p.group_id)
    return render_template("leads/board.html", store=store, b=b, team=team, names=names, rules=rules)


@bp.post("/board")
@page("leads.manage")
@store_page
def board_post():
    """Board actions: store options, assign a lead, move a leaving consultant's leads."""
    p = g.principal
    f = request.form
    try:
        with db().session(p.scope) as s:
            store = home_store(s, p)
            action = f.get("action")
            if action == "options":
                handlers.update_store_options(s, p, store.id, {
                    "round_robin": f.get("round_robin") == "1",
                    "consultants_may_export": f.get("consultants_may_export") == "1",
                    "weekly_sales_target": int(f.get("weekly_sales_target") or 0)})
            elif action == "assign":
                handlers.assign(s, p, f.get("lead_id", ""), f.get("consultant_id", ""),
                                "sla_breach" if f.get("why") == "sla_breach" else "manual")
            elif action == "reassign":
                n = handlers.reassign_all(s, p, store.id, f.get("from_consultant_id", ""),
                                          f.get("to_consultant_id") or None)
                flash(_("%(n)s leads moved.", n=n), "ok")
        flash(_("Saved."), "ok")
    except ValueError:
        flash(_("Figures must be whole numbers."), "error")
    except UserError as exc:
        form_errors(exc)
    return redirect("/leads/board")


@bp.route("/defeats", methods=["GET", "POST"])
@page("leads.manage")
def defeats():
    """Defeat approvals (战败审批): approve, or send back to the consultant."""
    p = g.principal
    if request.method == "POST":
        try:
            with db().session(p.scope) as s:
                handlers.decide_defeat(s, p, request.form.get("defeat_id", ""),
                                       request.form.get("approve") == "1", request.form.get("note") or None)
            flash(_("Saved."), "ok")
        except UserError as exc:
            form_errors(exc)
        return redirect("/leads/defeats")
    with db().session(p.scope) as s:
        rows = queries.pending_defeats(s)
        leads = queries.leads_by_id(s, [d.lead_id for d in rows])
        names = queries.staff_names(s)
    return render_template("leads/defeats.html", rows=rows, leads=leads, names=names)


@bp.route("/audit", methods=["GET", "POST"])
@page("leads.work")
@store_page
def audit():
    """Card audit (卡片清点): stale leads, confirmed, re-graded or closed in bulk."""
    p = g.principal
    if request.method == "POST":
        f = request.form
        ids = f.getlist("lead_ids")
        if not ids:
            flash(_("Tick at least one lead."), "error")
            return redirect("/leads/audit")
        try:
            with db().session(p.scope) as s:
                n = handlers.audit(s, p, ids, f.get("action", "confirm"), f.get("level") or None,
                                   f.get("reason") or None)
            flash(_("%(n)s leads audited.", n=n), "ok")
        except UserError as exc:
            form_errors(exc)
        return redirect("/leads/audit")
    with db().session(p.scope) as s:
        store = home_store(s, p)
        rows = queries.audit_list(s, store, request.args.get("consultant_id") or None)
        names = queries.staff_names(s, store.id)
        rules = handlers.rules_of(s, p.group_id)
        team = queries.consultants(s, store.id)
    return render_template("leads/audit.html", rows=rows, names=names, rules=rules, team=team,
                           consultant_id=request.args.get("consultant_id", ""))


@bp.get("/funnel")
@page("leads.read")
@store_page
def funnel():
    """The funnel for the store (or for a consultant), with the close ratio and the weekly refill need."""
    p = g.principal
    days = request.args.get("days", "30")
    days_n = int(days) if days.isdigit() and 1 <= int(days) <= 366 else 30
    consultant = p.user_id if p.role == CONSULTANT else (request.args.get("consultant_id") or None)
    with db().session(p.scope) as s:
        store = home_store(s, p)
        f = queries.store_funnel(s, store, days_n, consultant)
        team = queries.consultants(s, store.id)
    return render_template("leads/funnel.html", f=f, team=team, consultant_id=consultant or "", days=days_n)


@bp.get("/import")
@page("leads.manage")
def import_page():
    """Upload a CSV of leads, dry run first; progress and rejected rows show as it runs."""
    p = g.principal
    with db().session(p.scope) as s:
        jobs = queries.recent_imports(s)
    return render_template("leads/import.html", jobs=jobs)
