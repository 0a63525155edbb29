"""Questionnaires with versions, answers by phone or web link, alerts on low scores."""
from __future__ import annotations

import hashlib
import secrets
from typing import Any, Literal, cast, overload
from datetime import timedelta

from sqlalchemy import CursorResult, Result, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Invalid, NotFound
from shared.events import Event
from shared.uow import UnitOfWork

from ..domain.events import SurveyAnswered
from ..domain.rules import TASK_TYPES
from ..domain.scoring import InvalidAnswers, default_questionnaire, score_answers, validate_questions
from ..adapters.models import Complaint, Questionnaire, QuestionnaireVersion, SurveyLink, SurveyResponse, Task
from .config import settings_for


@overload
def questionnaire_for(s: Session, group_id: str, task_type: str, brand_id: str | None,
                      create: Literal[True] = True) -> tuple[Questionnaire, QuestionnaireVersion]: ...
@overload
def questionnaire_for(s: Session, group_id: str, task_type: str, brand_id: str | None,
                      create: bool) -> tuple[Questionnaire, QuestionnaireVersion] | None: ...
def questionnaire_for(s: Session, group_id: str, task_type: str, brand_id: str | None,
                      create: bool = True) -> tuple[Questionnaire, QuestionnaireVersion] | None:
    """The questionnaire of a task type for a brand (the brand's own, else the group's), made on first use."""
    rows = {q.brand_id: q for q in s.scalars(select(Questionnaire).where(
        Questionnaire.task_type == task_type, Questionnaire.brand_id.in_([brand_id or "", ""])))}
    q = rows.get(brand_id or "") or rows.get("")
    if q is None:
        if not create:
            return None
        name, script, questions = default_questionnaire(task_type)
        threshold = settings_for(s, group_id).low_score_threshold
        try:
            with s.begin_nested():
                q = Questionnaire(group_id=group_id, task_type=task_type, brand_id="", name=name, current_version=1)
                s.add(q)
                s.flush()
                s.add(QuestionnaireVersion(group_id=group_id, questionnaire_id=q.id, version=1, name=name,
                                           script=script, questions=questions, low_score_threshold=threshold))
                s.flush()
        except IntegrityError:  # another agent opened the first task of this type at the same moment
            q = s.scalars(select(Questionnaire).where(Questionnaire.task_type == task_type,
                                                      Questionnaire.brand_id == "")).one()
    v = s.scalars(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == q.id,
                                                     QuestionnaireVersion.version == q.current_version)).one()
    return q, v


def save_questionnaire(uow: UnitOfWork, p: Principal, task_type: str, brand_id: str | None, name: str,
                       script: str, questions: list[dict],
                       low_score_threshold: float) -> tuple[Questionnaire, QuestionnaireVersion]:
    """Publish a new version (earlier answers keep theirs)."""
    s = uow.session
    if task_type not in TASK_TYPES:
        raise Invalid("unknown task type", errors={"task_type": [f"one of {', '.join(TASK_TYPES)}"]})
    errors = validate_questions(questions)
    if not name.strip():
        errors["name"] = ["give the questionnaire a name"]
    if not 0 <= low_score_threshold <= 100:
        errors["low_score_threshold"] = ["between 0 and 100"]
    if errors:
        raise Invalid("invalid questionnaire", errors=errors)
    q = s.scalar(select(Questionnaire).where(Questionnaire.task_type == task_type,
                                             Questionnaire.brand_id == (brand_id or "")))
    if q is None:
        q = Questionnaire(group_id=p.group_id, task_type=task_type, brand_id=brand_id or "", name=name,
                          current_version=0)
        s.add(q)
        s.flush()
    q.current_version += 1
    q.name, q.updated_at = name.strip(), utcnow()
    v = QuestionnaireVersion(group_id=p.group_id, questionnaire_id=q.id, version=q.current_version, name=q.name,
                             script=script.strip(), questions=questions, low_score_threshold=low_score_threshold,
                             created_by=p.user_id)
    s.add(v)
    s.flush()
    return q, v


def answer(uow: UnitOfWork, t: Task, answers: dict, channel: str, agent_id: str | None,
           version: QuestionnaireVersion | None = None) -> SurveyResponse:
    """Score the answers on the task's questionnaire version and keep them; what follows from them (a
    complaint on a low score, a spot-check comparison, a confirmed resolution) runs now, in this unit of
    work, so that the announcement names the complaint a low score opened."""
    s = uow.session
    if version is None:
        _q, version = questionnaire_for(s, t.group_id, t.task_type, t.brand_id)
    try:
        sc = score_answers(version.questions, answers, version.low_score_threshold)
    except InvalidAnswers as exc:
        raise Invalid(str(exc), errors={f"answers.{k}": v for k, v in exc.errors.items()}) from None
    now = utcnow()
    r = SurveyResponse(group_id=t.group_id, store_id=t.store_id, brand_id=t.brand_id, task_id=t.id,
                       task_type=t.task_type, questionnaire_id=version.questionnaire_id, version_id=version.id,
                       version=version.version, customer_id=t.customer_id, channel=channel, answers=sc.answers,
                       score=sc.score, satisfaction=sc.satisfaction, recommend=sc.recommend, repurchase=sc.repurchase,
                       low_score=sc.low_score, alerts=sc.alerts, agent_id=agent_id, created_at=now)
    s.add(r)
    s.flush()
    uow.record(SurveyAnswered(r.id, t.id, agent_id))
    uow.dispatch()
    complaint_id = s.scalar(select(Complaint.id).where(Complaint.response_id == r.id))
    uow.emit(Event(type="callcenter.survey.submitted", group_id=t.group_id, brand_id=t.brand_id, store_id=t.store_id,
                   actor=agent_id, data={
                       "response_id": r.id, "task_id": t.id, "task_type": t.task_type,
                       "questionnaire_id": version.questionnaire_id, "questionnaire_version": version.version,
                       "customer_id": t.customer_id or "", "score": sc.score, "satisfaction": sc.satisfaction,
                       "recommend": sc.recommend, "repurchase": sc.repurchase, "low_score": sc.low_score,
                       "channel": channel, "answers": sc.answers, "agent_id": agent_id, "alerts": sc.alerts,
                       "complaint_id": complaint_id, "customer_name": t.customer_name, "answered_at": now}))
    return r


def answer_values(r: SurveyResponse) -> dict:
    """Question key → the value the customer gave."""
    return {a["key"]: a["value"] for a in r.answers}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(uow: UnitOfWork, p: Principal, task_id: str) -> tuple[SurveyLink, str]:
    """A public single-use link to the task's questionnaire; returns the link and its token (shown once)."""
    s = uow.session
    t = s.get(Task, task_id)
    if t is None:
        raise NotFound("task")
    _q, v = questionnaire_for(s, t.group_id, t.task_type, t.brand_id)
    token = secrets.token_urlsafe(24)
    hours = settings_for(s, t.group_id).link_valid_hours
    link = SurveyLink(group_id=t.group_id, store_id=t.store_id, token_hash=_hash(token), task_id=t.id,
                      version_id=v.id, expires_at=utcnow() + timedelta(hours=hours), created_by=p.user_id)
    s.add(link)
    s.flush()
    return link, token


class LinkUnusable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # unknown | used | expired


def link_group(s: Session, token: str) -> str | None:
    """The group of the link behind a token (what scopes the customer's survey page, who is not signed in)."""
    return s.scalar(select(SurveyLink.group_id).where(SurveyLink.token_hash == _hash(token)))


def open_link(s: Session, token: str) -> tuple[SurveyLink, Task, QuestionnaireVersion]:
    """The link behind a token, in the scope of its group (`link_group`)."""
    link = s.scalar(select(SurveyLink).where(SurveyLink.token_hash == _hash(token)))
    if link is None:
        raise LinkUnusable("unknown")
    if link.used_at is not None:
        raise LinkUnusable("used")
    if link.expires_at <= utcnow():
        raise LinkUnusable("expired")
    return link, s.get_one(Task, link.task_id), s.get_one(QuestionnaireVersion, link.version_id)


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched: `Session.execute` is typed as returning `Result`, an UPDATE gives a `CursorResult`."""
    return cast("CursorResult[Any]", result).rowcount


def submit_link(uow: UnitOfWork, token: str, answers: dict) -> SurveyResponse:
    """The customer's web answers: accepted once, before the link expires."""
    s = uow.session
    link, t, v = open_link(s, token)
    now = utcnow()
    won = _rowcount(s.execute(update(SurveyLink).where(SurveyLink.id == link.id, SurveyLink.used_at.is_(None))
                              .values(used_at=now).execution_options(synchronize_session=False)))
    if not won:
        raise LinkUnusable("used")
    r = answer(uow, t, answers, channel="web", agent_id=None, version=v)
    s.execute(update(SurveyLink).where(SurveyLink.id == link.id).values(response_id=r.id)
              .execution_options(synchronize_session=False))
    return r
