"""Reconciliation API: compare analytics with a source's own daily counts; the last nightly comparisons;
rebuild the group's rollups."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shared.auth import current_principal
from shared.daily_counts import CountsQuery
from shared.fields import Date
from shared.permissions import require

from . import _db, blp
from ...domain.definitions import VERSIONS, parse_version
from ...handlers.ingest import definitions_in_force, rebuild
from ...handlers.reconcile import ALL_KPIS, SOURCES, drift, last_runs, request_replay, source_metrics


class SourceCount(Schema):
    store_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    day = Date(required=True)
    metric = fields.String(required=True, validate=validate.OneOf(ALL_KPIS))
    value = fields.Integer(required=True, validate=validate.Range(min=0, max=10**9))


class ReconcileIn(CountsQuery):
    """The days (`from`, `to`: as the sources' counts take them) and one source's rows for them."""

    source = fields.String(load_default="leads", validate=validate.OneOf(SOURCES),
                           metadata={"description": "the service whose counts these are"})
    counts = fields.List(fields.Nested(SourceCount), required=True, validate=validate.Length(max=100_000),
                         metadata={"description": "the rows of GET /<source>/api/v1/stats/daily for the same days"})

    @validates_schema
    def _theirs(self, data, **_):
        alien = sorted({r["metric"] for r in data["counts"]} - source_metrics(data["source"]))
        if alien:
            raise ValidationError(f"not counted by {data['source']}: {', '.join(alien)}", "counts")


class DriftRow(Schema):
    source = fields.String(metadata={"description": "the service whose count this is"})
    kpi = fields.String()
    store_id = fields.String()
    day = fields.Date()
    counted = fields.Integer(metadata={"description": "the source's own count"})
    analytics = fields.Integer()
    diff = fields.Integer(metadata={"description": "analytics − source"})


class ReconcileOut(Schema):
    source = fields.String()
    day_from = fields.Date(data_key="from")
    day_to = fields.Date(data_key="to")
    checked = fields.Integer(metadata={"description": "(KPI, store, day) cells compared"})
    definitions = fields.Integer(metadata={
        "description": "the KPI definitions version compared under: the one in force for the group"})
    drift = fields.List(fields.Nested(DriftRow))


class RunOut(ReconcileOut):
    request_id = fields.String(metadata={"description": "the request this run answered (nightly or a replay)"})
    ran_at = fields.AwareDateTime(metadata={"description": "when analytics compared the source's answer"})


class RebuildQuery(Schema):
    definitions = fields.String(load_default=None, validate=validate.Length(max=8), metadata={
        "description": f"the KPI definitions to rebuild under and keep in force: {', '.join(f'v{v}' for v in VERSIONS)} "
                       "(default: the version in force)"})

    @validates("definitions")
    def _version(self, value, **_):
        if value is not None:
            try:
                parse_version(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None


class RebuildOut(Schema):
    events = fields.Integer(metadata={"description": "logged events replayed"})
    definitions = fields.Integer(metadata={"description": "the KPI definitions version the figures now follow"})


class ReplayIn(CountsQuery):
    """The days (`from`, `to`) whose facts a source publishes again, in some stores or all."""

    source = fields.String(required=True, validate=validate.OneOf(SOURCES),
                           metadata={"description": "the service that publishes its facts again"})
    store_ids = fields.List(fields.String(validate=validate.Length(min=1, max=36)), load_default=list,
                            validate=validate.Length(max=200),
                            metadata={"description": "the stores to replay (none: every store of the group)"})


class ReplayOut(Schema):
    request_id = fields.String(metadata={
        "description": "the id of the comparison that follows the replay (GET /reconciliation/runs)"})


def _renamed(out: dict) -> dict:
    return {**out, "day_from": out.pop("from"), "day_to": out.pop("to")}


def _stores() -> set[str] | None:
    p = current_principal()
    return None if p.scope.store_ids is None else set(p.scope.store_ids)


@blp.route("/reconciliation")
class Reconciliation(MethodView):
    @require("analytics.reconcile")
    @blp.arguments(ReconcileIn)
    @blp.response(200, ReconcileOut)
    @blp.doc(**{"x-read-only": True})  # a query with a large input: it changes nothing (the analyst may run it)
    def post(self, body):
        """Compare analytics' daily figures per KPI and store with one source's own counts (posted as the
        source answered them): every cell that differs, within the caller's stores."""
        p = current_principal()
        with _db().session(p.scope) as s:
            return _renamed(drift(s, p.group_id, body["source"], body["day_from"], body["day_to"], body["counts"],
                                  _stores()))


class RunsQuery(Schema):
    request_id = fields.String(load_default=None, validate=validate.Length(min=1, max=36), metadata={
        "description": "only the comparison that answered this request (a replay's request id)"})


@blp.route("/reconciliation/runs")
class Runs(MethodView):
    @require("analytics.reconcile")
    @blp.arguments(RunsQuery, location="query")
    @blp.response(200, RunOut(many=True))
    def get(self, q):
        """The last comparison of each source (nightly: analytics asks leads, the call center and customers
        for their counts of the week before, once a day; or after a replay), with its drift within the
        caller's stores; with `request_id`, the comparison that answered that request (none yet: empty)."""
        with _db().session(current_principal().scope) as s:
            return [_renamed(r) for r in last_runs(s, _stores(), q["request_id"])]


@blp.route("/reconciliation/rebuild")
class Rebuild(MethodView):
    @require("analytics.admin")
    @blp.arguments(RebuildQuery, location="query")
    @blp.response(200, RebuildOut)
    def post(self, q):
        """Rebuild the group's facts and rollups from the event log (the figures built as events arrived,
        again), under the KPI definitions version given (kept in force) or the one in force; what drifted
        because the rollups went wrong is gone after it, and the same version gives the same figures."""
        p = current_principal()
        version = None if q["definitions"] is None else parse_version(q["definitions"])
        with _db().session(p.scope) as s:  # the group admin's scope: the whole group, and only it
            events = rebuild(s, definitions=version)
            return {"events": events, "definitions": definitions_in_force(s, p.group_id)}


@blp.route("/reconciliation/replay")
class Replay(MethodView):
    @require("analytics.admin")
    @blp.arguments(ReplayIn)
    @blp.response(202, ReplayOut)
    def post(self, body):
        """Repair drift from its source: ask the source to publish the facts of these days again, as it
        published them (in the stores named, or every store). Analytics takes the events it lacked, keeps
        the ones it has once, rebuilds the group's figures and compares them with the source's counts of
        the same days; the comparison is the run with this request id in GET /reconciliation/runs."""
        p = current_principal()
        with _db().session(p.scope) as s:  # the request is emitted when this commits
            request_id = request_replay(s, p.group_id, body["source"], body["day_from"], body["day_to"],
                                        body["store_ids"])
        return {"request_id": request_id}
