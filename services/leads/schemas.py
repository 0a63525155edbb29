"""Request and response schemas of the leads API."""
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shared.db import utcnow
from shared.dump import FastDumpSchema
from shared.fields import Amount, AwareDateTime, Date, Id, Page, PerPage
from shared.phones import InvalidPhone, normalize
from shared.privacy import MaskedPhone

from .adapters.models import Lead
from .domain import (
    ALL_LEVELS,
    ALL_SIGNALS,
    CAMPAIGN_CHANNELS,
    DEFEAT_REASONS,
    FOLLOW_UP_KINDS,
    GRADABLE,
    LEVELS,
    OUTCOMES,
    PAYMENT_METHODS,
    SOURCES,
    VISIT_KINDS,
)
from .domain.funnel import REPORT_FIELDS

DT = AwareDateTime
InDT, Day = AwareDateTime, Date  # bounded: 9999-12-31 is a 422 naming the field, not a 500
SOURCE = validate.OneOf(sorted(SOURCES), error="unknown source: {input}")
SIGNALS = fields.List(fields.String(validate=validate.OneOf(ALL_SIGNALS)), load_default=list,
                      validate=validate.Length(max=len(ALL_SIGNALS)))


def _phone_ok(value):
    try:
        normalize(value)
    except InvalidPhone as exc:
        raise ValidationError(str(exc)) from exc


class LeadIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(required=True, validate=validate.Length(min=3, max=40))
    source = fields.String(required=True, validate=SOURCE)
    store_id = Id(load_default=None, allow_none=True, metadata={"description": "required for HQ roles"})
    consultant_id = Id(load_default=None, allow_none=True)
    campaign_id = Id(load_default=None, allow_none=True)
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))

    @validates("phone")
    def _phone(self, value, **_):
        _phone_ok(value)

    @validates("name")
    def _name(self, value, **_):
        if not value.strip():
            raise ValidationError("name is blank")


class LeadOut(FastDumpSchema):
    """A lead as the API shows it; dumped by `FastDumpSchema` (a list of 50 is the API's most frequent answer)."""

    id = fields.String()
    group_id = fields.String()
    store_id = fields.String()
    brand_id = fields.String()
    consultant_id = fields.String(allow_none=True)
    name = fields.String()
    phone = MaskedPhone(holder=Lead.holder_of,
                        metadata={"description": "whole for the lead's consultant and its store's manager, else masked"})
    source = fields.String()
    campaign_id = fields.String(allow_none=True)
    level = fields.String()
    model = fields.String(allow_none=True)
    model_id = fields.String(allow_none=True, metadata={"description": "the model's catalogue entry, if kept"})
    customer_id = fields.String(allow_none=True, metadata={
        "description": "the customer customers matched the lead to (their 360 view: /customers/<id>)"})
    note = fields.String(allow_none=True)
    created_at = DT()
    last_contact_at = DT(allow_none=True)
    due_on = Date(allow_none=True)
    overdue_at = DT(allow_none=True)
    planned_on = Day(allow_none=True, metadata={"description": "the next contact the consultant planned"})
    overdue = fields.Method("_overdue")
    expected_by = Date(allow_none=True)
    response_due_at = DT(allow_none=True)
    first_contact_at = DT(allow_none=True)
    response_seconds = fields.Integer(allow_none=True)
    within_sla = fields.Boolean(allow_none=True)
    defeat_pending = fields.Boolean()

    def _overdue(self, lead):
        return bool(lead.overdue_at and lead.overdue_at <= utcnow())


class LeadQuery(Schema):
    level = fields.String(validate=validate.OneOf(ALL_LEVELS))
    store_id = Id()
    consultant_id = Id()
    source = fields.String(validate=SOURCE)
    overdue = fields.Boolean()
    stale = fields.Boolean()
    unassigned = fields.Boolean()
    open = fields.Boolean()
    q = fields.String(validate=validate.Length(max=80))
    page = Page()
    per_page = PerPage()


class ExportQuery(LeadQuery):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class GradeIn(Schema):
    level = fields.String(required=True, validate=validate.OneOf(GRADABLE))
    signals = SIGNALS
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class LevelChangeOut(Schema):
    id = fields.String()
    from_level = fields.String()
    to_level = fields.String()
    reason = fields.String(allow_none=True)
    signals = fields.List(fields.String())
    actor = fields.String(allow_none=True)
    at = DT()


class VisitIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(VISIT_KINDS))
    store_id = Id(load_default=None, allow_none=True)
    time_in = DT(load_default=None, allow_none=True)
    time_out = DT(load_default=None, allow_none=True)
    party_size = fields.Integer(load_default=1, validate=validate.Range(min=1, max=30))
    consultant_id = Id(load_default=None, allow_none=True)
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    source = fields.String(load_default=None, allow_none=True, validate=SOURCE)
    campaign_id = Id(load_default=None, allow_none=True)
    first_visit = fields.Boolean(load_default=True)
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    lead_id = Id(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))

    @validates("phone")
    def _phone(self, value, **_):
        if value:
            _phone_ok(value)

    @validates_schema
    def _times(self, data, **_):
        if data.get("time_in") and data.get("time_out") and data["time_out"] < data["time_in"]:
            raise ValidationError("leaves before arriving", "time_out")
        if data.get("phone") and not (data.get("name") or "").strip():
            raise ValidationError("a name is needed with a phone (it becomes a lead)", "name")


class VisitOut(Schema):
    id = fields.String()
    lead_id = fields.String(allow_none=True)
    kind = fields.String()
    time_in = DT()
    time_out = DT(allow_none=True)
    party_size = fields.Integer()
    consultant_id = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    source = fields.String()
    first_visit = fields.Boolean()
    joined_colleagues_lead = fields.Boolean(dump_default=False)


class FollowUpIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_KINDS))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    at = InDT(load_default=None, allow_none=True)
    next_planned_at = InDT(load_default=None, allow_none=True)
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GRADABLE))
    signals = SIGNALS


class FollowUpOut(Schema):
    id = fields.String()
    lead_id = fields.String()
    kind = fields.String()
    outcome = fields.String()
    note = fields.String(allow_none=True)
    at = DT()
    next_planned_at = DT(allow_none=True)
    first_contact = fields.Boolean()


class TestDriveIn(Schema):
    model = fields.String(required=True, validate=validate.Length(min=1, max=80))
    booked_for = InDT(load_default=None, allow_none=True)


class TestDriveOut(Schema):
    id = fields.String()
    lead_id = fields.String()
    model = fields.String()
    booked_for = DT()
    status = fields.String()
    completed_at = DT(allow_none=True)


class OrderIn(Schema):
    model = fields.String(required=True, validate=validate.Length(min=1, max=80))
    colour = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    price = Amount(required=True)
    deposit = Amount(load_default=0)
    payment_method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS))
    trade_in = fields.Boolean(load_default=False)
    expected_delivery = Date(load_default=None, allow_none=True)
    customer_kind = fields.String(load_default="individual",
                                  validate=validate.OneOf(("individual", "corporate", "fleet", "partner")))
    sale_type = fields.String(load_default="retail", validate=validate.OneOf(("retail", "fleet")))
    signals = SIGNALS


class OrderOut(Schema):
    id = fields.String()
    lead_id = fields.String()
    model = fields.String()
    colour = fields.String(allow_none=True)
    price = fields.Decimal(as_string=True)
    deposit = fields.Decimal(as_string=True)
    payment_method = fields.String()
    trade_in = fields.Boolean()
    expected_delivery = Date(allow_none=True)
    status = fields.String()
    vin = fields.String(allow_none=True)
    delivered_on = Date(allow_none=True)
    store_id = fields.String()
    consultant_id = fields.String(allow_none=True)
    customer_kind = fields.String()
    sale_type = fields.String()
    created_at = DT(metadata={"description": "when the order was signed"})
    cancelled_at = DT(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    model_id = fields.String(allow_none=True, metadata={"description": "the model's catalogue entry, if kept"})


class OrderQuery(Schema):
    status = fields.String(validate=validate.OneOf(("placed", "delivered", "cancelled")))
    store_id = Id()
    lead_id = Id()
    signed_from = Day(metadata={"description": "signed on or after this local day"})
    signed_to = Day(metadata={"description": "signed on or before this local day"})
    page = Page()
    per_page = PerPage()


class CancelIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DeliveryIn(Schema):
    vin = fields.String(required=True, validate=validate.Regexp(r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$",
                                                                error="a VIN has 17 letters and digits (no I, O, Q)"))
    delivered_on = Date(required=True)


class DefeatIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(DEFEAT_REASONS))
    competitor_brand = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    competitor_model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class DefeatDecisionIn(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class DefeatOut(Schema):
    id = fields.String()
    lead_id = fields.String()
    reason = fields.String()
    competitor_brand = fields.String(allow_none=True)
    competitor_model = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    from_level = fields.String()
    status = fields.String()
    proposed_at = DT()
    decided_at = DT(allow_none=True)
    decision_note = fields.String(allow_none=True)


class AssignIn(Schema):
    consultant_id = Id(required=True)


class ReassignIn(Schema):
    from_consultant_id = Id(required=True)
    to_consultant_id = Id(load_default=None, allow_none=True,
                                     metadata={"description": "empty: round-robin among on-duty colleagues"})


class AuditIn(Schema):
    lead_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=500))
    action = fields.String(required=True, validate=validate.OneOf(("confirm", "grade", "close")))
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GRADABLE))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


Figures = fields.Dict(keys=fields.String(validate=validate.OneOf(list(REPORT_FIELDS))),
                      values=fields.Integer(validate=validate.Range(min=0, max=100000)))


class ReportIn(Schema):
    day = Date(required=True)
    kind = fields.String(load_default="consultant", validate=validate.OneOf(("consultant", "store")))
    store_id = Id(load_default=None, allow_none=True)
    figures = fields.Dict(keys=fields.String(validate=validate.OneOf(list(REPORT_FIELDS))),
                          values=fields.Integer(validate=validate.Range(min=0, max=100000)), load_default=dict)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class AmendmentIn(Schema):
    changes = fields.Dict(keys=fields.String(validate=validate.OneOf(list(REPORT_FIELDS))),
                          values=fields.Integer(validate=validate.Range(min=0, max=100000)), required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReopeningIn(Schema):
    day = Date(required=True)
    store_id = Id(load_default=None, allow_none=True)
    consultant_id = Id(load_default=None, allow_none=True,
                       metadata={"description": "whose report; none: the store's TACT statistics"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReopeningOut(Schema):
    id = fields.String()
    store_id = fields.String()
    owner = fields.String(metadata={"description": "the consultant's user id, or \"store\""})
    day = fields.Date()
    reason = fields.String()
    by = fields.String()
    at = fields.AwareDateTime()
    used_at = fields.AwareDateTime(allow_none=True, metadata={"description": "when the late report came in"})


class AmendmentDecisionIn(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class AmendmentOut(Schema):
    id = fields.String()
    changes = fields.Dict()
    previous = fields.Dict()
    reason = fields.String()
    author = fields.String(allow_none=True)
    at = DT()
    status = fields.String(metadata={"description": "pending (waits for the store manager), approved, rejected"})
    decided_by = fields.String(allow_none=True)
    decided_at = DT(allow_none=True)
    decision_note = fields.String(allow_none=True)


class ReportOut(Schema):
    id = fields.String()
    store_id = fields.String()
    owner = fields.String(validate=validate.Length(max=80))
    consultant_id = fields.String(allow_none=True)
    day = Date()
    figures = fields.Dict()
    effective = fields.Dict()
    note = fields.String(allow_none=True)
    submitted_at = DT()
    deadline_at = DT()
    late = fields.Boolean()
    amendments = fields.List(fields.Nested(AmendmentOut))


class ReportQuery(Schema):
    day = Date()
    store_id = Id()
    owner = fields.String(validate=validate.Length(max=80))


class DraftQuery(Schema):
    day = Date(required=True)
    kind = fields.String(load_default="consultant", validate=validate.OneOf(("consultant", "store")))
    store_id = Id()


class RulesIO(Schema):
    cadence_days = fields.Dict(keys=fields.String(validate=validate.OneOf(LEVELS)),
                               values=fields.Integer(validate=validate.Range(min=1, max=90)))
    horizon_days = fields.Dict(keys=fields.String(validate=validate.OneOf(("H", "A", "B", "C"))),
                               values=fields.Integer(validate=validate.Range(min=1, max=730)))
    stale_days = fields.Integer(validate=validate.Range(min=1, max=365))
    sla_minutes = fields.Integer(validate=validate.Range(min=1, max=24 * 60))
    open_at = fields.String(validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="HH:MM"))
    close_at = fields.String(validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="HH:MM"))
    sources = fields.List(fields.String(validate=SOURCE), validate=validate.Length(min=1, max=len(SOURCES)))


class StoreOptionsIO(Schema):
    store_id = fields.String(dump_only=True, attribute="id")
    round_robin = fields.Boolean()
    consultants_may_export = fields.Boolean()
    weekly_sales_target = fields.Integer(validate=validate.Range(min=0, max=10000))


class CampaignIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    channel = fields.String(required=True, validate=validate.OneOf(CAMPAIGN_CHANNELS))
    starts_on = Date(required=True)
    ends_on = Date(required=True)
    cost = Amount(load_default=0)
    store_id = Id(load_default=None, allow_none=True)

    @validates_schema
    def _period(self, data, **_):
        if data["ends_on"] < data["starts_on"]:
            raise ValidationError("ends before it starts", "ends_on")


class CampaignOut(Schema):
    id = fields.String()
    store_id = fields.String()
    name = fields.String()
    channel = fields.String()
    starts_on = Date()
    ends_on = Date()
    cost = fields.Decimal(as_string=True)


class ImportQuery(Schema):
    store_id = Id(load_default=None)
    dry_run = fields.Boolean(load_default=False)
    filename = fields.String(load_default="upload.csv", validate=validate.Length(max=200))


class ImportErrorOut(Schema):
    row = fields.Integer()
    reason = fields.String()
    duplicate = fields.Boolean()


class ImportJobOut(Schema):
    id = fields.String()
    store_id = fields.String()
    filename = fields.String()
    dry_run = fields.Boolean()
    status = fields.String()
    encoding = fields.String(allow_none=True)
    size_bytes = fields.Integer()
    bytes_read = fields.Integer()
    rows = fields.Integer()
    imported = fields.Integer()
    duplicates = fields.Integer()
    bad_rows = fields.Integer()
    message = fields.String(allow_none=True)
    created_at = DT()
    progressed_at = DT(allow_none=True)
    finished_at = DT(allow_none=True)
    errors = fields.List(fields.Nested(ImportErrorOut))


class PageQuery(Schema):
    page = Page()
    per_page = PerPage()


class AssignmentOut(Schema):
    from_consultant = fields.String(allow_none=True, data_key="from")
    to_consultant = fields.String(allow_none=True, data_key="to")
    why = fields.String(allow_none=True)
    at = DT()


class MovedOut(Schema):
    moved = fields.Integer()


class AuditOut(Schema):
    done = fields.Integer()
    at = DT()


class FunnelQuery(Schema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=366))
    consultant_id = Id(metadata={"description": "a manager's view of one consultant (a consultant sees their own)"})


class FunnelStep(Schema):
    key = fields.String()
    count = fields.Integer()
    rate = fields.Float(allow_none=True)


class FunnelOut(Schema):
    steps = fields.List(fields.Nested(FunnelStep))
    levels = fields.Dict(keys=fields.String(), values=fields.Integer())
    close_ratio = fields.Float(allow_none=True)
    days = fields.Integer()
    weekly_sales_target = fields.Integer(allow_none=True)
    refill_per_week = fields.Integer(allow_none=True)


class DraftOut(Schema):
    day = Date()
    figures = fields.Dict(keys=fields.String(), values=fields.Integer())
    submitted = fields.Boolean()


class BoardOut(Schema):
    levels = fields.Dict(keys=fields.String(), values=fields.Integer())
    overdue_total = fields.Integer()
    overdue_by_consultant = fields.Dict(keys=fields.String(), values=fields.Integer())
    sla_breaches = fields.List(fields.String())
    pending_defeats = fields.List(fields.String())
    unassigned = fields.List(fields.String())


class CatalogueQuery(Schema):
    brand_id = Id(metadata={"description": "one brand's models"})
    store_id = Id(metadata={"description": "the models of this store's brand"})
    include_retired = fields.Boolean(load_default=False)


class VehicleModelIn(Schema):
    brand_id = Id(required=True)
    series = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    aliases = fields.List(fields.String(validate=validate.Length(min=1, max=80)), load_default=list,
                          validate=validate.Length(max=20))
    guide_price = Amount(load_default=None, allow_none=True)


class VehicleModelOut(Schema):
    id = fields.String()
    brand_id = fields.String()
    series = fields.String()
    name = fields.String()
    aliases = fields.List(fields.String())
    guide_price = fields.Decimal(as_string=True, allow_none=True)
    active = fields.Boolean()


class StarterIn(Schema):
    brand_id = Id(load_default=None, metadata={"description": "absent: every brand with a starter list, and the "
                                                              "starter competitor list"})


class StarterOut(Schema):
    added = fields.Integer()


class CompetitorIn(Schema):
    brand = fields.String(required=True, validate=validate.Length(min=1, max=60))
    model = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))


class CompetitorOut(Schema):
    id = fields.String()
    brand = fields.String()
    model = fields.String()
