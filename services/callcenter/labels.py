"""UI labels of call-center codes (Simplified Chinese and English through the catalogs)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

TASK_TYPES = {
    "delivery_callback": _l("Delivery callback"),
    "service_callback": _l("Post-service callback"),
    "defeat_verification": _l("Defeat verification"),
    "maintenance_reminder": _l("Maintenance reminder"),
    "insurance_renewal": _l("Insurance renewal"),
    "birthday_care": _l("Birthday care"),
    "churn_winback": _l("Churn win-back"),
    "lapsed_insurance_winback": _l("Lapsed-insurance win-back"),
    "complaint_followup": _l("Complaint follow-up"),
    "spot_check": _l("HQ spot check"),
}
OUTCOMES = {
    "reached": _l("Reached"),
    "no_answer": _l("No answer"),
    "busy": _l("Busy"),
    "wrong_number": _l("Wrong number"),
    "call_back": _l("Call back later"),
    "refused": _l("Refused"),
    "unreachable": _l("Unreachable"),
    "erased": _l("Erased on request"),
}
TASK_STATUS = {"open": _l("Open"), "done": _l("Done"), "failed": _l("Failed"), "cancelled": _l("Cancelled")}
SEVERITIES = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High")}
COMPLAINT_STATUS = {"open": _l("Open"), "in_progress": _l("In progress"), "resolved": _l("Resolved"),
                    "confirmed": _l("Confirmed by customer"), "reopened": _l("Reopened")}
ACTIONS = {"start": _l("Start handling"), "resolve": _l("Mark resolved"), "confirm": _l("Customer confirms"),
           "reopen": _l("Reopen"), "open": _l("Opened")}
QUESTION_TYPES = {"satisfaction5": _l("Satisfaction (5 levels)"), "nps": _l("Recommend (0–10)"),
                  "yes_no": _l("Yes / no"), "single": _l("Single choice"), "multi": _l("Multiple choice"),
                  "text": _l("Free text")}
MEASURES = {"satisfaction": _l("Overall satisfaction"), "recommend": _l("Likelihood to recommend"),
            "repurchase": _l("Repurchase probability")}
SOURCES = {"agent": _l("Agent"), "survey": _l("Low survey score")}
REASONS = {"outside_window": _l("No calls now: we are outside the calling window."),
           "empty": _l("No task is waiting in this queue right now.")}
DISAGREEMENTS = {"not_called": _l("Customer says nobody called"),
                 "satisfaction": _l("Satisfaction differs by two levels or more")}
#: codes a task's detail carries from the event that made it (a defeat's reason, a service visit's kind)
DETAIL_VALUES = {
    "reason": {"price": _l("Price"), "competitor": _l("Bought a competitor"), "financing": _l("Financing"),
               "postponed": _l("Postponed"), "other": _l("Other")},
    "kind": {"maintenance": _l("Maintenance"), "repair": _l("Repair"), "accident": _l("Accident repair")},
}
