"""Customers pages: search, the 360 view for an agent on a call, review of duplicates, DMS import, access log."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from shared.errors import NotFound, UserError
from shared.nav import role_label
from shared.permissions import ROLES, can, page

from .. import labels
from .api.common import reading, runtime
from .api.customers import access_file
from .. import views as view
from ..handlers import access, privacy, review
from ..handlers.common import visible
from ..handlers.feeds import KINDS, import_rows, parse_csv
from ..schemas import AccessExportQuery, AccessQuery, ConsentIn, CustomerQuery

bp = Blueprint("customers_pages", __name__, url_prefix="/customers")
#: what the review page says for the review rules' refusals (by their stable code)
REVIEW_MESSAGES = {
    "already_decided": _l("This pair was already decided."),
    "known_elsewhere": _l("These records are known at another store too: group HQ decides about them."),
    "already_unmerged": _l("This merge was already undone."),
    "survivor_not_active": _l("The record that stayed was merged or erased since; undo that first."),
    "not_active": _l("Only active records can be merged."),
    "survivor_not_in_pair": _l("Choose which record stays."),
}


@bp.app_context_processor
def _vocab():
    p = g.get("principal")
    return {"LB": labels, "can_review": bool(p and can(p.role, "customers.review"))}


@bp.get("/")
@page("customers.read")
def search():
    """One search box: phone in any format, name, plate, VIN or ID number."""
    p = g.principal
    q = request.args.get("q", "").strip().lstrip("/").strip()  # "/" is the key that jumps to the box
    rows, total, open_matches = [], 0, 0
    with reading(p) as s:
        if q:
            try:
                args = CustomerQuery().load({"q": q[:60], "page": request.args.get("page", "1")})
            except ValidationError:
                args = {"q": q[:60], "page": 1, "per_page": 20}
            rows, total = view.search_rows(s, p, args)
        if can(p.role, "customers.review"):
            open_matches = review.open_count(s)
    return render_template("customers/search.html", q=q, rows=rows, total=total, open_matches=open_matches)


def _render_360(customer_id: str, revealed: dict | None = None):
    p = g.principal
    with runtime().uow(p.scope) as uow:
        s = uow.session
        data = view.customer_360(s, p, customer_id)
        if data is None:
            raise NotFound("customer")
        c = visible(s, data["profile"]["id"]) if data["profile"]["status"] == "active" else None
        rels = view.relationships_of(s, [c.id])[c.id] if c is not None else []
        may_reveal = c is not None and privacy.may_reveal(p, rels)
        if revealed is not None:
            if not may_reveal or c is None:
                raise NotFound("customer")
            revealed = privacy.reveal(s, p, c, revealed["field"], revealed["reason"])
        uow.commit()
    if data["profile"]["id"] != customer_id:
        return redirect(f"/customers/{data['profile']['id']}")
    return render_template("customers/view.html", c=data, revealed=revealed, may_reveal=may_reveal)


@bp.get("/<customer_id>")
@page("customers.read")
def customer(customer_id: str):
    """The 360 view (every read is logged)."""
    return _render_360(customer_id)


@bp.post("/<customer_id>/reveal")
@page("customers.reveal")
def reveal(customer_id: str):
    """Show the full phone or ID number once, with a reason (logged)."""
    field, reason = request.form.get("field"), (request.form.get("reason") or "").strip()
    if field not in ("phone", "id_number") or len(reason) < 2:
        flash(_("Say why you need to see the full number."), "error")
        return redirect(f"/customers/{customer_id}")
    return _render_360(customer_id, {"field": field, "reason": reason[:200]})


@bp.post("/<customer_id>/consent")
@page("customers.write")
def consent(customer_id: str):
    """Save do-not-call and consent per channel."""
    p = g.principal
    f = request.form
    body = ConsentIn().load({"do_not_call": f.get("do_not_call") == "1",
                             "consent": {ch: f.get(f"consent_{ch}") == "1" for ch in labels.CHANNEL}})
    with runtime().uow(p.scope) as uow:
        privacy.change_consent(uow.session, p.user_id, visible(uow.session, customer_id), body["do_not_call"],
                               body["consent"])
        uow.commit()
    flash(_("Consent saved; every call list follows it now."), "ok")
    return redirect(f"/customers/{customer_id}#consent")


@bp.get("/<customer_id>/access")
@page("customers.access_log")
def access_of(customer_id: str):
    """Who read or revealed this customer's data: the access log, filtered to them."""
    return redirect("/customers/access-log?" + urlencode({"customer_id": customer_id}))


def _access_filters() -> dict:
    """The page's filters, as the API reads them (bad ones are dropped with a message, not a 500)."""
    raw = {k: v for k, v in request.args.items() if v and k in AccessQuery().fields}
    try:
        return AccessQuery().load(raw)
    except ValidationError as exc:
        flash(_("Some filters were not understood and were left out: %(f)s", f=", ".join(sorted(exc.messages))),
              "error")
        return AccessQuery().load({k: v for k, v in raw.items() if k not in exc.messages})


@bp.get("/access-log")
@page("customers.access_log")
def access_log():
    """Who saw which customer's what, when and why (a manager: their store's customers; HQ: the group)."""
    p = g.principal
    q = _access_filters()
    with reading(p) as s:
        rows, total = access.page(s, q, runtime().settings.default_timezone)
        names = access.customer_names(s, (a.customer_id for a in rows))
        stores = access.store_names(s)
    shown = {k: v for k, v in request.args.items() if k in AccessExportQuery().fields and k != "format" and v}
    pages = max(1, -(-total // q["per_page"]))

    def link(path: str, **changes) -> str:
        return f"{path}?{urlencode({**shown, **changes})}"

    return render_template("customers/access_log.html", rows=rows, total=total, q=q, names=names, stores=stores,
                           pages=pages, args=shown, link=link)


@bp.get("/access-log/export")
@page("customers.access_log")
def access_log_export():
    """The filtered access log as CSV or XLSX (the page's words in the header)."""
    p = g.principal
    try:
        q = AccessExportQuery().load({k: v for k, v in request.args.items() if v and k in AccessExportQuery().fields})
    except ValidationError as exc:
        raise NotFound("export") from exc
    header = [str(x) for x in (_("When"), _("Who"), _("Role"), _("Store"), _("Customer ID"), _("Customer"),
                               _("What"), _("Reason"))]
    words = {**{k: str(v) for k, v in labels.ACTION.items()},
             **{r: str(role_label(r)) for r in ROLES}}
    with reading(p) as s:
        return access_file(s, q, runtime().settings.default_timezone, header, words)


@bp.get("/review")
@page("customers.review")
def review_queue():
    """Likely duplicates to merge or reject, and recent merges to undo."""
    p = g.principal
    with reading(p) as s:
        cands, people = review.queue_with_people(s)
        merges = review.merges(s, 1, 30)
        shown = view.people(s, p, people)
    return render_template("customers/review.html", cands=cands, people=shown, merges=merges)


@bp.post("/review/<candidate_id>")
@page("customers.review")
def decide(candidate_id: str):
    """Merge the pair (the chosen record stays) or reject it."""
    p = g.principal
    try:
        with runtime().uow(p.scope) as uow:
            if request.form.get("decision") == "reject":
                review.reject_pair(uow, p, candidate_id)
                message = _("Kept as two different customers.")
            else:
                review.merge_pair(uow, p, candidate_id, request.form.get("survivor_id") or None)
                message = _("Merged. You can undo it below.")
            uow.commit()
        flash(message, "ok")
    except NotFound:
        raise
    except UserError as exc:
        flash(str(REVIEW_MESSAGES.get(exc.data["code"], exc.data["message"])), "error")
    return redirect("/customers/review")


@bp.post("/merges/<merge_id>/unmerge")
@page("customers.review")
def unmerge(merge_id: str):
    """Undo a merge."""
    p = g.principal
    try:
        with runtime().uow(p.scope) as uow:
            review.undo_merge(uow, p, merge_id)
            uow.commit()
        flash(_("Merge undone: both records are back as they were."), "ok")
    except NotFound:
        raise
    except UserError as exc:
        flash(str(REVIEW_MESSAGES.get(exc.data["code"], exc.data["message"])), "error")
    return redirect("/customers/review")


@bp.route("/import", methods=["GET", "POST"])
@page("customers.feed")
def import_csv():
    """Upload a DMS export (CSV): check it with a dry run (nothing saved), then import."""
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
                with runtime().uow(p.scope) as uow:
                    result = import_rows(uow, p, kind, rows)
                    if not dry:
                        uow.commit()
                result["dry_run"] = dry
            except UserError as exc:
                errors = exc.data
    return render_template("customers/import.html", kind=kind, kinds=KINDS, result=result, errors=errors)

