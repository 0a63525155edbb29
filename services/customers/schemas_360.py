"""Response schema of the 360 view (统一客户视图)."""
from __future__ import annotations

from marshmallow import Schema, fields

from .schemas import CustomerOut, StoreOut


class ProfileOut(CustomerOut):
    phones = fields.Integer(metadata={"description": "how many phone numbers are on file"})
    id_number = fields.String(allow_none=True, metadata={"description": "always masked; reveal to see it"})
    wechat = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    birthday = fields.Date(allow_none=True)
    tags = fields.List(fields.String())
    status = fields.String()
    preferred_store = fields.Nested(StoreOut, allow_none=True)
    preferred_consultant_id = fields.String(allow_none=True)
    spend_total = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "HQ and call center only"})
    created_at = fields.AwareDateTime()


class ConsentView(Schema):
    do_not_call = fields.Boolean()
    phone = fields.Boolean()
    sms = fields.Boolean()
    wechat = fields.Boolean()
    email = fields.Boolean()


class LoyaltyOut(Schema):
    satisfaction = fields.Integer(allow_none=True, metadata={"description": "1 very dissatisfied … 5 very satisfied"})
    recommend = fields.String(allow_none=True, metadata={"description": "very_likely | possible | unlikely"})
    repurchase = fields.String(allow_none=True, metadata={"description": "high | medium | low"})
    open_complaints = fields.Integer()
    churn_risk = fields.String()


class VehicleOut(Schema):
    vin = fields.String()
    plate = fields.String(allow_none=True)
    brand_id = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    purchase_date = fields.Date(allow_none=True)
    mileage = fields.Integer(allow_none=True)
    last_service_on = fields.Date(allow_none=True)
    next_maintenance_on = fields.Date(allow_none=True)
    selling_store = fields.Nested(StoreOut, allow_none=True)
    price = fields.Decimal(as_string=True, allow_none=True)


class VisitOut(Schema):
    id = fields.String()
    store = fields.Nested(StoreOut)
    repair_order = fields.String()
    vin = fields.String(allow_none=True)
    visit_date = fields.Date()
    mileage = fields.Integer(allow_none=True)
    kind = fields.String()
    amount = fields.Decimal(as_string=True)


class PolicyOut(Schema):
    policy_no = fields.String()
    vin = fields.String(allow_none=True)
    insurer = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    premium = fields.Decimal(as_string=True, allow_none=True)


class LeadView(Schema):
    lead_id = fields.String()
    store = fields.Nested(StoreOut)
    source = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    order_price = fields.Decimal(as_string=True, allow_none=True)
    created_at = fields.AwareDateTime()


class TimelineOut(Schema):
    kind = fields.String()
    at = fields.AwareDateTime()
    store = fields.Nested(StoreOut, allow_none=True)
    detail = fields.Dict()
    actor = fields.String(allow_none=True)


class View360(Schema):
    profile = fields.Nested(ProfileOut)
    consent = fields.Nested(ConsentView)
    loyalty = fields.Nested(LoyaltyOut)
    vehicles = fields.List(fields.Nested(VehicleOut))
    service_visits = fields.List(fields.Nested(VisitOut))
    insurance_policies = fields.List(fields.Nested(PolicyOut))
    leads = fields.List(fields.Nested(LeadView))
    timeline = fields.List(fields.Nested(TimelineOut))
