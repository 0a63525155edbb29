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
    #: raised when the user's access changes; tokens older than it stop working (shared.sessions)
    token_version = fields.Integer(load_default=0, dump_default=0, validate=validate.Range(min=0))


@payload("identity.session.ended", 1)
class SessionEndedV1(PayloadSchema):
    """Every session of a user ended (they logged out): tokens older than `token_version` stop working."""

    user_id = fields.String(required=True)
    token_version = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(load_default="logout", validate=validate.OneOf(["logout"]))
