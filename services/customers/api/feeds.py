"""DMS feeds: vehicles, service visits (repair orders) and insurance policies; CSV import with dry run."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import Schema

from shared.auth import current_principal, require_roles
from shared.errors import fail
from shared.tenancy import Scope

from ..handlers.feeds import KINDS, apply_record, import_rows, parse_csv, store_for
from ..schemas import ImportOut, ImportQuery, InsuranceIn, RecordOut, ServiceVisitIn, VehicleIn
from .common import FEEDERS, blp, db

__all__ = ["store_for"]


class _DryRun(Exception):
    """Raised inside the unit of work so that a dry run rolls everything back."""


def _record(kind: str, body: dict) -> tuple[dict, int]:
    p = current_principal()
    with db().session(Scope.system(p.group_id)) as s:  # identity resolution sees the whole group
        out = apply_record(s, p, kind, body)
    return out, 201 if out["created"] else 200


def _route(path: str, kind: str, schema: type[Schema], doc: str) -> None:
    def post(self, body):
        return _record(kind, body)

    post.__doc__ = doc
    known = blp.alt_response(200, schema=RecordOut, success=True, description="the record was already there")
    post = require_roles(*FEEDERS)(blp.arguments(schema)(blp.response(201, RecordOut)(known(post))))
    name = "Feed" + "".join(w.title() for w in kind.split("-"))
    blp.route(path)(type(name, (MethodView,), {"post": post}))


_route("/vehicles", "vehicles", VehicleIn,
       "Register a vehicle (VIN, plate, model, purchase date, selling store); matched to its customer.")
_route("/service-visits", "service-visits", ServiceVisitIn,
       "Record a repair order; a repeat of the same order number at the store changes nothing.")
_route("/insurance-policies", "insurance-policies", InsuranceIn,
       "Record an insurance policy (insurer, start and end, premium); matched by VIN, ID number or phone.")


@blp.route("/imports/<kind>")
class Import(MethodView):
    @require_roles(*FEEDERS)
    @blp.arguments(ImportQuery, location="query")
    @blp.response(200, ImportOut)
    def post(self, q, kind):
        """Import a CSV (text/csv body or multipart `file`); rows are all checked first; dry_run writes nothing."""
        if kind not in KINDS:
            fail(404, "unknown import kind; use vehicles, service-visits or insurance-policies")
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else request.get_data()
        rows = parse_csv(kind, raw)
        p = current_principal()
        result: dict = {}
        try:
            with db().session(Scope.system(p.group_id)) as s:
                result = import_rows(s, p, kind, rows)
                if q["dry_run"]:
                    raise _DryRun
        except _DryRun:
            pass
        return {**result, "dry_run": q["dry_run"]}
