"""Events published by customers."""
from marshmallow import fields

from shared.events import PayloadSchema, StorePayload, optional_id, payload, record_id


@payload("customers.customer.created", 1)
@payload("customers.customer.updated", 1)
class CustomerChangedV1(PayloadSchema):
    customer_id = record_id(required=True)
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, load_default=None)
    kind = fields.String(load_default="individual", dump_default="individual")
    do_not_call = fields.Boolean(load_default=False, dump_default=False)
    consent = fields.Dict(keys=fields.String(), values=fields.Boolean(), load_default=dict, dump_default=dict)
    # added: the person was erased on request (PIPL); copies elsewhere must forget name and phone too
    erased = fields.Boolean(load_default=False, dump_default=False)


@payload("customers.customer.erased", 1)
class CustomerErasedV1(PayloadSchema):
    """A person erased on request (PIPL): every service forgets them in its copies, outbox included.

    It names records by id only (the event itself must not carry what is being erased): the
    customer, and the leads customers had matched to them. Each consumer replaces the personal fields
    of what it holds about them (names, phones, notes, free-text answers) with
    `shared.privacy.pseudonym(customer_id)` or nothing, keeps the figures, and scrubs its outbox
    (`shared.bus.outbox.scrub`).
    """

    customer_id = record_id(required=True)
    lead_ids = fields.List(record_id(), load_default=list, dump_default=list)
    erasure_id = record_id(required=True)


@payload("customers.customer.retiered", 1)
class CustomerRetieredV1(PayloadSchema):
    """The customer's value tier moved in or out of VIP through a store's record; the customers worker
    re-derives the class at the other stores (a store's own unit of work may not change theirs)."""

    customer_id = fields.String(required=True)
    value_tier = fields.String(required=True)


@payload("customers.relationship.linked", 1)
class RelationshipLinkedV1(StorePayload):
    """A store knows the customer now; `customer_class` is the relationship's first class (no
    `relationship.changed` follows for it: that one is published when the class changes later)."""

    customer_id = record_id(required=True)
    store_id = record_id(required=True)
    brand_id = record_id(required=True)
    customer_class = fields.String(required=True)
    lead_id = optional_id()
    new_customer = fields.Boolean(load_default=False, dump_default=False)


def _opt(field):
    return field(allow_none=True, load_default=None)


@payload("customers.customer.merged", 1)
class CustomerMergedV1(PayloadSchema):
    survivor_id = record_id(required=True)
    merged_id = record_id(required=True)
    merge_id = record_id(required=True)
    # added (optional): the survivor's profile after the merge, as in customers.customer.updated, so a
    # consumer bound to customers.customer.* can refresh its copy from this event alone
    customer_id = optional_id()
    name = _opt(fields.String)
    phone = _opt(fields.String)
    kind = _opt(fields.String)
    do_not_call = _opt(fields.Boolean)
    consent = fields.Dict(keys=fields.String(), values=fields.Boolean(), load_default=dict, dump_default=dict)


@payload("customers.customer.unmerged", 1)
class CustomerUnmergedV1(PayloadSchema):
    survivor_id = record_id(required=True)
    restored_id = record_id(required=True)
    merge_id = record_id(required=True)
    # added (optional): the survivor's profile after the unmerge (the restored record gets its own
    # customers.customer.updated event)
    customer_id = optional_id()
    name = _opt(fields.String)
    phone = _opt(fields.String)
    kind = _opt(fields.String)
    do_not_call = _opt(fields.Boolean)
    consent = fields.Dict(keys=fields.String(), values=fields.Boolean(), load_default=dict, dump_default=dict)


@payload("customers.consent.changed", 1)
class ConsentChangedV1(PayloadSchema):
    customer_id = record_id(required=True)
    do_not_call = fields.Boolean(required=True)
    consent = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)  # phone sms wechat email


@payload("customers.relationship.changed", 1)
class RelationshipChangedV1(StorePayload):
    customer_id = record_id(required=True)
    store_id = record_id(required=True)
    brand_id = record_id(required=True)
    from_class = _opt(fields.String)
    to_class = fields.String(required=True)  # potential intent self_sold other_sold vip other_brand defeated churned


@payload("customers.vehicle.registered", 1)
class VehicleRegisteredV1(PayloadSchema):
    customer_id = record_id(required=True)
    vin = fields.String(required=True)
    plate = _opt(fields.String)
    brand_id = optional_id()
    model = _opt(fields.String)
    purchase_date = _opt(fields.Date)
    selling_store_id = optional_id()


@payload("customers.service.recorded", 1)
class ServiceVisitRecordedV1(StorePayload):
    customer_id = record_id(required=True)
    visit_id = record_id(required=True)
    vin = _opt(fields.String)
    store_id = record_id(required=True)
    visit_date = fields.Date(required=True)
    mileage = _opt(fields.Integer)
    kind = fields.String(required=True)  # maintenance repair accident
    amount = fields.Decimal(load_default=0, dump_default=0, as_string=True)
    won_back = fields.Boolean(load_default=False, dump_default=False)  # a churned owner came back


@payload("customers.insurance.recorded", 1)
class InsuranceRecordedV1(PayloadSchema):
    customer_id = record_id(required=True)
    policy_id = record_id(required=True)
    vin = _opt(fields.String)
    insurer = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    premium = fields.Decimal(load_default=0, dump_default=0, as_string=True)
    won_back = fields.Boolean(load_default=False, dump_default=False)  # a lapsed policy renewed


class ScheduleV1(PayloadSchema):
    """A date-driven care trigger the call center turns into a task."""

    customer_id = record_id(required=True)
    schedule_id = record_id(required=True)  # stable: the same trigger always has the same id
    due_on = fields.Date(required=True)
    vin = _opt(fields.String)
    detail = fields.Dict(load_default=dict, dump_default=dict)


for _kind in ("maintenance_due", "insurance_expiring", "birthday", "churned", "insurance_lapsed"):
    payload(f"customers.schedule.{_kind}", 1)(type(f"Schedule_{_kind}_V1", (ScheduleV1,), {}))
