"""DMS feeds: vehicles, service visits (repair orders) and insurance policies; CSV import with dry run."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import Schema

from shared.auth import current_principal
from shared.errors import NotFound
from shared.permissions import require

from ...handlers.feeds import KINDS, import_rows, parse_csv, record
from ...schemas import ImportOut, ImportQuery, InsuranceIn, RecordOut, ServiceVisitIn, VehicleIn
from .common import blp, runtime


def _record(kind: str, body: dict) -> tuple[dict, int]:
    p = current_principal()
    with runtime().uow(p.scope) as uow:
        out = record(uow, p, kind, body)
        uow.commit()
    return out, 201 if out["created"] else 200


def _route(path: str, kind: str, schema: type[Schema], doc: str) -> None:
    def post(self, body):
        return _record(kind, body)

    post.__doc__ = doc
    post = require("customers.feed")(blp.arguments(schema)(blp.alt_response(
        200, schema=RecordOut, description="already on file, or held for review: nothing new recorded",
        success=True)(blp.response(201, RecordOut)(post))))
    name = "Feed" + "".join(w.title() for w in kind.split("-"))
    blp.route(path)(type(name, (MethodView,), {"post": post}))


_route("/vehicles", "vehicles", VehicleIn,
       "Register a vehicle (VIN, plate, model, purchase date, selling store); matched to its customer. A store "
       "changes only cars it sold; a car another store sold stays theirs and the claim waits for review.")
_route("/service-visits", "service-visits", ServiceVisitIn,
       "Record a repair order; a repeat of the same order number at the store changes nothing. A customer "
       "known at other stores becomes the store's own (other-sold owner) without changing their records.")
_route("/insurance-policies", "insurance-policies", InsuranceIn,
       "Record an insurance policy (insurer, start and end, premium); matched by VIN, ID number or phone.")


@blp.route("/imports/<kind>")
class Import(MethodView):
    @require("customers.feed")
    @blp.arguments(ImportQuery, location="query")
    @blp.response(200, ImportOut)
    def post(self, q, kind):
        """Import a CSV (text/csv body or multipart `file`); rows are all checked first; dry_run writes nothing."""
        if kind not in KINDS:
            raise NotFound("import kind (use vehicles, service-visits or insurance-policies)")
        upload = request.files.get("file")
        rows = parse_csv(kind, upload.read() if upload is not None else request.get_data())
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            result = import_rows(uow, p, kind, rows)
            if not q["dry_run"]:  # a dry run is the same unit of work, left uncommitted
                uow.commit()
        return {**result, "dry_run": q["dry_run"]}
