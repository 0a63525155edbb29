"""Events published by identity: the org tree and users."""
from marshmallow import fields, validate

from shared.events import PayloadSchema, optional_id, payload, record_id


@payload("identity.group.created", 1)
class GroupCreatedV1(PayloadSchema):
    id = record_id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True)


@payload("identity.brand.created", 1)
class BrandCreatedV1(PayloadSchema):
    id = record_id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


@payload("identity.store.created", 1)
@payload("identity.store.updated", 1)
class StoreChangedV1(PayloadSchema):
    id = record_id(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    brand_id = record_id(required=True)
    city = fields.String(load_default="", dump_default="")
    timezone = fields.String(required=True)
    active = fields.Boolean(load_default=True, dump_default=True)


@payload("identity.user.created", 1)
@payload("identity.user.updated", 1)
class UserChangedV1(PayloadSchema):
    id = record_id(required=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    store_id = optional_id()
    active = fields.Boolean(required=True)
    on_duty = fields.Boolean(load_default=True, dump_default=True)
    email = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=200))
