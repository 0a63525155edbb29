"""Customers JSON API."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from shared.auth import current_principal, require_roles
from shared.errors import not_found
from shared.phones import mask, try_normalize

from .models import Customer, StoreRelationship

blp = Blueprint("customers", __name__, url_prefix="/customers/api/v1", description="The unified customer view")
FULL_PHONE_ROLES = {"group_admin", "cc_agent", "cc_supervisor"}


class CustomerQuery(Schema):
    phone = fields.String(validate=validate.Length(min=3, max=40))
    name = fields.String(validate=validate.Length(min=1, max=120))


class RelationshipOut(Schema):
    store_id = fields.String()
    brand_id = fields.String()
    customer_class = fields.String()
    level = fields.String(allow_none=True)


class CustomerOut(Schema):
    id = fields.String()
    kind = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    do_not_call = fields.Boolean()
    relationships = fields.List(fields.Nested(RelationshipOut))


def _db():
    return current_app.extensions["crm"].db


def _present(s, c: Customer, p) -> dict:
    rels = s.scalars(select(StoreRelationship).where(StoreRelationship.customer_id == c.id)).all()
    own = p.store_ids is None or any(r.store_id in p.store_ids for r in rels)
    phone = c.phone if (p.role in FULL_PHONE_ROLES or (own and p.store_ids is not None)) else mask(c.phone)
    return {"id": c.id, "kind": c.kind, "name": c.name, "phone": phone, "do_not_call": c.do_not_call,
            "relationships": rels}


@blp.route("/customers")
class Customers(MethodView):
    @require_roles()
    @blp.arguments(CustomerQuery, location="query")
    @blp.response(200, CustomerOut(many=True))
    def get(self, q):
        """Search customers in the caller's scope by phone (any format) or name."""
        p = current_principal()
        with _db().session(p.scope) as s:
            stmt = select(Customer).order_by(Customer.created_at).limit(50)
            if q.get("phone"):
                e164 = try_normalize(q["phone"])
                if e164 is None:
                    return []
                stmt = stmt.where(Customer.phone == e164)
            if q.get("name"):
                stmt = stmt.where(Customer.name.contains(q["name"]))
            return [_present(s, c, p) for c in s.scalars(stmt)]


@blp.route("/customers/<customer_id>")
class CustomerOne(MethodView):
    @require_roles()
    @blp.response(200, CustomerOut)
    def get(self, customer_id):
        """One customer with their store relationships; 404 outside the caller's scope."""
        p = current_principal()
        with _db().session(p.scope) as s:
            c = s.get(Customer, customer_id)
            if c is None:
                not_found("customer")
            return _present(s, c, p)
