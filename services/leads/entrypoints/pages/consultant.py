"""Consultant pages: my leads, lead detail with its timeline and actions, the visitor log, my daily report."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import abort, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError

from shared import clock
from shared.errors import Invalid, NotFound, UserError
from shared.fields import in_range
from shared.permissions import CONSULTANT, MANAGER, page

from ... import handlers
from ...domain import LEVELS, SIGNALS, allowed_actions
from ...domain.funnel import REPORT_FIELDS
from ... import views as queries
from ...handlers import catalogue, reports
from ...adapters.models import Lead, StoreRef
from ...schemas import CancelIn, DefeatIn, DeliveryIn, FollowUpIn, GradeIn, OrderIn, PageQuery, TestDriveIn, VisitIn
from . import TZ, bp, db, form_errors, store_page, today_local
from .labels import label, level_reason

def _filters() -> dict:
    a = request.args
    try:
        q: dict = {"page": PageQuery().load({"page": a.get("page") or 1})["page"], "per_page": 50}
    except ValidationError as exc:
        abort(422, "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.normalized_messages().items()))
    if a.get("level") in LEVELS + ("delivered", "defeated", "invalid"):
        q["level"] = a["level"]
    else:
        q["open"] = True
    if a.get("overdue") == "1":
        q["overdue"] = True
    if a.get("q"):
        q["q"] = a["q"][:80]
    if a.get("consultant_id"):
        q["consultant_id"] = a["consultant_id"]
    if a.get("unassigned") == "1":
        q["unassigned"] = True
    return q


@bp.get("/")
@page("leads.read")
def my_leads():
    """My leads (the store's for a manager, the group's for HQ), by level, overdue first."""
    p = g.principal
    q = _filters()
    with db().session(p.scope) as s:
        rows, total = queries.page_of(s, queries.lead_query(q, viewer=p), q["page"], q["per_page"])
        counts = queries.level_counts(s, None)
        overdue = queries.overdue_count(s)
        names = queries.staff_names(s)
        store = s.get(StoreRef, p.home_store) if p.home_store else None
    may_export = p.role != CONSULTANT or bool(store and store.consultants_may_export)
    return render_template("leads/list.html", rows=rows, total=total, q=q, counts=counts, overdue=overdue,
                           names=names, may_export=may_export, args=request.args)


def _timeline(s, lead: Lead, names: dict) -> list[dict]:
    items: list[dict] = [{"at": lead.created_at, "icon": "new", "text": _("Lead registered"), "who": lead.created_by}]
    for v in queries.history(s, lead.id, "visits"):
        items.append({"at": v.time_in, "icon": "visit", "who": v.created_by, "text": _(
            "%(kind)s, party of %(n)s", kind=_("Walk-in") if v.kind == "walk_in" else _("Phone-in"), n=v.party_size)
            + (f" · {v.model}" if v.model else "")})
    for c in queries.history(s, lead.id, "levels"):
        items.append({"at": c.at, "icon": "level", "who": c.actor, "level": c.to_level, "from_level": c.from_level,
                      "text": level_reason(c.reason), "signals": c.signals})
    for f in queries.history(s, lead.id, "follow_ups"):
        items.append({"at": f.at, "icon": "followup", "who": f.consultant_id, "kind": f.kind, "outcome": f.outcome,
                      "text": f.note or "", "next": f.next_planned_at})
    for t in queries.history(s, lead.id, "test_drives"):
        items.append({"at": t.completed_at or t.created_at, "icon": "drive", "who": None, "text": (
            _("Test drive completed: %(m)s", m=t.model) if t.status == "completed"
            else _("Test drive booked: %(m)s", m=t.model))})
    for o in queries.orders_of(s, lead.id):
        items.append({"at": o.created_at, "icon": "order", "who": o.consultant_id,
                      "text": _("Order: %(m)s %(c)s, ¥%(p)s", m=o.model, c=o.colour or "", p=f"{o.price:,.0f}")})
        if o.status == "cancelled" and o.cancelled_at:
            items.append({"at": o.cancelled_at, "icon": "order", "who": o.cancelled_by,
                          "text": _("Order cancelled: %(r)s", r=o.cancel_reason or "")})
        if o.status == "delivered" and o.delivered_on:
            items.append({"at": datetime.combine(o.delivered_on, time(18), TZ), "icon": "order", "who": None,
                          "text": _("Delivered: VIN %(v)s", v=o.vin or "")})
    for d in queries.history(s, lead.id, "defeats"):
        items.append({"at": d.proposed_at, "icon": "defeat", "who": d.proposed_by, "text": _(
            "Defeat proposed: %(r)s %(b)s %(m)s", r=handlers_label("defeat", d.reason), b=d.competitor_brand or "",
            m=d.competitor_model or "") + (f" — {label('defeat_status', d.status)}" if d.status != "proposed" else "")})
    for a in queries.history(s, lead.id, "assignments"):
        items.append({"at": a.at, "icon": "assign", "who": a.actor, "text": _(
            "Now with %(to)s (%(why)s)", to=names.get(a.to_consultant or "", "—"), why=handlers_label("why", a.why))})
    return sorted(items, key=lambda x: x["at"], reverse=True)


def handlers_label(group: str, key: str) -> str:
    return str(label(group, key))


@bp.get("/<lead_id>")
@page("leads.read")
def lead_detail(lead_id: str):
    """One lead: facts, due date, the actions a consultant takes, and the timeline."""
    p = g.principal
    with db().session(p.scope) as s:
        lead = s.get(Lead, lead_id)
        if lead is None:
            abort(404)
        names = queries.staff_names(s)
        timeline = _timeline(s, lead, names)
        steps = queries.open_steps(s, lead.id)
        orders = queries.orders_of(s, lead.id)
        colleagues = queries.consultants(s, lead.store_id)
        models = catalogue.models_of(s, lead.brand_id, active_only=True)
        rivals = catalogue.competitors(s)
    return render_template(
        "leads/detail.html", lead=lead, names=names, timeline=timeline, drives=steps["drives"], defeat=steps["defeat"],
        order=next((o for o in orders if o.status == "placed"), None),
        delivered=next((o for o in orders if o.status == "delivered"), None),
        allowed=allowed_actions(lead.level, lead.defeat_pending), models=models, rivals=rivals,
        colleagues=colleagues, today=today_local())


def _local_dt(day: str | None, hhmm: str | None = None) -> str | None:
    """A date (and time) typed in the form, in local time, as an ISO instant for the schema (which
    names the field when the text is no date at all)."""
    if not day:
        return None
    try:
        t = time.fromisoformat(hhmm) if hhmm else time(10, 0)
        return datetime.combine(date.fromisoformat(day), t, TZ).isoformat()
    except ValueError:
        return f"{day} {hhmm or ''}".strip()


ACTIONS = {
    "follow_up": (FollowUpIn, lambda s, p, lid, b: handlers.log_follow_up(s, p, lid, b)),
    "grade": (GradeIn, lambda s, p, lid, b: handlers.grade(s, p, lid, b["level"], b["signals"], b["reason"])),
    "test_drive": (TestDriveIn, lambda s, p, lid, b: handlers.book_test_drive(s, p, lid, b)),
    "order": (OrderIn, lambda s, p, lid, b: handlers.place_order(s, p, lid, b)),
    "defeat": (DefeatIn, lambda s, p, lid, b: handlers.propose_defeat(s, p, lid, b)),
}


def _form_body(kind: str) -> dict:
    f = request.form
    body: dict[str, Any]
    if kind == "follow_up":
        body = {"kind": f.get("kind"), "outcome": f.get("outcome"), "note": f.get("note") or None,
                "next_planned_at": _local_dt(f.get("next_day"), f.get("next_time") or None)}
        if f.get("level"):
            body["level"] = f["level"]
        return body
    if kind == "grade":  # no level chosen: the highest level the ticked signals belong to
        signals = f.getlist("signals")
        level = f.get("level") or next((lv for lv in ("H", "A", "B", "C") if set(SIGNALS[lv]) & set(signals)), None)
        if level is None:
            raise Invalid(_("Choose a level, or tick what the customer showed."), errors={})
        return {"level": level, "signals": signals, "reason": f.get("reason") or None}
    if kind == "test_drive":
        return {"model": f.get("model"), "booked_for": _local_dt(f.get("day"), f.get("time") or None)}
    if kind == "order":
        body = {k: f.get(k) or None for k in ("model", "colour", "price", "deposit", "payment_method",
                                              "expected_delivery")}
        body["trade_in"] = f.get("trade_in") == "1"
        return {k: v for k, v in body.items() if v is not None}
    if kind == "defeat":
        body = {k: f.get(k) or None for k in ("reason", "competitor_brand", "competitor_model", "note")}
        if f.get("competitor"):  # picked from the list HQ keeps: "brand|model"
            brand, _sep, model = f["competitor"].partition("|")
            body["competitor_brand"], body["competitor_model"] = brand, model or None
        return body
    abort(400)


@bp.post("/<lead_id>/act/<kind>")
@page("leads.work")
def lead_action(lead_id: str, kind: str):
    """The forms of the lead page: follow-up, grade, test drive, order, defeat; delivery and assignment."""
    p = g.principal
    try:
        with db().session(p.scope) as s:
            if kind == "complete_drive":
                handlers.complete_test_drive(s, p, request.form.get("test_drive_id", ""))
            elif kind == "cancel_order":
                b = CancelIn().load({"reason": request.form.get("reason", "")})
                handlers.cancel_order(s, p, request.form.get("order_id", ""), b["reason"])
            elif kind == "deliver":
                b = DeliveryIn().load({"vin": request.form.get("vin", ""),
                                       "delivered_on": request.form.get("delivered_on", "")})
                handlers.deliver(s, p, request.form.get("order_id", ""), b["vin"], b["delivered_on"])
            elif kind == "assign":
                handlers.assign(s, p, lead_id, request.form.get("consultant_id", ""))
            else:
                if kind not in ACTIONS:
                    abort(404)
                schema, fn = ACTIONS[kind]
                fn(s, p, lead_id, schema().load(_form_body(kind)))
        flash(_("Saved."), "ok")
    except NotFound:
        abort(404)
    except (ValidationError, *UserError) as exc:
        form_errors(exc)
    return redirect(f"/leads/{lead_id}")


@bp.route("/visits/new", methods=["GET", "POST"])
@page("leads.work")
@store_page
def visit_new():
    """Quick visitor log (来店/来电登记): one screen, a few taps on the showroom tablet."""
    p = g.principal
    if request.method == "POST":
        f = request.form
        today = today_local().isoformat()
        body = {"kind": f.get("kind") or "walk_in", "party_size": f.get("party_size") or 1,
                "name": f.get("name") or None, "phone": f.get("phone") or None, "model": f.get("model") or None,
                "source": f.get("source") or None, "first_visit": f.get("first_visit") != "0",
                "note": f.get("note") or None, "consultant_id": f.get("consultant_id") or None,
                "time_in": _local_dt(today, f["time_in"]) if f.get("time_in") else None,  # blank: now
                "time_out": _local_dt(today, f["time_out"]) if f.get("time_out") else None}
        try:
            with db().session(p.scope) as s:
                visit, lead, foreign = handlers.log_visit(s, p, VisitIn().load(body))
                lead_id = lead.id if lead else None
            if foreign:
                flash(_("This customer is already a colleague's lead; the visit was added to it."), "ok")
            elif lead_id:
                flash(_("Visit logged."), "ok")
                return redirect(f"/leads/{lead_id}")
            else:
                flash(_("Visit logged."), "ok")
        except (ValidationError, *UserError) as exc:
            form_errors(exc)
            return render_template("leads/visit.html", form=f, **_today(p)), 422
        return redirect("/leads/visits/new")
    return render_template("leads/visit.html", form={}, **_today(p))


@bp.post("/visits/<visit_id>/out")
@page("leads.work")
def visit_out(visit_id: str):
    """The visitor left: their time out is now (one tap on the visitor log)."""
    p = g.principal
    try:
        with db().session(p.scope) as s:
            handlers.record_departure(s, p, visit_id)
    except NotFound:
        abort(404)
    except UserError as exc:
        form_errors(exc)
    return redirect("/leads/visits/new")


def _today(p) -> dict:
    """Today's visitor log (newest first), the consultants who receive visitors, and their names."""
    start = datetime.combine(today_local(), time(0), TZ)
    with db().session(p.scope) as s:
        recent = queries.visits_since(s, start)
        names = queries.staff_names(s)
        team = queries.consultants(s, p.home_store) if p.role == MANAGER else []
        brand = catalogue.brand_of_store(s, p.home_store)
        models = catalogue.models_of(s, brand, active_only=True) if brand else []
    return {"recent": recent, "names": names, "team": team, "models": models}


@bp.route("/reports", methods=["GET", "POST"])
@page("leads.report")
def my_report():
    """My daily report (the store's TACT statistics for the manager): counted, completed, submitted, amended."""
    p = g.principal
    kind = "store" if p.role == MANAGER else "consultant"
    try:
        day = date.fromisoformat(request.values.get("day") or today_local().isoformat())
    except ValueError:
        day = today_local()
    if not in_range(day):  # 9999-12-31 would overflow the deadline: show today instead, as for a typo
        day = today_local()
    if request.method == "POST":
        f = request.form
        try:
            with db().session(p.scope) as s:
                if "reopen_for" in f:  # the manager reopens a day past its deadline ("" = the store's own)
                    reports.reopen(s, p, p.home_store, day, f["reopen_for"] or None, f.get("reason", ""))
                elif f.get("amendment_id"):  # the manager decides on a consultant's request
                    reports.decide_amendment(s, p, f["amendment_id"], f.get("decision") == "approve",
                                             f.get("note") or None)
                elif f.get("report_id"):
                    changes = {k: int(f[k]) for k in REPORT_FIELDS if f.get(k, "").strip() != ""}
                    reports.amend(s, p, f["report_id"], changes, f.get("reason", ""))
                else:
                    entered = {k: int(f[k]) for k in REPORT_FIELDS if f.get(k, "").strip() != ""}
                    reports.submit(s, p, p.home_store, day, kind, entered, f.get("note") or None)
            flash(_("Saved."), "ok")
        except ValueError:
            flash(_("Figures must be whole numbers."), "error")
        except UserError as exc:
            form_errors(exc)
        return redirect(f"/leads/reports?day={day.isoformat()}")
    with db().session(p.scope) as s:
        store = s.get(StoreRef, p.home_store)
        owner, consultant = reports.owner_of(p, kind)
        report = reports.find_report(s, store.id, owner, day)
        auto = reports.auto_figures(s, store, day, consultant)
        effective = reports.effective(s, report) if report else None
        amendments = reports.amendments_of(s, report) if report else []
        names = queries.staff_names(s, store.id)
        reopened = reports.open_reopening(s, store.id, owner, day) is not None
        team, requests = [], []
        if kind == "store":
            requests = reports.pending_amendments(s, store.id)
            done = queries.reports_of_day(s, store.id, day)
            team = [(c, done.get(c.id), reports.open_reopening(s, store.id, c.id, day) is not None)
                    for c in queries.consultants(s, store.id)]
    from ...domain.timing import is_late, report_deadline

    tz = clock.zone_name(store.timezone)
    closed = is_late(day, clock.now(), tz)  # past the deadline: only a day the manager reopened is accepted
    return render_template("leads/report.html", day=day, kind=kind, report=report, auto=auto, effective=effective,
                           amendments=amendments, fields=REPORT_FIELDS, names=names, team=team, requests=requests,
                           deadline=report_deadline(day, tz), today=today_local(), closed=closed,
                           reopened=reopened)
