"""Reconciliation API: compare analytics with a source's own daily counts; rebuild the group's rollups."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared.auth import current_principal
from shared.fields import Date, DayRange
from shared.permissions import require

from .api import _db, blp
from .ingest import rebuild
from .reconcile import LEADS_KPIS, drift

class SourceCount(Schema):
    store_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    day = Date(required=True)
    metric = fields.String(required=True, validate=validate.OneOf(tuple(LEADS_KPIS)))
    value = fields.Integer(required=True, validate=validate.Range(min=0, max=10**9))


class ReconcileIn(DayRange):
    source = fields.String(load_default="leads", validate=validate.OneOf(("leads",)))
    counts = fields.List(fields.Nested(SourceCount), required=True, validate=validate.Length(max=100_000),
                         metadata={"description": "the rows of GET /leads/api/v1/stats/daily for the same days"})


class DriftRow(Schema):
    kpi = fields.String()
    store_id = fields.String()
    day = fields.Date()
    source = fields.Integer()
    analytics = fields.Integer()
    diff = fields.Integer(metadata={"description": "analytics − source"})


class ReconcileOut(Schema):
    day_from = fields.Date(data_key="from")
    day_to = fields.Date(data_key="to")
    checked = fields.Integer(metadata={"description": "(KPI, store, day) cells compared"})
    drift = fields.List(fields.Nested(DriftRow))


class RebuildOut(Schema):
    events = fields.Integer(metadata={"description": "logged events replayed"})


@blp.route("/reconciliation")
class Reconciliation(MethodView):
    @require("analytics.reconcile")
    @blp.arguments(ReconcileIn)
    @blp.response(200, ReconcileOut)
    @blp.doc(**{"x-read-only": True})  # a query with a large input: it changes nothing (the analyst may run it)
    def post(self, body):
        """Compare analytics' daily figures per KPI and store with the source's own counts (posted as the
        source answered them): every cell that differs, within the caller's stores."""
        p = current_principal()
        with _db().session(p.scope) as s:
            out = drift(s, body["day_from"], body["day_to"], body["counts"],
                        None if p.scope.store_ids is None else set(p.scope.store_ids))
        return {**out, "day_from": out.pop("from"), "day_to": out.pop("to")}


@blp.route("/reconciliation/rebuild")
class Rebuild(MethodView):
    @require("analytics.admin")
    @blp.response(200, RebuildOut)
    def post(self):
        """Rebuild the group's facts and rollups from the event log (the figures built as events arrived,
        again); what drifted because the rollups went wrong is gone after it."""
        p = current_principal()
        with _db().session(p.scope) as s:  # the group admin's scope: the whole group, and only it
            return {"events": rebuild(s)}
