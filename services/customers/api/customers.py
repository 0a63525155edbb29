"""Search, the 360 view, profile and consent, logged reveals, export and erasure."""
from __future__ import annotations

from flask.views import MethodView

from shared.auth import current_principal, require_roles
from shared.errors import not_found

from ..handlers import privacy, view
from ..handlers.identity import Person, match_or_create
from ..handlers.relationships import touch
from ..models import AccessLog
from ..schemas import (AccessOut, AccessQuery, ConsentIn, ConsentOut, CustomerIn, CustomerOut, CustomerQuery,
                       EraseIn, PersonalDataOut, ProfilePatch, RevealIn, RevealOut)
from ..schemas_360 import View360
from .common import NOT_ANALYST, blp, db, group_work, visible
from .feeds import store_for


@blp.route("/customers")
class Customers(MethodView):
    @require_roles()
    @blp.arguments(CustomerQuery, location="query")
    @blp.response(200, CustomerOut(many=True), headers={"X-Total-Count": {"description": "matches in scope",
                                                                               "schema": {"type": "integer"}}})
    def get(self, q):
        """Search in the caller's scope by phone (any format), name, plate, VIN, ID number, or `q` (any of them)."""
        p = current_principal()
        with db().session(p.scope) as s:
            rows, total = view.search(s, p.group_id, q)
            rels = view.relationships_of(s, [c.id for c in rows])
            stores = view.store_names(s)
            out = [view.present_row(p, c, rels[c.id], stores) for c in rows]
        return out, 200, {"X-Total-Count": str(total)}

    @require_roles(*NOT_ANALYST)
    @blp.arguments(CustomerIn)
    @blp.response(201, CustomerOut)
    @blp.alt_response(200, schema=CustomerOut, success=True, description="an existing customer, found by phone or ID")
    def post(self, body):
        """Register a customer, or find the existing one by phone or ID number; a store user's store gets related."""
        p = current_principal()
        with group_work(p) as (s, _):
            store_id = store_for(s, p, body.get("store_id"), required=False)
            c, new = match_or_create(s, p.group_id, Person(name=body["name"], phone=body["phone"],
                                                           id_number=body.get("id_number"), kind=body["kind"]),
                                     p.user_id)
            if store_id:
                touch(s, c, store_id, p.user_id, new_customer=new)
            cid = c.id
        with db().session(p.scope) as s:
            c = visible(s, cid)
            rels = view.relationships_of(s, [c.id])[c.id]
            return view.present_row(p, c, rels, view.store_names(s)), 201 if new else 200


@blp.route("/customers/<customer_id>")
class CustomerOne(MethodView):
    @require_roles()
    @blp.response(200, CustomerOut)
    def get(self, customer_id):
        """One customer with their store relationships; 404 outside the caller's scope."""
        return _one(customer_id)

    @require_roles(*NOT_ANALYST)
    @blp.arguments(ProfilePatch)
    @blp.response(200, CustomerOut)
    def patch(self, body, customer_id):
        """Edit the profile: contacts, birthday, ID number (stored protected), preferred store and consultant, tags."""
        p = current_principal()
        with group_work(p, customer_id) as (s, c):
            privacy.update_profile(s, p, c, body)
        return _one(customer_id)


def _one(customer_id: str) -> dict:
    p = current_principal()
    with db().session(p.scope) as s:
        c = visible(s, customer_id)
        return view.present_row(p, c, view.relationships_of(s, [c.id])[c.id], view.store_names(s))


@blp.route("/customers/<customer_id>/360")
class Customer360(MethodView):
    @require_roles()
    @blp.response(200, View360)
    def get(self, customer_id):
        """The 360 view: profile, stores, vehicles, service, insurance, leads, loyalty and one timeline (logged)."""
        p = current_principal()
        with db().session(p.scope) as s:
            out = view.customer_360(s, p, customer_id)
            if out is None:
                not_found("customer")
            return out


@blp.route("/customers/<customer_id>/consent")
class Consent(MethodView):
    @require_roles(*NOT_ANALYST)
    @blp.arguments(ConsentIn)
    @blp.response(200, ConsentOut)
    def put(self, body, customer_id):
        """Set do-not-call and consent per channel (phone, sms, wechat, email); published to every queue."""
        p = current_principal()
        with group_work(p, customer_id) as (s, c):
            privacy.change_consent(s, p.user_id, c, body.get("do_not_call"), body.get("consent"))
            return {"customer_id": c.id, "do_not_call": c.do_not_call, "consent": privacy.consent_of(c)}


@blp.route("/customers/<customer_id>/reveal")
class Reveal(MethodView):
    @require_roles()
    @blp.arguments(RevealIn)
    @blp.response(200, RevealOut)
    def post(self, body, customer_id):
        """Show the full phone or ID number once, with a reason; the reveal is written to the access log."""
        p = current_principal()
        with db().session(p.scope) as s:
            return privacy.reveal(s, p, visible(s, customer_id), body["field"], body["reason"])


@blp.route("/customers/<customer_id>/export")
class Export(MethodView):
    @require_roles("group_admin")
    @blp.response(200, PersonalDataOut)
    def get(self, customer_id):
        """Everything held about the person (a PIPL access request), as JSON; logged."""
        p = current_principal()
        with db().session(p.scope) as s:
            return privacy.export(s, p, visible(s, customer_id))


@blp.route("/customers/<customer_id>/erase")
class Erase(MethodView):
    @require_roles("group_admin")
    @blp.arguments(EraseIn)
    @blp.response(200, ConsentOut)
    def post(self, body, customer_id):
        """Erase the person on request: aggregates stay, name, phones, ID and contacts go, everywhere."""
        from ..handlers.merge import scrub_snapshots

        p = current_principal()
        with group_work(p, customer_id) as (s, c):
            privacy.erase(s, p, c, body["reason"])
            scrub_snapshots(s, c.id)
            return {"customer_id": c.id, "do_not_call": c.do_not_call, "consent": privacy.consent_of(c)}


@blp.route("/access-log")
class Access(MethodView):
    @require_roles("group_admin", "cc_supervisor")
    @blp.arguments(AccessQuery, location="query")
    @blp.response(200, AccessOut(many=True))
    def get(self, q):
        """Who read or revealed which customer, newest first."""
        from sqlalchemy import select

        p = current_principal()
        with db().session(p.scope) as s:
            stmt = select(AccessLog).order_by(AccessLog.at.desc())
            if q.get("customer_id"):
                stmt = stmt.where(AccessLog.customer_id == q["customer_id"])
            if q.get("user_id"):
                stmt = stmt.where(AccessLog.user_id == q["user_id"])
            return list(s.scalars(stmt.limit(q["per_page"]).offset((q["page"] - 1) * q["per_page"])))
