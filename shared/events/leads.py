"""Events published by leads."""
from marshmallow import fields

from shared.events import StorePayload, optional_id, payload, record_id


def _opt(field):
    return field(allow_none=True, load_default=None)


def _business_time():
    """When the fact happened in the business (a visit's time in, a follow-up's time, an order's signing),
    which may be before the event was emitted (a visit typed in late). Consumers count the fact on this
    time's local day; events without it (older ones) count on `occurred_at`."""
    return fields.AwareDateTime(allow_none=True, load_default=None)


@payload("leads.lead.created", 1)
class LeadCreatedV1(StorePayload):
    lead_id = record_id(required=True)
    name = fields.String(required=True)
    phone = fields.String(required=True)  # E.164
    source = fields.String(required=True)
    level = fields.String(load_default="N", dump_default="N")
    consultant_id = optional_id()
    campaign_id = optional_id()
    model = fields.String(allow_none=True, load_default=None)
    # added (optional): the model's entry in the brand's catalogue when HQ keeps one; `model` is then the
    # catalogue's name, so names typed differently ("RAV4", "RAV4荣放") count as one model
    model_id = optional_id()
    channel = fields.String(allow_none=True, load_default=None)
    at = _business_time()  # the arrival: a visit's time in when the lead came from the visitor log
    due_on = _opt(fields.Date)  # the first contact is due on this local day (leads owns the cadence)
    overdue_at = _opt(fields.AwareDateTime)  # the lead is overdue from this instant


@payload("leads.lead.due_changed", 1)
class LeadDueChangedV1(StorePayload):
    """The lead's next contact is now due on another day (a contact, a grading, a planned contact, a cadence
    change by HQ, a close). Leads owns the cadence: consumers take `overdue_at` as it is and never re-derive it.
    The latest event (by `occurred_at`, then id) holds; null dates mean nothing is due (a closed lead)."""

    lead_id = record_id(required=True)
    due_on = _opt(fields.Date)
    overdue_at = _opt(fields.AwareDateTime)
    planned = fields.Boolean(load_default=False, dump_default=False)  # due on a contact the consultant planned
    consultant_id = optional_id()
@payload("leads.lead.updated", 1)
class LeadUpdatedV1(StorePayload):
    lead_id = record_id(required=True)
    changes = fields.Dict(required=True)  # field → new value (consultant_id, name, phone, model, ...)
    consultant_id = optional_id()


@payload("leads.lead.level_changed", 1)
class LeadLevelChangedV1(StorePayload):
    lead_id = record_id(required=True)
    from_level = fields.String(required=True)
    to_level = fields.String(required=True)  # N C B A H O delivered defeated invalid
    reason = _opt(fields.String)
    signals = fields.List(fields.String(), load_default=list, dump_default=list)
    consultant_id = optional_id()
    source = _opt(fields.String)
    phone = _opt(fields.String)


@payload("leads.visit.logged", 1)
class VisitLoggedV1(StorePayload):
    visit_id = record_id(required=True)
    lead_id = optional_id()
    kind = fields.String(required=True)  # walk_in | phone_in
    party_size = fields.Integer(load_default=1, dump_default=1)
    first_visit = fields.Boolean(load_default=True, dump_default=True)
    consultant_id = optional_id()
    model = _opt(fields.String)
    # added (optional): the model's entry in the brand's catalogue when HQ keeps one; `model` is then the
    # catalogue's name, so names typed differently ("RAV4", "RAV4荣放") count as one model
    model_id = optional_id()
    source = _opt(fields.String)
    at = _business_time()  # time in


@payload("leads.followup.logged", 1)
class FollowUpLoggedV1(StorePayload):
    lead_id = record_id(required=True)
    followup_id = record_id(required=True)
    kind = fields.String(required=True)  # call visit sms_wechat dm handout
    outcome = _opt(fields.String)
    consultant_id = optional_id()
    first_contact = fields.Boolean(load_default=False, dump_default=False)
    response_seconds = _opt(fields.Integer)  # business-hours seconds from arrival to first contact
    within_sla = _opt(fields.Boolean)
    source = _opt(fields.String)
    at = _business_time()  # when the contact happened


@payload("leads.testdrive.completed", 1)
class TestDriveCompletedV1(StorePayload):
    lead_id = record_id(required=True)
    test_drive_id = record_id(required=True)
    model = fields.String(required=True)
    consultant_id = optional_id()
    at = _business_time()  # when the drive was completed


@payload("leads.order.placed", 1)
class OrderPlacedV1(StorePayload):
    lead_id = record_id(required=True)
    order_id = record_id(required=True)
    model = fields.String(required=True)
    # added (optional): the model's entry in the brand's catalogue when HQ keeps one; `model` is then the
    # catalogue's name, so names typed differently ("RAV4", "RAV4荣放") count as one model
    model_id = optional_id()
    colour = _opt(fields.String)
    price = fields.Decimal(required=True, as_string=True)
    deposit = fields.Decimal(load_default=0, dump_default=0, as_string=True)
    payment_method = fields.String(required=True)  # cash | financing | installment | lease
    trade_in = fields.Boolean(load_default=False, dump_default=False)
    expected_delivery = _opt(fields.Date)
    consultant_id = optional_id()
    customer_name = fields.String(required=True)
    phone = fields.String(required=True)
    customer_kind = fields.String(load_default="individual", dump_default="individual")
    sale_type = fields.String(load_default="retail", dump_default="retail")  # retail | fleet
    source = _opt(fields.String)
    at = _business_time()  # when the order was signed


@payload("leads.vehicle.delivered", 1)
class VehicleDeliveredV1(StorePayload):
    lead_id = record_id(required=True)
    order_id = record_id(required=True)
    vin = fields.String(required=True)
    model = fields.String(required=True)
    # added (optional): the model's entry in the brand's catalogue when HQ keeps one; `model` is then the
    # catalogue's name, so names typed differently ("RAV4", "RAV4荣放") count as one model
    model_id = optional_id()
    delivered_on = fields.Date(required=True)  # local date
    consultant_id = optional_id()
    customer_name = fields.String(required=True)
    phone = fields.String(required=True)  # E.164
    price = fields.Decimal(load_default=0, dump_default=0, as_string=True)
    customer_kind = fields.String(load_default="individual", dump_default="individual")
    sale_type = fields.String(load_default="retail", dump_default="retail")
    source = _opt(fields.String)


@payload("leads.defeat.approved", 1)
class DefeatApprovedV1(StorePayload):
    lead_id = record_id(required=True)
    reason = fields.String(required=True)  # price competitor financing postponed other
    competitor_brand = _opt(fields.String)
    competitor_model = _opt(fields.String)
    note = _opt(fields.String)
    consultant_id = optional_id()
    customer_name = fields.String(required=True)
    phone = fields.String(required=True)
    from_level = _opt(fields.String)


@payload("leads.defeat.proposed", 1)
class DefeatProposedV1(StorePayload):
    lead_id = record_id(required=True)
    reason = fields.String(required=True)
    consultant_id = optional_id()
    defeat_id = optional_id()  # absent in events from before the proposal could be sent back by event


@payload("leads.defeat.sent_back", 1)
class DefeatSentBackV1(StorePayload):
    """The manager sent the proposed defeat back: the lead stays open and is no longer awaiting approval."""

    lead_id = record_id(required=True)
    defeat_id = record_id(required=True)
    reason = _opt(fields.String)  # the consultant's reason for the proposal
    note = _opt(fields.String)  # the manager's note to the consultant
    consultant_id = optional_id()


@payload("leads.defeat.withdrawn", 1)
class DefeatWithdrawnV1(StorePayload):
    """A proposed defeat ended without the manager: the customer signed an order (`why` = order_signed)."""

    lead_id = record_id(required=True)
    defeat_id = record_id(required=True)
    why = fields.String(required=True)
    consultant_id = optional_id()


@payload("leads.order.cancelled", 1)
class OrderCancelledV1(StorePayload):
    """A signed order is cancelled with a reason: it no longer counts as an order; the lead goes back to the
    level it had before the order."""

    lead_id = record_id(required=True)
    order_id = record_id(required=True)
    reason = fields.String(required=True)
    model = _opt(fields.String)
    price = fields.Decimal(load_default=0, dump_default=0, as_string=True)
    consultant_id = optional_id()
    placed_at = _opt(fields.AwareDateTime)  # when the order was signed
    at = _business_time()  # when it was cancelled


@payload("leads.report.submitted", 1)
class DailyReportSubmittedV1(StorePayload):
    report_id = record_id(required=True)
    consultant_id = optional_id()  # None for the store's TACT statistics
    day = fields.Date(required=True)
    figures = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    late = fields.Boolean(required=True)
    amendment = fields.Boolean(load_default=False, dump_default=False)


@payload("leads.report.amendment_requested", 1)
class AmendmentRequestedV1(StorePayload):
    """A consultant asks to change a submitted daily report: it waits for the store manager."""

    report_id = record_id(required=True)
    amendment_id = record_id(required=True)
    consultant_id = optional_id()
    day = fields.Date(required=True)
    reason = _opt(fields.String)


@payload("leads.report.amendment_decided", 1)
class AmendmentDecidedV1(StorePayload):
    """The store manager approved (then `leads.report.submitted` with `amendment` follows) or rejected it."""

    report_id = record_id(required=True)
    amendment_id = record_id(required=True)
    consultant_id = optional_id()
    day = fields.Date(required=True)
    approved = fields.Boolean(required=True)
    note = _opt(fields.String)
