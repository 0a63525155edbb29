"""Call-center use cases, one function per use case, run inside the caller's unit of work.

The modules do not call each other's follow-on effects: a use case records a domain event
(`services.callcenter.domain.events`) and the subscribers below run in the same unit of work. So the
dependencies go one way — calls → surveys and tasks; complaints, spot checks and tasks subscribe.
"""
from shared.events import known_types
from shared.uow import MessageBus

# The payload registry loads every module lazily, but only while it is empty: load them all now, then
# make sure ours is there even if someone registered a single module first.
known_types()
import shared.events.callcenter  # noqa: E402,F401

from ..domain.events import ComplaintResolved, StoreCallbackSampled, SurveyAnswered  # noqa: E402
from . import complaints, spotchecks, tasks  # noqa: E402

#: domain event → what follows from it, in this order
SUBSCRIPTIONS: dict[type, list] = {
    SurveyAnswered: [complaints.open_on_low_score, spotchecks.compare_on_spot_check, complaints.settle_on_follow_up],
    ComplaintResolved: [tasks.plan_complaint_follow_up],
    StoreCallbackSampled: [tasks.plan_spot_check],
}


def message_bus() -> MessageBus:
    """The call center's in-process bus with its subscriptions (wired once per runtime, in `app.build`)."""
    bus = MessageBus()
    for event_type, followers in SUBSCRIPTIONS.items():
        for fn in followers:
            bus.subscribe(event_type)(fn)
    return bus
