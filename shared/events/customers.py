"""Events published by customers."""
from marshmallow import fields

from shared.events import PayloadSchema, payload


@payload("customers.customer.created", 1)
@payload("customers.customer.updated", 1)
class CustomerChangedV1(PayloadSchema):
    customer_id = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, load_default=None)
    kind = fields.String(load_default="individual", dump_default="individual")
    do_not_call = fields.Boolean(load_default=False, dump_default=False)
    consent = fields.Dict(keys=fields.String(), values=fields.Boolean(), load_default=dict, dump_default=dict)


@payload("customers.relationship.linked", 1)
class RelationshipLinkedV1(PayloadSchema):
    customer_id = fields.String(required=True)
    store_id = fields.String(required=True)
    brand_id = fields.String(required=True)
    customer_class = fields.String(required=True)
    lead_id = fields.String(allow_none=True, load_default=None)
    new_customer = fields.Boolean(load_default=False, dump_default=False)
