"""What happened in the call center, said as domain events for the in-process message bus.

A use case records one (`uow.record(SurveyAnswered(...))`) instead of calling the handlers that
follow from it; `services.callcenter.handlers.SUBSCRIPTIONS` says who follows. They name records by
id: a subscriber reads what it needs in the same unit of work.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SurveyAnswered:
    """A customer answered a task's questionnaire (by phone or on the web link).

    Follows: a low score opens a complaint for the store; a spot check compares the answer with the
    store's own record; a complaint follow-up confirms or reopens the complaint.
    """

    response_id: str
    task_id: str
    actor_id: str | None  # the agent, or None when the customer answered on the web


@dataclass(frozen=True)
class ComplaintResolved:
    """The store says a complaint is resolved. Follows: a follow-up call to confirm it with the customer."""

    complaint_id: str
    resolutions: int  # how many times it was resolved (each resolution gets its own follow-up)
    actor_id: str | None


@dataclass(frozen=True)
class StoreCallbackSampled:
    """A store's own callback was picked for an HQ spot check. Follows: the spot-check call task."""

    callback_id: str
    actor_id: str | None
