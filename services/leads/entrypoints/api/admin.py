"""Group rules, store options, campaigns, CSV imports, exports and the funnel."""
from __future__ import annotations

import os
import tempfile

from flask import Response, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l

from shared.auth import current_principal
from shared.db import utcnow
from shared.errors import fail, not_found
from shared.permissions import CONSULTANT, require

from ... import handlers
from ... import views as queries
from ...handlers import importer
from ...views import exports
from ...handlers.common import store_of
from ...adapters.models import Campaign, ImportJob
from ..pages.labels import label
from ...schemas import (
    CampaignIn,
    CampaignOut,
    ExportQuery,
    FunnelOut,
    FunnelQuery,
    ImportJobOut,
    ImportQuery,
    PageQuery,
    RulesIO,
    StoreOptionsIO,
)
from . import blp, db
from .leads import list_query

MAX_IMPORT_BYTES = 200 * 1024 * 1024


@blp.route("/settings")
class Settings(MethodView):
    @require("leads.read")
    @blp.response(200, RulesIO)
    def get(self):
        """The group's lead rules: cadence and horizon per level, stale period, SLA, business hours, sources."""
        p = current_principal()
        with db().session(p.scope) as s:
            return handlers.rules_of(s, p.group_id).to_dict()

    @require("leads.settings")
    @blp.arguments(RulesIO)
    @blp.response(200, RulesIO)
    def put(self, body):
        """HQ changes the rules; a cadence change moves the due dates of every open lead."""
        p = current_principal()
        with db().session(p.scope) as s:
            return handlers.update_rules(s, p, body).to_dict()


@blp.route("/stores/<store_id>/options")
class StoreOptions(MethodView):
    @require("leads.read")
    @blp.response(200, StoreOptionsIO)
    def get(self, store_id):
        """The store's lead options."""
        p = current_principal()
        with db().session(p.scope) as s:
            return store_of(s, p, store_id)

    @require("leads.manage")
    @blp.arguments(StoreOptionsIO)
    @blp.response(200, StoreOptionsIO)
    def put(self, body, store_id):
        """Round-robin for new leads, exports for consultants, the weekly sales target."""
        p = current_principal()
        with db().session(p.scope) as s:
            return handlers.update_store_options(s, p, store_id, body)


@blp.route("/stores/<store_id>/funnel")
class Funnel(MethodView):
    @require("leads.read")
    @blp.arguments(FunnelQuery, location="query")
    @blp.response(200, FunnelOut)
    def get(self, q, store_id):
        """New leads → test drives → orders → deliveries (last `days`, 30 by default), levels, close ratio, refill need."""
        p = current_principal()
        with db().session(p.scope) as s:
            store = store_of(s, p, store_id)
            f = queries.store_funnel(s, store, q["days"], p.user_id if p.role == CONSULTANT else q.get("consultant_id"))
        f["steps"] = [{"key": x.key, "count": x.count, "rate": x.rate} for x in f["steps"]]
        return f


@blp.route("/campaigns")
class Campaigns(MethodView):
    @require("leads.read")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, CampaignOut(many=True))
    def get(self, q):
        """Campaigns of the caller's stores, newest first."""
        p = current_principal()
        with db().session(p.scope) as s:
            return queries.campaigns(s, q["page"], q["per_page"])

    @require("leads.manage")
    @blp.arguments(CampaignIn)
    @blp.response(201, CampaignOut)
    def post(self, body):
        """A campaign (event, test-drive day, roadshow, ad, SMS push) with its channel, period and cost."""
        p = current_principal()
        with db().session(p.scope) as s:
            store = handlers.resolve_store(s, p, body.pop("store_id"))
            c = Campaign(group_id=store.group_id, store_id=store.id, created_by=p.user_id, **body)
            s.add(c)
            s.flush()
            return c


@blp.route("/leads/export")
class Export(MethodView):
    @require("leads.read")
    @blp.arguments(ExportQuery, location="query")
    @blp.doc(responses={"200": {"description": "the file, as an attachment", "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}}}}})
    def get(self, q):
        """The lead list (same filters, same scope as reading it) as CSV or XLSX."""
        p = current_principal()
        q = list_query(q)
        at = utcnow()
        with db().session(p.scope) as s:
            exports.check_allowed(s, p)
        stamp = at.strftime("%Y%m%d-%H%M")
        if q["format"] == "xlsx":
            with db().session(p.scope) as s:
                data = exports.xlsx_bytes(s, p, queries.lead_query(q, at, p), at, header=_export_header(),
                                          words=_export_words)
            return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            headers={"Content-Disposition": f"attachment; filename=leads-{stamp}.xlsx"})

        # written to a spooled temp file in one short transaction (SQLite writers are not held up by a slow
        # download), then streamed: memory stays flat for large exports
        spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)
        with db().session(p.scope) as s:
            for chunk in exports.csv_chunks(s, p, queries.lead_query(q, at, p), at, header=_export_header(),
                                            words=_export_words):
                spool.write(chunk.encode("utf-8"))
        spool.seek(0)

        def body():
            with spool:
                while chunk := spool.read(1 << 16):
                    yield chunk

        return Response(body(), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename=leads-{stamp}.csv"})


def _spool_upload() -> tuple[str, str, int]:
    """Copy the uploaded CSV (multipart `file`, or a raw text/csv body) to a temp file, in chunks."""
    request.max_content_length = MAX_IMPORT_BYTES
    fd, path = tempfile.mkstemp(prefix="leads-import-", suffix=".csv")
    size = 0
    name = request.args.get("filename") or "upload.csv"
    with os.fdopen(fd, "wb") as out:
        if request.mimetype == "multipart/form-data":
            f = request.files.get("file")
            if f is None:
                os.unlink(path)
                fail(422, "attach the CSV as the form field 'file'", errors={"file": ["required"]})
            name = f.filename or name
            src = f.stream
        else:
            src = request.stream
        while chunk := src.read(1 << 16):
            out.write(chunk)
            size += len(chunk)
    if size == 0:
        os.unlink(path)
        fail(422, "the file is empty", errors={"file": ["empty"]})
    return path, name, size


@blp.route("/imports")
class Imports(MethodView):
    @require("leads.manage")
    @blp.arguments(ImportQuery, location="query")
    @blp.response(202, ImportJobOut)
    def post(self, q):
        """Upload a CSV of leads (multipart `file` or a text/csv body); `dry_run=true` checks without writing.

        The upload is queued for the leads worker and answered at once; poll `GET /imports/<id>` for
        progress and the rejected rows.
        """
        p = current_principal()
        path, name, _size = _spool_upload()
        try:
            with db().session(p.scope) as s, open(path, "rb") as fh:
                job_id = importer.submit(s, p, q["store_id"], name, q["dry_run"], fh).id
        finally:
            os.unlink(path)
        return job_out(job_id)


def job_out(job_id: str, limit: int = 1000) -> dict:
    p = current_principal()
    with db().session(p.scope) as s:
        job = s.get(ImportJob, job_id)
        if job is None:
            not_found("import")
        out = {c.key: getattr(job, c.key) for c in ImportJob.__table__.columns}
        out["errors"] = queries.import_errors(s, job_id, limit)
        return out


@blp.route("/imports/<job_id>")
class ImportOne(MethodView):
    @require("leads.manage")
    @blp.response(200, ImportJobOut)
    def get(self, job_id):
        """An import's progress, counts and its rejected rows (first 1,000) with row number and reason."""
        return job_out(job_id)


@blp.route("/stores")
class Stores(MethodView):
    @require("leads.read")
    @blp.response(200, StoreOptionsIO(many=True))
    def get(self):
        """The stores the caller may work with, with their lead options."""
        p = current_principal()
        with db().session(p.scope) as s:
            return queries.visible_stores(s, p)


#: the export's column titles, in the reader's language (Accept-Language, else Chinese)
EXPORT_HEADER = {"id": "ID", "store": _l("Store"), "consultant": _l("Consultant"), "name": _l("Customer"),
                 "phone": _l("Phone"), "source": _l("Source"), "level": _l("Level"), "model": _l("Model"),
                 "created_at": _l("Registered"), "last_contact_at": _l("Last contact"),
                 "due_on": _l("Next contact due"), "overdue": _l("Overdue")}


def _export_header() -> list[str]:
    return [str(EXPORT_HEADER[c]) for c in exports.COLUMNS]


def _export_words(group: str, key: str) -> str:
    """A source or a level as the lead page shows it (保有客户介绍, not owner_referral)."""
    return str(label(group, key))
