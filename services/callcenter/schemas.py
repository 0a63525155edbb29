"""Request and response schemas of the call-center API."""
from __future__ import annotations

from operator import itemgetter

from marshmallow import Schema, fields, validate

from shared.fields import AwareDateTime, Id, Integer, Page, PerPage, TimeZone
from shared.privacy import MaskedPhone

from .domain.calling import OUTCOMES
from .domain.complaints import SEVERITIES, STATES, TRANSITIONS
from .domain.rules import TASK_TYPES
from .domain.scoring import MEASURES, QUESTION_TYPES

TaskType = validate.OneOf(TASK_TYPES, error="unknown task type: {input}")


class Paged(Schema):
    page = Page()
    per_page = PerPage()


class TaskOut(Schema):
    """A task (from `views.task_rows`): the number in full only for its holder and the customer's own stores."""

    id = fields.String()
    task_type = fields.String()
    status = fields.String()
    store_id = fields.String()
    brand_id = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    lead_id = fields.String(allow_none=True)
    customer_name = fields.String()
    phone = MaskedPhone(holder=itemgetter("holder"), allow_none=True,
                        metadata={"description": "masked unless you hold the task or your store knows the customer"})
    priority = fields.Integer()
    due_at = AwareDateTime()
    expires_at = AwareDateTime()
    available_at = AwareDateTime()
    agent_id = fields.String(allow_none=True)
    lease_until = AwareDateTime(allow_none=True)
    reserved_for = fields.String(allow_none=True)
    reserved_until = AwareDateTime(allow_none=True)
    attempts = fields.Integer()
    failed_attempts = fields.Integer()
    max_attempts = fields.Integer()
    outcome = fields.String(allow_none=True)
    detail = fields.Dict()
    created_at = AwareDateTime()
    closed_at = AwareDateTime(allow_none=True)


class TaskQuery(Paged):
    status = fields.String(validate=validate.OneOf(("open", "done", "failed", "cancelled")))
    task_type = fields.String(validate=TaskType)
    store_id = Id()
    brand_id = Id()
    customer_id = Id()
    lead_id = Id()


class ClaimIn(Schema):
    task_type = fields.String(load_default=None, allow_none=True, validate=TaskType)
    store_id = Id(load_default=None, allow_none=True)
    brand_id = Id(load_default=None, allow_none=True)


class ClaimOut(Schema):
    task = fields.Nested(TaskOut, allow_none=True)
    reason = fields.String(metadata={"description": "why no task: outside_window | empty"})
    message = fields.String()


class AttemptIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES, error="unknown outcome: {input}"))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    callback_at = AwareDateTime(load_default=None, allow_none=True,
                                       metadata={"description": "outcome call_back: the time promised"})
    answers = fields.Dict(keys=fields.String(validate=validate.Length(max=40)), load_default=dict,
                          metadata={"description": "question key → value (list for multiple choice)"})


class AttemptOut(Schema):
    id = fields.String()
    task_id = fields.String()
    number = fields.Integer()
    outcome = fields.String()
    callback_at = AwareDateTime(allow_none=True)
    created_at = AwareDateTime()
    task = fields.Nested(TaskOut)
    response_id = fields.String(allow_none=True)
    score = fields.Float(allow_none=True)
    low_score = fields.Boolean(allow_none=True)
    complaint_id = fields.String(allow_none=True)


class RuleOut(Schema):
    task_type = fields.String()
    offsets_days = fields.List(fields.Integer())
    valid_days = fields.Integer()
    priority = fields.Integer()
    max_attempts = fields.Integer()
    retry_minutes = fields.List(fields.Integer())
    enabled = fields.Boolean()
    origin = fields.String(metadata={"description": "default | group | brand"})


class RuleIn(Schema):
    brand_id = Id(load_default=None, allow_none=True)
    offsets_days = fields.List(Integer(minimum=-366, maximum=366), validate=validate.Length(min=1, max=5))
    valid_days = Integer(maximum=90)
    priority = Integer(minimum=1, maximum=9)
    max_attempts = Integer(minimum=1, maximum=10)
    retry_minutes = fields.List(Integer(minimum=1, maximum=7 * 1440), validate=validate.Length(min=1, max=5))
    enabled = fields.Boolean()


class RuleQuery(Schema):
    brand_id = Id(load_default=None)


class SettingsSchema(Schema):
    timezone = TimeZone()
    window_start = fields.String(validate=validate.Regexp(r"^\d\d:\d\d$", error="use HH:MM"))
    window_end = fields.String(validate=validate.Regexp(r"^\d\d:\d\d$", error="use HH:MM (24:00 = midnight)"))
    lease_minutes = fields.Integer(validate=validate.Range(min=1, max=240))
    callback_release_minutes = fields.Integer(validate=validate.Range(min=0, max=24 * 60))
    spot_check_share = fields.Float(validate=validate.Range(min=0, max=1))
    low_score_threshold = fields.Float(validate=validate.Range(min=0, max=100))
    link_valid_hours = fields.Integer(validate=validate.Range(min=1, max=24 * 30))
    sla_hours = fields.Dict(keys=fields.String(validate=validate.OneOf(SEVERITIES)),
                            values=fields.Integer(validate=validate.Range(min=1, max=24 * 60)))


class OptionSchema(Schema):
    value = fields.String(required=True, validate=validate.Length(min=1, max=40))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    score = fields.Float(load_default=0, validate=validate.Range(min=0, max=100))


class QuestionSchema(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    type = fields.String(required=True, validate=validate.OneOf(QUESTION_TYPES))
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    weight = fields.Float(load_default=1, validate=validate.Range(min=0, max=100))
    measure = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(MEASURES))
    required = fields.Boolean(load_default=False)
    alert_below = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    alert_on = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list,
                           validate=validate.Length(max=40))
    options = fields.List(fields.Nested(OptionSchema), load_default=list, validate=validate.Length(max=40))


class QuestionnaireIn(Schema):
    task_type = fields.String(required=True, validate=TaskType)
    brand_id = Id(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    script = fields.String(load_default="", validate=validate.Length(max=5000))
    low_score_threshold = fields.Float(load_default=60, validate=validate.Range(min=0, max=100))
    questions = fields.List(fields.Nested(QuestionSchema), required=True, validate=validate.Length(min=1, max=40))


class QuestionnaireOut(Schema):
    id = fields.String()
    task_type = fields.String()
    brand_id = fields.String()
    name = fields.String()
    version = fields.Integer()
    version_id = fields.String()
    script = fields.String()
    low_score_threshold = fields.Float()
    questions = fields.List(fields.Dict())


class SurveyOut(Schema):
    id = fields.String()
    task_id = fields.String(allow_none=True)
    task_type = fields.String()
    store_id = fields.String()
    brand_id = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    questionnaire_id = fields.String()
    version = fields.Integer()
    channel = fields.String()
    score = fields.Float()
    satisfaction = fields.Integer(allow_none=True)
    recommend = fields.Integer(allow_none=True)
    repurchase = fields.String(allow_none=True)
    low_score = fields.Boolean()
    alerts = fields.List(fields.String())
    answers = fields.List(fields.Dict())
    created_at = AwareDateTime()


class SurveyQuery(Paged):
    store_id = Id()
    task_type = fields.String(validate=TaskType)
    customer_id = Id()
    low_score = fields.Boolean()


class LinkOut(Schema):
    url = fields.String()
    expires_at = AwareDateTime()


class ComplaintIn(Schema):
    task_id = Id(load_default=None, allow_none=True)
    store_id = Id(load_default=None, allow_none=True)
    customer_id = Id(load_default=None, allow_none=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class ComplaintOut(Schema):
    id = fields.String()
    store_id = fields.String()
    brand_id = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    customer_name = fields.String()
    task_id = fields.String(allow_none=True)
    response_id = fields.String(allow_none=True)
    severity = fields.String()
    source = fields.String()
    summary = fields.String()
    status = fields.String()
    assignee_id = fields.String(allow_none=True)
    due_at = AwareDateTime()
    breached = fields.Boolean()
    resolution = fields.String()
    history = fields.List(fields.Dict())
    created_at = AwareDateTime()
    resolved_at = AwareDateTime(allow_none=True)
    confirmed_at = AwareDateTime(allow_none=True)


class ComplaintQuery(Paged):
    status = fields.String(validate=validate.OneOf(STATES))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    store_id = Id()
    breached = fields.Boolean()


class TransitionIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(tuple(TRANSITIONS)))
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class StoreCallbackIn(Schema):
    customer_id = Id(required=True)
    kind = fields.String(required=True, validate=TaskType)
    store_id = Id(load_default=None, allow_none=True, metadata={"description": "required for HQ roles"})
    called_at = AwareDateTime(load_default=None, allow_none=True)
    reached = fields.Boolean(required=True)
    satisfaction = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=5))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class StoreCallbackOut(Schema):
    id = fields.String()
    store_id = fields.String()
    customer_id = fields.String()
    kind = fields.String()
    called_at = AwareDateTime()
    reported_reached = fields.Boolean()
    reported_satisfaction = fields.Integer(allow_none=True)
    sampled = fields.Boolean()
    spot_task_id = fields.String(allow_none=True)
    checked_at = AwareDateTime(allow_none=True)
    customer_confirms_call = fields.Boolean(allow_none=True)
    customer_satisfaction = fields.Integer(allow_none=True)
    disagreement = fields.Boolean()
    disagreement_reasons = fields.List(fields.String())


class SpotCheckQuery(Paged):
    store_id = Id()
    disagreement = fields.Boolean()


class SpotCheckStoreOut(Schema):
    store_id = fields.String()
    logged = fields.Integer()
    sampled = fields.Integer()
    checked = fields.Integer()
    disagreements = fields.Integer()


class SpotCheckSummaryOut(Schema):
    stores = fields.List(fields.Nested(SpotCheckStoreOut))


class QueuedTaskOut(Schema):
    id = fields.String()
    type = fields.String()
    store_id = fields.String()
    due_at = fields.AwareDateTime()


class QueueOut(Schema):
    open_tasks = fields.Integer()
    expired_tasks = fields.Integer()
    contacts = fields.Integer()
    tasks = fields.List(fields.Nested(QueuedTaskOut))


class ContactOut(Schema):
    id = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    do_not_call = fields.Boolean()
    consent = fields.Dict()
    store_ids = fields.List(fields.String())
    callable = fields.Boolean()
