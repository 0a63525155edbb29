"""Customers pages: search, the 360 view for an agent on a call, review of duplicates, DMS import."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from shared.errors import ApiError, not_found
from shared.tenancy import Scope
from shared.web import page_roles

from . import labels
from .handlers import merge as merging
from .handlers import privacy, view
from .handlers.common import active
from .handlers.feeds import KINDS, import_rows, parse_csv
from .models import AccessLog, Customer, MatchCandidate, MergeRecord
from .schemas import ConsentIn, CustomerQuery

bp = Blueprint("customers_pages", __name__, url_prefix="/customers")
ALL = ()
REVIEWERS = ("group_admin", "store_manager")
TZ = ZoneInfo("Asia/Shanghai")


def _db():
    return current_app.extensions["crm"].db


@bp.app_template_filter("local")
def _local(value, fmt: str = "%Y-%m-%d %H:%M"):
    return value.astimezone(TZ).strftime(fmt) if value else ""


@bp.app_template_filter("phone")
def _phone(value: str) -> str:
    """'+8613800138000' → '+86 138 0013 8000' (masked numbers are already spaced)."""
    if value and value.startswith("+86") and len(value) == 14 and value[1:].isdigit():
        return f"+86 {value[3:6]} {value[6:10]} {value[10:]}"
    return value


@bp.app_context_processor
def _vocab():
    return {"LB": labels, "can_review": bool(g.get("principal") and g.principal.role in REVIEWERS)}


@bp.get("/")
@page_roles(*ALL)
def search():
    """One search box: phone in any format, name, plate, VIN or ID number."""
    p = g.principal
    q = request.args.get("q", "").strip()
    rows, total, open_matches = [], 0, 0
    with _db().session(p.scope) as s:
        if q:
            try:
                args = CustomerQuery().load({"q": q[:60], "page": request.args.get("page", "1")})
            except ValidationError:
                args = {"q": q[:60], "page": 1, "per_page": 20}
            args.setdefault("per_page", 20)
            found, total = view.search(s, p.group_id, args)
            rels = view.relationships_of(s, [c.id for c in found])
            stores = view.store_names(s)
            rows = [view.present_row(p, c, rels[c.id], stores) for c in found]
        if p.role in REVIEWERS:
            open_matches = s.scalar(select(func.count(MatchCandidate.id)).where(MatchCandidate.status == "open"))
    return render_template("customers/search.html", q=q, rows=rows, total=total, open_matches=open_matches)


def _render_360(customer_id: str, revealed: dict | None = None, status: int = 200):
    p = g.principal
    with _db().session(p.scope) as s:
        data = view.customer_360(s, p, customer_id)
        if data is None:
            not_found("customer")
        if revealed is not None:
            revealed = privacy.reveal(s, p, s.get(Customer, data["profile"]["id"]), revealed["field"],
                                      revealed["reason"])
    if data["profile"]["id"] != customer_id:
        return redirect(f"/customers/{data['profile']['id']}")
    return render_template("customers/view.html", c=data, revealed=revealed), status


@bp.get("/<customer_id>")
@page_roles(*ALL)
def customer(customer_id: str):
    """The 360 view (every read is logged)."""
    return _render_360(customer_id)


@bp.post("/<customer_id>/reveal")
@page_roles(*ALL)
def reveal(customer_id: str):
    """Show the full phone or ID number once, with a reason (logged)."""
    field, reason = request.form.get("field"), (request.form.get("reason") or "").strip()
    if field not in ("phone", "id_number") or len(reason) < 2:
        flash(_("Say why you need to see the full number."), "error")
        return redirect(f"/customers/{customer_id}")
    return _render_360(customer_id, {"field": field, "reason": reason[:200]})


@bp.post("/<customer_id>/consent")
@page_roles("group_admin", "cc_supervisor", "cc_agent", "store_manager", "sales_consultant")
def consent(customer_id: str):
    """Save do-not-call and consent per channel."""
    p = g.principal
    f = request.form
    body = ConsentIn().load({"do_not_call": f.get("do_not_call") == "1",
                             "consent": {ch: f.get(f"consent_{ch}") == "1" for ch in labels.CHANNEL}})
    with _db().session(p.scope) as s:
        if active(s, customer_id) is None:
            not_found("customer")
    with _db().session(Scope.system(p.group_id)) as s:
        privacy.change_consent(s, p.user_id, active(s, customer_id), body["do_not_call"], body["consent"])
    flash(_("Consent saved; every call list follows it now."), "ok")
    return redirect(f"/customers/{customer_id}#consent")


@bp.get("/<customer_id>/access")
@page_roles("group_admin", "cc_supervisor")
def access(customer_id: str):
    """Who read or revealed this customer's data."""
    p = g.principal
    with _db().session(p.scope) as s:
        c = active(s, customer_id) or s.get(Customer, customer_id)
        if c is None:
            not_found("customer")
        rows = list(s.scalars(select(AccessLog).where(AccessLog.customer_id == c.id)
                              .order_by(AccessLog.at.desc()).limit(200)))
    return render_template("customers/access.html", c=c, rows=rows)


@bp.get("/review")
@page_roles(*REVIEWERS)
def review():
    """Likely duplicates to merge or reject, and recent merges to undo."""
    p = g.principal
    with _db().session(p.scope) as s:
        cands = list(s.scalars(select(MatchCandidate).where(MatchCandidate.status == "open")
                               .order_by(MatchCandidate.created_at.desc()).limit(100)))
        ids = {i for m in cands for i in (m.customer_a, m.customer_b)}
        people = {c.id: c for c in s.scalars(select(Customer).where(Customer.id.in_(ids)))} if ids else {}
        cands = [m for m in cands if m.customer_a in people and m.customer_b in people]
        merges = list(s.scalars(select(MergeRecord).order_by(MergeRecord.merged_at.desc()).limit(30)))
        rels = view.relationships_of(s, list(people))
        stores = view.store_names(s)
        shown = {i: view.present_row(p, c, rels[i], stores) for i, c in people.items()}
    return render_template("customers/review.html", cands=cands, people=shown, merges=merges)


@bp.post("/review/<candidate_id>")
@page_roles(*REVIEWERS)
def decide(candidate_id: str):
    """Merge the pair (the chosen record stays) or reject it."""
    p = g.principal
    with _db().session(p.scope) as s:
        cand = s.get(MatchCandidate, candidate_id)
        if cand is None or active(s, cand.customer_a) is None or active(s, cand.customer_b) is None:
            not_found("match")
    try:
        with _db().session(Scope.system(p.group_id)) as s:
            cand = s.get(MatchCandidate, candidate_id)
            if cand.status != "open":
                raise ApiError(409, _("This pair was already decided."))
            if request.form.get("decision") == "reject":
                from shared.db import utcnow

                cand.status, cand.decided_by, cand.decided_at = "rejected", p.user_id, utcnow()
                flash(_("Kept as two different customers."), "ok")
            else:
                keep = request.form.get("survivor_id")
                if keep not in (cand.customer_a, cand.customer_b):
                    raise ApiError(422, _("Choose which record stays."))
                other = cand.customer_b if keep == cand.customer_a else cand.customer_a
                merging.merge(s, s.get(Customer, keep), s.get(Customer, other), p.user_id,
                              f"match:{cand.reason}", candidate=cand)
                flash(_("Merged. You can undo it below."), "ok")
    except ApiError as exc:
        flash(exc.data["message"], "error")
    return redirect("/customers/review")


@bp.post("/merges/<merge_id>/unmerge")
@page_roles(*REVIEWERS)
def unmerge(merge_id: str):
    """Undo a merge."""
    p = g.principal
    with _db().session(p.scope) as s:
        if s.get(MergeRecord, merge_id) is None:
            not_found("merge")
    try:
        with _db().session(Scope.system(p.group_id)) as s:
            merging.unmerge(s, s.get(MergeRecord, merge_id), p.user_id)
        flash(_("Merge undone: both records are back as they were."), "ok")
    except ApiError as exc:
        flash(exc.data["message"], "error")
    return redirect("/customers/review")


class _DryRun(Exception):
    pass


@bp.route("/import", methods=["GET", "POST"])
@page_roles(*REVIEWERS)
def import_csv():
    """Upload a DMS export (CSV): check it with a dry run, then import."""
    p = g.principal
    result, errors, kind = None, None, request.form.get("kind", "service-visits")
    if request.method == "POST":
        upload = request.files.get("file")
        dry = request.form.get("dry_run") == "1"
        if kind not in KINDS or upload is None or not upload.filename:
            flash(_("Choose what the file holds and the file itself."), "error")
        else:
            try:
                rows = parse_csv(kind, upload.read())
                try:
                    with _db().session(Scope.system(p.group_id)) as s:
                        result = import_rows(s, p, kind, rows)
                        if dry:
                            raise _DryRun
                except _DryRun:
                    pass
                result["dry_run"] = dry
            except ApiError as exc:
                errors = exc.data
    return render_template("customers/import.html", kind=kind, kinds=KINDS, result=result, errors=errors)
