"""Events published by leads."""
from marshmallow import fields

from shared.events import PayloadSchema, payload


@payload("leads.lead.created", 1)
class LeadCreatedV1(PayloadSchema):
    lead_id = fields.String(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)  # E.164
    source = fields.String(required=True)
    level = fields.String(load_default="N", dump_default="N")
    consultant_id = fields.String(allow_none=True, load_default=None)
    campaign_id = fields.String(allow_none=True, load_default=None)
    model = fields.String(allow_none=True, load_default=None)
    channel = fields.String(allow_none=True, load_default=None)
