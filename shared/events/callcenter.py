"""Events published by the call center."""
from marshmallow import fields

from shared.events import StorePayload, optional_id, payload, record_id


def _opt(field):
    return field(allow_none=True, load_default=None)


class TaskEventV1(StorePayload):
    task_id = record_id(required=True)
    task_type = fields.String(required=True)
    customer_id = record_id(required=True, blank=True)
    agent_id = optional_id()
    due_at = _opt(fields.AwareDateTime)
    outcome = _opt(fields.String)  # completed: reached; failed: unreachable / refused / wrong_number
    lead_id = optional_id()  # the lead behind a delivery callback or defeat verification
    attempts = _opt(fields.Integer)  # calls made so far
    priority = _opt(fields.Integer)  # 1 most urgent … 9


for _verb in ("created", "claimed", "completed", "failed"):
    payload(f"callcenter.task.{_verb}", 1)(type(f"Task_{_verb}_V1", (TaskEventV1,), {}))


@payload("callcenter.attempt.logged", 1)
class AttemptLoggedV1(StorePayload):
    task_id = record_id(required=True)
    task_type = fields.String(required=True)
    customer_id = record_id(required=True, blank=True)
    agent_id = optional_id()
    outcome = fields.String(required=True)  # reached no_answer busy wrong_number call_back refused
    attempt = fields.Integer(required=True)
    callback_at = _opt(fields.AwareDateTime)  # outcome call_back: the time promised to the customer


@payload("callcenter.survey.submitted", 1)
class SurveySubmittedV1(StorePayload):
    response_id = record_id(required=True)
    task_id = optional_id()
    task_type = fields.String(required=True)  # delivery_callback → sales; service_callback → after-sales
    questionnaire_id = record_id(required=True)
    questionnaire_version = fields.Integer(required=True)
    customer_id = record_id(required=True, blank=True)
    score = fields.Float(required=True)  # weighted score 0–100
    satisfaction = _opt(fields.Integer)  # 1 very dissatisfied … 5 very satisfied
    recommend = _opt(fields.Integer)  # 0–10
    repurchase = _opt(fields.String)  # high (>70%) | medium (30–70%) | low (<30%)
    low_score = fields.Boolean(required=True)
    channel = fields.String(load_default="phone", dump_default="phone")  # phone | web
    # [{key, text, type, value, label, score}]
    answers = fields.List(fields.Dict(), load_default=list, dump_default=list)
    agent_id = optional_id()  # None for web answers
    alerts = fields.List(fields.String(), load_default=list, dump_default=list)  # why it counts as low
    complaint_id = optional_id()  # the complaint the low score opened
    customer_name = _opt(fields.String)
    answered_at = _opt(fields.AwareDateTime)


@payload("callcenter.complaint.opened", 1)
class ComplaintOpenedV1(StorePayload):
    complaint_id = record_id(required=True)
    customer_id = record_id(required=True, blank=True)
    severity = fields.String(required=True)  # low medium high
    source = fields.String(required=True)  # agent | survey
    summary = fields.String(required=True)
    due_at = _opt(fields.AwareDateTime)
    task_id = optional_id()
    response_id = optional_id()  # the survey answer that opened it
    assignee_id = optional_id()  # the store manager who owns it
    customer_name = _opt(fields.String)


@payload("callcenter.complaint.reopened", 1)
class ComplaintReopenedV1(StorePayload):
    """The customer did not accept the resolution: the complaint is open again with the store."""

    complaint_id = record_id(required=True)
    customer_id = record_id(required=True, blank=True)
    severity = fields.String(required=True)
    note = _opt(fields.String)


@payload("callcenter.complaint.resolved", 1)
class ComplaintResolvedV1(StorePayload):
    complaint_id = record_id(required=True)
    customer_id = record_id(required=True, blank=True)
    severity = fields.String(required=True)
    within_sla = fields.Boolean(required=True)
    # emitted again with confirmed=True once the customer confirms the resolution
    confirmed = fields.Boolean(load_default=False, dump_default=False)
    resolution = _opt(fields.String)
    resolved_at = _opt(fields.AwareDateTime)
