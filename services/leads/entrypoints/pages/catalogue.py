"""HQ's master data pages: the model catalogue per brand (add, retire, import a file with a dry run first,
load a starter list) and the competitor list for defeats."""
from __future__ import annotations

import re

from flask import abort, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from marshmallow import ValidationError

from shared.errors import NotFound, UserError
from shared.permissions import page

from ...handlers import catalogue
from ...schemas import CompetitorIn, VehicleModelIn
from . import bp, db, form_errors

MAX_FILE = 2 * 1024 * 1024
#: a catalogue file's row problems as the use case words them (English, for API clients) → the reader's words
_REASONS = [
    (re.compile(r"^the model name is missing$"), lambda m: _("the model name is missing")),
    (re.compile(r"^(.+) appears earlier in the file$"), lambda m: _("%(x)s appears earlier in the file", x=m[1])),
    (re.compile(r"^the guide price (.+) is not a number$"),
     lambda m: _("the guide price %(x)s is not a number", x=m[1])),
    (re.compile(r"^the alias (.+) already names (.+)$"),
     lambda m: _("the other name %(x)s already names %(y)s", x=m[1], y=m[2])),
]


@bp.app_template_global()
def catalogue_reason(reason: str) -> str:
    for pattern, say in _REASONS:
        m = pattern.match(reason)
        if m:
            return say(m)
    return _(reason)


def _render(brand_id: str | None, result: dict | None = None, status: int = 200):
    p = g.principal
    with db().session(p.scope) as s:
        brands = catalogue.brands(s)
        brand = next((b for b in brands if b.id == brand_id), brands[0] if brands else None)
        models = catalogue.models_of(s, brand.id) if brand else []
        rivals = catalogue.competitors(s)
    return render_template("leads/catalogue.html", brands=brands, brand=brand, models=models, rivals=rivals,
                           result=result), status


@bp.get("/catalogue")
@page("leads.catalogue")
def catalogue_page():
    """The brands' model catalogues and the competitor list."""
    return _render(request.args.get("brand_id"))


@bp.post("/catalogue")
@page("leads.catalogue")
def catalogue_post():
    """Add a model, retire or restore one, load the starter list, or add/remove a competitor."""
    p, f = g.principal, request.form
    brand_id = f.get("brand_id") or None
    action = f.get("action")
    try:
        with db().session(p.scope) as s:
            if action == "add":
                body = VehicleModelIn().load({"brand_id": brand_id or "", "series": f.get("series") or None,
                                              "name": f.get("name", ""), "guide_price": f.get("guide_price") or None,
                                              "aliases": [a for a in f.get("aliases", "").replace("、", "|").split("|")
                                                          if a.strip()]})
                catalogue.add_model(s, p, body["brand_id"], body)
            elif action in ("retire", "restore"):
                catalogue.set_model_active(s, p, f.get("model_id", ""), action == "restore")
            elif action == "starter":
                n = catalogue.load_starter(s, p, brand_id or "")
                flash(_("%(n)s models added from the starter list.", n=n), "ok")
            elif action == "competitor":
                body = CompetitorIn().load({"brand": f.get("brand", ""), "model": f.get("model") or None})
                catalogue.add_competitor(s, p, body["brand"], body.get("model"))
            elif action == "drop_competitor":
                catalogue.remove_competitor(s, p, f.get("competitor_id", ""))
            else:
                abort(400)
        if action != "starter":
            flash(_("Saved."), "ok")
    except NotFound:
        abort(404)
    except (ValidationError, *UserError) as exc:
        form_errors(exc)
    return redirect(f"/leads/catalogue?brand_id={brand_id or ''}")


@bp.post("/catalogue/import")
@page("leads.catalogue")
def catalogue_import():
    """A catalogue file for a brand (CSV or XLSX): a dry run lists what would change and every bad row by
    number; nothing is saved while a row is bad."""
    p = g.principal
    brand_id = request.form.get("brand_id", "")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the file."), "error")
        return redirect(f"/leads/catalogue?brand_id={brand_id}")
    raw = upload.read(MAX_FILE + 1)
    if len(raw) > MAX_FILE:
        flash(_("The file is larger than 2 MB."), "error")
        return redirect(f"/leads/catalogue?brand_id={brand_id}")
    try:
        with db().session(p.scope) as s:
            result = catalogue.import_models(s, p, brand_id, upload.filename, raw,
                                             dry_run=request.form.get("dry_run") == "1")
    except NotFound:
        abort(404)
    except UserError as exc:
        form_errors(exc)
        return redirect(f"/leads/catalogue?brand_id={brand_id}")
    return _render(brand_id, result, 200 if not result["errors"] else 422)
