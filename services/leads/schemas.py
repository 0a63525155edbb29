"""Request and response schemas of the leads API."""
from marshmallow import Schema, fields, validate, validates, ValidationError

from shared.phones import InvalidPhone, normalize

from .domain import LEVELS, SOURCES


class LeadIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(required=True, validate=validate.Length(min=3, max=40))
    source = fields.String(required=True, validate=validate.OneOf(sorted(SOURCES), error="unknown source: {input}"))
    store_id = fields.String(load_default=None, allow_none=True, metadata={"description": "required for HQ roles"})
    consultant_id = fields.String(load_default=None, allow_none=True)
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))

    @validates("phone")
    def _phone(self, value, **_):
        try:
            normalize(value)
        except InvalidPhone as exc:
            raise ValidationError(str(exc)) from exc

    @validates("name")
    def _name(self, value, **_):
        if not value.strip():
            raise ValidationError("name is blank")


class LeadOut(Schema):
    id = fields.String()
    group_id = fields.String()
    store_id = fields.String()
    brand_id = fields.String()
    consultant_id = fields.String(allow_none=True)
    name = fields.String()
    phone = fields.String()
    source = fields.String()
    level = fields.String()
    model = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class LeadQuery(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS + ("delivered", "defeated", "invalid")))
    store_id = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
