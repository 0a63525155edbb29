"""Bulk targets, API and page: upload an XLSX/CSV, dry run (per-row errors, nothing saved), apply; template.

The views register on the API blueprint and on the pages' blueprint (imported by `create_app`)."""
from __future__ import annotations

import base64
import binascii

from flask import Response, flash, redirect, render_template, request, url_for
from flask.views import MethodView
from flask_babel import force_locale, get_locale, gettext as _, lazy_gettext as _l
from marshmallow import Schema, fields, validate

from shared.auth import current_principal
from shared.errors import Invalid
from shared.fields import Month
from shared.permissions import page, require

from ..views import reports as R
from ..handlers import target_import as T
from .api import _db, blp
from ..labels import KPI_LABELS, LEVEL_LABELS
from .pages import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the row checks' messages as the page shows them (the API answers the English ones of target_import)
ROW_ERRORS = {"month": _l("use YYYY-MM, e.g. 2026-05"), "level": _l("one of group, brand, store, consultant"),
              "node": _l("no such brand, store or sales consultant in this group"),
              "node_group": _l("leave it empty for the whole group"), "kpi": _l("unknown KPI"),
              "value": _l("a number of at least 0"), "duplicate": _l("the same target as row %(row)s"),
              "required": _l("required")}
COLUMN_LABELS = {"month": _l("Month"), "level": _l("Level"), "node": _l("Name or code"), "kpi": _l("KPI"),
                 "value": _l("Target"), "row": _l("Row")}


def kpi_names() -> dict[str, str]:
    """Every KPI's name in English and in Chinese → its key: a sheet may name KPIs either way."""
    out = {}
    for lang in ("en", "zh_CN"):
        with force_locale(lang):
            out.update({str(label): key for key, label in KPI_LABELS.items()})
    return out


def _chinese() -> bool:
    return get_locale().language == "zh"


def _template(fmt: str, month: str) -> Response:
    with force_locale("zh_CN" if _chinese() else "en"):
        labels = {k: str(v) for k, v in KPI_LABELS.items()}
    body = T.template(month, labels, _chinese(), fmt)
    name = f"targets-{month}.{fmt}"
    return Response(body, mimetype=XLSX if fmt == "xlsx" else "text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


class UploadQuery(Schema):
    dry_run = fields.Boolean(load_default=True)


class TemplateQuery(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))
    month = Month()


class SheetRowOut(Schema):
    row = fields.Integer()
    month = fields.String()
    level = fields.String()
    node_id = fields.String()
    node_name = fields.String()
    kpi = fields.String()
    value = fields.Float()
    current = fields.Float(allow_none=True)


class SheetErrorOut(Schema):
    row = fields.Integer()
    field = fields.String()
    code = fields.String()
    value = fields.String()
    message = fields.String()


class SheetOut(Schema):
    dry_run = fields.Boolean()
    applied = fields.Integer()
    rows = fields.List(fields.Nested(SheetRowOut))
    errors = fields.List(fields.Nested(SheetErrorOut))


def _upload() -> tuple[str, bytes]:
    f = request.files.get("file")
    if f is None or not f.filename:
        raise Invalid("upload the sheet as multipart field `file`", errors={"file": ["required"]})
    return f.filename, f.read(T.MAX_BYTES + 1)


@blp.route("/targets/import")
class TargetSheet(MethodView):
    @require("analytics.admin")
    @blp.arguments(UploadQuery, location="query")
    @blp.response(200, SheetOut)
    def post(self, q):
        """Monthly targets from an XLSX or CSV (multipart `file`): `dry_run=true` (the default) checks every
        row and saves nothing; `dry_run=false` saves them all, or nothing (422) when any row is wrong."""
        p = current_principal()
        name, data = _upload()
        with _db().session(p.scope) as s:
            out = T.import_targets(s, p, name, data, apply=not q["dry_run"], kpi_names=kpi_names())
            if out["errors"] and not q["dry_run"]:
                raise Invalid(f"{len(out['errors'])} rows are wrong; nothing was saved", errors={
                    f"row {e['row']}": [f"{e['field']}: {e['message']}"] for e in out["errors"]})
        return out


@blp.route("/targets/template")
class TargetTemplate(MethodView):
    @require("analytics.read")
    @blp.arguments(TemplateQuery, location="query")
    def get(self, q):
        """An example sheet for the upload (XLSX or CSV), in the caller's language."""
        return _template(q["format"], q.get("month") or R.this_month())


@bp.get("/targets/template.<fmt>")
@page("analytics.read")
def target_template(fmt: str):
    """The upload's example sheet."""
    if fmt not in ("xlsx", "csv"):
        raise Invalid("xlsx or csv", errors={"format": ["xlsx or csv"]})
    return _template(fmt, request.args.get("month") or R.this_month())


@bp.post("/targets/import")
@page("analytics.admin")
def import_target_sheet():
    """Dry run (check) or apply an uploaded sheet of targets; a checked sheet is carried to the apply step."""
    p = current_principal()
    month = request.form.get("month") or R.this_month()
    apply = request.form.get("action") == "apply"
    try:
        if request.form.get("sheet"):  # the sheet the dry run checked
            name, data = request.form.get("filename", "sheet.csv"), base64.b64decode(request.form["sheet"], validate=True)
        else:
            name, data = _upload()
        with _db().session(p.scope) as s:
            out = T.import_targets(s, p, name, data, apply=apply, kpi_names=kpi_names())
            if apply and not out["errors"]:
                flash(_("%(n)s targets saved.", n=out["applied"]))
                return redirect(url_for("analytics_pages.targets", month=month))
    except (Invalid, binascii.Error) as exc:
        flash(_("The file could not be read: %(reason)s", reason=_unreadable(exc)), "error")
        return redirect(url_for("analytics_pages.targets", month=month))
    return render_template("analytics/targets_sheet.html", out=out, month=month, filename=name,
                           sheet=base64.b64encode(data).decode(), kpi_labels=KPI_LABELS,
                           level_labels=LEVEL_LABELS, column_labels=COLUMN_LABELS, row_errors=ROW_ERRORS)


def _unreadable(exc: Exception) -> str:
    reason = (getattr(exc, "data", None) or {}).get("errors", {}).get("file", [""])[0]
    return {"empty": _("the file is empty"), "too large": _("the file is larger than 2 MB"),
            "too many rows": _("at most 5,000 rows at a time"), "unreadable": _("not a readable XLSX or CSV file"),
            "required": _("choose a file")}.get(reason, _("the header row needs the columns 月份, 层级, 对象, 指标, 目标值 "
                                                        "(or month, level, node, kpi, value)"))
