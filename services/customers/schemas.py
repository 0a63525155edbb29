"""Request and response schemas of the customers API (the DMS rows double as CSV import rows)."""
from __future__ import annotations

from typing import Any


from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from shared.fields import Amount, AwareDateTime, Date, Id, Integer, Page, PerPage
from shared.phones import InvalidPhone, normalize

from .domain import CHANNELS, CLASSES, ERASURE_GROUNDS, KINDS, TIERS, VISIT_KINDS, RuleError, normalize_id_number, \
    normalize_plate, normalize_vin

_opt_str: dict[str, Any] = dict(load_default=None, allow_none=True)


def _blank_to_none(data: dict) -> dict:
    return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}


class RowSchema(Schema):
    """Blank CSV cells count as missing."""

    def load(self, data, *a, **kw):
        if isinstance(data, dict):
            data = _blank_to_none(data)
        return super().load(data, *a, **kw)


def _phone(value: str | None) -> None:
    if value is None:
        return
    try:
        normalize(value)
    except InvalidPhone as exc:
        raise ValidationError(str(exc)) from exc


def _rule(fn):
    def check(value):
        if value is None:
            return
        try:
            fn(value)
        except RuleError as exc:
            raise ValidationError(str(exc)) from exc
    return check


class PersonFields(RowSchema):
    customer_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(validate=[validate.Length(max=40), _phone], **_opt_str)
    id_number = fields.String(validate=[validate.Length(max=40), _rule(normalize_id_number)], **_opt_str)
    customer_kind = fields.String(load_default="individual", validate=validate.OneOf(KINDS))

    @post_load
    def _normalise(self, data, **_):
        if data.get("id_number"):
            data["id_number"] = normalize_id_number(data["id_number"])
        if data.get("vin"):
            data["vin"] = normalize_vin(data["vin"])
        if data.get("plate"):
            data["plate"] = normalize_plate(data["plate"])
        return data

    @validates_schema
    def _identified(self, data, **_):
        if not (data.get("phone") or data.get("id_number") or data.get("vin")):
            raise ValidationError("give a phone, an ID number or a VIN to identify the customer", "phone")


class VehicleIn(PersonFields):
    vin = fields.String(required=True, validate=[validate.Length(max=17), _rule(normalize_vin)])
    plate = fields.String(validate=validate.Length(max=20), **_opt_str)
    brand_id = Id(**_opt_str)
    model = fields.String(validate=validate.Length(max=80), **_opt_str)
    purchase_date = Date(**_opt_str)
    selling_store_id = Id(**_opt_str)
    price = Amount(**_opt_str)
    mileage = Integer(maximum=2_000_000, **_opt_str)


class ServiceVisitIn(PersonFields):
    repair_order = fields.String(required=True, validate=validate.Length(min=1, max=40))
    store_id = Id(**_opt_str, metadata={"description": "required for HQ roles"})
    visit_date = Date(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(VISIT_KINDS))
    vin = fields.String(validate=[validate.Length(max=17), _rule(normalize_vin)], **_opt_str)
    plate = fields.String(validate=validate.Length(max=20), **_opt_str)
    model = fields.String(validate=validate.Length(max=80), **_opt_str)
    brand_id = Id(**_opt_str)
    mileage = Integer(maximum=2_000_000, **_opt_str)
    amount = Amount(**_opt_str)


class InsuranceIn(PersonFields):
    policy_no = fields.String(required=True, validate=validate.Length(min=1, max=60))
    insurer = fields.String(required=True, validate=validate.Length(min=1, max=80))
    starts_on = Date(required=True)
    ends_on = Date(required=True)
    premium = Amount(**_opt_str)
    vin = fields.String(validate=[validate.Length(max=17), _rule(normalize_vin)], **_opt_str)
    store_id = Id(**_opt_str)

    @validates_schema
    def _period(self, data, **_):
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] <= data["starts_on"]:
            raise ValidationError("the policy must end after it starts", "ends_on")


class RecordOut(Schema):
    customer_id = fields.String(metadata={"description": "the customer the record went to, or the store's own "
                                                         "record of the person when it is held for review"})
    record_id = fields.String(allow_none=True, metadata={"description": "null when nothing was recorded"})
    created = fields.Boolean()
    new_customer = fields.Boolean()
    held_for_review = fields.Boolean(metadata={"description": "a conflicting phone or ID number, or a claim on a "
                                                              "car another store sold, waits for review"})


class ImportQuery(Schema):
    dry_run = fields.Boolean(load_default=False)


class ImportOut(Schema):
    dry_run = fields.Boolean()
    rows = fields.Integer()
    created = fields.Integer()
    duplicates = fields.Integer()
    new_customers = fields.Integer()
    matched_customers = fields.Integer()
    held_for_review = fields.Integer()


class CustomerQuery(Schema):
    q = fields.String(validate=validate.Length(min=1, max=60),
                      metadata={"description": "phone, VIN, plate, ID or name"})
    phone = fields.String(validate=validate.Length(min=3, max=40))
    name = fields.String(validate=validate.Length(min=1, max=120))
    plate = fields.String(validate=validate.Length(min=2, max=20))
    vin = fields.String(validate=validate.Length(equal=17))
    id_number = fields.String(validate=validate.Length(min=6, max=40))
    customer_class = fields.String(validate=validate.OneOf(CLASSES))
    value_tier = fields.String(validate=validate.OneOf(TIERS))
    page = Page()
    per_page = PerPage(default=20, maximum=100)


class StoreOut(Schema):
    store_id = fields.String()
    store_name = fields.String()
    brand_id = fields.String(allow_none=True)


class RelationshipOut(StoreOut):
    customer_class = fields.String()
    level = fields.String(allow_none=True)
    owner_kind = fields.String(allow_none=True)
    consultant_id = fields.String(allow_none=True)
    last_visit_on = Date(allow_none=True)
    first_seen_at = AwareDateTime()


class CustomerOut(Schema):
    id = fields.String()
    kind = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "masked unless the caller needs it"})
    do_not_call = fields.Boolean()
    value_tier = fields.String()
    relationships = fields.List(fields.Nested(RelationshipOut))
    other_stores = fields.List(fields.Nested(StoreOut), metadata={"description": "known there; details hidden"})


class CustomerIn(RowSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(required=True, validate=[validate.Length(max=40), _phone])
    kind = fields.String(load_default="individual", validate=validate.OneOf(KINDS))
    id_number = fields.String(validate=[validate.Length(max=40), _rule(normalize_id_number)], **_opt_str)
    store_id = Id(**_opt_str, metadata={"description": "the store that knows the customer (HQ: optional)"})

    @post_load
    def _normalise(self, data, **_):
        if data.get("id_number"):
            data["id_number"] = normalize_id_number(data["id_number"])
        return data


class ProfilePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    kind = fields.String(validate=validate.OneOf(KINDS))
    phones = fields.List(fields.String(validate=[validate.Length(max=40), _phone]), validate=validate.Length(max=5),
                         metadata={"description": "extra phones to add"})
    id_number = fields.String(validate=[validate.Length(max=40), _rule(normalize_id_number)])
    wechat = fields.String(validate=validate.Length(max=80), allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    address = fields.String(validate=validate.Length(max=300), allow_none=True)
    birthday = Date(allow_none=True)
    preferred_store_id = Id(allow_none=True)
    preferred_consultant_id = Id(allow_none=True)
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=30)), validate=validate.Length(max=20))

    @post_load
    def _normalise(self, data, **_):
        if data.get("id_number"):
            data["id_number"] = normalize_id_number(data["id_number"])
        if "name" in data:
            data["name"] = data["name"].strip()
            if not data["name"]:
                raise ValidationError("name is blank", "name")
        return data


class ConsentIn(Schema):
    do_not_call = fields.Boolean()
    consent = fields.Dict(keys=fields.String(validate=validate.OneOf(CHANNELS)), values=fields.Boolean())

    @validates_schema
    def _something(self, data, **_):
        if "do_not_call" not in data and not data.get("consent"):
            raise ValidationError("give do_not_call or consent", "do_not_call")


class ConsentOut(Schema):
    customer_id = fields.String()
    do_not_call = fields.Boolean()
    consent = fields.Dict(keys=fields.String(), values=fields.Boolean())


class RevealIn(Schema):
    field = fields.String(required=True, validate=validate.OneOf(("phone", "id_number")))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


class RevealOut(Schema):
    field = fields.String()
    value = fields.String(allow_none=True)
    all = fields.List(fields.String())


class EraseIn(Schema):
    ground = fields.String(load_default="subject_request", validate=validate.OneOf(ERASURE_GROUNDS),
                           metadata={"description": "why (PIPL art. 47); kept with the erasure"})
    reason = fields.String(validate=validate.Length(max=200), load_default=None,
                           metadata={"description": "free text for the request, not kept: it may hold the "
                                                    "person's data"})


class EraseOut(Schema):
    customer_id = fields.String()
    erasure_id = fields.String()
    do_not_call = fields.Boolean()
    consent = fields.Dict(keys=fields.String(), values=fields.Boolean())


class MergeIn(Schema):
    other_id = Id(required=True, metadata={"description": "the record absorbed into this one"})
    reason = fields.String(validate=validate.Length(max=200), load_default=None)


class MergeOut(Schema):
    id = fields.String()
    survivor_id = fields.String()
    merged_id = fields.String()
    reason = fields.String(allow_none=True)
    merged_by = fields.String(allow_none=True)
    merged_at = AwareDateTime()
    unmerged_at = AwareDateTime(allow_none=True)


class CandidateOut(Schema):
    id = fields.String()
    customer_a = fields.String()
    customer_b = fields.String()
    reason = fields.String()
    status = fields.String()
    created_at = AwareDateTime()


class DecisionIn(Schema):
    survivor_id = Id(load_default=None, allow_none=True,
                                metadata={"description": "which record stays (default: the older one)"})


class ListQuery(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf(("open", "merged", "rejected", "all")))
    page = Page()
    per_page = PerPage()


ACCESS_ACTIONS = ("view_360", "reveal_phone", "reveal_id_number", "export", "erase", "cross_store_match")


class AccessFilter(Schema):
    customer_id = Id()
    user_id = Id()
    user = fields.String(validate=validate.Length(min=1, max=80), metadata={"description": "part of a username"})
    action = fields.String(validate=validate.OneOf(ACCESS_ACTIONS))
    date_from = Date(metadata={"description": "first local day"})
    date_to = Date(metadata={"description": "last local day"})

    @validates_schema
    def _range(self, data, **_):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError("the range ends before it starts", "date_to")


class AccessQuery(AccessFilter):
    page = Page()
    per_page = PerPage()


class AccessExportQuery(AccessFilter):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class AccessOut(Schema):
    customer_id = fields.String()
    user_id = fields.String()
    username = fields.String()
    role = fields.String()
    store_id = fields.String(allow_none=True)
    action = fields.String()
    reason = fields.String(allow_none=True)
    at = AwareDateTime()


class SettingsIn(Schema):
    churn_months = fields.Integer(validate=validate.Range(min=1, max=60))
    lost_months = fields.Integer(validate=validate.Range(min=1, max=120))
    tiers = fields.Dict(keys=fields.String(validate=validate.OneOf(("VIP", "A", "B", "C"))),
                        values=Amount())
    maintenance = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=36)), values=fields.Dict(
        keys=fields.String(validate=validate.OneOf(("first_months", "interval_months", "interval_km"))),
        values=fields.Integer(validate=validate.Range(min=1, max=100_000))))
    insurance_notice_days = fields.List(fields.Integer(validate=validate.Range(min=1, max=180)),
                                        validate=validate.Length(min=1, max=4))
    maintenance_notice_days = fields.Integer(validate=validate.Range(min=0, max=60))
    birthday_notice_days = fields.Integer(validate=validate.Range(min=0, max=30))
    lapsed_window_days = fields.Integer(validate=validate.Range(min=1, max=365))

    @validates_schema
    def _order(self, data, **_):
        if data.get("churn_months") and data.get("lost_months") and data["lost_months"] <= data["churn_months"]:
            raise ValidationError("lost comes after churned", "lost_months")


class RunIn(Schema):
    date = Date(load_default=None, allow_none=True, metadata={"description": "local date; default today"})


class RunOut(Schema):
    date = Date()
    published = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "per kind"})


class PersonalDataOut(Schema):
    """Everything held about one person (a PIPL access request): every column of every record."""

    exported_at = fields.String()
    profile = fields.Dict()
    relationships = fields.List(fields.Dict())
    leads = fields.List(fields.Dict())
    vehicles = fields.List(fields.Dict())
    service_visits = fields.List(fields.Dict())
    insurance_policies = fields.List(fields.Dict())
    timeline = fields.List(fields.Dict())
    access_log = fields.List(fields.Dict())


# ---- the 360 view (统一客户视图): the answer of GET /customers/<id>/360 ----

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
