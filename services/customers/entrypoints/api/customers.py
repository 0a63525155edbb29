"""Search, the 360 view, profile and consent, logged reveals, export and erasure, the access log."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from shared.auth import current_principal
from shared.errors import Forbidden, NotFound
from shared.permissions import require

from ... import views as view
from ...handlers import access, privacy
from ...handlers.common import visible
from ...handlers.registration import register
from ...schemas import (AccessExportQuery, AccessOut, AccessQuery, ConsentIn, ConsentOut, CustomerIn, CustomerOut,
                       CustomerQuery, EraseIn, EraseOut, PersonalDataOut, ProfilePatch, RevealIn, RevealOut, View360)
from .common import blp, reading, runtime

TOTAL = {"X-Total-Count": {"description": "matches in the caller's scope", "schema": {"type": "integer"}}}


@blp.route("/customers")
class Customers(MethodView):
    @require("customers.read")
    @blp.arguments(CustomerQuery, location="query")
    @blp.response(200, CustomerOut(many=True), headers=TOTAL)
    def get(self, q):
        """Search in the caller's scope by phone (any format), name, plate, VIN, ID number, or `q` (any of them)."""
        p = current_principal()
        with reading(p) as s:
            rows, total = view.search_rows(s, p, q)
        return rows, 200, {"X-Total-Count": str(total)}

    @require("customers.write")
    @blp.arguments(CustomerIn)
    @blp.response(201, CustomerOut)
    @blp.alt_response(200, schema=CustomerOut, description="the customer was already known to the caller",
                      success=True)
    def post(self, body):
        """Register a customer, or find the one the caller already knows by phone or ID number; a store user's
        store gets related. Someone known only at other stores is not taken over: the store gets its own
        record, paired with the other for HQ to review."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            c, new = register(uow, p, body)
            uow.commit()
        return _one(c.id), 201 if new else 200


@blp.route("/customers/<customer_id>")
class CustomerOne(MethodView):
    @require("customers.read")
    @blp.response(200, CustomerOut)
    def get(self, customer_id):
        """One customer with their store relationships; 404 outside the caller's scope."""
        return _one(customer_id)

    @require("customers.write")
    @blp.arguments(ProfilePatch)
    @blp.response(200, CustomerOut)
    def patch(self, body, customer_id):
        """Edit the profile: contacts, birthday, ID number (stored protected), preferred store and consultant, tags."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            privacy.update_profile(uow.session, p, visible(uow.session, customer_id), body)
            uow.commit()
        return _one(customer_id)


def _one(customer_id: str) -> dict:
    p = current_principal()
    with reading(p) as s:
        return view.one(s, p, customer_id)


@blp.route("/customers/<customer_id>/360")
class Customer360(MethodView):
    @require("customers.read")
    @blp.response(200, View360)
    def get(self, customer_id):
        """The 360 view: profile, stores, vehicles, service, insurance, leads, loyalty and one timeline (logged)."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            out = view.customer_360(uow.session, p, customer_id)
            if out is None:
                raise NotFound("customer")
            uow.commit()
        return out


@blp.route("/customers/<customer_id>/consent")
class Consent(MethodView):
    @require("customers.write")
    @blp.arguments(ConsentIn)
    @blp.response(200, ConsentOut)
    def put(self, body, customer_id):
        """Set do-not-call and consent per channel (phone, sms, wechat, email); published to every queue."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            c = visible(uow.session, customer_id)
            privacy.change_consent(uow.session, p.user_id, c, body.get("do_not_call"), body.get("consent"))
            uow.commit()
        return {"customer_id": c.id, "do_not_call": c.do_not_call, "consent": privacy.consent_of(c)}


@blp.route("/customers/<customer_id>/reveal")
class Reveal(MethodView):
    @require("customers.reveal")
    @blp.arguments(RevealIn)
    @blp.response(200, RevealOut)
    def post(self, body, customer_id):
        """Show the full phone or ID number once, with a reason; written to the access log. For the
        `customers.reveal` roles; a store manager only for customers their store has a relationship with."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            c = visible(uow.session, customer_id)
            if not privacy.may_reveal(p, view.relationships_of(uow.session, [c.id])[c.id]):
                raise Forbidden("only for a customer of your store")
            out = privacy.reveal(uow.session, p, c, body["field"], body["reason"])
            uow.commit()
        return out


@blp.route("/customers/<customer_id>/export")
class Export(MethodView):
    @require("customers.export")
    @blp.response(200, PersonalDataOut)
    def get(self, customer_id):
        """Everything held about the person (a PIPL access request), as JSON; logged."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            out = privacy.export(uow.session, p, visible(uow.session, customer_id))
            uow.commit()
        return out


@blp.route("/customers/<customer_id>/erase")
class Erase(MethodView):
    @require("customers.erase")
    @blp.arguments(EraseIn)
    @blp.response(200, EraseOut)
    def post(self, body, customer_id):
        """Erase the person on request: aggregates stay; name, phones, ID and contacts go here and, through
        customers.customer.erased, in every other service. The erasure keeps its ground, never free text."""
        p = current_principal()
        with runtime().uow(p.scope) as uow:
            c = visible(uow.session, customer_id)
            erasure_id = privacy.erase(uow.session, p, c, body["ground"])
            uow.commit()
        return {"customer_id": c.id, "erasure_id": erasure_id, "do_not_call": c.do_not_call,
                "consent": privacy.consent_of(c)}


@blp.route("/access-log")
class Access(MethodView):
    @require("customers.access_log")
    @blp.arguments(AccessQuery, location="query")
    @blp.response(200, AccessOut(many=True), headers=TOTAL)
    def get(self, q):
        """Who read, revealed, exported, erased or matched which customer, when and why; newest first.
        A store manager sees their store's customers, an HQ admin the group."""
        p = current_principal()
        with reading(p) as s:
            rows, total = access.page(s, q, runtime().settings.default_timezone)
        return rows, 200, {"X-Total-Count": str(total)}


@blp.route("/access-log/export")
class AccessExport(MethodView):
    @require("customers.access_log")
    @blp.arguments(AccessExportQuery, location="query")
    @blp.doc(responses={"200": {"description": "the filtered access log as CSV (UTF-8) or XLSX", "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}}}}})
    def get(self, q):
        """The access log with the same filters and scope as reading it, as CSV or XLSX (at most 50,000 rows)."""
        p = current_principal()
        with reading(p) as s:
            return access_file(s, q, runtime().settings.default_timezone)


def access_file(s, q: dict, tz: str, header=access.COLUMNS, labels: dict | None = None) -> Response:
    """The export as a download (the API's and the page's)."""
    if q["format"] == "xlsx":
        return Response(access.xlsx_bytes(s, q, tz, header, labels),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": "attachment; filename=access-log.xlsx"})
    return Response(access.csv_bytes(s, q, tz, header, labels), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=access-log.csv"})
